import type { Command } from 'commander';
import type { SinkRecord } from '../../core/ports/record-sink.js';
import type { JsonObject } from '../../core/json.js';
import { planFlow, type SyncPlan } from '../../engine/sync-planner.js';
import { planEmailEvents, type EmailEventPlan } from '../../engine/email-events/email-event-planner.js';
import { emailEventSettingsOf, openEmailEventSource } from '../runtime/email-events-runtime.js';
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

function formatEmailEventPlan(plan: EmailEventPlan): string {
  const from =
    plan.from === 'position'
      ? 'past the stored position'
      : plan.from === 'oldest'
        ? 'from the oldest retained event (no position stored yet)'
        : 'none: journal.start is latest and no position is stored, so only events from the first run on count';
  const types = Object.entries(plan.wouldWrite)
    .map(([type, n]) => `${type} ${n}`)
    .join(', ');
  const total = Object.values(plan.wouldWrite).reduce((n, v) => n + v, 0);
  const skipped = Object.entries(plan.skipped)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  const lines = [
    `flow ${plan.flow}: ${plan.events}${plan.truncated ? '+' : ''} events in ${plan.source} ${from}`,
    `  would write ${total} activities (${types})`,
    `  would skip ${skipped === '' ? 'none' : skipped}`,
  ];
  if (plan.held > 0)
    lines.push(`  held by privacy requests: ${plan.held} (written or dropped when they end)`);
  if (plan.queued > 0) lines.push(`  already in the inbox, not counted above: ${plan.queued}`);
  if (plan.expired)
    lines.push(
      '  the stored position has EXPIRED: events between it and the oldest retained one are lost (counted from the oldest)',
    );
  if (plan.truncated) lines.push('  (counting stopped there: the journal holds more)');
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
    const events = config.flows.emailEvents;
    let eventPlan: EmailEventPlan | null = null;
    if (events.enabled) {
      // Flow F6: the journal past the stored position, read and counted (nothing is stored).
      const journal = openEmailEventSource(runtime);
      const startedAt = runtime.clock.now();
      try {
        eventPlan = await planEmailEvents({
          source: journal.source,
          store: runtime.store,
          settings: emailEventSettingsOf(events),
          guard: runtime.store.privacy,
          clock: runtime.clock,
          start: events.journal.start,
          limit: events.journal.limit,
          onProgress: (n) =>
            reporter.update({
              label: 'plan emailEvents: reading the journal',
              done: n,
              total: null,
              startedAt,
              finished: false,
            }),
        });
      } finally {
        await journal.close();
      }
    }
    reporter.close();
    if (options.json)
      context.out.write(`${JSON.stringify(eventPlan ? [...plans, eventPlan] : plans, null, 2)}\n`);
    else {
      for (const plan of plans) context.out.write(formatPlan(plan));
      if (eventPlan) context.out.write(formatEmailEventPlan(eventPlan));
    }
    return exitCodes.ok;
  });
}

export function registerPlanCommand(program: Command, context: CliContext): void {
  program
    .command('plan')
    .description(
      'dry run: what a sync would create, update, adopt, delete and leave alone, and the e-mail events it would write (writes nothing)',
    )
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .option('--json', 'print JSON')
    .option('--samples <n>', 'ids shown per category', positiveInt('--samples', 1000), 5)
    .action(async (options: { config: string; json?: boolean; samples: number }) => {
      context.setExitCode(await runPlan(options, context));
    });
}
