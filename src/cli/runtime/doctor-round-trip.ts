import type { Clock } from '../../core/clock.js';
import { SyncError } from '../../core/errors.js';
import type { CallMetrics, CallTarget } from '../../core/ports/call-metrics.js';
import type { TargetResourceMetadata } from '../../core/ports/metadata.js';
import type { RecordSink, SinkCallOptions } from '../../core/ports/record-sink.js';

/** One HTTP call a step made, as the production clients counted it. */
export interface DoctorCall {
  target: CallTarget;
  /** The HTTP status, or `network` / `timeout` when no answer came. */
  status: number | 'network' | 'timeout';
}

/** One step of `dcsync doctor`: what it called, what it proved, how long it took. */
export interface DoctorStep {
  name: string;
  ok: boolean;
  /** The status of the step's last call to the system it tests (null when it made none). */
  status: number | 'network' | 'timeout' | null;
  /** Every call of the step in order (token requests and retries included). */
  calls: DoctorCall[];
  durationMs: number;
  /** What the step proved, or why it failed. Never field values of a real record. */
  detail: string;
  /** The error code when the step failed on an error. */
  code?: string;
}

/** The whole report. */
export interface DoctorReport {
  externalId: string;
  /** `passed` (every step), `failed` (a step failed) or `refused` (a record not ours holds the id). */
  outcome: 'passed' | 'failed' | 'refused';
  steps: DoctorStep[];
  /** PKey of a test profile the doctor could not delete (delete it by hand), else null. */
  leftBehind: string | null;
}

/** A {@link CallMetrics} that also remembers each call, so a step can report its statuses. */
export class CallRecorder implements CallMetrics {
  private readonly calls: DoctorCall[] = [];

  constructor(private readonly inner?: CallMetrics) {}

  record(target: CallTarget, status: number | 'network' | 'timeout'): void {
    this.calls.push({ target, status });
    this.inner?.record(target, status);
  }

  /** Position to pass to {@link since}. */
  mark(): number {
    return this.calls.length;
  }

  since(mark: number): DoctorCall[] {
    return this.calls.slice(mark);
  }
}

/** The e-mail the test profile carries: reserved domain (RFC 2606), never deliverable. */
export function doctorEmail(externalId: string): string {
  return `dcsync-doctor+${externalId}@example.invalid`;
}

/** First name marking the test profile. */
export const doctorFirstName = 'dcsync-doctor';
const createdLastName = 'test profile, delete me';
const updatedLastName = 'test profile, updated';

/** What a test external id may look like: short, plain, and never a PKey. */
export const doctorExternalIdPattern = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

class StepFailure extends Error {}

function describeError(error: unknown): { message: string; code?: string } {
  if (error instanceof SyncError) return { message: error.message, code: error.code };
  return { message: error instanceof Error ? error.message : String(error) };
}

/** Everything a round trip needs: the production sink and metadata reader, the call recorder, the clock. */
export interface DoctorRoundTripDeps {
  readonly clock: Clock;
  readonly recorder: CallRecorder;
  /** `describeResource('profile')` of the production Campaign client. */
  describeProfile(): Promise<TargetResourceMetadata>;
  /** The profile sink the contact flow would use, for the metadata read. */
  profileSink(metadata: TargetResourceMetadata): RecordSink;
  /** The filter the sink uses when externalId is not a declared key (`campaign.externalIdFilter`). */
  readonly externalIdFilter: string;
  /** A read-only Dynamics check to run first (`--test-contact`), or none. */
  readContact?: (() => Promise<string>) | undefined;
}

/**
 * The round trip of `dcsync doctor`: reads the profile metadata (how the engine will address
 * profiles), checks that no profile holds the test externalId (one left by an earlier doctor run,
 * recognised by its test e-mail and first name, is deleted; any other refuses the run), then
 * creates, reads back by key, updates, reads again, deletes and checks the profile is gone —
 * through the same {@link RecordSink} the contact flow writes with. Whatever fails after the
 * create, the profile is deleted before returning (step `cleanup`).
 */
