import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import { replayCheckpoint } from '../../engine/feed-cursor.js';
import type { CliContext } from '../cli-context.js';
import { exitCodes } from '../exit-codes.js';
import { resolveFlowId } from '../runtime/build-flows.js';
import { loadConfigForCommand, withCommandRuntime } from '../runtime/load-config-for-command.js';
import { createSyncEngine } from '../runtime/start-sync.js';

interface ReplayOptions {
  config: string;
  table: string;
  requestOnly?: boolean;
}

/**
 * `dcsync replay`: resync every row of a table through the same pacing as everything else (bulk
 * lane, so live changes go first). Resumable: the replay position is a checkpoint. With
 * `--request-only` the request is stored for a running `dcsync run` to carry out.
 */
export async function runReplay(options: ReplayOptions, context: CliContext): Promise<number> {
  const config = loadConfigForCommand(options.config, context);
  const flowId = resolveFlowId(config, options.table);
  if (!flowId) throw new ConfigError(`no enabled flow reads table "${options.table}"`);
  return withCommandRuntime(config, context, async (runtime) => {
    const engine = await createSyncEngine(runtime, {
      progressStream: context.err,
    });
    const existing = await runtime.store.checkpoints.get(replayCheckpoint.name(flowId));
    await engine.requestReplay(flowId);
    context.err.write(existing ? `resuming the replay of ${flowId}\n` : `replay of ${flowId} requested\n`);
    if (options.requestOnly) return exitCodes.ok;
    const summary = await engine.runUntilIdle();
    context.out.write(`${JSON.stringify(summary)}\n`);
    return exitCodes.ok;
  });
}

export function registerReplayCommand(program: Command, context: CliContext): void {
  program
    .command('replay')
    .description('resync all rows of a table through the same pacing (resumable)')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .requiredOption('--table <table>', 'Dynamics table (e.g. contact) or flow id')
    .option('--request-only', 'only record the request; a running "dcsync run" carries it out')
    .action(async (options: ReplayOptions) => {
      context.setExitCode(await runReplay(options, context));
    });
}
