import { PassThrough } from 'node:stream';
import { Redactor } from '../../src/logging/redactor.js';
import { runCli } from '../../src/cli/run-cli.js';
import type { ConfigFinding } from '../../src/config/config-finding.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  return () => Buffer.concat(chunks).toString('utf8');
}

/**
 * Run a `dcsync` command line in this process (same parsing, commands and exit codes as the
 * binary), capturing stdout and stderr. Spawning a process per command costs seconds; this
 * keeps CLI tests fast. Tests that need the process boundary (signals, kill -9) spawn instead.
 */
export async function runDcsync(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  const out = new PassThrough();
  const err = new PassThrough();
  const stdout = collect(out);
  const stderr = collect(err);
  const code = await runCli(args, {
    redactor: new Redactor(),
    out,
    err,
    env: { ...process.env, ...env },
    setExitCode: () => undefined,
  });
  out.end();
  err.end();
  return { code, stdout: stdout(), stderr: stderr() };
}

/**
 * `dcsync validate --config FILE --json` (live checks included): the exit code and the findings —
 * the file's, then each live check's problems (their `info` notes on success left out).
 */
export async function validateJson(
  configPath: string,
  env: NodeJS.ProcessEnv = {},
): Promise<{ code: number; findings: ConfigFinding[] }> {
  const run = await runDcsync(['validate', '--config', configPath, '--json'], env);
  const report = JSON.parse(run.stdout) as {
    findings: ConfigFinding[];
    liveChecks: { findings: ConfigFinding[] }[] | string;
  };
  const live = Array.isArray(report.liveChecks) ? report.liveChecks.flatMap((check) => check.findings) : [];
  return {
    code: run.code,
    findings: [...report.findings, ...live.filter((finding) => finding.severity !== 'info')],
  };
}
