/**
 * Opt-outs in each mode, end to end through both emulators and the real SFTP path: conflicting
 * edits on both sides (equal timestamps included) converge within one cycle, and every decision is
 * in the audit.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { buildContact } from '../../support/dynamics-builders.js';
import { OptOutTestBed } from './support/opt-out-test-bed.js';

let bed: OptOutTestBed | undefined;
afterEach(async () => {
  await bed?.close();
  bed = undefined;
});

function createContacts(b: OptOutTestBed, n: number, overrides: Record<string, unknown> = {}): string[] {
  return Array.from({ length: n }, () => String(b.dynamics.createContact(buildContact(overrides)).contactid));
}

describe('opt-out modes end to end', () => {
  it('disabled: opt-out values stay where they are on both sides', async () => {
    bed = await OptOutTestBed.start({ mode: 'disabled' });
    const [id] = createContacts(bed, 1, { donotemail: true });
    await (await bed.bed.engine()).engine.runUntilIdle({ timeoutMs: 30_000 });
    expect(bed.profile(id!)!.blackListEmail).toBe(false);
    bed.campaign.editProfileAsOperator(id!, { blackListFax: true });
    await bed.exportNow();
    await (await bed.bed.engine()).engine.runUntilIdle({ timeoutMs: 30_000 });
    expect(bed.dynamics.getContact(id!)!.donotemail).toBe(true);
    expect(bed.dynamics.getContact(id!)!.donotfax ?? false).toBe(false);
  });

  it('dynamics-to-campaign: opt-outs travel with the contact; Campaign edits do not come back', async () => {
    bed = await OptOutTestBed.start({ mode: 'dynamics-to-campaign' });
    const [optedOut, quiet] = createContacts(bed, 2);
    bed.dynamics.updateContact(optedOut!, { donotemail: true });
    const first = await bed.engine();
    await first.engine.runUntilIdle({ timeoutMs: 30_000 });
    expect(bed.profile(optedOut!)!.blackListEmail).toBe(true);
    expect(bed.profile(quiet!)!.blackListEmail).toBe(false);
    const decisions = await first.runtime.store.optOut.listDecisions({ recordKey: optedOut! }, {});
    expect(decisions.items[0]).toMatchObject({
      rule: 'mode-dynamics-to-campaign',
      winner: true,
      winningSide: 'dynamics',
      source: 'contact-change',
    });
    // A Campaign-side opt-out is not read back in this mode (no ingest runs).
    bed.campaign.editProfileAsOperator(quiet!, { blackListEmail: true });
    await bed.exportNow();
    await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 30_000 });
    expect(bed.dynamics.getContact(quiet!)!.donotemail).toBe(false);
  });

  it('campaign-to-dynamics: the export file wins over Dynamics, in batches, and is archived', async () => {
    bed = await OptOutTestBed.start({ mode: 'campaign-to-dynamics', file: { batchSize: 3 } });
    const ids = createContacts(bed, 8);
    await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 30_000 });
    // Conflicts: Campaign says true where Dynamics says false, and false where Dynamics says true.
    for (const id of ids.slice(0, 5)) bed.campaign.editProfileAsOperator(id, { blackListEmail: true });
    bed.dynamics.updateContact(ids[5]!, { donotemail: true });
    bed.campaign.editProfileAsOperator(ids[5]!, { blackListEmail: true });
    bed.campaign.editProfileAsOperator(ids[5]!, { blackListEmail: false });
    const run = await bed.exportNow();
    expect(run).toMatchObject({ outcome: 'written', rowCount: 6 });
    const { engine, runtime } = await bed.engine();
    await engine.runUntilIdle({ timeoutMs: 30_000 });
    for (const id of ids.slice(0, 5)) expect(bed.dynamics.getContact(id)!.donotemail).toBe(true);
    expect(bed.dynamics.getContact(ids[5]!)!.donotemail).toBe(false);
    for (const id of ids.slice(6)) expect(bed.dynamics.getContact(id)!.donotemail).toBe(false);
    const [file] = (await runtime.store.optOut.listFiles({})).items;
    expect(file).toMatchObject({
      name: run.fileName,
      status: 'processed',
      disposition: 'archived',
      rowsApplied: 6,
    });
    const decisions = await runtime.store.optOut.listDecisions({ recordKey: ids[5]! }, {});
    expect(decisions.items).toHaveLength(1);
    expect(decisions.items[0]).toMatchObject({
      rule: 'mode-campaign-to-dynamics',
      dynamicsValue: true,
      campaignValue: false,
      winner: false,
      winningSide: 'campaign',
      action: 'write-dynamics',
      source: 'file',
    });
    expect(decisions.items[0]!.sourceRef).toMatch(new RegExp(`^${run.fileName}:\\d+$`));
  });

  it('bidirectional: conflicting edits on both sides, equal timestamps included, converge by the rule', async () => {
    bed = await OptOutTestBed.start({ mode: 'bidirectional' });
    const [equalCampaignTrue, equalDynamicsTrue, campaignNewerFalse, dynamicsNewer] = createContacts(bed, 4);
    const first = await bed.engine();
    await first.engine.runUntilIdle({ timeoutMs: 30_000 });

    const t = Math.ceil(bed.emulatedClock.now() / 1000) * 1000 + 60_000;
    bed.emulatedClock.freeze(t - 30_000);
    bed.dynamics.updateContact(campaignNewerFalse!, { donotemail: true });
    bed.campaign.editProfileAsOperator(equalDynamicsTrue!, { blackListEmail: true });
    bed.campaign.editProfileAsOperator(campaignNewerFalse!, { blackListEmail: true });
    bed.emulatedClock.freeze(t);
    // Same instant on both sides: true wins whichever side holds it.
    bed.campaign.editProfileAsOperator(equalCampaignTrue!, { blackListEmail: true });
    bed.dynamics.updateContact(equalCampaignTrue!, { lastname: 'Touched' });
    bed.dynamics.updateContact(equalDynamicsTrue!, { donotemail: true });
    bed.campaign.editProfileAsOperator(equalDynamicsTrue!, { blackListEmail: false });
    // Campaign strictly newer with false: the Campaign value wins.
    bed.emulatedClock.freeze(t + 5000);
    bed.campaign.editProfileAsOperator(campaignNewerFalse!, { blackListEmail: false });
    // Dynamics newer with true.
    bed.campaign.editProfileAsOperator(dynamicsNewer!, { blackListEmail: false });
    bed.emulatedClock.freeze(t + 9000);
    bed.dynamics.updateContact(dynamicsNewer!, { donotemail: true });
    bed.emulatedClock.unfreeze();

    const { engine, runtime } = await bed.engine();
    await engine.runUntilIdle({ timeoutMs: 30_000 }); // F1: the Dynamics changes
    await bed.exportNow();
    await (await bed.engine()).engine.runUntilIdle({ timeoutMs: 30_000 }); // the file

    const expected: Record<string, boolean> = {
      [equalCampaignTrue!]: true,
      [equalDynamicsTrue!]: true,
      [campaignNewerFalse!]: false,
      [dynamicsNewer!]: true,
    };
    for (const [id, value] of Object.entries(expected)) {
      expect(bed.dynamics.getContact(id)!.donotemail, id).toBe(value);
      expect(bed.profile(id)!.blackListEmail, id).toBe(value);
    }
    const audit = await runtime.store.optOut.listDecisions({ recordKey: equalCampaignTrue! }, {});
    expect(
      audit.items.some(
        (d) => d.rule === 'dynamics-newer-or-equal-true-wins' && d.dynamicsChangedAt === d.campaignChangedAt,
      ),
    ).toBe(true);
    const newer = await runtime.store.optOut.listDecisions({ recordKey: campaignNewerFalse! }, {});
    expect(newer.items.some((d) => d.rule === 'campaign-newer' && d.winner === false)).toBe(true);
  });
});

describe('echo suppression (I8)', () => {
  it('20 alternating cycles in bidirectional mode make exactly the needed writes, no ping-pong', async () => {
    bed = await OptOutTestBed.start({ mode: 'bidirectional' });
    const [id] = createContacts(bed, 1);
    const { engine, runtime } = await bed.engine();
    await engine.start();
    const settle = async (done: () => boolean): Promise<void> => {
      for (let i = 0; i < 400; i++) {
        if (done() && (await engine.isIdle())) return;
        await new Promise((r) => setTimeout(r, 25));
      }
      throw new Error('did not converge');
    };
    try {
      await settle(() => bed!.profile(id!) !== undefined);
      const campaignBefore = bed.campaignWrites();
      const versionBefore = Number(bed.dynamics.getContact(id!)!.versionnumber);
      for (let cycle = 0; cycle < 20; cycle++) {
        if (cycle % 2 === 0) {
          // Dynamics opts out; the contact flow carries it to Campaign.
          bed.dynamics.updateContact(id!, { donotemail: true });
          await settle(() => bed!.profile(id!)!.blackListEmail === true);
        } else {
          // Campaign opts back in (strictly newer); the next export carries it to Dynamics.
          bed.emulatedClock.advance(2000);
          bed.campaign.editProfileAsOperator(id!, { blackListEmail: false });
          await bed.exportNow();
          await settle(() => bed!.dynamics.getContact(id!)!.donotemail === false);
        }
        // Let the echoes come back: the written side's change and the next export.
        await bed.exportNow();
        await new Promise((r) => setTimeout(r, 300));
        await settle(() => true);
      }
      // One Campaign write per Dynamics-side change, one Dynamics write per Campaign-side change.
      expect(bed.campaignWrites() - campaignBefore).toBe(10);
      expect(Number(bed.dynamics.getContact(id!)!.versionnumber) - versionBefore).toBe(20);
      const echoes = (
        await runtime.store.optOut.listDecisions({ recordKey: id! }, { limit: 1000 })
      ).items.filter((d) => d.rule === 'echo');
      expect(echoes.length).toBeGreaterThanOrEqual(10);
    } finally {
      await engine.stop();
    }
  });
});
