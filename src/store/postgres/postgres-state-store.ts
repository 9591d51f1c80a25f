import { systemClock, type Clock } from '../../core/clock.js';
import { SqlStateStore } from '../sql/sql-state-store.js';
import { PostgresDriver } from './postgres-driver.js';

export interface PostgresStateStoreOptions {
  /** `postgres://user@host:port/database`. */
  connectionString: string;
  /** Schema that holds the tables; created by `migrate()`. @default the server's search_path (`public`) */
  schema?: string | undefined;
  /** Password for the connection, kept out of the URL. @default the URL's, or PGPASSWORD */
  password?: string | undefined;
  /** Connections in the pool. @default 10 */
  poolSize?: number | undefined;
  /** Source of time for leases, backoff and timestamps (the database clock is never read). @default systemClock */
  clock?: Clock | undefined;
}

/**
 * The scale-out State adapter: any number of processes share one PostgreSQL database. Work is
 * leased with `FOR UPDATE SKIP LOCKED`; writers of one record key are serialised with
 * transaction-scoped advisory locks. Call `migrate()` before use (`openStateStore` does).
 */
export class PostgresStateStore extends SqlStateStore {
  constructor(options: PostgresStateStoreOptions) {
    super(
      new PostgresDriver({
        connectionString: options.connectionString,
        schema: options.schema,
        password: options.password,
        poolSize: options.poolSize,
      }),
      options.clock ?? systemClock,
    );
  }
}
