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

/** Wait for SIGINT or SIGTERM once. */
function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const handler = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
      resolve(signal);
    };
    process.on('SIGINT', handler);
    process.on('SIGTERM', handler);
  });
}

/**
 * `dcsync run`: runs the sync until SIGTERM/SIGINT (graceful drain), or with `--until-idle` until
 * every source is caught up and the inbox is empty, then prints a JSON summary.
 */
export async function runSync(options: RunOptions, context: CliContext): Promise<number> {
  const config = loadConfigForCommand(options.config, context);
  const runtime = await openSyncRuntime(config, context.redactor, {
    // Keep stdout for the summary when it is requested.
    ...(options.untilIdle ? { logDestination: context.err } : {}),
  });
  try {
    if (options.untilIdle) {
      const engine = await createSyncEngine(runtime, {
        progressStream: context.err,
        poll: options.poll,
        work: options.work,
      });
      const summary = await engine.runUntilIdle();
      context.out.write(`${JSON.stringify(summary)}\n`);
      return exitCodes.ok;
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
    const signal = await waitForSignal();
    runtime.logger.info({ signal }, 'draining');
    await service.stop();
    runtime.logger.info(service.engine.summary(), 'stopped');
    return exitCodes.ok;
  } finally {
    await runtime.close();
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
