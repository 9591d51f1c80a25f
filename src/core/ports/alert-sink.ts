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
] as const;
export type AlertKind = (typeof alertKinds)[number];

export interface Alert {
  kind: AlertKind;
  severity: 'info' | 'warning' | 'critical';
  /** Flow, table or request the alert is about; part of the de-duplication key. */
  subject: string;
  /** Text without personal data. */
  message: string;
  at: number;
}

export interface AlertSink {
  raise(alert: Alert): Promise<void>;
}
