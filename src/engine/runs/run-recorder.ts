import type { EngineLogger } from '../../core/ports/engine-logger.js';
import type {
  RunCountsDelta,
  RunKind,
  RunOutcome,
  RunStore,
  RunTrigger,
} from '../../core/ports/state-store.js';

/**
 * Records the runs of work that knows its own start, end and counts — an opt-out export file, a
 * privacy request — in the run history. A run is found again by its kind and subject (the file
 * name, the request id) when the work resumes after a restart, so it keeps its id. Recording never
 * fails the work: a store error is logged and the work goes on.
 */
export class RunRecorder {
  constructor(
    private readonly runs: RunStore,
    private readonly logger: EngineLogger,
  ) {}

  /** The running run of `kind` about `subject` (continued), or a new one. Null when the store failed. */
  async begin(input: {
    flow: string;
    kind: RunKind;
    trigger: RunTrigger;
    subject: string;
  }): Promise<string | null> {
    try {
      const running = await this.find(input.kind, input.subject);
      if (running !== null) {
        await this.runs.addEvent(running, { kind: 'continued', detail: 'resumed where it stopped' });
        return running;
      }
      return (await this.runs.start({ ...input, phase: 'writing' })).id;
    } catch (error) {
      this.logger.warn({ err: error, kind: input.kind }, 'recording a run start failed');
      return null;
    }
  }

  /** End the running run of `kind` about `subject` with its counts, if there is one. */
  async end(
    kind: RunKind,
    subject: string,
    outcome: Exclude<RunOutcome, 'running'>,
    result: { counts?: RunCountsDelta; total?: number; detail?: string | null } = {},
  ): Promise<void> {
    try {
      const id = await this.find(kind, subject);
      if (id === null) return;
      if (result.detail) await this.runs.addEvent(id, { kind: outcome, detail: result.detail });
      await this.runs.end(id, outcome, {
        ...(result.counts ? { addCounts: result.counts } : {}),
        ...(result.total === undefined ? {} : { total: result.total, totalSource: 'read' as const }),
      });
    } catch (error) {
      this.logger.warn({ err: error, kind }, 'recording a run end failed');
    }
  }

  /** Add an event to the running run of `kind` about `subject`, if there is one. */
  async event(kind: RunKind, subject: string, event: string, detail: string | null = null): Promise<void> {
    try {
      const id = await this.find(kind, subject);
      if (id !== null) await this.runs.addEvent(id, { kind: event, detail });
    } catch (error) {
      this.logger.warn({ err: error, kind }, 'recording a run event failed');
    }
  }

  private async find(kind: RunKind, subject: string): Promise<string | null> {
    const run = (await this.runs.active()).find((r) => r.kind === kind && r.subject === subject);
    return run?.id ?? null;
  }
}
