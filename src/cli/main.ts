#!/usr/bin/env node
/**
 * Composition root of the `dcsync` command. Only the CLI (this entry point, the command files it
 * registers and src/cli/runtime/) wires concrete classes; commands live in ./commands, one file each.
 */
import { Redactor } from '../logging/redactor.js';
import { endQuietlyWhenOutputCloses } from './closed-output.js';
import { runCli } from './run-cli.js';

endQuietlyWhenOutputCloses({ out: process.stdout, err: process.stderr }, (code) => process.exit(code));

process.exitCode = await runCli(process.argv.slice(2), {
  redactor: new Redactor(),
  out: process.stdout,
  err: process.stderr,
  env: process.env,
  setExitCode: (code) => {
    process.exitCode = code;
  },
});