export async function runDoctorRoundTrip(
  externalId: string,
  deps: DoctorRoundTripDeps,
): Promise<DoctorReport> {
  const steps: DoctorStep[] = [];
  const live: SinkCallOptions = { lane: 'live' };
  const email = doctorEmail(externalId);

  async function step<T>(
    name: string,
    target: CallTarget,
    run: () => Promise<{ value: T; detail: string }>,
  ): Promise<T> {
    const mark = deps.recorder.mark();
    const started = deps.clock.now();
    const finish = (ok: boolean, detail: string, code?: string): void => {
      const calls = deps.recorder.since(mark);
      const own = calls.filter((c) => c.target === target);
      steps.push({
        name,
        ok,
        status: own.at(-1)?.status ?? null,
        calls,
        durationMs: Math.max(0, deps.clock.now() - started),
        detail,
        ...(code ? { code } : {}),
      });
    };
    try {
      const { value, detail } = await run();
      finish(true, detail);
      return value;
    } catch (error) {
      const { message, code } = describeError(error);
      finish(false, message, code);
      throw new StepFailure(message);
    }
  }

  if (deps.readContact) {
    const readContact = deps.readContact;
    try {
      await step('dynamics-read-contact', 'dynamics', async () => ({
        value: null,
        detail: await readContact(),
      }));
    } catch (error) {
      if (!(error instanceof StepFailure)) throw error;
    }
  }

  let sink: RecordSink | null = null;
  let created: string | null = null;
  let createSent = false;
  let deleted = false;
  let refused = false;
  try {
    const metadata = await step('profile-metadata', 'campaign', async () => {
      const m = await deps.describeProfile();
      const declared = m.keyFields.includes('externalId');
      return {
        value: m,
        detail: declared
          ? 'externalId is the profile identification key: profiles are read by key (GET …/profile/<externalId>)'
          : `externalId is not declared as an identification key (keys: ${m.keyFields.join(', ') || 'none'}): profiles are looked up through the custom filter ${deps.externalIdFilter} (externalId_parameter)`,
      };
    });
    sink = deps.profileSink(metadata);
    const profiles = sink;

    const existing = await step('check-free', 'campaign', async () => {
      const found = await profiles.findByKey(externalId, live);
      if (!found) return { value: null, detail: `no profile holds externalId ${externalId}` };
      if (found.fields.email === email && found.fields.firstName === doctorFirstName)
        return {
          value: found.pkey,
          detail: `profile ${found.pkey} is a test profile an earlier doctor run left behind: deleting it first`,
        };
      refused = true;
      throw new Error(
        `profile ${found.pkey} already holds externalId ${externalId} and was not created by dcsync doctor: refused, nothing written (name another test externalId)`,
      );
    });
    if (existing) {
      await step('remove-leftover', 'campaign', async () => {
        const outcome = await profiles.delete(existing, live);
        return { value: null, detail: `leftover test profile ${existing} deleted (${outcome})` };
      });
    }

    created = await step('create', 'campaign', async () => {
      createSent = true;
      const result = await profiles.create(
        { externalId, email, firstName: doctorFirstName, lastName: createdLastName },
        live,
      );
      if ('duplicate' in result)
        throw new Error(`Campaign answered that externalId ${externalId} exists already (duplicate key)`);
      return {
        value: result.pkey,
        detail: `created test profile ${result.pkey} (externalId ${externalId}, test e-mail dcsync-doctor+<id> at example.invalid)`,
      };
    });
    const pkey = created;

    const readBack = async (
      expectLastName: string,
      what: string,
    ): Promise<{ value: null; detail: string }> => {
      const found = await profiles.findByKey(externalId, live);
      if (!found) throw new Error(`profile ${pkey} not found by externalId ${externalId}`);
      if (found.pkey !== pkey)
        throw new Error(`externalId ${externalId} found profile ${found.pkey}, not the created ${pkey}`);
      if (found.fields.lastName !== expectLastName)
        throw new Error(`profile ${pkey} read back without the ${what} lastName`);
      return { value: null, detail: `read back by externalId: same PKey, ${what} lastName` };
    };
    await step('read', 'campaign', () => readBack(createdLastName, 'created'));

    await step('update', 'campaign', async () => {
      const outcome = await profiles.update(pkey, { lastName: updatedLastName }, live);
      if (outcome !== 'ok') throw new Error(`profile ${pkey} vanished before its update`);
      return { value: null, detail: `updated lastName of ${pkey} (PATCH by PKey)` };
    });
    await step('read-updated', 'campaign', () => readBack(updatedLastName, 'updated'));

    await step('delete', 'campaign', async () => {
      const outcome = await profiles.delete(pkey, live);
      if (outcome !== 'ok') throw new Error(`profile ${pkey} was gone before the delete`);
      deleted = true;
      return { value: null, detail: `deleted ${pkey}` };
    });
    await step('verify-gone', 'campaign', async () => {
      const found = await profiles.findByKey(externalId, live);
      if (found)
        throw new Error(`externalId ${externalId} still finds profile ${found.pkey} after the delete`);
      return { value: null, detail: `externalId ${externalId} no longer finds a profile` };
    });
  } catch (error) {
    if (!(error instanceof StepFailure)) throw error;
  } finally {
    if (sink !== null && created === null && createSent) {
      // The create failed, but Campaign may have stored the profile and lost only its answer.
      const profiles = sink;
      await step('cleanup', 'campaign', async () => {
        const found = await profiles.findByKey(externalId, live);
        if (!found || found.fields.email !== email || found.fields.firstName !== doctorFirstName)
          return {
            value: null,
            detail: `no test profile holds externalId ${externalId}: nothing to clean up`,
          };
        created = found.pkey;
        const outcome = await profiles.delete(found.pkey, live);
        deleted = true;
        return {
          value: null,
          detail: `the failed create had stored test profile ${found.pkey}: deleted (${outcome})`,
        };
      }).catch(() => {
        const last = steps.at(-1)!;
        last.detail = `${last.detail}; look up externalId ${externalId} in Campaign and delete a dcsync-doctor test profile by hand`;
      });
    } else if (sink !== null && created !== null && !deleted) {
      const pkey = created;
      const profiles = sink;
      // step() turns every failure into a recorded step; nothing thrown here escapes the finally.
      await step('cleanup', 'campaign', async () => {
        const outcome = await profiles.delete(pkey, live);
        deleted = true;
        return { value: null, detail: `test profile ${pkey} deleted after the failure (${outcome})` };
      }).catch(() => {
        const last = steps.at(-1)!;
        last.detail = `${last.detail}; test profile ${pkey} is left in Campaign: delete it by hand`;
      });
    }
  }
  const failed = steps.some((s) => !s.ok);
  return {
    externalId,
    outcome: refused ? 'refused' : failed ? 'failed' : 'passed',
    steps,
    leftBehind: created !== null && !deleted ? created : null,
  };
}
