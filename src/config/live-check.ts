import type { Redactor } from '../logging/redactor.js';
import type { ConfigFinding } from './config-finding.js';
import type { ResolvedConfig } from './resolved-config.js';

/** What a live check receives. */
export interface LiveCheckContext {
  /** The validated configuration, secrets resolved. */
  readonly config: ResolvedConfig;
  /** Register any token a check obtains; scrub anything a remote returned before reporting it. */
  readonly redactor: Redactor;
  /** Aborted when `validate` gives up (timeout or Ctrl-C); checks stop their requests. */
  readonly signal: AbortSignal;
}

/**
 * A pre-flight check against a live tenant (e.g. "change tracking is enabled on every synced
 * table", "mapped columns exist on both sides"). `validate` runs the registered checks after the
 * file itself is valid, unless `--offline` is given. A check reports problems as findings (codes
 * `PREFLIGHT_…`); a check that throws becomes one `PREFLIGHT_CHECK_FAILED` finding.
 */
export interface LiveCheck {
  /** Short stable name shown in output, e.g. `dynamics-change-tracking`. */
  readonly name: string;
  /** Whether the check applies to this configuration (e.g. only when opt-outs use SFTP). @default always */
  readonly appliesTo?: (config: ResolvedConfig) => boolean;
  run(context: LiveCheckContext): Promise<readonly ConfigFinding[]>;
}
