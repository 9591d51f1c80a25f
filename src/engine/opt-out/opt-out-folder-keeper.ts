import { formatIso } from '../../core/clock.js';
import type { Clock } from '../../core/clock.js';
import { errorCode } from '../../core/errors.js';
import type { Alert, AlertSink } from '../../core/ports/alert-sink.js';
import type { EngineLogger } from '../../core/ports/engine-logger.js';
import type { OptOutFileSource, OptOutStorageUsage } from '../../core/ports/opt-out-file-source.js';
import type { StateStore } from '../../core/ports/state-store.js';
import {
  readOptOutFileProblems,
  readOptOutFreshness,
  type OptOutFileProblem,
  type OptOutFreshness,
} from './opt-out-file-problems.js';
import type { OptOutFileSettings } from './opt-out-settings.js';

export interface OptOutFolderKeeperOptions {
  file: OptOutFileSettings;
  source: OptOutFileSource;
  store: StateStore;
  clock: Clock;
  logger: EngineLogger;
  alerts: AlertSink;
  /** Licensed SFTP storage (`campaign.sftp.quotaBytes`); usage alerts at 80 % and 90 %. */
  quotaBytes: number | null;
  /** Same alert kind, subject and severity at most once per window. @default 3600000 */
  realertMs?: number;
}

const hourMs = 3_600_000;
const dayMs = 24 * hourMs;

/**
 * Looks after the export folder once per poll of the opt-out ingestor: removes archived files after
 * the retention, measures the SFTP usage, and alerts on usage (80 %, 90 %), on a missing file (no
 * new file within `stalenessHours`) and on every file problem (quarantined lines, failed, held too
 * long, failing again and again).
 */
export class OptOutFolderKeeper {
  private readonly realertMs: number;
  private readonly lastAlerts = new Map<string, number>();
  private usageReport: OptOutStorageUsage | null = null;

  constructor(private readonly options: OptOutFolderKeeperOptions) {
    this.realertMs = options.realertMs ?? hourMs;
  }

  /** Last measured SFTP usage (null before the first look). */
  get usage(): OptOutStorageUsage | null {
    return this.usageReport;
  }

  /** One round: retention, usage, freshness, file problems. */
  async look(): Promise<void> {
    await this.applyRetention();
    await this.checkUsage();
    await this.checkFreshness();
    await this.checkFileProblems();
  }

  /** Raise an alert for every file problem (at most once per `realertMs` each). */
  private async checkFileProblems(): Promise<void> {
    for (const p of await this.fileProblems()) {
      await this.raise({
        kind: 'opt-out-file-problem',
        severity: 'critical',
        subject: `${p.problem}:${p.file}`,
        message: p.detail,
      });
    }
  }

  /** Export files that need the operator (see {@link readOptOutFileProblems}). */
  fileProblems(): Promise<OptOutFileProblem[]> {
    return readOptOutFileProblems(this.options.store, this.options.clock, this.options.file);
  }

  /** Remove archived files older than the retention. */
  private async applyRetention(): Promise<void> {
    const { store, source, clock, logger } = this.options;
    const due = await store.optOut.archivedBefore(clock.now() - this.options.file.retentionDays * dayMs, 100);
    for (const file of due) {
      try {
        if (file.archivedPath) await source.remove(file.archivedPath);
      } catch (error) {
        if (errorCode(error) !== 'SFTP_NOT_FOUND') {
          logger.warn(
            { err: error, file: file.name, code: errorCode(error) },
            'archived opt-out file not removed',
          );
          continue;
        }
      }
      await store.optOut.markDisposed(file.id, 'deleted', null);
      logger.info(
        { file: file.name, retentionDays: this.options.file.retentionDays },
        'archived opt-out file removed',
      );
    }
  }

  private async checkUsage(): Promise<void> {
    try {
      this.usageReport = await this.options.source.usage();
    } catch (error) {
      this.options.logger.warn({ err: error, code: errorCode(error) }, 'SFTP usage not measured');
      return;
    }
    const quota = this.options.quotaBytes;
    if (!quota) return;
    const share = this.usageReport.usedBytes / quota;
    const level = share >= 0.9 ? 90 : share >= 0.8 ? 80 : null;
    if (level === null) return;
    await this.raise({
      kind: 'sftp-usage',
      severity: level === 90 ? 'critical' : 'warning',
      // The same subject as the health model's; the severity makes 90 % news right after 80 %.
      subject: 'sftp',
      message: `Campaign SFTP storage is ${Math.floor(share * 100)} % used (${this.usageReport.usedBytes} of ${quota} bytes). Processed files are removed after ${this.options.file.retentionDays} days; lower the retention or free space.`,
    });
  }

  /** When the newest file arrived and whether that is longer ago than `stalenessHours`. */
  freshness(): Promise<OptOutFreshness> {
    return readOptOutFreshness(this.options.store, this.options.clock, this.options.file.stalenessHours);
  }

  private async checkFreshness(): Promise<void> {
    const freshness = await this.freshness();
    if (!freshness.stale) return;
    await this.raise({
      kind: 'opt-out-file-stale',
      severity: 'critical',
      subject: 'opt-out-export',
      message:
        freshness.lastFileAt === null
          ? `No opt-out export file has arrived on the Campaign SFTP server within ${freshness.stalenessHours} h. Opt-outs made in Campaign are not reaching Dynamics: check (and restart) the Campaign export workflow.`
          : `No new opt-out export file for more than ${freshness.stalenessHours} h (last ${formatIso(freshness.lastFileAt)}). Opt-outs made in Campaign are not reaching Dynamics: check (and restart) the Campaign export workflow.`,
    });
  }

  private async raise(alert: Omit<Alert, 'at'>): Promise<void> {
    const now = this.options.clock.now();
    const key = `${alert.kind}:${alert.subject}:${alert.severity}`;
    const last = this.lastAlerts.get(key);
    if (last !== undefined && now - last < this.realertMs) return;
    this.lastAlerts.set(key, now);
    try {
      await this.options.alerts.raise({ ...alert, at: now });
    } catch (error) {
      this.options.logger.warn({ err: error, alert: alert.kind }, 'raising an alert failed');
    }
  }
}
