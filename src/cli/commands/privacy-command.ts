import { formatIso } from '../../core/clock.js';
import { isDynamicsId } from '../../core/record-key.js';
import { userInfo } from 'node:os';
import { Option, type Command } from 'commander';
import type { PrivacyRequest, PrivacyStepEntry } from '../../core/ports/privacy-store.js';
import { privacyRequestStates } from '../../core/ports/privacy-store.js';
import type { CliContext } from '../cli-context.js';
import { exitCodes } from '../exit-codes.js';
import { positiveInt } from '../option-parsers.js';
import { withCommandRuntime, withExistingStore } from '../runtime/load-config-for-command.js';
import { openPrivacyRuntime } from '../runtime/privacy-runtime.js';

interface CommonOptions {
  config: string;
}

interface DeleteOptions extends CommonOptions {
  contact: string;
  regulation?: string;
  wait?: boolean;
  requestedBy?: string;
}

interface ListOptions extends CommonOptions {
  state?: string;
  limit?: number;
  json?: boolean;
}

function whoAsked(explicit: string | undefined, env: NodeJS.ProcessEnv): string {
  if (explicit) return `cli:${explicit}`;
  let user = env.USER ?? env.USERNAME;
  if (!user) {
    try {
      user = userInfo().username;
    } catch {
      user = undefined;
    }
  }
  return user ? `cli:${user}` : 'cli';
}

