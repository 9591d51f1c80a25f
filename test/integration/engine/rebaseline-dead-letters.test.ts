/**
 * Dead letters across re-baselines (issue #15): every re-baseline reads every row again, so records
 * Campaign refuses fail again each time. They stay one dead letter per record and cause, with the
 * attempts of every failure and the time of the last one.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { SyncTestBed, storeKinds } from '../../support/sync-test-bed.js';
import { profilesByKey } from './fixtures/sync-convergence.js';

/** 40 characters: Dynamics takes it (50); Campaign's firstName holds 30, so the mapping refuses it every time. */
const tooLongForCampaign = 'Bartholomew-Maximilian-Fitzgerald-Junior';

describe.each(storeKinds)('dead letters across re-baselines (%s)', (store) => {
  let bed: SyncTestBed | undefined;
  afterEach(async () => {
    await bed?.close();
    bed = undefined;
  });

  it('every re-baseline reads the same bad records again: still one dead letter per record and cause', async () => {
    bed = await SyncTestBed.start({
      store,
      dynamics: { contacts: 10, seed: 153 },
      campaign: { profiles: 0, seed: 153 },
    });
    const bad = bed.dynamics.admin
      .listIds('contact')
      .slice(0, 4)
      .map((id) => {
        bed!.dynamics.admin.updateContact(id, { firstname: tooLongForCampaign });
        return id;
      });

    const first = await bed.engine();
    await first.engine.runUntilIdle({ timeoutMs: 60_000 });
    const firstLetters = (await first.runtime.store.deadLetters.list({}, {})).items;
    expect(firstLetters.map((d) => d.recordKey).sort()).toEqual([...bad].sort());
    expect(firstLetters.every((d) => d.code === 'MAPPING_INVALID' && d.attempts === 1)).toBe(true);

    for (const round of [2, 3]) {
      bed.dynamics.admin.expireDeltaTokens();
      const { runtime, engine } = await bed.engine();
      const startedAt = runtime.clock.now();
      const summary = await engine.runUntilIdle({ timeoutMs: 60_000 });
      expect(summary['dead-lettered'], `round ${round}: the bad records failed again`).toBe(4);
      const letters = (await runtime.store.deadLetters.list({}, {})).items;
      expect(letters.map((d) => d.recordKey).sort(), `round ${round}`).toEqual([...bad].sort());
      for (const letter of letters) {
        const before = firstLetters.find((d) => d.recordKey === letter.recordKey)!;
        expect(letter).toMatchObject({
          id: before.id,
          code: 'MAPPING_INVALID',
          attempts: round,
          firstFailedAt: before.firstFailedAt,
        });
        expect(letter.lastFailedAt).toBeGreaterThanOrEqual(startedAt);
      }
      expect(await runtime.store.deadLetters.countByCode()).toEqual([
        { flow: 'contacts', code: 'MAPPING_INVALID', count: 4 },
      ]);
    }
    expect(expectConvergedExcept(bed, bad)).toBe(6);
  });
});

/** Converged apart from `bad` contacts, which Campaign refuses (they stay dead letters). */
function expectConvergedExcept(bed: SyncTestBed, bad: readonly string[]): number {
  const byKey = profilesByKey(bed);
  expect(bad.filter((id) => byKey.has(id))).toEqual([]);
  const good = bed.dynamics.admin.listRows('contact').filter((c) => !bad.includes(String(c.contactid)));
  expect(good.filter((c) => !byKey.has(String(c.contactid)))).toEqual([]);
  expect(byKey.size).toBe(good.length);
  return good.length;
}
