/** Kinds of operator alerts (DESIGN.md §5; de-duplicated by the alert dispatcher). */
export const alertKinds = [
  'flow-failed',
  'flow-paused',
  'breaker-tripped',
  'dead-letters-growing',
  'opt-out-file-stale',
  'opt-out-file-problem',
  'sftp-usage',
  'delta-rebaseline',
  'privacy-request-failed',
  // Health problems (src/engine/health): raised when a problem starts, and resolved when it ends.
  'dead-letters',
  'changes-retrying',
  'campaign-throttled',
  'campaign-failing',
  'campaign-rate-cut',
  'backlog-growing',
  'orphans',
  'privacy-request-stuck',
  'no-sync-process',
] as const;
export type AlertKind = (typeof alertKinds)[number];

/** A problem starting (or getting worse), or the same problem ending. */
export const alertStates = ['firing', 'resolved'] as const;
export type AlertState = (typeof alertStates)[number];

export interface Alert {
  kind: AlertKind;
  severity: 'info' | 'warning' | 'critical';
  /** @default 'firing' */
  state?: AlertState | undefined;
  /** Flow, table or request the alert is about; part of the de-duplication key. */
  subject: string;
  /** Text without personal data. */
  message: string;
  at: number;
}

export interface AlertSink {
  raise(alert: Alert): Promise<void>;
}
