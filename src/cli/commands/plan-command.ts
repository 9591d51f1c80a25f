import type { Command } from 'commander';
import type { SinkRecord } from '../../core/ports/record-sink.js';
import type { JsonObject } from '../../core/json.js';
import { planFlow, type SyncPlan } from '../../engine/sync-planner.js';
import type { CliContext } from '../cli-context.js';
import { exitCodes } from '../exit-codes.js';
import { positiveInt } from '../option-parsers.js';
import { ProgressReporter } from '../progress-reporter.js';
import { buildRecordFlows } from '../runtime/build-flows.js';
import { loadConfigForCommand, withStoreOrEmpty } from '../runtime/load-config-for-command.js';

function formatPlan(plan: SyncPlan): string {
  const c = plan.counts;
  const lines = [
    `flow ${plan.flow}: ${plan.dynamicsRows} Dynamics rows, ${plan.campaignRecords} Campaign records`,
    `  would create ${c.create}, update ${c.update}, adopt ${c.adopt}, delete ${c.delete}`,
    `  unchanged ${c.unchanged}, filtered out ${c.filtered}, left alone (not ours) ${c.leftAlone}`,
  ];
  if (c.orphans > 0)
    lines.push(
      `  orphans (no parent in Dynamics): ${c.orphans} — not written until their lookup is set in Dynamics`,
    );
  const show = (label: string, ids: string[]): void => {
    if (ids.length > 0) lines.push(`  e.g. ${label}: ${ids.join(', ')}`);
  };
  show('create', plan.samples.create);
  show('update', plan.samples.update);
  show('adopt', plan.samples.adopt);
  show('delete', plan.samples.delete);
  show('orphans', plan.samples.orphans);
  if (c.adoptionCandidates > 0) {
    lines.push(
      `  ${c.adoptionCandidates} Campaign record(s) without externalId match a contact by e-mail: set their externalId before go-live to adopt them instead of creating duplicates`,
    );
    for (const a of plan.samples.adoptionCandidates)
      lines.push(`    PKey ${a.pkey} ↔ contact ${a.contactId}`);
  }
  return lines.join('\n') + '\n';
}

/** `dcsync plan`: a dry run that writes nothing. */
export async function runPlan(
  options: { config: string; json?: boolean; samples: number },
  context: CliContext,
): Promise<number> {
  const config = loadConfigForCommand(options.config, context);
  return withStoreOrEmpty(config, context, async (runtime) => {
    const flows = await buildRecordFlows(runtime);
    const reporter = new ProgressReporter({
      stream: context.err,
      now: () => runtime.clock.now(),
    });
    const plans: SyncPlan[] = [];
    for (const flow of flows) {
      const startedAt = runtime.clock.now();
      async function* records(): AsyncIterable<SinkRecord> {
        for await (const record of runtime.campaign.client.list(flow.sink.resource, {
          lineCount: 500,
          forcePagination: true,
          lane: 'bulk',
        })) {
          const { PKey, ...fields } = record;
          yield { pkey: PKey, fields: fields as JsonObject };
        }
      }
      plans.push(
        await planFlow(flow, runtime.store, records(), {
          samples: options.samples,
          onProgress: (phase, rows) =>
            reporter.update({
              label: `plan ${flow.id}: reading ${phase}`,
              done: rows,
              total: null,
              startedAt,
              finished: false,
            }),
        }),
      );
    }
    reporter.close();
    if (options.json) context.out.write(`${JSON.stringify(plans, null, 2)}\n`);
    else for (const plan of plans) context.out.write(formatPlan(plan));
    return exitCodes.ok;
  });
}

export function registerPlanCommand(program: Command, context: CliContext): void {
  program
    .command('plan')
    .description('dry run: what a sync would create, update, adopt, delete and leave alone (writes nothing)')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .option('--json', 'print JSON')
    .option('--samples <n>', 'ids shown per category', positiveInt('--samples', 1000), 5)
    .action(async (options: { config: string; json?: boolean; samples: number }) => {
      context.setExitCode(await runPlan(options, context));
    });
}
