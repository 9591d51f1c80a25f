/**
 * How the sync connects to PostgreSQL as an operator sets it up (docs/deployment.md): the password
 * comes from `store.password`, never the URL; a role that owns only its schema (no CREATE on the
 * database) can migrate and run.
 */
import { once } from 'node:events';
import { createServer, type Server, type Socket } from 'node:net';
import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { openStateStore } from '../../../src/store/open-state-store.js';
import { postgresTestUrl } from '../../support/postgres-test-schema.js';

/**
 * The start of a PostgreSQL server that asks for a clear-text password (the local test server
 * trusts every login, so it cannot tell whether one was sent): records the password it got, then
 * refuses the login.
 */
async function passwordAskingServer(): Promise<{ server: Server; port: number; passwords: string[] }> {
  const passwords: string[] = [];
  const server = createServer((socket: Socket) => {
    let buffer = Buffer.alloc(0);
    let started = false;
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      if (!started) {
        if (buffer.length < 4) return;
        const length = buffer.readInt32BE(0);
        if (buffer.length < length) return;
        const code = buffer.readInt32BE(4);
        buffer = buffer.subarray(length);
        if (code === 80877103) {
          socket.write('N'); // SSLRequest: no TLS here
          return;
        }
        started = true;
        // AuthenticationCleartextPassword
        const ask = Buffer.alloc(9);
        ask.write('R', 0);
        ask.writeInt32BE(8, 1);
        ask.writeInt32BE(3, 5);
        socket.write(ask);
        return;
      }
      if (buffer.length < 5 || buffer[0] !== 0x70) return;
      const length = buffer.readInt32BE(1);
      if (buffer.length < length + 1) return;
      passwords.push(buffer.subarray(5, length).toString('utf8').replace(/\0$/, ''));
      const message = Buffer.from(
        'SFATAL\0C28P01\0Mpassword authentication failed (test server)\0\0',
        'utf8',
      );
      const error = Buffer.alloc(5);
      error.write('E', 0);
      error.writeInt32BE(message.length + 4, 1);
      socket.end(Buffer.concat([error, message]));
    });
    socket.on('error', () => undefined);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port, passwords };
}

describe('PostgreSQL connection settings', () => {
  const admin = new pg.Client({ connectionString: postgresTestUrl });
  const suffix = randomBytes(4).toString('hex');
  const role = `dcsync_t_${suffix}`;
  const schema = `t_owned_${suffix}`;
  let connected = false;
  afterAll(async () => {
    if (!connected) return;
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.query(`DROP ROLE IF EXISTS "${role}"`);
    await admin.end();
  });

  it('passes store.password to the server (kept out of the URL)', async () => {
    const fake = await passwordAskingServer();
    try {
      await expect(
        openStateStore(`postgres://dcsync@127.0.0.1:${fake.port}/crm_sync`, {
          schema: 'dcsync',
          password: 'pw-from-store-password',
        }),
      ).rejects.toThrow();
      expect(fake.passwords).toContain('pw-from-store-password');
    } finally {
      fake.server.close();
    }
  });

  it('migrates and works as a role that owns its schema but may not create schemas in the database', async () => {
    await admin.connect();
    connected = true;
    await admin.query(`CREATE ROLE "${role}" LOGIN`);
    await admin.query(`CREATE SCHEMA "${schema}" AUTHORIZATION "${role}"`);
    const url = new URL(postgresTestUrl);
    url.username = role;
    const store = await openStateStore(url.toString(), { schema });
    try {
      await store.checkpoints.set('probe', '{"ok":true}');
      expect(await store.checkpoints.get('probe')).toBe('{"ok":true}');
    } finally {
      await store.close();
    }
    const granted = await admin.query<{ ok: boolean }>(
      `SELECT has_database_privilege($1, 'test', 'CREATE') AS ok`,
      [role],
    );
    expect(granted.rows[0]!.ok).toBe(false);
  });
});
