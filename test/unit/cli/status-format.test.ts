import { describe, expect, it } from 'vitest';
import {
  formatStatus,
  syncProcessState,
  type StatusProblems,
} from '../../../src/cli/commands/status-command.js';
import type { FlowStatus } from '../../../src/engine/flow-status.js';
import type { HeartbeatRecord } from '../../../src/engine/process-heartbeat.js';

const now = Date.UTC(2026, 11, 6, 12, 0, 0);
const noProblems: StatusProblems = { source: 'store', at: now, problems: [] };

function flow(paused = false): FlowStatus {
  return {
    flow: 'contacts',
    table: 'contact',
    control: paused ? { status: 'paused', reason: 'maintenance' } : { status: 'running' },
    backlog: { queued: 0, leased: 0, live: 0, bulk: 0 },
    lagMs: null,
    synced: 3,
    retrying: { total: 0, byCode: [] },
    deadLetters: 0,
    parked: 0,
    cursor: { phase: 'delta', runRows: 0, caughtUpAt: null },
    replay: null,
  } as unknown as FlowStatus;
}

const beat = (at: number): HeartbeatRecord => ({ owner: 'host-1', at, sample: {} });

describe('dcsync status: is anything running?', () => {
  it('a flow is running while a sync process reports', () => {
    const heartbeats = [beat(now - 5_000)];
    const text = formatStatus([flow()], heartbeats, now, noProblems, syncProcessState(heartbeats, now));
    expect(text).toContain('flow contacts (table contact): running');
  });

  it('stopped, since the last heartbeat, when it is stale', () => {
    const all = [beat(now - 10 * 60_000), beat(now - 20 * 60_000)];
    const sync = syncProcessState(all, now);
    expect(sync).toEqual({ running: false, lastSeenAt: now - 10 * 60_000 });
    expect(formatStatus([flow()], [], now, noProblems, sync)).toContain(
      'flow contacts (table contact): stopped (no sync process reporting since 2026-12-06T11:50:00.000Z, 10m ago)',
    );
  });

  it('stopped without a date when no process ever reported; a pause still shows as the pause', () => {
    const sync = syncProcessState([], now);
    expect(formatStatus([flow()], [], now, noProblems, sync)).toContain(
      'flow contacts (table contact): stopped (no sync process reporting)\n',
    );
    expect(formatStatus([flow(true)], [], now, noProblems, sync)).toContain(
      'flow contacts (table contact): PAUSED (maintenance)',
    );
  });
});
