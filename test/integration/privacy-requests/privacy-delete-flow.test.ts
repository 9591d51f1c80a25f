import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Alert } from '../../../src/core/ports/alert-sink.js';
import type { PrivacyAccessDocument } from '../../../src/engine/privacy/privacy-subject-reader.js';
import {
  runPrivacyAccess,
  runPrivacyDelete,
  runPrivacyStatus,
} from '../../../src/cli/commands/privacy-command.js';
import { openPrivacyProvider, openPrivacyRuntime } from '../../../src/cli/runtime/privacy-runtime.js';
import type { SyncRuntime } from '../../../src/cli/runtime/sync-runtime.js';
import { storeKinds, type SyncTestBed } from '../../support/sync-test-bed.js';
import {
  campaignTraces,
  captureContext,
  createPerson,
  startPrivacyBed,
  syncAll,
  type Person,
} from './support/privacy-test-bed.js';

/** Personal values of a person; none may show up in logs, history, audit or status output. */
function canaries(person: Person): string[] {
  return [person.email, person.firstName, person.email.split('@')[0]!];
}

function expectNoCanary(text: string, person: Person): void {
  for (const canary of canaries(person)) expect(text).not.toContain(canary);
}

async function localTraces(runtime: SyncRuntime, person: Person) {
  const { store } = runtime;
  const records = [
    { flow: 'contacts', key: person.contactId },
    ...person.orderIds.map((key) => ({ flow: 'table:new_order', key })),
  ];
  let keyMap = 0;
  let queued = 0;
  for (const r of records) {
    if (await store.keyMap.get(r.flow, r.key)) keyMap++;
    queued += (await store.queue.itemsForKey(r.flow, r.key)).length;
    if (await store.parked.get(r.flow, r.key)) queued++;
  }
  const deadLetters = await store.deadLetters.count({ recordKey: person.contactId });
  return { keyMap, queued, deadLetters };
}

