import type { Redactor } from '../logging/redactor.js';
import type { ConfigFinding, ConfigPath, LocateConfigPath } from './config-finding.js';
import type { ResolvedConfig } from './resolved-config.js';

/** What a live check receives. */
export interface LiveCheckContext {
  /** The validated configuration, secrets resolved. */
  readonly config: ResolvedConfig;
  /** Register any token a check obtains; scrub anything a remote returned before reporting it. */
  readonly redactor: Redactor;
  /** Aborted when `validate` gives up (timeout or Ctrl-C); checks stop their requests. */
  readonly signal: AbortSignal;
  /** Where a configuration path sits in the file, when the loader knows it. */
  readonly locate?: LocateConfigPath;
  /** `--strict`: what is a warning before go-live (e.g. no opt-out export file yet) is an error. */
  readonly strict?: boolean;
}

/**
 * A pre-flight check against a live tenant (e.g. "change tracking is enabled on every synced
 * table", "mapped columns exist on both sides"). `validate` runs the registered checks after the
 * file itself is valid, unless `--offline` is given. A check reports problems as findings (codes
 * `PREFLIGHT_…`); a check that throws becomes one `PREFLIGHT_CHECK_FAILED` finding.
 */
export interface LiveCheck {
  /** Short stable name shown in output, e.g. `dynamics-change-tracking` (the check's id). */
  readonly name: string;
  /** What it proves, for people, e.g. `Entra ID token`. @default the name */
  readonly title?: string;
  /** The configuration path it concerns, e.g. `['campaign', 'clientSecret']`. */
  readonly configPath?: ConfigPath;
  /** Checks that must pass (or warn) first; when one fails, this one is skipped. */
  readonly dependsOn?: readonly string[];
  /** Whether the check applies to this configuration (e.g. only when opt-outs use SFTP). @default always */
  readonly appliesTo?: (config: ResolvedConfig) => boolean;
  run(context: LiveCheckContext): Promise<readonly ConfigFinding[]>;
}

/** How a live check ended. */
export const liveCheckStatuses = ['passed', 'warning', 'failed', 'skipped'] as const;
export type LiveCheckStatus = (typeof liveCheckStatuses)[number];

/** One live check's outcome, as `validate` prints it (and `--json` gives it). */
export interface LiveCheckResult {
  readonly id: string;
  readonly title: string;
  readonly status: LiveCheckStatus;
  /** The first error or warning; on success what the check found (its `info` finding), else `ok`. */
  readonly message: string;
  /** The configuration path it concerns, and its line when known. */
  readonly path?: string;
  readonly line?: number;
  /** Wall time the check took (ms; 0 when skipped). */
  readonly durationMs: number;
  readonly findings: readonly ConfigFinding[];
}
