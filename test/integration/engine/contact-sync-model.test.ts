import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { SyncTestBed } from '../../support/sync-test-bed.js';
import { buildContact } from '../../support/dynamics-builders.js';
import type { SyncRuntime } from '../../../src/cli/runtime/sync-runtime.js';
import type { SyncEngine } from '../../../src/engine/sync-engine.js';

/**
 * Model-based test of the contact flow (fast-check): random sequences of Dynamics creates,
 * updates and deletes, operator edits of foreign Campaign profiles, engine runs, crashes and
 * faults. Whatever the interleaving, once quiet:
 * - I1: each contact has exactly one profile with its key, holding the mapped values;
 * - I2: foreign profiles are byte-for-byte what the operator left;
 * - I4: no key has two profiles; deleted contacts have none.
 */
type Command =
  | { kind: 'create'; first: string; last: string }
  | { kind: 'update'; pick: number; last: string }
  | { kind: 'delete'; pick: number }
  | { kind: 'editForeign'; pick: number; last: string }
  | { kind: 'run' }
  | { kind: 'crash'; afterMs: number }
  | { kind: 'campaign5xx'; count: number }
  | { kind: 'dynamics429'; count: number };

const name = fc.stringMatching(/^[A-Z][a-z]{2,8}$/);
const command: fc.Arbitrary<Command> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('create' as const), first: name, last: name }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('update' as const), pick: fc.nat(), last: name }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('editForeign' as const), pick: fc.nat(), last: name }),
  },
  { weight: 3, arbitrary: fc.constant({ kind: 'run' as const }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('crash' as const), afterMs: fc.integer({ min: 0, max: 150 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('campaign5xx' as const),
      count: fc.integer({ min: 1, max: 6 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      kind: fc.constant('dynamics429' as const),
      count: fc.integer({ min: 1, max: 3 }),
    }),
  },
);

// Campaign with externalId declared as the profile's identification key (creates in one call,
// duplicates refused by Campaign) and without it (look-up before every create: the key-map intent
// is what prevents duplicates after a crash).
describe.each([
  { label: 'externalId declared as key', customKey: 'externalId' },
  { label: 'no declared key', customKey: null },
])('contact sync model (fast-check), $label', ({ customKey }) => {
  let bed: SyncTestBed;
  beforeAll(async () => {
    bed = await SyncTestBed.start({
      dynamics: { contacts: 0, seed: 3 },
      campaign: { profiles: 0, seed: 3, seedFile: { profile: { customKey } } },
      config: {
        engine: { leaseMs: 1000, retry: { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: 50 } },
        // A crashed engine's duties pass on as quickly as its leases.
        workers: { dutyTtlMs: 1000 },
      },
    });
  });
  afterAll(async () => {
    await bed.close();
  });

  async function freshState(): Promise<void> {
    for (const runtime of bed.runtimes) await runtime.close().catch(() => undefined);
    bed.runtimes = [];
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(bed.dir, `state.db${suffix}`), { force: true });
    bed.dynamics.admin.reset({ contacts: 5 });
    bed.campaign.admin.reset();
    bed.campaign.admin.seedProfiles({ foreign: 4 });
  }

  function foreignSnapshot(): Map<string, string> {
    return new Map(
      bed.campaign.admin
        .listRecords('profile')
        .filter((p) => !p.values.externalId)
        .map((p) => [p.PKey, JSON.stringify(p)]),
    );
  }

  async function runToQuiet(): Promise<void> {
    const { engine } = await bed.engine();
    await engine.runUntilIdle({ timeoutMs: 60_000 });
  }

  /** Start an engine and "crash" it: the store goes away under it mid-work, leases are left behind. */
  async function crash(afterMs: number): Promise<void> {
    const { runtime, engine }: { runtime: SyncRuntime; engine: SyncEngine } = await bed.engine();
    await engine.start();
    await new Promise((r) => setTimeout(r, afterMs));
    await runtime.store.close();
    await engine.stop().catch(() => undefined);
    await runtime.close().catch(() => undefined);
  }

  it('converges with one profile per contact and untouched foreign profiles', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 5, maxLength: 18 }), async (commands) => {
        await freshState();
        let foreign = foreignSnapshot();
        for (const c of commands) {
          const ids = bed.dynamics.admin.listIds('contact');
          switch (c.kind) {
            case 'create':
              bed.dynamics.admin.createContact(buildContact({ firstname: c.first, lastname: c.last }));
              break;
            case 'update':
              if (ids.length > 0)
                bed.dynamics.admin.updateContact(ids[c.pick % ids.length]!, { lastname: c.last });
              break;
            case 'delete':
              if (ids.length > 0) bed.dynamics.admin.deleteContact(ids[c.pick % ids.length]!);
              break;
            case 'editForeign': {
              const pkeys = [...foreign.keys()];
              if (pkeys.length > 0) {
                bed.campaign.admin.editProfileAsOperator(pkeys[c.pick % pkeys.length]!, { lastName: c.last });
                foreign = foreignSnapshot();
              }
              break;
            }
            case 'run':
              await runToQuiet();
              break;
            case 'crash':
              await crash(c.afterMs);
              break;
            case 'campaign5xx':
              bed.campaign.admin.setFaults({ errorNext: c.count, errorStatus: 503 });
              break;
            case 'dynamics429':
              bed.dynamics.admin.throttleNext(c.count);
              break;
          }
        }
        bed.campaign.admin.clearFaults();
        bed.dynamics.admin.resetFaults();
        await runToQuiet();

        // I1 + I4: exactly one profile per contact, with the mapped values; none for deleted ones.
        const contacts = bed.dynamics.admin.listRows('contact');
        const profiles = bed.campaign.admin.listRecords('profile', { includeHidden: true });
        const byKey = new Map<string, number>();
        for (const p of profiles) {
          const key = p.values.externalId;
          if (typeof key === 'string' && key !== '') byKey.set(key, (byKey.get(key) ?? 0) + 1);
        }
        expect([...byKey.values()].every((n) => n === 1)).toBe(true);
        expect(byKey.size).toBe(contacts.length);
        const synced = bed.profilesByExternalId();
        for (const contact of contacts) {
          const profile = synced.get(String(contact.contactid));
          expect(profile).toBeDefined();
          expect(profile!.firstName ?? null).toBe(contact.firstname ?? null);
          expect(profile!.lastName ?? null).toBe(contact.lastname ?? null);
          expect(profile!.email ?? null).toBe(contact.emailaddress1 ?? null);
        }
        // I2: foreign profiles exactly as the operator left them.
        expect(foreignSnapshot()).toEqual(foreign);
      }),
      { numRuns: 6, seed: 20261128, endOnFailure: true },
    );
  });
});