function printJson(context: CliContext, value: unknown): void {
  context.out.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** A request as the CLI prints it: ids, codes and times (ISO 8601, UTC) only. */
function viewOf(request: PrivacyRequest, steps?: readonly PrivacyStepEntry[]): Record<string, unknown> {
  const active = request.state === 'pending' || request.state === 'in-progress';
  return {
    id: request.id,
    type: request.type,
    contactId: request.contactKey,
    regulation: request.regulation,
    state: request.state,
    step: request.step,
    requestedBy: request.requestedBy,
    createdAt: formatIso(request.createdAt),
    updatedAt: formatIso(request.updatedAt),
    // When the runner looks again; at step `poll`, when the job's status is asked for next.
    nextAttemptAt: active ? formatIso(request.nextAttemptAt) : null,
    nextPollAt: active && request.step === 'poll' ? formatIso(request.nextAttemptAt) : null,
    jobId: request.jobId,
    linkedRecords: request.linked.length,
    error: request.errorCode ? { code: request.errorCode, message: request.errorMessage } : null,
    ...(steps
      ? {
          steps: steps.map((s) => ({
            step: s.step,
            outcome: s.outcome,
            at: formatIso(s.finishedAt),
            detail: s.detail,
          })),
        }
      : {}),
  };
}

function checkContact(contact: string, context: CliContext): boolean {
  if (isDynamicsId(contact)) return true;
  context.err.write('dcsync: --contact must be a Dynamics contact id (a GUID)\n');
  return false;
}

/** `dcsync privacy delete`: start a request (the hold is taken before it returns); `--wait` runs it to the end. */
export function runPrivacyDelete(options: DeleteOptions, context: CliContext): Promise<number> {
  if (!checkContact(options.contact, context)) return Promise.resolve(exitCodes.usage);
  return withCommandRuntime(options.config, context, async (runtime) => {
    const privacy = openPrivacyRuntime(runtime, { env: context.env });
    try {
      let request = await privacy.runner.start({
        contactKey: options.contact,
        regulation: options.regulation ?? runtime.config.privacy!.regulation,
        requestedBy: whoAsked(options.requestedBy, context.env),
      });
      if (options.wait) {
        const abort = new AbortController();
        const onSignal = (): void => abort.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        try {
          request = await privacy.runner.runToEnd(request.id, abort.signal);
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      }
      printJson(
        context,
        viewOf(request, options.wait ? await runtime.store.privacy.steps(request.id) : undefined),
      );
      if (request.state === 'failed') return exitCodes.attention;
      if (options.wait && request.state !== 'completed') return exitCodes.interrupted;
      return exitCodes.ok;
    } finally {
      await privacy.close();
    }
  });
}

/** `dcsync privacy status [ID]`: one request with its step history, or the active requests. */
export function runPrivacyStatus(
  options: CommonOptions,
  id: string | undefined,
  context: CliContext,
): Promise<number> {
  return withExistingStore(options.config, context, async (runtime) => {
    const { privacy } = runtime.store;
    if (id === undefined) {
      const active = [
        ...(await privacy.list({ state: 'pending' }, { limit: 1000 })).items,
        ...(await privacy.list({ state: 'in-progress' }, { limit: 1000 })).items,
      ].sort((a, b) => Number(b.id) - Number(a.id));
      printJson(context, { active: active.map((r) => viewOf(r)) });
      return exitCodes.ok;
    }
    const request = await privacy.get(id);
    if (!request) {
      context.err.write(`dcsync: no privacy request ${id}\n`);
      return exitCodes.usage;
    }
    printJson(context, viewOf(request, await privacy.steps(id)));
    return exitCodes.ok;
  });
}

/** One line per request: id, state and step, contact, regulation, who asked, when, last change. */
export function formatPrivacyRequests(requests: readonly PrivacyRequest[]): string {
  return requests
    .map((r) =>
      [
        r.id,
        r.type,
        r.state,
        `step ${r.step}`,
        `contact ${r.contactKey}`,
        r.regulation,
        `by ${r.requestedBy}`,
        `created ${formatIso(r.createdAt)}`,
        `updated ${formatIso(r.updatedAt)}`,
        ...(r.errorCode ? [`error ${r.errorCode}`] : []),
      ].join('\t'),
    )
    .join('\n');
}

/** `dcsync privacy list`: requests, newest first; a text table, or JSON with `--json`. */
export function runPrivacyList(options: ListOptions, context: CliContext): Promise<number> {
  return withExistingStore(options.config, context, async (runtime) => {
    const page = await runtime.store.privacy.list(
      options.state ? { state: options.state as PrivacyRequest['state'] } : {},
      { limit: options.limit ?? 100 },
    );
    if (options.json) {
      printJson(context, { requests: page.items.map((r) => viewOf(r)), more: page.nextCursor !== null });
      return exitCodes.ok;
    }
    context.out.write(`${page.items.length} privacy request(s)${options.state ? ` ${options.state}` : ''}\n`);
    if (page.items.length > 0)
      context.out.write(`${context.redactor.scrub(formatPrivacyRequests(page.items))}\n`);
    if (page.nextCursor) context.out.write(`more: raise --limit (at most 1000)\n`);
    return exitCodes.ok;
  });
}

/**
 * `dcsync privacy access`: what both systems hold for one person, as one JSON document on stdout
 * (never logged). The request itself is recorded with counts only.
 */
export function runPrivacyAccess(options: DeleteOptions, context: CliContext): Promise<number> {
  if (!checkContact(options.contact, context)) return Promise.resolve(exitCodes.usage);
  return withCommandRuntime(options.config, context, async (runtime) => {
    const privacy = openPrivacyRuntime(runtime);
    try {
      const { request, document } = await privacy.runner.access({
        contactKey: options.contact,
        regulation: options.regulation ?? runtime.config.privacy!.regulation,
        requestedBy: whoAsked(options.requestedBy, context.env),
      });
      printJson(context, { request: request.id, ...document });
      return exitCodes.ok;
    } finally {
      await privacy.close();
    }
  });
}

export function registerPrivacyCommand(program: Command, context: CliContext): void {
  const privacy = program
    .command('privacy')
    .description('privacy requests: delete a person from both systems, or gather what they hold');
  const regulation = (): Option =>
    new Option('--regulation <name>', 'Privacy Service regulation (default: privacy.regulation)');
  privacy
    .command('delete')
    .description('delete a contact from Campaign and Dynamics in the right order (held, resumable, audited)')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .requiredOption('--contact <id>', 'Dynamics contact id')
    .addOption(regulation())
    .option('--wait', 'run the request to its end here (otherwise `dcsync run` moves it on)')
    .option('--requested-by <name>', 'who asked (default: the OS user)')
    .action(async (options: DeleteOptions) => {
      context.setExitCode(await runPrivacyDelete(options, context));
    });
  privacy
    .command('status')
    .description('one request with its step history, or all active requests')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .argument('[id]', 'request id')
    .action(async (id: string | undefined, options: CommonOptions) => {
      context.setExitCode(await runPrivacyStatus(options, id, context));
    });
  privacy
    .command('show')
    .description('one request with its step history and next poll time (as `status ID`)')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .argument('<id>', 'request id')
    .action(async (id: string, options: CommonOptions) => {
      context.setExitCode(await runPrivacyStatus(options, id, context));
    });
  privacy
    .command('list')
    .description('privacy requests, newest first')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .addOption(new Option('--state <state>', 'only requests in this state').choices(privacyRequestStates))
    .option('--limit <n>', 'at most this many (max 1000)', positiveInt('--limit', 1000), 100)
    .option('--json', 'print JSON')
    .action(async (options: ListOptions) => {
      context.setExitCode(await runPrivacyList(options, context));
    });
  privacy
    .command('access')
    .description('print what Campaign and Dynamics hold for a contact as one JSON document')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .requiredOption('--contact <id>', 'Dynamics contact id')
    .addOption(regulation())
    .option('--requested-by <name>', 'who asked (default: the OS user)')
    .action(async (options: DeleteOptions) => {
      context.setExitCode(await runPrivacyAccess(options, context));
    });
}
