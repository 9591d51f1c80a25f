import type { Alert, AlertSink } from '../../core/ports/alert-sink.js';
import type { EngineLogger } from '../../core/ports/engine-logger.js';

/** Alerts written to the log (always on; webhooks come on top). */
export class LogAlertSink implements AlertSink {
  constructor(private readonly logger: EngineLogger) {}

  raise(alert: Alert): Promise<void> {
    const entry = { alert: alert.kind, subject: alert.subject, severity: alert.severity };
    if (alert.severity === 'critical') this.logger.error(entry, alert.message);
    else if (alert.severity === 'warning') this.logger.warn(entry, alert.message);
    else this.logger.info(entry, alert.message);
    return Promise.resolve();
  }
}
