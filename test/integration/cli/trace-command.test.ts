/**
 * `dcsync trace` (text and --json) and `GET /api/trace` over a store the real engine synced from
 * the emulators: the same answer, field names and never values.
 */
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamicsContactFinder } from '../../../src/connectors/dynamics/dynamics-contact-finder.js';
import { buildHttpApp } from '../../../src/server/http-server.js';
import type { TraceAnswer } from '../../../src/server/routes/trace-routes.js';
import { buildContact } from '../../support/dynamics-builders.js';
import { runDcsync } from '../../support/cli-runner.js';
import { ServerTestBed } from '../../support/server-test-bed.js';
import { testEnv } from '../../support/sync-test-bed.js';

describe('dcsync trace and GET /api/trace', () => {
  let t: ServerTestBed;
  let id: string;
  let badId: string;
  let pkey: string;
  const personal = ['Trace-Grace', 'Trace-Hopper', 'grace.trace@example.org'];

  beforeAll(async () => {
    t = await ServerTestBed.start({ dynamics: { contacts: 5, seed: 17 } });
    id = String(
      t.bed.dynamics.admin.createContact(
        buildContact({ firstname: personal[0], lastname: personal[1], emailaddress1: personal[2] }),
      ).contactid,
    );
    // Dynamics allows 50 characters of first name; Campaign's profile field holds 30.
    badId = String(
      t.bed.dynamics.admin.createContact(
        buildContact({ firstname: 'Bartholomew-Maximilian-Alexander-Fitzgerald' }),
      ).contactid,
    );
    await t.engine.runUntilIdle({ timeoutMs: 60_000 });
    pkey = String(t.bed.profilesByExternalId().get(id)!.PKey);
  });
  afterAll(async () => {
    await t?.close();
  });

  it('prints each match with state, PKey and steps newest first, as text', async () => {
    const result = await runDcsync(['trace', id.toUpperCase(), '--config', t.bed.configPath], testEnv);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`contacts/${id}  synced  PKey ${pkey}`);
    expect(lines[1]).toMatch(/^ {2}\d{4}-\d\d-\d\dT\S+Z {2}applied {10}created \(PKey /);
    expect(lines[1]).toMatch(/\[fields: .*email.*\]$/);
    expect(lines[2]).toMatch(/^ {2}\S+ {2}read {13}version \d+ read and staged in the (live|bulk) lane$/);
    for (const value of personal) expect(result.stdout).not.toContain(value);

    // By e-mail: Dynamics is asked live; the answer is the contact's trace.
    const byEmail = await runDcsync(['trace', personal[2]!, '--config', t.bed.configPath], testEnv);
    expect(byEmail.stdout.split('\n')[0]).toBe(`contacts/${id}  synced  PKey ${pkey}`);

    const dead = await runDcsync(
      ['trace', badId, '--config', t.bed.configPath, '--flow', 'contact'],
      testEnv,
    );
    expect(dead.stdout).toContain(`contacts/${badId}  dead-lettered`);
    expect(dead.stdout).toMatch(/dead-lettered {4}dead-lettered \(MAPPING_INVALID\)/);

    const none = await runDcsync(['trace', 'no-such-key', '--config', t.bed.configPath], testEnv);
    expect(none).toMatchObject({ code: 0 });
    expect(none.stdout).toBe(
      'no record found for "no-such-key" (give a Dynamics id, a Campaign PKey, a record key or an e-mail)\n',
    );
  });

  it('--json prints the answer GET /api/trace gives, by id and by PKey', async () => {
    const result = await runDcsync(['trace', pkey, '--config', t.bed.configPath, '--json'], testEnv);
    expect(result.code).toBe(0);
    const fromCli = JSON.parse(result.stdout) as TraceAnswer;
    expect(fromCli.query).toBe(pkey);
    expect(fromCli.matches).toHaveLength(1);
    expect(fromCli.matches[0]).toMatchObject({
      flow: 'contacts',
      recordKey: id,
      campaignPKey: pkey,
      state: 'synced',
      parent: null,
      children: [],
      truncated: false,
    });
    expect(fromCli.matches[0]!.steps.map((s) => s.kind)).toEqual(['applied', 'read']);

    const fromApi = await t.api<TraceAnswer>('GET', `/api/trace?key=${encodeURIComponent(pkey)}`);
    expect(fromApi.status).toBe(200);
    expect(fromApi.json).toEqual(fromCli);
    const byId = await t.api<TraceAnswer>('GET', `/api/trace?key=${id}&flow=contact`);
    expect(byId.json.matches.map((m) => m.steps)).toEqual(fromCli.matches.map((m) => m.steps));
    for (const value of personal) expect(fromApi.text).not.toContain(value);

    // An e-mail is asked of Dynamics when the server has a contact finder (as `dcsync run` wires it).
    const withFinder = await buildHttpApp({
      ...t.deps,
      registry: new Registry(),
      contactFinder: new DynamicsContactFinder(t.runtime.dynamics.client),
    });
    try {
      const answer = await withFinder.inject({
        method: 'GET',
        url: `/api/trace?key=${encodeURIComponent(personal[2]!)}`,
        headers: { authorization: `Bearer ${t.deps.adminToken}` },
      });
      expect(answer.statusCode).toBe(200);
      expect((JSON.parse(answer.body) as TraceAnswer).matches.map((m) => m.steps)).toEqual(
        fromCli.matches.map((m) => m.steps),
      );
    } finally {
      await withFinder.close();
    }
    // Without one, an e-mail finds nothing; either way nothing of it is kept.
    expect(
      (await t.api<TraceAnswer>('GET', `/api/trace?key=${encodeURIComponent(personal[2]!)}`)).json.matches,
    ).toEqual([]);
    const trail = await t.runtime.store.audit.list({}, { limit: 500 });
    expect(JSON.stringify(trail)).not.toContain(personal[2]);

    expect((await t.api('GET', '/api/trace')).status).toBe(400);
    expect((await t.api<TraceAnswer>('GET', '/api/trace?key=nothing')).json).toEqual({
      query: 'nothing',
      matches: [],
    });
  });
});
