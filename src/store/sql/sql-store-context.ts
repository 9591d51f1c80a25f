import type { Clock } from '../../core/clock.js';
import type { SqlDriver } from './sql-driver.js';

/** What every part of the dialect-neutral store shares: one driver and the injected clock. */
export interface SqlStoreContext {
  readonly driver: SqlDriver;
  /** The only source of time; the database clock is never read. */
  readonly clock: Clock;
}
