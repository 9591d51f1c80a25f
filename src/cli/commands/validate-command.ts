import type { Command } from 'commander';
import { positiveInt } from '../option-parsers.js';
import { performance } from 'node:perf_hooks';
import {
  countFindings,
  formatConfigPath,
  formatFinding,
  hasErrors,
  type ConfigFinding,
} from '../../config/config-finding.js';
import type {
  LiveCheck,
  LiveCheckContext,
  LiveCheckResult,
  LiveCheckStatus,
} from '../../config/live-check.js';
import { loadConfig } from '../../config/load-config.js';
import type { CliContext } from '../cli-context.js';
import {
  createContactFlowLiveCheck,
  createCustomTableLiveCheck,
} from '../../preflight/metadata-live-checks.js';
import { openMetadataSource } from '../runtime/open-metadata-source.js';
import { createTenantLiveChecks } from '../runtime/tenant-live-checks.js';
import { exitCodes } from '../exit-codes.js';

/**
 * The live checks `validate` runs against both tenants once the file is valid, in the order they
 * are printed. Add new checks here (one entry per check; each lives next to what it exercises).
 */
export function createLiveChecks(): LiveCheck[] {
  return createTenantLiveChecks({
    contacts: createContactFlowLiveCheck(openMetadataSource),
    customTables: createCustomTableLiveCheck(openMetadataSource),
  });
}

/** Options of one `validate` run. */
export interface ValidateRunOptions {
  /** Path of the YAML configuration. */
  readonly config: string;
  /** Print the findings and the live checks as one JSON object instead of lines. @default false */
  readonly json?: boolean;
  /** Skip the live checks (no network). @default false */
  readonly offline?: boolean;
  /** Per live check time limit. @default 15000 */
  readonly liveCheckTimeoutMs?: number;
  /** What is a warning before go-live (no opt-out export file yet) is an error. @default false */
  readonly strict?: boolean;
  /** Checks to run. @default createLiveChecks() */
  readonly liveChecks?: readonly LiveCheck[];
}

/** The default per-check time limit (`--timeout`, seconds). */
export const defaultLiveCheckTimeoutMs = 15_000;

function statusOf(findings: readonly ConfigFinding[]): LiveCheckStatus {
  if (findings.some((finding) => finding.severity === 'error')) return 'failed';
  if (findings.some((finding) => finding.severity === 'warning')) return 'warning';
  return 'passed';
}

function messageOf(findings: readonly ConfigFinding[]): string {
  const first =
    findings.find((finding) => finding.severity === 'error') ??
    findings.find((finding) => finding.severity === 'warning') ??
    findings.find((finding) => finding.severity === 'info');
  return first?.message ?? 'ok';
}

