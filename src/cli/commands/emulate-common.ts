import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { exitCodes } from '../exit-codes.js';

/** Flags both emulators take: where to listen, TLS, credentials and the admin key. */
export interface EmulatorServerFlags {
  port: number;
  host: string;
  clientId: string;
  clientSecret?: string;
  tlsCert?: string;
  tlsKey?: string;
  caOut?: string;
  insecureHttp?: boolean;
  adminKey?: string;
}

/** Add the TLS and admin-key options both emulators share. */
export function addEmulatorServerOptions(command: Command, insecureHttpHelp: string): Command {
  return command
    .option('--tls-cert <file>', 'serve this certificate (PEM) instead of a generated one')
    .option('--tls-key <file>', 'private key (PEM) of --tls-cert')
    .option('--ca-out <file>', 'write the CA certificate (PEM) clients must trust to this file')
    .option('--insecure-http', insecureHttpHelp)
    .option(
      '--admin-key <key>',
      'require this key (header x-emulator-admin-key) on /_emulator/ (prefer DCSYNC_EMULATOR_ADMIN_KEY)',
    );
}

/** The options both emulator factories take, resolved from the flags and the environment. */
export interface EmulatorServerOptions {
  port: number;
  host: string;
  clientId: string;
  clientSecret: string;
  insecureHttp?: true;
  tls?: { cert: string; key: string };
  adminKey?: string;
}

/**
 * Resolve the shared flags (secrets from the flags or `DCSYNC_EMULATOR_*`, registered with the
 * redactor); null after reporting a usage error.
 */
export function emulatorServerOptions(
  flags: EmulatorServerFlags,
  context: CliContext,
): EmulatorServerOptions | null {
  if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
    context.err.write('dcsync: --tls-cert and --tls-key go together\n');
    context.setExitCode(exitCodes.usage);
    return null;
  }
  const clientSecret = flags.clientSecret ?? context.env.DCSYNC_EMULATOR_CLIENT_SECRET ?? 'demo-secret';
  const adminKey = flags.adminKey ?? context.env.DCSYNC_EMULATOR_ADMIN_KEY;
  context.redactor.addSecret(clientSecret);
  context.redactor.addSecret(adminKey);
  return {
    port: flags.port,
    host: flags.host,
    clientId: flags.clientId,
    clientSecret,
    ...(flags.insecureHttp ? { insecureHttp: true as const } : {}),
    ...(flags.tlsCert && flags.tlsKey
      ? { tls: { cert: readFileSync(flags.tlsCert, 'utf8'), key: readFileSync(flags.tlsKey, 'utf8') } }
      : {}),
    ...(adminKey ? { adminKey } : {}),
  };
}

/** Resolve with the first of SIGINT/SIGTERM, then stop listening for them. */
function untilStopped(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
    const onSignal = (signal: NodeJS.Signals): void => {
      for (const s of signals) process.off(s, onSignal);
      resolve(signal);
    };
    for (const s of signals) process.on(s, onSignal);
  });
}

/**
 * Write the CA certificate if asked, print what the emulator serves, and run until SIGINT/SIGTERM.
 */
export async function serveUntilStopped(
  emulator: { caCert: string | null | undefined; close(): Promise<void> },
  flags: EmulatorServerFlags,
  lines: string[],
  context: CliContext,
): Promise<void> {
  if (flags.caOut && emulator.caCert) {
    writeFileSync(flags.caOut, emulator.caCert);
    lines.push(`  CA certificate written to:      ${flags.caOut}`);
  } else if (!emulator.caCert && !flags.tlsCert) lines.push('  plain HTTP: for debugging only');
  context.out.write(`${lines.join('\n')}\nPress Ctrl+C to stop.\n`);
  const signal = await untilStopped();
  context.out.write(`received ${signal}, stopping\n`);
  await emulator.close();
  context.setExitCode(exitCodes.ok);
}
