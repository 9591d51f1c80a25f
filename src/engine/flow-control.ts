import type { Clock } from '../core/clock.js';
import type { StateStore } from '../core/ports/state-store.js';

/** Operator-visible state of a flow (checkpoint `flow:<id>:control`). */
export interface FlowControlState {
  status: 'running' | 'paused';
  reason: string | null;
  since: number;
  /** Run whose mass change the operator accepted (the breaker stays quiet for it). */
  acceptedRunId: string | null;
  /** Run that tripped the breaker, when paused by it. */
  trippedRunId: string | null;
}

export function controlCheckpoint(flowId: string): string {
  return `flow:${flowId}:control`;
}

/**
 * Pause/resume state of every flow, persisted so a pause survives restarts and is seen by every
 * process. Reads are served from memory and refreshed by {@link refresh}.
 */
export class FlowControl {
  private readonly states = new Map<string, FlowControlState>();

  constructor(
    private readonly store: StateStore,
    private readonly clock: Clock,
  ) {}

  async refresh(flowIds: readonly string[]): Promise<void> {
    for (const id of flowIds) {
      const raw = await this.store.checkpoints.get(controlCheckpoint(id));
      this.states.set(id, raw ? (JSON.parse(raw) as FlowControlState) : this.initial());
    }
  }

  private initial(): FlowControlState {
    return {
      status: 'running',
      reason: null,
      since: this.clock.now(),
      acceptedRunId: null,
      trippedRunId: null,
    };
  }

  get(flowId: string): FlowControlState {
    return this.states.get(flowId) ?? this.initial();
  }

  isPaused(flowId: string): boolean {
    return this.get(flowId).status === 'paused';
  }

  isMassChangeAccepted(flowId: string, runId: string | null): boolean {
    return runId !== null && this.get(flowId).acceptedRunId === runId;
  }

  private async write(flowId: string, state: FlowControlState): Promise<void> {
    this.states.set(flowId, state);
    await this.store.checkpoints.set(controlCheckpoint(flowId), JSON.stringify(state));
  }

  async pause(flowId: string, reason: string, trippedRunId: string | null = null): Promise<void> {
    await this.write(flowId, {
      ...this.get(flowId),
      status: 'paused',
      reason,
      since: this.clock.now(),
      trippedRunId,
    });
  }

  /** Resume; with `acceptMassChange`, the run that tripped the breaker may continue. */
  async resume(flowId: string, acceptMassChange = false): Promise<void> {
    const current = this.get(flowId);
    await this.write(flowId, {
      status: 'running',
      reason: null,
      since: this.clock.now(),
      acceptedRunId: acceptMassChange ? current.trippedRunId : current.acceptedRunId,
      trippedRunId: null,
    });
  }
}
