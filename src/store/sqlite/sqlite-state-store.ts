import { systemClock, type Clock } from '../../core/clock.js';
import { SqlStateStore } from '../sql/sql-state-store.js';
import { SqliteDriver } from './sqlite-driver.js';

export interface SqliteStateStoreOptions {
  /** Database file (its directory must exist), or `:memory:`. */
  filename: string;
  /** Source of time for leases, backoff and timestamps. @default systemClock */
  clock?: Clock | undefined;
  /** How long a writer waits for another process's write lock. @default 5000 */
  busyTimeoutMs?: number | undefined;
  /** Called with each distinct statement the store prepares (diagnostics: query-plan checks). */
  onPrepare?: ((sql: string) => void) | undefined;
}

/**
 * The embedded State adapter: one SQLite file (WAL, `synchronous=FULL`). Call `migrate()` before
 * use (`openStateStore` does). Several processes may share the file; writes are serialised.
 */
export class SqliteStateStore extends SqlStateStore {
  constructor(options: SqliteStateStoreOptions) {
    super(
      new SqliteDriver({
        filename: options.filename,
        busyTimeoutMs: options.busyTimeoutMs,
        onPrepare: options.onPrepare,
      }),
      options.clock ?? systemClock,
    );
  }
}