async function runOneCheck(
  check: LiveCheck,
  context: LiveCheckContext,
  timeoutMs: number,
): Promise<readonly ConfigFinding[]> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<readonly ConfigFinding[]>((resolve) => {
    timer = setTimeout(() => {
      controller.abort();
      resolve([
        {
          severity: 'error',
          code: 'PREFLIGHT_CHECK_TIMEOUT',
          // The result names the check's own key and line.
          path: '',
          message: `no answer within ${timeoutMs / 1000} s (--timeout)`,
        },
      ]);
    }, timeoutMs);
    timer.unref();
  });
  try {
    return await Promise.race([
      check.run({ ...context, signal: controller.signal }).catch((error: unknown) => {
        const reason = error instanceof Error ? error.message : String(error);
        return [
          {
            severity: 'error',
            code: 'PREFLIGHT_CHECK_FAILED',
            path: '',
            message: `live check ${check.name} failed: ${reason}`,
          } satisfies ConfigFinding,
        ];
      }),
      timedOut,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Run the checks in parallel, each after the checks it depends on; a check whose dependency
 * failed (or was skipped) is skipped. Results come back in the checks' order.
 */
export async function runLiveChecks(
  checks: readonly LiveCheck[],
  context: LiveCheckContext,
  timeoutMs: number,
): Promise<LiveCheckResult[]> {
  const pending = new Map<string, Promise<LiveCheckResult>>();
  const ids = new Set(checks.map((check) => check.name));
  const start = (check: LiveCheck): Promise<LiveCheckResult> => {
    const existing = pending.get(check.name);
    if (existing) return existing;
    const promise = (async (): Promise<LiveCheckResult> => {
      const title = check.title ?? check.name;
      const position = check.configPath ? context.locate?.(check.configPath) : undefined;
      const place = {
        ...(check.configPath ? { path: formatConfigPath(check.configPath) } : {}),
        ...(position ? { line: position.line } : {}),
      };
      const dependencies = (check.dependsOn ?? []).filter((id) => ids.has(id));
      const before = await Promise.all(
        dependencies.map((id) => start(checks.find((other) => other.name === id)!)),
      );
      const blocked = before.find((result) => result.status === 'failed' || result.status === 'skipped');
      if (blocked)
        return {
          id: check.name,
          title,
          status: 'skipped',
          message: `skipped: ${blocked.id} ${blocked.status === 'failed' ? 'failed' : 'was skipped'}`,
          ...place,
          durationMs: 0,
          findings: [],
        };
      const started = performance.now();
      const findings = (await runOneCheck(check, context, timeoutMs)).map((finding) => ({
        ...finding,
        message: context.redactor.scrub(finding.message),
      }));
      // A problem names the key it is about (e.g. `campaign.sftp.hostKeySha256`), else the check's.
      const problem = findings.find((finding) => finding.severity !== 'info' && finding.path !== '');
      return {
        id: check.name,
        title,
        status: statusOf(findings),
        message: messageOf(findings),
        ...(problem
          ? { path: problem.path, ...(problem.line === undefined ? {} : { line: problem.line }) }
          : place),
        durationMs: Math.round(performance.now() - started),
        findings,
      };
    })();
    pending.set(check.name, promise);
    return promise;
  };
  return Promise.all(checks.map(start));
}

function formatCheck(result: LiveCheckResult): string {
  // Problems name their key and line, unless the message already does.
  const where =
    result.path && !result.message.includes(result.path)
      ? ` [${result.path}${result.line === undefined ? '' : `, line ${result.line}`}]`
      : '';
  return `${result.status.padEnd(7)} ${result.id} (${result.durationMs} ms): ${result.message}${result.status === 'passed' || result.status === 'skipped' ? '' : where}`;
}

function countStatuses(results: readonly LiveCheckResult[]): Record<LiveCheckStatus, number> {
  const counts: Record<LiveCheckStatus, number> = { passed: 0, warning: 0, failed: 0, skipped: 0 };
  for (const result of results) counts[result.status] += 1;
  return counts;
}

/**
 * Validate a configuration: schema, semantic lint, secrets, then the live checks. Prints every
 * finding and one line per live check, then a summary, and returns the exit code: 3 (config) on
 * any configuration error, 6 (preflight) when a live check failed, 0 otherwise (warnings too).
 */
export async function runValidate(options: ValidateRunOptions, context: CliContext): Promise<number> {
  const loaded = loadConfig(options.config, { env: context.env, redactor: context.redactor });
  const findings: ConfigFinding[] = loaded.findings.map((finding) => ({
    ...finding,
    message: context.redactor.scrub(finding.message),
  }));
  let liveNote = 'not run (the configuration has errors)';
  let results: LiveCheckResult[] = [];
  if (loaded.ok) {
    const checks = (options.liveChecks ?? createLiveChecks()).filter(
      (check) => check.appliesTo?.(loaded.config) ?? true,
    );
    if (options.offline) liveNote = 'skipped (--offline)';
    else {
      results = await runLiveChecks(
        checks,
        {
          config: loaded.config,
          redactor: context.redactor,
          signal: new AbortController().signal,
          ...(loaded.locate ? { locate: loaded.locate } : {}),
          strict: options.strict ?? false,
        },
        options.liveCheckTimeoutMs ?? defaultLiveCheckTimeoutMs,
      );
      const counts = countStatuses(results);
      liveNote = `${results.length} run (${counts.passed} passed, ${counts.warning} warning(s), ${counts.failed} failed, ${counts.skipped} skipped)`;
    }
  }
  const counts = countFindings(findings);
  const liveFailed = results.some((result) => result.status === 'failed');
  const verdict = counts.error > 0 || liveFailed ? 'invalid' : 'valid';
  if (options.json)
    context.out.write(
      `${JSON.stringify(
        {
          file: options.config,
          verdict,
          findings,
          liveChecks: options.offline ? 'skipped' : loaded.ok ? results : 'not run',
        },
        null,
        2,
      )}\n`,
    );
  else {
    for (const finding of findings) context.out.write(`${formatFinding(finding)}\n`);
    for (const result of results) context.out.write(`${formatCheck(result)}\n`);
    context.out.write(
      `${options.config}: ${verdict} (${counts.error} error(s), ${counts.warning} warning(s), ${counts.info} note(s)); live checks: ${liveNote}\n`,
    );
  }
  if (hasErrors(findings)) return exitCodes.config;
  if (liveFailed) return exitCodes.preflight;
  return exitCodes.ok;
}

/** Options for {@link registerValidateCommand}. */
export interface RegisterValidateOptions {
  /** Supplies the live checks. @default createLiveChecks */
  readonly liveChecks?: () => readonly LiveCheck[];
}

/** `dcsync validate --config FILE [--json] [--offline] [--timeout S] [--strict]`. */
export function registerValidateCommand(
  program: Command,
  context: CliContext,
  registerOptions: RegisterValidateOptions = {},
): void {
  program
    .command('validate')
    .description(
      'check a configuration file: schema, semantic rules, secrets, and (unless --offline) both tenants',
    )
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .option('--json', 'print findings as a JSON array')
    .option('--offline', 'skip the live checks against Dynamics and Campaign')
    .option('--timeout <seconds>', 'time limit of each live check', positiveInt('--timeout', 600), 15)
    .option('--strict', 'go-live: what is a warning before go-live (no opt-out export file yet) fails')
    .action(
      async (options: {
        config: string;
        json?: boolean;
        offline?: boolean;
        timeout: number;
        strict?: boolean;
      }) => {
        const code = await runValidate(
          {
            config: options.config,
            json: options.json ?? false,
            offline: options.offline ?? false,
            liveCheckTimeoutMs: options.timeout * 1000,
            strict: options.strict ?? false,
            liveChecks: (registerOptions.liveChecks ?? createLiveChecks)(),
          },
          context,
        );
        context.setExitCode(code);
      },
    );
}