describe.each(storeKinds)('privacy delete through both emulators (%s)', (storeKind) => {
  let bed: SyncTestBed;
  let subject: Person;
  let bystander: Person;
  let storePKey: string;

  beforeAll(async () => {
    bed = await startPrivacyBed(storeKind, { logLevel: 'debug' });
    subject = createPerson(bed);
    bystander = createPerson(bed, 1);
    await syncAll(bed);
    storePKey = bed.campaign.admin.insertRecord('cusStore', { storeCode: 'S1', city: 'Lyon' });
    const profile = bed.profilesByExternalId().get(subject.contactId)!;
    bed.campaign.admin.addLogEntries(String(profile.PKey), 3);
  }, 60_000);

  afterAll(async () => {
    await bed?.close();
  });

  it('gathers what both systems hold for an access request, on stdout only', async () => {
    const context = captureContext();
    expect(await runPrivacyAccess({ config: bed.configPath, contact: subject.contactId }, context)).toBe(0);
    const document = JSON.parse(context.stdout()) as PrivacyAccessDocument;
    expect(document.contactId).toBe(subject.contactId);
    expect(document.campaign.profile?.email).toBe(subject.email);
    expect(document.campaign.linked).toHaveLength(2);
    expect(document.campaign.linked[0]?.record?.amount).toBeTypeOf('number');
    expect(document.dynamics.contact?.emailaddress1).toBe(subject.email);
    expectNoCanary(context.stderr(), subject);
  });

  it('deletes the person from Campaign, Dynamics and the local store in the runbook order', async () => {
    const before = bed.campaign.admin.privacyJobs().length;
    const context = captureContext();
    const code = await runPrivacyDelete(
      { config: bed.configPath, contact: subject.contactId, wait: true, requestedBy: 'dpo' },
      context,
    );
    expect(context.stderr()).not.toMatch(/"level":(50|60)/);
    expect(code).toBe(0);
    const result = JSON.parse(context.stdout()) as {
      id: string;
      state: string;
      requestedBy: string;
      steps: { step: string; outcome: string }[];
    };
    expect(result.state).toBe('completed');
    expect(result.requestedBy).toBe('cli:dpo');
    const succeeded = result.steps.filter((s) => s.outcome === 'succeeded').map((s) => s.step);
    expect(succeeded).toEqual([
      'hold',
      'submit',
      'poll',
      'verify-campaign',
      'delete-dynamics',
      'verify-gone',
      'tombstone',
    ]);

    // Campaign: profile, its logs and its cascading orders gone; the bystander and unlinked store untouched.
    expect(campaignTraces(bed, subject)).toEqual({ profiles: 0, orders: 0 });
    expect(campaignTraces(bed, bystander)).toEqual({ profiles: 1, orders: 1 });
    expect(bed.campaign.admin.getRecord('cusStore', storePKey)?.values.city).toBe('Lyon');
    const jobs = bed.campaign.admin.privacyJobs().slice(before);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]!.userIds.map((id) => id.namespace).sort()).toEqual(['crmId', 'email']);
    // Dynamics: the contact deleted once, then its change history.
    expect(bed.dynamics.admin.getContact(subject.contactId)).toBeUndefined();
    expect(bed.dynamics.admin.getContact(bystander.contactId)).toBeDefined();
    const routes = bed.dynamics.admin.stats().byRoute;
    expect(routes['DELETE contacts(id)']).toBe(1);
    expect(routes['POST deleteRecordChangeHistory']).toBe(1);

    // Local store: nothing of the person but the tombstones; the audit trail holds ids only.
    const runtime = await bed.openRuntime();
    expect(await localTraces(runtime, subject)).toEqual({ keyMap: 0, queued: 0, deadLetters: 0 });
    expect((await runtime.store.privacy.guardOf(subject.contactId))?.kind).toBe('tombstone');
    for (const order of subject.orderIds)
      expect((await runtime.store.privacy.guardOf(order))?.kind).toBe('tombstone');
    expect(await runtime.store.keyMap.get('contacts', bystander.contactId)).not.toBeNull();
    const audit = await runtime.store.audit.list({ recordKey: subject.contactId }, { limit: 1000 });
    const actions = audit.items.map((a) => a.action).filter((a) => a.startsWith('privacy.'));
    expect(actions).toEqual(
      expect.arrayContaining([
        'privacy.request',
        'privacy.hold',
        'privacy.submit',
        'privacy.tombstone',
        'privacy.complete',
      ]),
    );
    expect(audit.items.find((a) => a.action === 'privacy.request')?.actor).toBe('cli:dpo');
    const steps = await runtime.store.privacy.steps(result.id);
    // The request is a run: started by the operator's request, ended with it, a step per event.
    const runs = (await runtime.store.runs.list({ kind: 'privacy' }, {})).items;
    expect(runs).toHaveLength(1);
    expect(runs[0]).toMatchObject({
      flow: 'privacy',
      trigger: 'operator-request',
      subject: result.id,
      outcome: 'succeeded',
      counts: { deleted: 1 },
    });
    const run = await runtime.store.runs.get(runs[0]!.id);
    expect(run!.events.map((e) => e.kind)).toEqual(succeeded.map((step) => `step:${step}`));
    expectNoCanary(JSON.stringify({ audit, steps, run }), subject);
    expect(context.stderr()).toContain('privacy request step done');
    expectNoCanary(context.stderr(), subject);
    expectNoCanary(context.stdout(), subject);

    const status = captureContext();
    expect(await runPrivacyStatus({ config: bed.configPath }, result.id, status)).toBe(0);
    expect(JSON.parse(status.stdout())).toMatchObject({ id: result.id, state: 'completed', step: 'done' });
    expectNoCanary(status.stdout(), subject);
  }, 60_000);

  it('never re-creates the person from a stale change, a restored contact or a replay', async () => {
    const runtime = await bed.openRuntime();
    const profilesBefore = bed.campaign.admin.stats().byOperation;
    // A stale change that was still in flight somewhere, and the contact restored from a backup.
    await runtime.store.queue.enqueue([
      {
        flow: 'contacts',
        recordKey: subject.contactId,
        payload: { op: 'upsert', values: { contactid: subject.contactId, firstname: subject.firstName } },
      },
    ]);
    bed.dynamics.admin.createContact({
      contactid: subject.contactId,
      firstname: subject.firstName,
      emailaddress1: subject.email,
    });
    const { engine } = await bed.engine();
    await engine.start();
    await engine.requestReplay('contacts');
    await engine.stop();
    const { engine: again } = await bed.engine();
    await again.runUntilIdle({ timeoutMs: 30_000 });
    expect(campaignTraces(bed, subject)).toEqual({ profiles: 0, orders: 0 });
    expect(bed.campaign.admin.stats().byOperation['POST profile'] ?? 0).toBe(
      profilesBefore['POST profile'] ?? 0,
    );
    expect(await localTraces(runtime, subject)).toMatchObject({ keyMap: 0, queued: 0 });
  }, 60_000);
});

