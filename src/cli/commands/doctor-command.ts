import { InvalidArgumentError, type Command } from 'commander';
import { systemClock, type Clock } from '../../core/clock.js';
import { isDynamicsId } from '../../core/record-key.js';
import type { ResolvedConfig } from '../../config/resolved-config.js';
import { CallBudget } from '../../connectors/campaign/call-budget.js';
import { DynamicsMetadataReader } from '../../connectors/dynamics/dynamics-metadata-reader.js';
import { DynamicsRecordWriter } from '../../connectors/dynamics/dynamics-record-writer.js';
import type { CliContext } from '../cli-context.js';
import { exitCodes } from '../exit-codes.js';
import { recordSink } from '../runtime/build-flows.js';
import {
  CallRecorder,
  doctorExternalIdPattern,
  runDoctorRoundTrip,
  type DoctorReport,
  type DoctorStep,
} from '../runtime/doctor-round-trip.js';
import { loadConfigForCommand } from '../runtime/load-config-for-command.js';
import { openCampaignClient, openDynamicsClient } from '../runtime/tenant-clients.js';

/** Options of one `doctor` run. */
export interface DoctorRunOptions {
  /** Path of the YAML configuration. */
  readonly config: string;
  /** The externalId of the throw-away test profile. */
  readonly testExternalId: string;
  /** A Dynamics contact id to read (read only), or none. */
  readonly testContact?: string | undefined;
  /** Print the report as JSON. @default false */
  readonly json?: boolean;
  /** Durations. @default systemClock */
  readonly clock?: Clock;
}

function formatStep(step: DoctorStep): string {
  const status = step.status === null ? '-' : String(step.status);
  return `${step.ok ? 'ok  ' : 'FAIL'} ${step.name.padEnd(21)} ${status.padStart(7)} ${`${step.durationMs} ms`.padStart(8)}  ${step.detail}${step.code ? ` (${step.code})` : ''}`;
}

function summary(report: DoctorReport): string {
  const passed = report.steps.filter((s) => s.ok).length;
  const counts = `${passed}/${report.steps.length} step(s) passed`;
  switch (report.outcome) {
    case 'passed':
      return `doctor: passed (${counts}); nothing left behind`;
    case 'refused':
      return `doctor: refused (${counts}); a profile not created by dcsync doctor holds externalId ${report.externalId}, left untouched`;
    case 'failed':
      return report.leftBehind
        ? `doctor: failed (${counts}); test profile ${report.leftBehind} is left in Campaign: delete it by hand`
        : `doctor: failed (${counts}); nothing left behind`;
  }
}

/**
 * `dcsync doctor`: a round trip on one throw-away Campaign test profile through the production
 * client and record sink (see doctor-round-trip.ts), plus an optional read-only read of one
 * Dynamics contact. Exit code 0 when every step passed, 6 when it refused to run (a record not
 * ours holds the test externalId), 4 when a call failed.
 */
export async function runDoctor(options: DoctorRunOptions, context: CliContext): Promise<number> {
  const config: ResolvedConfig = loadConfigForCommand(options.config, context);
  const clock = options.clock ?? systemClock;
  const recorder = new CallRecorder();
  const budget = new CallBudget({
    callsPerSecond: config.campaign.budget.callsPerSecond,
    callsPerDay: config.campaign.budget.callsPerDay,
    clock,
  });
  const campaign = openCampaignClient(config, budget, { metrics: recorder, clock });
  const dynamics = options.testContact ? openDynamicsClient(config, { metrics: recorder, clock }) : null;
  const contactId = options.testContact?.toLowerCase();
  const table = config.flows.contacts.table;
  let report: DoctorReport;
  try {
    report = await runDoctorRoundTrip(options.testExternalId, {
      clock,
      recorder,
      describeProfile: () => campaign.describeResource('profile'),
      externalIdFilter: config.campaign.externalIdFilter,
      profileSink: (metadata) =>
        recordSink(
          { campaign: { client: campaign } },
          'profile',
          'externalId',
          metadata,
          config.campaign.externalIdFilter,
        ),
      readContact:
        dynamics && contactId
          ? async () => {
              const metadata = await new DynamicsMetadataReader(dynamics).getTableMetadata(table);
              const row = await new DynamicsRecordWriter(dynamics).getRecord(
                metadata.entitySetName,
                contactId,
                [metadata.primaryIdAttribute],
              );
              if (!row)
                throw new Error(`contact ${contactId} not found in ${metadata.entitySetName} (read only)`);
              return `read contact ${contactId} from ${metadata.entitySetName} by id (read only, no values shown)`;
            }
          : undefined,
    });
  } finally {
    budget.close();
    await Promise.allSettled([campaign.close(), dynamics?.close()]);
  }
  const scrubbed: DoctorReport = {
    ...report,
    steps: report.steps.map((s) => ({ ...s, detail: context.redactor.scrub(s.detail) })),
  };
  if (options.json) context.out.write(`${JSON.stringify(scrubbed, null, 2)}\n`);
  else {
    for (const step of scrubbed.steps) context.out.write(`${formatStep(step)}\n`);
    context.out.write(`${summary(scrubbed)}\n`);
  }
  if (report.outcome === 'passed') return exitCodes.ok;
  return report.outcome === 'refused' ? exitCodes.preflight : exitCodes.connector;
}

function testExternalId(value: string): string {
  if (!doctorExternalIdPattern.test(value))
    throw new InvalidArgumentError(
      `--test-external-id must be 1 to 64 letters, digits, '.', '_', ':' or '-' (starting with a letter or digit), got '${value}'`,
    );
  return value;
}

function contactGuid(value: string): string {
  if (!isDynamicsId(value))
    throw new InvalidArgumentError(`--test-contact must be a contact id (a GUID), got '${value}'`);
  return value;
}

/** `dcsync doctor --config FILE --test-external-id ID [--test-contact GUID] [--json]`. */
export function registerDoctorCommand(program: Command, context: CliContext): void {
  program
    .command('doctor')
    .description(
      'round trip on one throw-away Campaign test profile (create, read by key, update, read, delete, gone) through the production client; optionally read one Dynamics contact',
    )
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .requiredOption(
      '--test-external-id <id>',
      'externalId of the test profile (must not be held by a real profile)',
      testExternalId,
    )
    .option('--test-contact <guid>', 'also read this Dynamics contact by id (read only)', contactGuid)
    .option('--json', 'print the report as JSON')
    .action(
      async (options: { config: string; testExternalId: string; testContact?: string; json?: boolean }) => {
        const code = await runDoctor(
          {
            config: options.config,
            testExternalId: options.testExternalId,
            testContact: options.testContact,
            json: options.json ?? false,
          },
          context,
        );
        context.setExitCode(code);
      },
    );
}
