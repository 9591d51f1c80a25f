import { z } from 'zod';
import type { Clock } from '../core/clock.js';
import type { StateStore } from '../core/ports/state-store.js';
import { defineCheckpoint, readCheckpoint, writeCheckpoint } from './checkpoints.js';

const flowControlSchema = z.object({
  status: z.enum(['running', 'paused']),
  reason: z.string().nullable(),
  since: z.number(),
  /** Run whose mass change the operator accepted (the breaker stays quiet for it). */
  acceptedRunId: z.string().nullable(),
  /** Run that tripped the breaker, when paused by it. */
  trippedRunId: z.string().nullable(),
});

/** Operator-visible state of a flow. */
export type FlowControlState = z.infer<typeof flowControlSchema>;

/** Checkpoint `flow:<id>:control`: paused or running, why, since when. */
export const controlCheckpoint = defineCheckpoint<FlowControlState>({
  description: 'pause state of a flow',
  name: (flowId) => `flow:${flowId}:control`,
  schema: flowControlSchema,
  initial: (now) => ({
    status: 'running',
    reason: null,
    since: now,
    acceptedRunId: null,
    trippedRunId: null,
  }),
});

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
    for (const id of flowIds)
      this.states.set(
        id,
        await readCheckpoint(this.store.checkpoints, controlCheckpoint, id, this.clock.now()),
      );
  }

  get(flowId: string): FlowControlState {
    return this.states.get(flowId) ?? controlCheckpoint.initial(this.clock.now());
  }

  isPaused(flowId: string): boolean {
    return this.get(flowId).status === 'paused';
  }

  isMassChangeAccepted(flowId: string, runId: string | null): boolean {
    return runId !== null && this.get(flowId).acceptedRunId === runId;
  }

  private async write(flowId: string, state: FlowControlState): Promise<void> {
    this.states.set(flowId, state);
    await writeCheckpoint(this.store.checkpoints, controlCheckpoint, flowId, state);
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
