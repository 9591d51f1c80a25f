/**
 * The doctor's round trip over an in-memory record sink, for what the emulator cannot stage
 * deterministically: a create that Campaign stored but whose answer was lost, and durations read
 * from the injected clock. (The real client and emulator: test/integration/cli/doctor-command.test.ts.)
 */
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../../src/core/clock.js';
import { ConnectorError } from '../../../src/core/errors.js';
import type { JsonObject } from '../../../src/core/json.js';
import type { TargetResourceMetadata } from '../../../src/core/ports/metadata.js';
import type { RecordSink, SinkRecord } from '../../../src/core/ports/record-sink.js';
import { CallRecorder, runDoctorRoundTrip } from '../../../src/cli/runtime/doctor-round-trip.js';

const metadata: TargetResourceMetadata = {
  name: 'profile',
  label: 'Profiles',
  schema: 'nms:recipient',
  root: 'profileAndServicesExt',
  keyFields: ['externalId'],
  fields: {},
  links: {},
};

/** Profiles in memory; every call is counted as one Campaign call and takes 5 ms of clock time. */
class MemorySink implements RecordSink {
  readonly resource = 'profile';
  readonly keyField = 'externalId';
  readonly keyIsUnique = true;
  readonly records = new Map<string, JsonObject>();
  loseCreateAnswer = false;
  private next = 1;

  constructor(
    private readonly clock: ManualClock,
    private readonly recorder: CallRecorder,
  ) {}

  private call(status: number): void {
    this.clock.advance(5);
    this.recorder.record('campaign', status);
  }

  findByKey(key: string): Promise<SinkRecord | null> {
    const hit = [...this.records].find(([, fields]) => fields.externalId === key);
    this.call(hit ? 200 : 404);
    return Promise.resolve(hit ? { pkey: hit[0], fields: hit[1] } : null);
  }

  create(fields: JsonObject): Promise<{ pkey: string }> {
    const pkey = `@p${this.next++}`;
    this.records.set(pkey, fields);
    if (this.loseCreateAnswer) {
      this.clock.advance(5);
      this.recorder.record('campaign', 'timeout');
      return Promise.reject(
        new ConnectorError('campaign', 'CAMPAIGN_TIMEOUT', 'Campaign POST profile timed out'),
      );
    }
    this.call(201);
    return Promise.resolve({ pkey });
  }

  update(pkey: string, fields: JsonObject): Promise<'ok' | 'not-found'> {
    const current = this.records.get(pkey);
    this.call(current ? 200 : 404);
    if (!current) return Promise.resolve('not-found');
    this.records.set(pkey, { ...current, ...fields });
    return Promise.resolve('ok');
  }

  delete(pkey: string): Promise<'ok' | 'not-found'> {
    const existed = this.records.delete(pkey);
    this.call(existed ? 200 : 404);
    return Promise.resolve(existed ? 'ok' : 'not-found');
  }
}

function setUp(): { clock: ManualClock; recorder: CallRecorder; sink: MemorySink } {
  const clock = new ManualClock();
  const recorder = new CallRecorder();
  return { clock, recorder, sink: new MemorySink(clock, recorder) };
}

describe('runDoctorRoundTrip', () => {
  it('times each step on the injected clock', async () => {
    const { clock, recorder, sink } = setUp();
    const report = await runDoctorRoundTrip('doctor-1', {
      clock,
      recorder,
      externalIdFilter: 'byExternalId',
      describeProfile: () => Promise.resolve(metadata),
      profileSink: () => sink,
    });
    expect(report.outcome).toBe('passed');
    expect(report.steps.map((s) => [s.name, s.status, s.durationMs])).toEqual([
      ['profile-metadata', null, 0],
      ['check-free', 404, 5],
      ['create', 201, 5],
      ['read', 200, 5],
      ['update', 200, 5],
      ['read-updated', 200, 5],
      ['delete', 200, 5],
      ['verify-gone', 404, 5],
    ]);
    expect(sink.records.size).toBe(0);
  });

  it('deletes the profile a create stored before its answer was lost', async () => {
    const { clock, recorder, sink } = setUp();
    sink.loseCreateAnswer = true;
    const report = await runDoctorRoundTrip('doctor-2', {
      clock,
      recorder,
      externalIdFilter: 'byExternalId',
      describeProfile: () => Promise.resolve(metadata),
      profileSink: () => sink,
    });
    expect(report.outcome).toBe('failed');
    expect(report.steps.map((s) => [s.name, s.ok, s.status])).toEqual([
      ['profile-metadata', true, null],
      ['check-free', true, 404],
      ['create', false, 'timeout'],
      ['cleanup', true, 200],
    ]);
    expect(report.steps[2]!.code).toBe('CAMPAIGN_TIMEOUT');
    expect(report.steps[3]!.detail).toBe('the failed create had stored test profile @p1: deleted (ok)');
    expect(report.leftBehind).toBeNull();
    expect(sink.records.size).toBe(0);
  });

  it('leaves a foreign profile alone when a create fails for another reason', async () => {
    const { clock, recorder, sink } = setUp();
    const report = await runDoctorRoundTrip('doctor-3', {
      clock,
      recorder,
      externalIdFilter: 'byExternalId',
      describeProfile: () => Promise.resolve(metadata),
      profileSink: () => ({
        resource: 'profile',
        keyField: 'externalId',
        keyIsUnique: true,
        findByKey: (key) => sink.findByKey(key),
        create: () => {
          // Someone else's profile appears with the id between the check and the create.
          sink.records.set('@foreign', { externalId: 'doctor-3', email: 'someone@example.org' });
          return Promise.resolve({ duplicate: true as const });
        },
        update: (pkey, fields) => sink.update(pkey, fields),
        delete: (pkey) => sink.delete(pkey),
      }),
    });
    expect(report.steps.map((s) => [s.name, s.ok])).toEqual([
      ['profile-metadata', true],
      ['check-free', true],
      ['create', false],
      ['cleanup', true],
    ]);
    expect(report.steps[3]!.detail).toBe('no test profile holds externalId doctor-3: nothing to clean up');
    expect(sink.records.has('@foreign')).toBe(true);
  });
});
