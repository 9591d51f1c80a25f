import { SeededRandom } from '../shared/seeded-random.js';

const firstNames = [
  'Amelia',
  'Noah',
  'Olivia',
  'Liam',
  'Emma',
  'Lucas',
  'Mia',
  'Elias',
  'Sofia',
  'Hugo',
  'Chloé',
  'Mateo',
  'Hannah',
  'Leon',
  'Isabella',
  'Finn',
  'Zoe',
  'Arthur',
  'Lea',
  'Oscar',
  'Nora',
  'Jonas',
  'Alice',
  'Theo',
  'Marta',
  'Kenji',
  'Aisha',
  'Omar',
  'Priya',
  'Diego',
  'Ingrid',
  'Tomás',
  'Yara',
  'Felix',
  'Maja',
  'Sven',
];
const lastNames = [
  'Smith',
  'Müller',
  'Dubois',
  'García',
  'Rossi',
  'Jansen',
  'Nowak',
  'Johansson',
  'Kowalski',
  'Martin',
  'Schmidt',
  'Bernard',
  'López',
  'Ricci',
  'de Vries',
  'Lindqvist',
  "O'Brien",
  'Novak',
  'Fischer',
  'Moreau',
  'Fernández',
  'Bianchi',
  'Peeters',
  'Andersen',
  'Tanaka',
  'Okafor',
  'Haddad',
  'Patel',
  'Silva',
  'Ivanova',
];
const domains = ['example.com', 'example.org', 'example.net', 'mail.example'];

function asciiLocalPart(name: string): string {
  return name
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z]/g, '')
    .toLowerCase();
}

/**
 * Deterministic, realistic profile payloads: the same seed gives the same names, e-mails, phones
 * and birth dates on every run.
 */
export class CampaignProfileGenerator {
  private readonly random: SeededRandom;
  private counter = 0;

  constructor(seed: number) {
    this.random = new SeededRandom(seed);
  }

  /** A profile payload (POST body); `externalId` is omitted for foreign profiles. */
  next(externalId?: string): Record<string, unknown> {
    const n = ++this.counter;
    const firstName = this.random.pick(firstNames);
    const lastName = this.random.pick(lastNames);
    const year = this.random.int(1950, 2004);
    const month = this.random.int(1, 12);
    const day = this.random.int(1, 28);
    const profile: Record<string, unknown> = {
      firstName,
      lastName,
      email: `${asciiLocalPart(firstName)}.${asciiLocalPart(lastName)}${n}@${this.random.pick(domains)}`,
      mobilePhone: `+44 7700 9${String(this.random.int(0, 99999)).padStart(5, '0')}`,
      birthDate: `${year}-${String(month).padStart(2, '0')}-${String(day).padStart(2, '0')}`,
      gender: this.random.pick(['male', 'female', 'unknown']),
      emailFormat: this.random.pick(['html', 'text', 'unknown']),
    };
    if (externalId !== undefined) profile.externalId = externalId;
    if (this.random.chance(0.05)) profile.blackListEmail = true;
    return profile;
  }
}
