import { SeededRandom } from '../../shared/seeded-random.js';
import type { EmulatorClock } from '../../shared/emulator-clock.js';
import {
  formatDateTime,
  type DataverseDataStore,
  type Row,
  type RowValue,
  type TableData,
} from './dataverse-data-store.js';
import type { ColumnSchema } from '../schema/table-schema.js';

const firstNames = [
  'Olivia',
  'Liam',
  'Emma',
  'Noah',
  'Amelia',
  'Oliver',
  'Ava',
  'Elijah',
  'Sophia',
  'Lucas',
  'Mia',
  'Mateo',
  'Isabella',
  'Levi',
  'Charlotte',
  'Leo',
  'Harper',
  'Ezra',
  'Luna',
  'Hugo',
  'Léa',
  'Jonas',
  'Ana',
  'Marek',
  'Sofía',
  'Aarav',
  'Yuki',
  'Chen',
  'Fatima',
  'Omar',
  'Ingrid',
  'Lars',
  'Zoë',
  'Mikko',
  'Aoife',
  'Seán',
  'Priya',
  'Kwame',
  'Amara',
  'Tomás',
  'Elena',
  'Nikolai',
  'Hana',
  'Jae',
  'Lucía',
  'Pieter',
  'Maja',
  'Emil',
] as const;
const lastNames = [
  'Smith',
  'Johnson',
  'Williams',
  'Brown',
  'Jones',
  'Garcia',
  'Miller',
  'Davis',
  'Martínez',
  'Lopez',
  'Wilson',
  'Anderson',
  'Taylor',
  'Thomas',
  'Moore',
  'Martin',
  'Jackson',
  'Lee',
  'Müller',
  'Schmidt',
  'Dubois',
  'Rossi',
  'Novak',
  'Kowalski',
  'Nielsen',
  'Virtanen',
  "O'Brien",
  'Murphy',
  'Silva',
  'Santos',
  'Tanaka',
  'Kim',
  'Nguyen',
  'Patel',
  'Okafor',
  'Haddad',
  'Cohen',
  'Ivanova',
  'van Dijk',
  'Andersson',
] as const;
const domains = ['example.com', 'example.org', 'example.net', 'mail.example', 'contoso.example'] as const;
const cities = [
  ['London', 'United Kingdom'],
  ['Paris', 'France'],
  ['Berlin', 'Germany'],
  ['Madrid', 'Spain'],
  ['Dublin', 'Ireland'],
  ['Amsterdam', 'Netherlands'],
  ['Seattle', 'United States'],
  ['Toronto', 'Canada'],
  ['Sydney', 'Australia'],
  ['Tokyo', 'Japan'],
] as const;
const streets = [
  'High Street',
  'Station Road',
  'Main Street',
  'Church Lane',
  'Park Avenue',
  'Mill Road',
] as const;
const jobTitles = [
  'Marketing Manager',
  'Engineer',
  'Buyer',
  'Director',
  'Analyst',
  'Consultant',
  null,
] as const;
const words = [
  'Alpha',
  'Bravo',
  'Cedar',
  'Delta',
  'Ember',
  'Fjord',
  'Garnet',
  'Harbor',
  'Iris',
  'Juniper',
] as const;

/** Share of contacts with each opt-out flag set: plausible rates for a marketing database. */
export const optOutRates = {
  donotemail: 0.08,
  donotbulkemail: 0.12,
  donotphone: 0.05,
  donotfax: 0.02,
  donotpostalmail: 0.03,
  donotbulkpostalmail: 0.04,
  donotsendmm: 0.06,
  marketingonly: 0.01,
} as const;

const dayMs = 86_400_000;

function hex32(random: SeededRandom): string {
  return Math.floor(random.next() * 0x1_0000_0000)
    .toString(16)
    .padStart(8, '0');
}

/** A version-4-shaped GUID from four draws (the shared `guid()` makes 32, too slow for millions of rows). */
function fastGuid(random: SeededRandom): string {
  const a = hex32(random);
  const b = hex32(random);
  const c = hex32(random);
  const d = hex32(random);
  const variant = ((parseInt(c[0] as string, 16) & 0x3) | 0x8).toString(16);
  return `${a}-${b.slice(0, 4)}-4${b.slice(5, 8)}-${variant}${c.slice(1, 4)}-${c.slice(4, 8)}${d}`;
}

