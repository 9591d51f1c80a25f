import { Counter, type Registry } from 'prom-client';

import type { CallMetrics, CallTarget } from '../../core/ports/call-metrics.js';

export { callTargets, type CallMetrics, type CallTarget } from '../../core/ports/call-metrics.js';

/** Status label: the HTTP status as text, bounded to real status codes. */
function statusLabel(status: number | 'network' | 'timeout'): string {
  if (typeof status === 'string') return status;
  return Number.isInteger(status) && status >= 100 && status <= 599 ? String(status) : 'invalid';
}

/** `dcsync_remote_calls_total{target,status}` on `registry`. */
export class CallMetricsCounter implements CallMetrics {
  private readonly counter: Counter<'target' | 'status'>;

  constructor(registry: Registry) {
    this.counter = new Counter({
      name: 'dcsync_remote_calls_total',
      help: 'Calls to remote systems by target and HTTP status (network/timeout when unanswered)',
      labelNames: ['target', 'status'],
      registers: [registry],
    });
  }

  record(target: CallTarget, status: number | 'network' | 'timeout'): void {
    this.counter.inc({ target, status: statusLabel(status) });
  }
}
