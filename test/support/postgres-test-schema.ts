/**
 * One PostgreSQL schema per test file: `createPostgresTestSchema()` in `beforeAll`, `drop()` in
 * `afterAll`. The database is the local `test` database (trust auth), or
 * `DCSYNC_TEST_POSTGRES_URL` when set.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

export const postgresTestUrl =
  process.env['DCSYNC_TEST_POSTGRES_URL'] ?? 'postgres://postgres@127.0.0.1:5432/test';

export interface PostgresTestSchema {
  /** Connection URL of the test database. */
  url: string;
  /** The schema's name (a plain identifier), for `openStateStore(url, { schema })`. */
  name: string;
  /** Run SQL with `search_path` set to this schema. */
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]>;
  /**
   * Empty every table of the schema except `schema_migrations`. DELETE, not TRUNCATE: on the
   * small tables of a test, TRUNCATE's new files cost far more than deleting a few rows.
   */
  emptyTables(): Promise<void>;
  /** Drop the schema and everything in it. */
  drop(): Promise<void>;
}

/** Create a uniquely named, empty schema; `label` makes it recognisable in `\dn`. */
export async function createPostgresTestSchema(label = 'test'): Promise<PostgresTestSchema> {
  const safeLabel = label
    .toLowerCase()
    .replace(/[^a-z0-9_]/g, '_')
    .slice(0, 30);
  const name = `t_${safeLabel}_${process.pid}_${randomBytes(4).toString('hex')}`;
  const withClient = async <T>(fn: (client: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: postgresTestUrl });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  await withClient((client) => client.query(`CREATE SCHEMA "${name}"`));
  const query = <R extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<R[]> =>
    withClient(async (client) => {
      await client.query(`SET search_path TO "${name}"`);
      return (await client.query<R>(sql, params)).rows;
    });
  return {
    url: postgresTestUrl,
    name,
    query,
    async emptyTables() {
      await withClient(async (client) => {
        const tables = await client.query<{ tablename: string }>(
          "SELECT tablename FROM pg_tables WHERE schemaname = $1 AND tablename <> 'schema_migrations'",
          [name],
        );
        if (tables.rows.length === 0) return;
        await client.query(tables.rows.map((t) => `DELETE FROM "${name}"."${t.tablename}";`).join('\n'));
      });
    },
    async drop() {
      await withClient((client) => client.query(`DROP SCHEMA IF EXISTS "${name}" CASCADE`));
    },
  };
}
