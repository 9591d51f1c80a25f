import { existsSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { systemClock, type Clock } from '../core/clock.js';
import { ConfigError, StoreError } from '../core/errors.js';
import type { StateStore } from '../core/ports/state-store.js';
import { PostgresStateStore } from './postgres/postgres-state-store.js';
import { SqliteStateStore } from './sqlite/sqlite-state-store.js';

export interface OpenStateStoreOptions {
  /** Source of time for leases, backoff and timestamps. @default systemClock */
  clock?: Clock | undefined;
  /** PostgreSQL only: schema that holds the tables (created when missing). @default the server's search_path */
  schema?: string | undefined;
  /** PostgreSQL only: the password (`store.password`), kept out of the URL. @default none (the URL's, or PGPASSWORD) */
  password?: string | undefined;
  /** PostgreSQL only: connections in the pool. @default 10 */
  poolSize?: number | undefined;
  /** SQLite only: how long a write waits for another process's lock before failing. @default 5000 */
  busyTimeoutMs?: number | undefined;
  /** Apply pending migrations before returning. @default true */
  migrate?: boolean | undefined;
  /**
   * SQLite only: what to do when the file does not exist — `create` it (and its directories),
   * `fail` with STORE_NOT_FOUND (commands that only read), or open an `empty` in-memory store in
   * its place (`plan` before the first run). Nothing is written to disk unless `create`.
   * @default 'create'
   */
  ifMissing?: 'create' | 'fail' | 'empty' | undefined;
}

const acceptedForms =
  '"sqlite:./path/to/state.db", "sqlite::memory:" or "postgres://user@host:5432/database"';

/**
 * Open the State store named by `store.url`:
 * - `sqlite:<path>` — a file, relative to the working directory (the configuration loader has
 *   already made it relative to the configuration file); parent directories are created unless
 *   `ifMissing` says otherwise;
 * - `sqlite::memory:` — a private in-memory database (tests, `plan`);
 * - `postgres://…` or `postgresql://…` — a PostgreSQL database (scale-out).
 *
 * The store is migrated unless `migrate: false`. Anything else is a {@link ConfigError} that names
 * the accepted forms.
 */
export async function openStateStore(url: string, options: OpenStateStoreOptions = {}): Promise<StateStore> {
  const clock = options.clock ?? systemClock;
  const store = createStateStore(url, options, clock);
  if (options.migrate !== false) {
    try {
      await store.migrate();
    } catch (error) {
      await store.close();
      throw error;
    }
  }
  return store;
}

function createStateStore(url: string, options: OpenStateStoreOptions, clock: Clock): StateStore {
  if (typeof url !== 'string' || url.trim() === '') {
    throw new ConfigError(`store.url is empty; use ${acceptedForms}`);
  }
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length);
    if (path === '' || path.startsWith('//')) {
      throw new ConfigError(`store.url "${url}" has no file path; use ${acceptedForms}`);
    }
    if (path === ':memory:') return new SqliteStateStore({ filename: ':memory:', clock });
    const filename = resolve(path);
    if (options.ifMissing !== undefined && options.ifMissing !== 'create' && !existsSync(filename)) {
      if (options.ifMissing === 'empty') return new SqliteStateStore({ filename: ':memory:', clock });
      throw new StoreError(
        'STORE_NOT_FOUND',
        `no state store at ${filename}: has \`dcsync run\` ever run with this config?`,
      );
    }
    try {
      mkdirSync(dirname(filename), { recursive: true });
    } catch (error) {
      throw new ConfigError(`store.url: cannot create the directory for ${filename}`, { cause: error });
    }
    return new SqliteStateStore({ filename, clock, busyTimeoutMs: options.busyTimeoutMs });
  }
  if (/^postgres(ql)?:\/\//.test(url)) {
    try {
      new URL(url);
    } catch (error) {
      // The URL may hold a password: say what is wrong without echoing it.
      throw new ConfigError(`store.url is not a valid PostgreSQL URL; use ${acceptedForms}`, {
        cause: error,
      });
    }
    return new PostgresStateStore({
      connectionString: url,
      schema: options.schema,
      password: options.password,
      poolSize: options.poolSize,
      clock,
    });
  }
  throw new ConfigError(`store.url "${redactUrl(url)}" is not supported; use ${acceptedForms}`);
}

/** Drop anything that could be a credential (`user:password@`) before quoting a URL. */
function redactUrl(url: string): string {
  return url.replace(/\/\/[^@/]*@/, '//***@');
}