function asciiFold(value: string): string {
  return value
    .normalize('NFD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/[^A-Za-z]/g, '')
    .toLowerCase();
}

/**
 * Deterministic, realistic data: the same seed gives the same rows (ids included). E-mail domains
 * are reserved example domains and phone numbers come from ranges set aside for fiction.
 */
export class DataverseDataGenerator {
  constructor(
    private readonly store: DataverseDataStore,
    private readonly clock: EmulatorClock,
  ) {}

  /** Values for one contact (logical names), without id or system columns. */
  contactValues(random: SeededRandom, serial: number): Record<string, RowValue> {
    const first = random.pick(firstNames);
    const last = random.pick(lastNames);
    const [city, country] = random.pick(cities);
    const email = `${asciiFold(first)}.${asciiFold(last)}${serial}@${random.pick(domains)}`;
    const birth = Date.UTC(1950, 0, 1) + random.int(0, 55 * 365) * dayMs;
    const inactive = random.chance(0.03);
    return {
      firstname: first,
      lastname: last,
      emailaddress1: random.chance(0.97) ? email : null,
      mobilephone: random.chance(0.7) ? `+44 7700 900${String(random.int(0, 999)).padStart(3, '0')}` : null,
      telephone1: random.chance(0.5) ? `+1 202 555 01${String(random.int(0, 99)).padStart(2, '0')}` : null,
      jobtitle: random.pick(jobTitles),
      address1_line1: `${random.int(1, 250)} ${random.pick(streets)}`,
      address1_city: city,
      address1_country: country,
      address1_postalcode: String(random.int(10000, 99999)),
      birthdate: random.chance(0.8) ? new Date(birth).toISOString().slice(0, 10) : null,
      preferredcontactmethodcode: random.pick([1, 1, 1, 2, 2, 3, 5]),
      donotemail: random.chance(optOutRates.donotemail),
      donotbulkemail: random.chance(optOutRates.donotbulkemail),
      donotphone: random.chance(optOutRates.donotphone),
      donotfax: random.chance(optOutRates.donotfax),
      donotpostalmail: random.chance(optOutRates.donotpostalmail),
      donotbulkpostalmail: random.chance(optOutRates.donotbulkpostalmail),
      donotsendmm: random.chance(optOutRates.donotsendmm),
      followemail: random.chance(0.95),
      marketingonly: random.chance(optOutRates.marketingonly),
      statecode: inactive ? 1 : 0,
      statuscode: inactive ? 2 : 1,
    };
  }

  /** Values for one row of any table, by column type and name. */
  rowValues(data: TableData, random: SeededRandom, serial: number): Record<string, RowValue> {
    if (data.schema.logicalName === 'contact') return this.contactValues(random, serial);
    const values: Record<string, RowValue> = {};
    for (const column of data.schema.columns) {
      if (column.readOnly || column.logicalName === 'statecode' || column.logicalName === 'statuscode')
        continue;
      values[column.logicalName] = this.columnValue(data, column, random, serial);
    }
    return values;
  }

  private columnValue(data: TableData, column: ColumnSchema, random: SeededRandom, serial: number): RowValue {
    const name = column.logicalName;
    switch (column.type) {
      case 'string': {
        let text: string;
        if (name === data.schema.primaryNameAttribute || name.includes('name'))
          text = `${random.pick(words)} ${serial}`;
        else if (name.includes('email')) text = `user${serial}@${random.pick(domains)}`;
        else if (name.includes('phone')) text = `+44 7700 900${String(random.int(0, 999)).padStart(3, '0')}`;
        else text = `${random.pick(words)}-${random.int(100, 999)}`;
        return text.slice(0, column.maxLength ?? 100);
      }
      case 'memo':
        return `${random.pick(words)} ${random.pick(words)} ${random.pick(words)}.`.slice(
          0,
          column.maxLength ?? 2000,
        );
      case 'integer':
      case 'bigint':
        return random.int(0, 1000);
      case 'decimal':
      case 'double':
      case 'money':
        return random.int(0, 1_000_000) / 100;
      case 'boolean':
        return random.chance(0.2);
      case 'datetime':
        return formatDateTime(this.clock.now() - random.int(0, 365 * dayMs));
      case 'dateonly':
        return new Date(this.clock.now() - random.int(0, 3650) * dayMs).toISOString().slice(0, 10);
      case 'uniqueidentifier':
        return random.guid();
      case 'picklist':
      case 'state':
      case 'status':
        return column.options && column.options.length > 0 ? random.pick(column.options).value : null;
      case 'multiselectpicklist': {
        const chosen = (column.options ?? []).filter(() => random.chance(0.4)).map((o) => o.value);
        return chosen.length > 0 ? chosen.join(',') : null;
      }
      case 'lookup': {
        const target = this.store.table(column.target ?? '');
        if (!target || target.rows.size === 0 || random.chance(0.1)) return null;
        return this.randomId(target, random);
      }
    }
  }

  private randomId(data: TableData, random: SeededRandom): string | null {
    // Picking by log position keeps this O(1) without materialising the key set.
    for (let attempt = 0; attempt < 8; attempt++) {
      const index = random.int(0, data.logIds.length - 1);
      const id = data.logIds[index];
      if (id !== undefined && data.rows.has(id)) return id;
    }
    return null;
  }

  /**
   * Insert `count` generated rows through the seeding fast path (no webhooks, no audit), spreading
   * `createdon`/`modifiedon` over the past two years. Returns the new ids.
   */
  generate(logicalName: string, count: number, seed: number): string[] {
    const data = this.store.requireTable(logicalName);
    const random = new SeededRandom(seed);
    const now = this.clock.now();
    const ids: string[] = [];
    const start = data.rows.size;
    for (let i = 0; i < count; i++) {
      const values: Partial<Row> = this.rowValues(data, random, start + i + 1);
      const id = fastGuid(random);
      if (data.rows.has(id)) continue;
      const created = now - random.int(1, 730) * dayMs;
      values[data.schema.primaryIdAttribute] = id;
      values.createdon = formatDateTime(created);
      values.modifiedon = formatDateTime(Math.min(now, created + random.int(0, 400) * dayMs));
      this.store.insertSeedRow(data, data.newRow(values));
      ids.push(id);
    }
    return ids;
  }
}
