import type { Command } from 'commander';
import { DynamicsContactFinder } from '../../connectors/dynamics/dynamics-contact-finder.js';
import { formatIso } from '../../core/clock.js';
import { ConfigError } from '../../core/errors.js';
import type { TraceAnswer, TraceMatch, TraceStep } from '../../core/record-trace.js';
import { RecordTraceReader } from '../../engine/trace/record-trace-reader.js';
import type { CliContext } from '../cli-context.js';
import { exitCodes } from '../exit-codes.js';
import { configuredFlows, resolveFlowId } from '../runtime/build-flows.js';
import { loadConfigForCommand, withExistingStore } from '../runtime/load-config-for-command.js';

/** Options of `dcsync trace`. */
export interface TraceOptions {
  /** Path of the YAML configuration. */
  config: string;
  /** Only this flow (flow id or table name). @default every flow holding the key */
  flow?: string | undefined;
  /** Print JSON (the `GET /api/trace` answer). @default false */
  json?: boolean | undefined;
}

function describeStep(step: TraceStep): string {
  const fields = step.fields && step.fields.length > 0 ? ` [fields: ${step.fields.join(', ')}]` : '';
  return `  ${formatIso(step.at)}  ${step.kind.padEnd(16)} ${step.summary}${fields}`;
}

function describeMatch(match: TraceMatch): string {
  const lines = [
    `${match.flow}/${match.recordKey}  ${match.state}${match.campaignPKey === null ? '' : `  PKey ${match.campaignPKey}`}`,
  ];
  if (match.parent !== null) lines.push(`  parent: ${match.parent.flow}/${match.parent.recordKey}`);
  if (match.children.length > 0)
    lines.push(
      `  children: ${match.children.map((c) => `${c.flow}/${c.recordKey} (${c.state})`).join(', ')}`,
    );
  lines.push(...match.steps.map(describeStep));
  if (match.truncated) lines.push(`  … older steps not shown (the latest ${match.steps.length} are)`);
  return lines.join('\n');
}

/** The trace as text: per match a header (flow/key, state, PKey, parent, children), then its steps, newest first. */
export function formatTrace(answer: TraceAnswer): string {
  if (answer.matches.length === 0)
    return `no record found for "${answer.query}" (give a Dynamics id, a Campaign PKey, a record key or an e-mail)`;
  return answer.matches.map(describeMatch).join('\n\n');
}

/**
 * `dcsync trace`: every step of one record's life the store holds (changes read, staged, attempts
 * and errors, applied with the field names written, parked and released, dead letters, opt-out
 * decisions, privacy hold and tombstone), newest first — ids and names, never values.
 */
export async function runTrace(key: string, options: TraceOptions, context: CliContext): Promise<number> {
  const config = loadConfigForCommand(options.config, context);
  let flow: string | undefined;
  if (options.flow !== undefined) {
    flow = resolveFlowId(config, options.flow) ?? (options.flow.includes(':') ? options.flow : undefined);
    if (!flow) throw new ConfigError(`no enabled flow "${options.flow}"`);
  }
  return withExistingStore(config, context, async (runtime) => {
    const reader = new RecordTraceReader({
      store: runtime.store,
      clock: runtime.clock,
      flows: () => configuredFlows(config).map((f) => f.id),
      scrub: (text) => runtime.redactor.scrub(text),
      contacts: new DynamicsContactFinder(runtime.dynamics.client),
    });
    const answer = await reader.trace(key, { flow });
    if (options.json) context.out.write(`${JSON.stringify(answer, null, 2)}\n`);
    else context.out.write(`${formatTrace(answer)}\n`);
    return exitCodes.ok;
  });
}

/** `dcsync trace <dynamics id | campaign PKey> --config FILE [--flow F] [--json]`. */
export function registerTraceCommand(program: Command, context: CliContext): void {
  program
    .command('trace')
    .description("every step of one record's life, newest first (ids and field names, never values)")
    .argument(
      '<key>',
      'a Dynamics id (any case), a Campaign PKey, or an e-mail (asked of Dynamics live, kept nowhere)',
    )
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .option('--flow <flow>', 'only this flow (flow id such as table:new_order, or the table name)')
    .option('--json', 'print JSON (the GET /api/trace answer)')
    .action(async (key: string, options: TraceOptions) => {
      context.setExitCode(await runTrace(key, options, context));
    });
}
