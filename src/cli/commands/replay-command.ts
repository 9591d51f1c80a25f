import { Option, type Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import type { ResolvedConfig } from '../../config/resolved-config.js';
import { writeCheckpoint } from '../../engine/checkpoints.js';
import { replayCheckpoint } from '../../engine/feed-cursor.js';
import { bulkViaCheckpoint } from '../../engine/records/bulk-loader.js';
import { tableFlowId } from '../../engine/records/record-flow.js';
import type { CliContext } from '../cli-context.js';
import { exitCodes } from '../exit-codes.js';
import { resolveFlowId } from '../runtime/build-flows.js';
import { loadConfigForCommand, withCommandRuntime } from '../runtime/load-config-for-command.js';
import { createSyncEngine } from '../runtime/start-sync.js';

interface ReplayOptions {
  config: string;
  table: string;
  requestOnly?: boolean;
  via?: 'bulk' | 'rest';
}

/**
 * Why the bulk lane cannot carry `flowId`'s replay, or null when it can: the flow has no `bulk`
 * configuration, or (contacts) the opt-out hook resolves each write against Campaign.
 */
function bulkLaneRefusal(config: ResolvedConfig, flowId: string): string | null {
  const bulk =
    flowId === 'contacts'
      ? config.flows.contacts.bulk
      : config.flows.customTables.find((t) => tableFlowId(t.table) === flowId)?.bulk;
  if (bulk === undefined)
    return `flow ${flowId} has no bulk lane: set flows.${flowId === 'contacts' ? 'contacts' : 'customTables[].'}bulk (docs/bulk-loads.md), or replay with --via rest`;
  if (!config.campaign.sftp) return `the bulk lane needs campaign.sftp (docs/configuration.md)`;
  const optOut = config.flows.optOut.mode;
  if (flowId === 'contacts' && optOut !== 'disabled' && optOut !== 'campaign-to-dynamics')
    return `flow contacts does not use the bulk lane while flows.optOut.mode is ${optOut} (each write resolves the opt-out against Campaign): replay with --via rest`;
  return null;
}

/**
 * `dcsync replay`: resync every row of a table through the same pacing as everything else (bulk
 * lane, so live changes go first). Resumable: the replay position is a checkpoint. With
 * `--request-only` the request is stored for a running `dcsync run` to carry out. `--via bulk`
 * sends the replay through the flow's bulk lane (Campaign's file import) whatever its size,
 * `--via rest` through REST whatever its size; without it the flow's threshold decides
 * (docs/bulk-loads.md).
 */
export async function runReplay(options: ReplayOptions, context: CliContext): Promise<number> {
  const config = loadConfigForCommand(options.config, context);
  const flowId = resolveFlowId(config, options.table);
  if (!flowId) throw new ConfigError(`no enabled flow reads table "${options.table}"`);
  if (options.via === 'bulk') {
    const refusal = bulkLaneRefusal(config, flowId);
    if (refusal !== null) {
      context.err.write(`dcsync: --via bulk: ${refusal}\n`);
      return exitCodes.usage;
    }
  }
  return withCommandRuntime(config, context, async (runtime) => {
    const engine = await createSyncEngine(runtime, {
      progressStream: context.err,
    });
    const { checkpoints } = runtime.store;
    const existing = await checkpoints.get(replayCheckpoint.name(flowId));
    // Before the replay is requested: the lane never sees the replay's rows without the choice.
    if (options.via === undefined) await checkpoints.delete(bulkViaCheckpoint.name(flowId));
    else
      await writeCheckpoint(checkpoints, bulkViaCheckpoint, flowId, {
        via: options.via,
        requestedAt: runtime.clock.now(),
      });
    await engine.requestReplay(flowId);
    const via = options.via === undefined ? '' : ` via ${options.via}`;
    context.err.write(
      existing ? `resuming the replay of ${flowId}${via}\n` : `replay of ${flowId} requested${via}\n`,
    );
    if (options.requestOnly) return exitCodes.ok;
    const summary = await engine.runUntilIdle();
    // Done: the choice applies to this replay only (the lane forgets it too, once it sees this).
    if (options.via !== undefined && (await checkpoints.get(replayCheckpoint.name(flowId))) === null)
      await checkpoints.delete(bulkViaCheckpoint.name(flowId));
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
    .addOption(
      new Option(
        '--via <lane>',
        "bulk: through the flow's bulk lane (Campaign's file import) whatever the size; rest: through REST. Default: the bulk lane when configured and the pending work exceeds its thresholdRecords",
      ).choices(['bulk', 'rest']),
    )
    .action(async (options: ReplayOptions) => {
      context.setExitCode(await runReplay(options, context));
    });
}
