/** Remote systems a call can go to (bounded metric label values). */
export const callTargets = [
  'campaign',
  'ims',
  'privacy-service',
  'adobe-events',
  'dynamics',
  'entra',
  'sftp',
] as const;
export type CallTarget = (typeof callTargets)[number];

/**
 * What an HTTP client reports per answered (or failed) call, for `/metrics`. Clients accept it as
 * an optional dependency; `status` is the HTTP status, or `network` / `timeout` without an answer.
 */
export interface CallMetrics {
  record(target: CallTarget, status: number | 'network' | 'timeout'): void;
}
