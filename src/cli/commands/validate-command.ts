import type { Command } from 'commander';
import { countFindings, formatFinding, hasErrors, type ConfigFinding } from '../../config/config-finding.js';
import type { LiveCheck } from '../../config/live-check.js';
import { loadConfig } from '../../config/load-config.js';
import type { ResolvedConfig } from '../../config/resolved-config.js';
import type { CliContext } from '../cli-context.js';
import {
  createContactFlowLiveCheck,
  createCustomTableLiveCheck,
} from '../../preflight/metadata-live-checks.js';
import { openMetadataSource } from '../runtime/open-metadata-source.js';
import { exitCodes } from '../exit-codes.js';

/**
 * The live checks `validate` runs against both tenants once the file is valid. Add new checks
 * here (one entry per check; each lives next to the connector it exercises).
 */
export function createLiveChecks(): LiveCheck[] {
  return [createContactFlowLiveCheck(openMetadataSource), createCustomTableLiveCheck(openMetadataSource)];
}

/** Options of one `validate` run. */
export interface ValidateRunOptions {
  /** Path of the YAML configuration. */
  readonly config: string;
  /** Print findings as a JSON array instead of lines. @default false */
  readonly json?: boolean;
  /** Skip the live checks (no network). @default false */
  readonly offline?: boolean;
  /** Per live check time limit. @default 30000 */
  readonly liveCheckTimeoutMs?: number;
  /** Checks to run. @default createLiveChecks() */
  readonly liveChecks?: readonly LiveCheck[];
}

async function runLiveCheck(
  check: LiveCheck,
  config: ResolvedConfig,
  context: CliContext,
  timeoutMs: number,
): Promise<readonly ConfigFinding[]> {
  try {
    const signal = AbortSignal.timeout(timeoutMs);
    return await check.run({ config, redactor: context.redactor, signal });
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    return [
      {
        severity: 'error',
        code: 'PREFLIGHT_CHECK_FAILED',
        path: '',
        message: `live check ${check.name} failed: ${reason}`,
      },
    ];
  }
}

function writeSummary(
  file: string,
  findings: readonly ConfigFinding[],
  liveNote: string,
  context: CliContext,
): void {
  const counts = countFindings(findings);
  const verdict = counts.error > 0 ? 'invalid' : 'valid';
  context.out.write(
    `${file}: ${verdict} (${counts.error} error(s), ${counts.warning} warning(s), ${counts.info} note(s)); live checks: ${liveNote}\n`,
  );
}

/**
 * Validate a configuration: schema, semantic lint, secrets, then the live checks. Prints every
 * finding and returns the exit code: 3 (config) on any configuration error, 6 (preflight) when
 * only live checks found errors, 0 otherwise.
 */
export async function runValidate(options: ValidateRunOptions, context: CliContext): Promise<number> {
  const loaded = loadConfig(options.config, { env: context.env, redactor: context.redactor });
  const findings: ConfigFinding[] = [...loaded.findings];
  let liveNote = 'not run (the configuration has errors)';
  let liveFindings: ConfigFinding[] = [];
  if (loaded.ok) {
    const checks = (options.liveChecks ?? createLiveChecks()).filter(
      (check) => check.appliesTo?.(loaded.config) ?? true,
    );
    if (options.offline) liveNote = 'skipped (--offline)';
    else {
      const results = await Promise.all(
        checks.map((check) =>
          runLiveCheck(check, loaded.config, context, options.liveCheckTimeoutMs ?? 30_000),
        ),
      );
      liveFindings = results.flat();
      liveNote = `${checks.length} run`;
    }
  }
  const all = [...findings, ...liveFindings].map((finding) => ({
    ...finding,
    message: context.redactor.scrub(finding.message),
  }));
  if (options.json) context.out.write(`${JSON.stringify(all, null, 2)}\n`);
  else {
    for (const finding of all) context.out.write(`${formatFinding(finding)}\n`);
    writeSummary(options.config, all, liveNote, context);
  }
  if (hasErrors(findings)) return exitCodes.config;
  if (hasErrors(liveFindings)) return exitCodes.preflight;
  return exitCodes.ok;
}

/** Options for {@link registerValidateCommand}. */
export interface RegisterValidateOptions {
  /** Supplies the live checks. @default createLiveChecks */
  readonly liveChecks?: () => readonly LiveCheck[];
}

/** `dcsync validate --config FILE [--json] [--offline]`. */
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
    .action(async (options: { config: string; json?: boolean; offline?: boolean }) => {
      const code = await runValidate(
        {
          config: options.config,
          json: options.json ?? false,
          offline: options.offline ?? false,
          liveChecks: (registerOptions.liveChecks ?? createLiveChecks)(),
        },
        context,
      );
      context.setExitCode(code);
    });
}
