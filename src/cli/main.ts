#!/usr/bin/env node
/**
 * Composition root of the `dcsync` command. Only this file (and src/server/main.ts) wires concrete
 * classes; commands live in ./commands, one file each.
 */
import { Command, CommanderError } from 'commander';
import { Redactor } from '../logging/redactor.js';
import type { CliContext } from './cli-context.js';
import { exitCodes } from './exit-codes.js';
import { readPackageInfo } from './package-info.js';
import { registerCommands } from './commands/index.js';
import { reportError } from './report-error.js';

export async function main(argv: readonly string[] = process.argv): Promise<void> {
  const redactor = new Redactor();
  const context: CliContext = {
    redactor,
    out: process.stdout,
    err: process.stderr,
    env: process.env,
    setExitCode: (code) => {
      process.exitCode = code;
    },
  };
  const info = readPackageInfo();
  const program = new Command('dcsync')
    .description('Keep Microsoft Dynamics 365 (Dataverse) and Adobe Campaign Standard in step.')
    .version(info.version, '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  registerCommands(program, context);
  try {
    await program.parseAsync([...argv]);
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version arrive here with exit code 0.
      process.exitCode = error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
      return;
    }
    process.exitCode = reportError(error, context);
  }
}

await main();
