import { InvalidArgumentError, Option, type Command } from 'commander';
import { formatIso } from '../../core/clock.js';
import { ConfigError, SyncError } from '../../core/errors.js';
import type { ResolvedConfig } from '../../config/resolved-config.js';
import { writeCheckpoint } from '../../engine/checkpoints.js';
import { emailEventsFlowId } from '../../engine/email-events/email-event-settings.js';
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
  table?: string;
  flow?: string;
  since?: number;
  via?: 'bulk' | 'rest';
  requestOnly?: boolean;
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

/** `--since`: an ISO-8601 date or date-time (a bare date is midnight UTC); anything else is a usage error. */
export function sinceDate(value: string): number {
  const text = value.trim();
  const at = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(at))
    throw new InvalidArgumentError(
      `--since must be an ISO-8601 date or date-time (e.g. 2026-06-01 or 2026-06-01T08:00:00Z), got '${value}'`,
    );
  return at;
}

/** The flow a replay names: an e-mail event flow by its id, else a table or record flow. */
function replayedFlow(options: ReplayOptions, config: ReturnType<typeof loadConfigForCommand>): string {
  const named = options.flow ?? options.table ?? '';
  if (named === emailEventsFlowId) {
    if (!config.flows.emailEvents.enabled)
      throw new ConfigError('flow emailEvents is not enabled (flows.emailEvents.enabled: true)');
    return emailEventsFlowId;
  }
  const flowId = resolveFlowId(config, named);
  if (!flowId) throw new ConfigError(`no enabled flow reads table "${named}" or has that id`);
  return flowId;
}

/**
 * `dcsync replay`: resync every row of a table through the same pacing as everything else (bulk
 * lane, so live changes go first), or read an e-mail event journal again from a date (`--flow
 * emailEvents --since DATE`, within its 7-day retention: an activity that exists is refused as a
 * duplicate, so nothing is written twice). Resumable: the replay is a checkpoint. With
 * `--request-only` the request is stored for a running `dcsync run` to carry out. `--via bulk`
 * sends the replay through the flow's bulk lane (Campaign's file import) whatever its size,
 * `--via rest` through REST whatever its size; without it the flow's threshold decides
 * (docs/bulk-loads.md).
 */
export async function runReplay(options: ReplayOptions, context: CliContext): Promise<number> {
  if (options.flow === undefined && options.table === undefined) {
    context.err.write('dcsync: say what to replay: --table <table> or --flow <flow id>\n');
    return exitCodes.usage;
  }
  const config = loadConfigForCommand(options.config, context);
  const flowId = replayedFlow(options, config);
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
    const viaName = bulkViaCheckpoint.name(flowId);
    // Before the replay is requested: the lane never sees the replay's rows without the choice.
    if (options.via === undefined) await checkpoints.delete(viaName);
    else
      await writeCheckpoint(checkpoints, bulkViaCheckpoint, flowId, {
        via: options.via,
        requestedAt: runtime.clock.now(),
      });
    let answer: { since: number | null; resumed: boolean };
    try {
      answer = await engine.requestReplay(
        flowId,
        options.since === undefined ? {} : { sinceMs: options.since },
      );
    } catch (error) {
      if (error instanceof SyncError && error.code === 'REPLAY_SINCE_INVALID') {
        context.err.write(`dcsync: --since: ${error.message}\n`);
        return exitCodes.usage;
      }
      throw error;
    }
    const from = answer.since === null ? '' : ` from ${formatIso(answer.since)}`;
    const via = options.via === undefined ? '' : ` via ${options.via}`;
    context.err.write(
      answer.resumed
        ? `resuming the replay of ${flowId}${from}${via}\n`
        : `replay of ${flowId}${from} requested${via}\n`,
    );
    if (options.requestOnly) return exitCodes.ok;
    const summary = await engine.runUntilIdle();
    // Done: the choice applies to this replay only (the lane forgets it too, once it sees this).
    if (options.via !== undefined && (await checkpoints.get(replayCheckpoint.name(flowId))) === null)
      await checkpoints.delete(viaName);
    context.out.write(`${JSON.stringify(summary)}\n`);
    return exitCodes.ok;
  });
}

export function registerReplayCommand(program: Command, context: CliContext): void {
  program
    .command('replay')
    .description(
      'resync all rows of a table through the same pacing, or read the e-mail event journal again from a date (resumable)',
    )
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .option('--table <table>', 'Dynamics table (e.g. contact) or flow id')
    .option('--flow <flow>', 'flow id (e.g. contacts, table:new_order, emailEvents)')
    .option(
      '--since <date>',
      'emailEvents only: events from this date (ISO-8601, within the journal’s 7 days)',
      sinceDate,
    )
    .addOption(
      new Option(
        '--via <lane>',
        "bulk: through the flow's bulk lane (Campaign's file import) whatever the size; rest: through REST. Default: the bulk lane when configured and the pending work exceeds its thresholdRecords",
      ).choices(['bulk', 'rest']),
    )
    .option('--request-only', 'only record the request; a running "dcsync run" carries it out')
    .action(async (options: ReplayOptions) => {
      context.setExitCode(await runReplay(options, context));
    });
}