describe('privacy delete while the sync runs (sqlite)', () => {
  let bed: SyncTestBed;

  beforeAll(async () => {
    bed = await startPrivacyBed('sqlite');
  }, 60_000);

  afterAll(async () => {
    await bed?.close();
  });

  it('holds changes during the request and issues no profile delete for the contact delete', async () => {
    const person = createPerson(bed, 1);
    await syncAll(bed);
    const { runtime, engine } = await bed.engine();
    await engine.start();
    const privacy = openPrivacyRuntime(runtime);
    try {
      const request = await privacy.runner.start({
        contactKey: person.contactId,
        regulation: 'gdpr',
        requestedBy: 'test',
      });
      expect((await runtime.store.privacy.guardOf(person.contactId))?.kind).toBe('hold');
      const patchesBefore = bed.campaign.admin.stats().byOperation['PATCH profile'] ?? 0;
      bed.dynamics.admin.updateContact(person.contactId, { lastname: 'Changed' });
      engine.wake();
      // The change arrives and is parked on the hold instead of being written.
      await expect
        .poll(async () => (await runtime.store.parked.get('contacts', person.contactId))?.parent.flow, {
          timeout: 10_000,
        })
        .toBe('privacy-hold');
      expect(bed.campaign.admin.stats().byOperation['PATCH profile'] ?? 0).toBe(patchesBefore);
      const done = await privacy.runner.runToEnd(request.id);
      expect(done.state).toBe('completed');
      // The Dynamics delete the request made comes back as a change: it is dropped, not applied.
      engine.wake();
      await new Promise((resolve) => setTimeout(resolve, 1500));
      await engine.stop();
      const operations = bed.campaign.admin.stats().byOperation;
      expect(operations['DELETE profile'] ?? 0).toBe(0);
      expect(operations['PATCH profile'] ?? 0).toBe(patchesBefore);
      expect(campaignTraces(bed, person)).toEqual({ profiles: 0, orders: 0 });
      expect(await runtime.store.parked.count()).toBe(0);
      expect(await runtime.store.queue.itemsForKey('contacts', person.contactId)).toEqual([]);
    } finally {
      await engine.stop();
      await privacy.close();
    }
  }, 60_000);

  it('serves the operator API: create takes the hold, get shows the steps, list filters', async () => {
    const person = createPerson(bed, 1);
    await syncAll(bed);
    const runtime = await bed.openRuntime();
    const opened = openPrivacyProvider(runtime)!;
    try {
      const { provider } = opened;
      await expect(provider.create({ contactId: 'not-a-guid', requestedBy: 'api' })).rejects.toMatchObject({
        code: 'PRIVACY_INVALID_CONTACT',
      });
      const view = await provider.create({ contactId: person.contactId.toUpperCase(), requestedBy: 'api' });
      expect(view).toMatchObject({
        contactId: person.contactId,
        regulation: 'gdpr',
        state: 'in-progress',
        step: 'hold',
        requestedBy: 'api',
        error: null,
      });
      expect(await runtime.store.privacy.check('contacts', person.contactId)).toBe('hold');
      const again = await provider.create({ contactId: person.contactId, requestedBy: 'dashboard' });
      expect(again.id).toBe(view.id);
      const detail = await provider.get(view.id);
      expect(detail?.steps.map((s) => [s.step, s.outcome])).toEqual([
        ['hold', 'requested'],
        ['hold', 'waiting'],
      ]);
      const listed = await provider.list({ contactId: person.contactId }, {});
      expect(listed.items.map((r) => r.id)).toEqual([view.id]);
      expect((await provider.list({ state: 'completed' }, {})).items.map((r) => r.id)).not.toContain(view.id);
      expect(await provider.get('999999')).toBeNull();
      expectNoCanary(JSON.stringify({ detail, listed }), person);
    } finally {
      await opened.close();
    }
  }, 60_000);

  it('stops on a Privacy Service error: request failed with the reason, alert raised, record still held', async () => {
    const person = createPerson(bed, 1);
    await syncAll(bed);
    bed.campaign.admin.failNextPrivacyJobs(1);
    const runtime = await bed.openRuntime();
    const alerts: Alert[] = [];
    const privacy = openPrivacyRuntime(runtime, {
      alerts: { raise: (a) => Promise.resolve(void alerts.push(a)) },
    });
    try {
      const started = await privacy.runner.start({
        contactKey: person.contactId,
        regulation: 'gdpr',
        requestedBy: 'test',
      });
      const request = await privacy.runner.runToEnd(started.id);
      expect(request).toMatchObject({ state: 'failed', step: 'poll', errorCode: 'PRIVACY_JOB_FAILED' });
      expect(request.errorMessage).toMatch(/PRVCY-1024-400/);
      expect(alerts).toEqual([
        expect.objectContaining({ kind: 'privacy-request-failed', subject: `privacy-request:${request.id}` }),
      ]);
      expect((await runtime.store.privacy.guardOf(person.contactId))?.kind).toBe('hold');
      expect(await runtime.store.privacy.check('contacts', person.contactId)).toBe('hold');
      // Nothing was deleted: the job failed before Campaign, and Dynamics comes after Campaign.
      expect(campaignTraces(bed, person).profiles).toBe(1);
      expect(bed.dynamics.admin.getContact(person.contactId)).toBeDefined();
      const steps = await runtime.store.privacy.steps(request.id);
      expect(steps.at(-1)).toMatchObject({ step: 'poll', outcome: 'failed' });
      expectNoCanary(JSON.stringify(steps) + JSON.stringify(alerts), person);
    } finally {
      await privacy.close();
    }
  }, 60_000);
});
