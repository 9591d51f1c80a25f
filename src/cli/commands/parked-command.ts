import { formatIso } from '../../core/clock.js';
import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.js';
import type { ParkedItem, ParkedState } from '../../core/ports/state-store.js';
import { NO_PARENT_KEY } from '../../engine/records/link-resolver.js';
import type { CliContext } from '../cli-context.js';
import { exitCodes } from '../exit-codes.js';
import { positiveInt } from '../option-parsers.js';
import { resolveFlowId } from '../runtime/build-flows.js';
import { loadConfigForCommand, withExistingStore } from '../runtime/load-config-for-command.js';

/** Options of `dcsync parked list`. */
export interface ParkedListOptions {
  /** Path of the YAML configuration. */
  config: string;
  /** Only this flow (flow id or table name). @default every flow */
  flow?: string | undefined;
  /** Page size. @default 50 */
  limit?: number | undefined;
  /** Continue after a previous page. */
  cursor?: string | undefined;
  /** Print JSON. @default false */
  json?: boolean | undefined;
  /** Only orphans: children with no parent in Dynamics. @default false */
  orphans?: boolean | undefined;
  /** Only children waiting for a parent that has not landed. @default false */
  waiting?: boolean | undefined;
}

function describeParent(item: ParkedItem): string {
  if (item.parent.recordKey === NO_PARENT_KEY)
    return `orphan: no parent in Dynamics (set the lookup; parent flow ${item.parent.flow})`;
  const parent = `${item.parent.flow}/${item.parent.recordKey}`;
  return item.state === 'orphan' ? `orphan: parent ${parent} is out of scope` : `waiting for ${parent}`;
}

/**
 * One line per parked record: flow, record key, the parent it waits for (or `orphan`), since when,
 * why.
 */
export function formatParked(items: readonly ParkedItem[]): string {
  return items
    .map(
      (item) =>
        `${item.flow}\t${item.recordKey}\t${describeParent(item)}\tparked ${formatIso(item.parkedAt)}\t${item.reason}`,
    )
    .join('\n');
}

/**
 * `dcsync parked list`: children waiting for their parent to land in Campaign, with the parent's
 * key (never the record's values). Prints the total, the page, and how to get the next one.
 */
export async function runParkedList(options: ParkedListOptions, context: CliContext): Promise<number> {
  const config = loadConfigForCommand(options.config, context);
  let flow: string | undefined;
  if (options.flow !== undefined) {
    flow = resolveFlowId(config, options.flow) ?? undefined;
    if (!flow) throw new ConfigError(`no enabled flow "${options.flow}"`);
  }
  if (options.orphans && options.waiting) throw new ConfigError('--orphans and --waiting exclude each other');
  const state: ParkedState | undefined = options.orphans ? 'orphan' : options.waiting ? 'waiting' : undefined;
  return withExistingStore(config, context, async (runtime) => {
    const filter = { ...(flow === undefined ? {} : { flow }), ...(state === undefined ? {} : { state }) };
    const [page, total] = await Promise.all([
      runtime.store.parked.list(filter, { cursor: options.cursor, limit: options.limit ?? 50 }),
      runtime.store.parked.count(flow, state),
    ]);
    if (options.json) {
      const items = page.items.map(({ payload: _payload, ...item }) => item);
      context.out.write(`${JSON.stringify({ total, items, nextCursor: page.nextCursor }, null, 2)}\n`);
      return exitCodes.ok;
    }
    const what =
      state === 'orphan' ? 'orphans (no parent in Dynamics)' : state === 'waiting' ? 'waiting' : 'parked';
    context.out.write(`${total} ${what}${flow === undefined ? '' : ` in flow ${flow}`}\n`);
    if (page.items.length > 0) context.out.write(`${formatParked(page.items)}\n`);
    if (page.nextCursor) context.out.write(`more: --cursor ${page.nextCursor}\n`);
    return exitCodes.ok;
  });
}

/** `dcsync parked list --config FILE [--flow F] [--limit N] [--cursor C] [--json]`. */
export function registerParkedCommand(program: Command, context: CliContext): void {
  const parked = program
    .command('parked')
    .description(
      'children waiting for their parent record to land in Campaign, and orphans (no parent in Dynamics)',
    );
  parked
    .command('list')
    .description('list parked records (longest waiting first) with the key of the parent each waits for')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .option('--flow <flow>', 'only this flow (flow id such as table:new_order, or the table name)')
    .option('--limit <n>', 'page size (max 1000)', positiveInt('--limit', 1000), 50)
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--orphans', 'only orphans: children with no parent in Dynamics (an empty required lookup)')
    .option('--waiting', 'only children waiting for a parent that has not landed yet')
    .option('--json', 'print JSON')
    .action(async (options: ParkedListOptions) => {
      context.setExitCode(await runParkedList(options, context));
    });
}
