import { formatIso, type Clock } from '../../core/clock.js';
import type { Command } from 'commander';
import type { DeadLetter, DeadLetterFilter, StateStore } from '../../core/ports/state-store.js';
import type { CliContext } from '../cli-context.js';
import { exitCodes } from '../exit-codes.js';
import { positiveInt } from '../option-parsers.js';
import { withExistingStore } from '../runtime/load-config-for-command.js';

interface DlqOptions {
  config: string;
  flow?: string;
  key?: string;
  code?: string;
  limit: number;
  cursor?: string;
  json?: boolean;
  id?: string[];
  all?: boolean;
}

function filterOf(options: DlqOptions): DeadLetterFilter {
  return { flow: options.flow, recordKey: options.key, code: options.code };
}

/** Ids of every dead letter matching the filter (for --all). */
async function allIds(store: StateStore, filter: DeadLetterFilter): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (;;) {
    const page = await store.deadLetters.list(filter, { cursor, limit: 1000 });
    ids.push(...page.items.map((d) => d.id));
    if (!page.nextCursor) return ids;
    cursor = page.nextCursor;
  }
}

function describe(d: DeadLetter): string {
  return `${d.id}\t${d.flow}\t${d.recordKey}\t${d.code}\tattempts ${d.attempts}\tlast ${formatIso(d.lastFailedAt)}\t${d.message}`;
}

function withStore<T>(
  options: DlqOptions,
  context: CliContext,
  fn: (store: StateStore, clock: Clock) => Promise<T>,
): Promise<T> {
  return withExistingStore(options.config, context, (runtime) => fn(runtime.store, runtime.clock));
}

async function selectedIds(
  store: StateStore,
  options: DlqOptions,
  context: CliContext,
): Promise<string[] | null> {
  if (options.id && options.id.length > 0) return options.id;
  if (options.all) return allIds(store, filterOf(options));
  context.err.write(
    'dcsync: name dead letters with --id ID (repeatable) or use --all with optional --flow/--key/--code\n',
  );
  return null;
}

export function registerDlqCommand(program: Command, context: CliContext): void {
  const dlq = program.command('dlq').description('dead letters: list, retry, discard');
  const common = (c: Command): Command =>
    c
      .requiredOption('-c, --config <file>', 'YAML configuration file')
      .option('--flow <flow>', 'only this flow (e.g. contacts)')
      .option('--key <recordKey>', 'only this record key (a trailing * matches a prefix)')
      .option('--code <code>', 'only this error code');
  common(
    dlq
      .command('list')
      .description('list dead letters (newest first), with code, reason, attempts and last failure'),
  )
    .option('--limit <n>', 'page size (max 1000)', positiveInt('--limit', 1000), 50)
    .option('--cursor <cursor>', 'continue after a previous page')
    .option('--json', 'print JSON')
    .action(async (options: DlqOptions) => {
      await withStore(options, context, async (store) => {
        const page = await store.deadLetters.list(
          filterOf(options),
          { cursor: options.cursor, limit: options.limit },
          { newestFirst: true },
        );
        const total = await store.deadLetters.count(filterOf(options));
        if (options.json) {
          // Payloads hold personal data: never printed by the CLI.
          const items = page.items.map(({ payload: _payload, ...rest }) => rest);
          context.out.write(`${JSON.stringify({ total, items, nextCursor: page.nextCursor }, null, 2)}\n`);
        } else {
          context.out.write(`${total} dead letter(s)\n`);
          for (const d of page.items) context.out.write(`${context.redactor.scrub(describe(d))}\n`);
          if (page.nextCursor) context.out.write(`more: --cursor ${page.nextCursor}\n`);
        }
      });
      context.setExitCode(exitCodes.ok);
    });
  const actions = [
    {
      name: 'retry',
      description: 'put dead letters back in the queue',
      done: 'queued again',
      outcome: 'retried',
    },
    {
      name: 'discard',
      description: 'remove dead letters without applying them',
      done: 'discarded',
      outcome: 'discarded',
    },
  ] as const;
  for (const action of actions)
    common(dlq.command(action.name).description(action.description))
      .option('--id <id...>', 'dead letter ids')
      .option('--all', 'every dead letter matching the filters')
      .action(async (options: DlqOptions) => {
        const code = await withStore(options, context, async (store, clock) => {
          const ids = await selectedIds(store, options, context);
          if (!ids) return exitCodes.usage;
          const n = await store.deadLetters[action.name](ids);
          await store.audit.append([
            {
              at: clock.now(),
              actor: 'cli',
              action: `dlq.${action.name}`,
              flow: options.flow ?? null,
              recordKey: null,
              fields: [],
              outcome: `${n} ${action.outcome}`,
              detail: null,
            },
          ]);
          context.out.write(`${n} dead letter(s) ${action.done}\n`);
          return exitCodes.ok;
        });
        context.setExitCode(code);
      });
}
