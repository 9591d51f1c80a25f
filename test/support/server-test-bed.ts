import type { Registry } from 'prom-client';
import { SyncTestBed, testEnv, type SyncTestBedOptions } from './sync-test-bed.js';
import type { SyncRuntime } from '../../src/cli/runtime/sync-runtime.js';
import type { SyncEngine } from '../../src/engine/sync-engine.js';
import type { AlertDispatcher } from '../../src/engine/alert-dispatcher.js';
import { buildHttpApp, type OperatorApp } from '../../src/server/http-server.js';
import { createServerDependencies, type OperatorServerInputs } from '../../src/server/operator-server.js';
import type { ServerDependencies } from '../../src/server/server-dependencies.js';

/** The admin token the sync test bed's configuration resolves (`DCSYNC_ADMIN_TOKEN`). */
export const adminToken = testEnv.DCSYNC_ADMIN_TOKEN!;

export interface ServerTestBedOptions extends SyncTestBedOptions {
  /** Run the engine until idle before building the app. @default true */
  syncFirst?: boolean;
  inputs?: Partial<Omit<OperatorServerInputs, 'runtime' | 'engine'>>;
  registry?: Registry;
  alerts?: AlertDispatcher;
}

/** A signed-in dashboard session. */
export interface DashboardSession {
  cookie: string;
  csrfToken: string;
}

/**
 * Both emulators, the real engine on a real SQLite (or PostgreSQL) store, and the operator app
 * built over them, driven in-process with `inject`.
 */
export class ServerTestBed {
  private constructor(
    readonly bed: SyncTestBed,
    readonly runtime: SyncRuntime,
    readonly engine: SyncEngine,
    readonly deps: ServerDependencies,
    readonly app: OperatorApp,
  ) {}

  static async start(options: ServerTestBedOptions = {}): Promise<ServerTestBed> {
    const bed = await SyncTestBed.start(options);
    try {
      const { runtime, engine } = await bed.engine();
      const deps = createServerDependencies({
        runtime,
        engine,
        ...options.inputs,
        // Tests read the status right after changing the store: no reuse of a second-old answer
        // (the history's first sample, taken at build, would otherwise be served after a fast sync).
        options: { statusCacheMs: 0, ...options.inputs?.options },
        ...(options.registry ? { registry: options.registry } : {}),
        ...(options.alerts ? { alerts: options.alerts } : {}),
      });
      // The app subscribes to the engine's counters: build it before the engine runs.
      const app = await buildHttpApp(deps);
      if (options.syncFirst !== false) await engine.runUntilIdle({ timeoutMs: 60_000 });
      return new ServerTestBed(bed, runtime, engine, deps, app);
    } catch (error) {
      await bed.close();
      throw error;
    }
  }

  /** A bearer-authenticated JSON call; returns status and parsed body. */
  async api<T = Record<string, unknown>>(
    method: 'GET' | 'POST',
    url: string,
    body?: unknown,
  ): Promise<{ status: number; json: T; text: string }> {
    const response = await this.app.inject({
      method,
      url,
      headers: { authorization: `Bearer ${this.deps.adminToken}` },
      ...(body === undefined ? {} : { payload: body as Record<string, unknown> }),
    });
    const isJson = String(response.headers['content-type'] ?? '').startsWith('application/json');
    return {
      status: response.statusCode,
      json: (isJson && response.body ? JSON.parse(response.body) : null) as T,
      text: response.body,
    };
  }

  /** Sign in through `POST /login` (JSON) and return the cookie and CSRF token. */
  async login(): Promise<DashboardSession> {
    const response = await this.app.inject({
      method: 'POST',
      url: '/login',
      headers: { 'content-type': 'application/json' },
      payload: { token: this.deps.adminToken },
    });
    if (response.statusCode !== 200) throw new Error(`login failed: ${response.statusCode}`);
    const setCookie = String(response.headers['set-cookie']);
    return {
      cookie: setCookie.split(';')[0]!,
      csrfToken: (JSON.parse(response.body) as { csrfToken: string }).csrfToken,
    };
  }

  async close(): Promise<void> {
    await this.app.close();
    await this.engine.stop();
    await this.bed.close();
  }
}
