import type { Command } from 'commander';
import { stringify } from 'yaml';
import { formatFinding } from '../../config/config-finding.js';
import { loadConfig } from '../../config/load-config.js';
import { toPrintableConfig } from '../../config/printable-config.js';
import type { CliContext } from '../cli-context.js';
import { exitCodes } from '../exit-codes.js';

/**
 * Print the configuration as the service will use it (defaults applied, secrets redacted).
 * Returns the exit code: 3 when the file is invalid (findings go to stderr).
 */
export function runConfigShow(options: { config: string; secrets?: boolean }, context: CliContext): number {
  const loaded = loadConfig(options.config, {
    env: context.env,
    redactor: context.redactor,
    resolveSecrets: options.secrets ?? true,
  });
  for (const finding of loaded.findings)
    if (finding.severity !== 'info') context.err.write(`${context.redactor.scrub(formatFinding(finding))}\n`);
  if (!loaded.ok) return exitCodes.config;
  const text = stringify(toPrintableConfig(loaded.config), { lineWidth: 0 });
  context.out.write(
    context.redactor.scrub(`# ${options.config}: defaults applied, secrets redacted\n${text}`),
  );
  return exitCodes.ok;
}

/** `dcsync config show --config FILE`. */
export function registerConfigCommand(program: Command, context: CliContext): void {
  const config = program.command('config').description('inspect the configuration');
  config
    .command('show')
    .description('print the resolved configuration (defaults applied, secrets redacted)')
    .requiredOption('-c, --config <file>', 'YAML configuration file')
    .option('--no-secrets', 'do not read secrets from the environment or files')
    .action((options: { config: string; secrets: boolean }) => {
      context.setExitCode(runConfigShow(options, context));
    });
}
