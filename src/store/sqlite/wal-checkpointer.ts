import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';

/**
 * The worker's script (CommonJS, evaluated): its own connection to the database file, and a
 * PASSIVE checkpoint whenever asked. PASSIVE never waits for the main connection's readers or
 * writers; it copies what it can and the next request copies the rest. With the connection's
 * default (synchronous=FULL) it syncs the WAL before copying and the database file after.
 */
const checkpointerScript = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.betterSqlite3);
const db = new Database(workerData.filename, { timeout: 0 });
db.pragma('synchronous = FULL');
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    db.pragma('wal_checkpoint(PASSIVE)');
    parentPort.postMessage({ ok: true });
  } catch (error) {
    parentPort.postMessage({ ok: false, code: error && error.code });
  }
});
`;

/**
 * Checkpoints the WAL of a database in a worker thread. SQLite's automatic checkpoint runs inside
 * the COMMIT that crosses the threshold, on the committing thread: with better-sqlite3 that is the
 * event loop, which stood still while the checkpoint copied pages and synced two files. The driver
 * turns the automatic checkpoint off and asks this worker instead, every so many commits.
 */
export class WalCheckpointer {
  private readonly worker: Worker;
  private running = false;
  private again = false;
  private closed = false;

  constructor(filename: string) {
    const resolve = createRequire(import.meta.url).resolve;
    this.worker = new Worker(checkpointerScript, {
      eval: true,
      workerData: { filename, betterSqlite3: resolve('better-sqlite3') },
    });
    this.worker.unref();
    // A checkpoint that fails (SQLITE_BUSY while a writer holds the lock) is simply asked for again.
    this.worker.on('message', () => {
      this.running = false;
      if (this.again) this.request();
    });
    // Without the worker, the WAL only grows until the driver closes: nothing is lost.
    this.worker.on('error', () => {
      this.closed = true;
    });
  }

  /** Checkpoint now, or once the checkpoint in progress ends. */
  request(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.again = false;
    this.running = true;
    this.worker.postMessage('checkpoint');
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    // Keep the process alive until the worker is gone (unref'd, awaiting its exit would not).
    this.worker.ref();
    this.worker.postMessage('close');
    await exited;
  }
}
