import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { exitCodes } from '../exit-codes.js';
import { loadConfigForCommand } from '../runtime/load-config-for-command.js';
import { openSyncRuntime } from '../runtime/sync-runtime.js';
import { createSyncEngine } from '../runtime/start-sync.js';
import { createSyncService } from '../runtime/start-service.js';

interface RunOptions {
  config: string;
  untilIdle?: boolean;
  poll: boolean;
  work: boolean;
  /** Serve the operator surface. @default true */
  server?: boolean;
}

/** The first stop signal, and an abort signal that fires with it. */
interface StopSignals {
  readonly first: Promise<NodeJS.Signals>;
  readonly abort: AbortSignal;
  received(): NodeJS.Signals | null;
  /** What to do on a second signal (while draining). @default nothing */
  onSecond(handler: (signal: NodeJS.Signals) => void): void;
  dispose(): void;
}

/**
 * Listen for SIGINT and SIGTERM from the very start of the command, so a signal during start-up is
 * a stop request too and never meets Node's default handler (which ends the process by the signal
 * instead of our exit code).
 */
function listenForStopSignals(): StopSignals {
  const controller = new AbortController();
  let first: NodeJS.Signals | null = null;
  let second: (signal: NodeJS.Signals) => void = () => undefined;
  let resolveFirst: (signal: NodeJS.Signals) => void = () => undefined;
  const firstSignal = new Promise<NodeJS.Signals>((resolve) => (resolveFirst = resolve));
  const handler = (signal: NodeJS.Signals): void => {
    if (first !== null) return second(signal);
    first = signal;
    resolveFirst(signal);
    controller.abort();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    first: firstSignal,
    abort: controller.signal,
    received: () => first,
    onSecond: (h) => (second = h),
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

/**
 * `dcsync run`: runs the sync until SIGTERM/SIGINT (graceful drain; SIGTERM exits 0, SIGINT 130, a
 * second signal stops at once with 130), or with `--until-idle` until every source is caught up and
 * the inbox is empty, then prints a JSON summary (130 when a signal stopped it first).
 */
export async function runSync(options: RunOptions, context: CliContext): Promise<number> {
  const signals = listenForStopSignals();
  try {
    const config = loadConfigForCommand(options.config, context);
    const runtime = await openSyncRuntime(config, context.redactor, {
      // Keep stdout for the summary when it is requested.
      ...(options.untilIdle ? { logDestination: context.err } : {}),
    });
    signals.onSecond((second) => {
      // Everything staged is durable and leases expire: stopping mid-drain loses nothing.
      runtime.logger.warn({ signal: second }, 'second signal while draining: stopping at once');
      runtime.logger.flush();
      process.exit(exitCodes.interrupted);
    });
    try {
      if (options.untilIdle) {
        const engine = await createSyncEngine(runtime, {
          progressStream: context.err,
          poll: options.poll,
          work: options.work,
        });
        const summary = await engine.runUntilIdle({ signal: signals.abort });
        context.out.write(`${JSON.stringify(summary)}\n`);
        return signals.received() === null ? exitCodes.ok : exitCodes.interrupted;
      }
      const service = await createSyncService(runtime, {
        progressStream: context.err,
        poll: options.poll,
        work: options.work,
        serve: options.server !== false,
        env: context.env,
      });
      await service.start();
      runtime.logger.info(
        { flows: service.engine.flows.map((f) => f.id), url: service.url },
        'sync running; SIGTERM or SIGINT drains and stops',
      );
      const signal = await signals.first;
      runtime.logger.info({ signal }, 'draining (a second signal stops at once)');
      await service.stop();
      runtime.logger.info(service.engine.summary(), 'stopped');
      // SIGTERM is how process managers stop a service: a clean drain is a success. SIGINT is an
      // operator's interrupt: 130, as shells report it.
      return signal === 'SIGINT' ? exitCodes.interrupted : exitCodes.ok;
    } finally {
      await runtime.close();
    }
  } finally {
    signals.dispose();
  }
}

export function registerRunCommand(program: Command, context: CliContext): void {
  program
    .command('run')
    .description('run the sync (until SIGTERM, or --until-idle)')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .option(
      '--until-idle',
      'exit 0 once every source is caught up and the inbox is empty; print a JSON summary',
    )
    .option('--no-poll', 'do not read Dynamics in this process (workers only)')
    .option('--no-work', 'do not write Campaign in this process (pollers only)')
    .option('--no-server', 'do not serve the HTTP API, dashboard and /metrics')
    .action(async (options: RunOptions) => {
      context.setExitCode(await runSync(options, context));
    });
}
