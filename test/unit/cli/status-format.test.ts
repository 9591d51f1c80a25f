import { describe, expect, it } from 'vitest';
import {
  formatStatus,
  syncProcessState,
  type StatusProblems,
} from '../../../src/cli/commands/status-command.js';
import type { FlowStatus } from '../../../src/engine/flow-status.js';
import { describeWorkers, type WorkersView } from '../../../src/engine/worker-registry.js';
import type { WorkerRecord } from '../../../src/core/ports/worker-store.js';

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

const worker = (id: string, heartbeatAt: number, duties: string[] = []): WorkerRecord => ({
  id,
  host: 'host-1',
  pid: 100,
  version: '0.1.0',
  schemaVersion: 11,
  startedAt: heartbeatAt - 60_000,
  heartbeatAt,
  state: 'running',
  duties,
  itemsLeased: 2,
  budget: null,
  lastError: null,
});
const view = (rows: WorkerRecord[]): WorkersView =>
  describeWorkers(
    rows,
    [{ name: 'poller:contacts', owner: 'w1', epoch: 3, expiresAt: now + 5_000 }],
    now,
    10_000,
  );

describe('dcsync status: is anything running?', () => {
  it('a flow is running while a worker reports; workers and duty holders are listed, dead ones marked', () => {
    const workers = view([worker('w1', now - 1_000, ['poller:contacts']), worker('w2', now - 60_000)]);
    const text = formatStatus([flow()], workers, now, noProblems);
    expect(text).toContain('flow contacts (table contact): running');
    expect(text).toContain('workers: 1 alive of 2 on record');
    expect(text).toContain(
      'worker w1 (host host-1, pid 100, dcsync 0.1.0): running; started 61s ago, last heartbeat 1s ago',
    );
    expect(text).toContain('duties poller:contacts; 2 items leased');
    expect(text).toContain('worker w2 (host host-1, pid 100, dcsync 0.1.0): DEAD (no heartbeat)');
    expect(text).toContain('duty poller:contacts: held by w1 (epoch 3)');
  });

  it('stopped, since the last heartbeat, when every worker is dead', () => {
    const workers = view([worker('w1', now - 10 * 60_000), worker('w2', now - 20 * 60_000)]);
    const sync = syncProcessState(workers);
    expect(sync).toEqual({ running: false, lastSeenAt: now - 10 * 60_000 });
    expect(formatStatus([flow()], workers, now, noProblems, sync)).toContain(
      'flow contacts (table contact): stopped (no sync process reporting since 2026-12-06T11:50:00.000Z, 10m ago)',
    );
  });

  it('stopped without a date when no process ever reported; a pause still shows as the pause', () => {
    const none = view([]);
    expect(formatStatus([flow()], none, now, noProblems)).toContain(
      'flow contacts (table contact): stopped (no sync process reporting)\n',
    );
    expect(formatStatus([flow(true)], none, now, noProblems)).toContain(
      'flow contacts (table contact): PAUSED (maintenance)',
    );
  });
});
