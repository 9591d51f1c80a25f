import { Command, CommanderError } from 'commander';
import type { CliContext } from './cli-context.js';
import { exitCodes } from './exit-codes.js';
import { readPackageInfo } from './package-info.js';
import { registerCommands } from './commands/index.js';
import { reportError } from './report-error.js';

/**
 * Parse and run one `dcsync` command line against a context; returns the exit code. The process
 * entry point (main.ts) and in-process CLI tests both use it.
 */
export async function runCli(args: readonly string[], context: CliContext): Promise<number> {
  let code: number = exitCodes.ok;
  const inner: CliContext = {
    ...context,
    setExitCode: (c) => {
      code = c;
      context.setExitCode(c);
    },
  };
  const info = readPackageInfo();
  const program = new Command('dcsync')
    .description('Keep Microsoft Dynamics 365 (Dataverse) and Adobe Campaign Standard in step.')
    .version(info.version, '-V, --version', 'print the version')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => context.out.write(s),
      writeErr: (s) => context.err.write(s),
    })
    .exitOverride();
  registerCommands(program, inner);
  try {
    await program.parseAsync([...args], { from: 'user' });
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version arrive here with exit code 0.
      code = error.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    } else {
      code = reportError(error, inner);
    }
  }
  return code;
}
