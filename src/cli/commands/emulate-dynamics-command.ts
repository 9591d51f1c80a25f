import { readFileSync, writeFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import {
  startDynamicsEmulator,
  type DynamicsEmulatorOptions,
} from '../../../emulators/dynamics/dynamics-emulator.js';
import type { CliContext } from '../cli-context.js';
import { exitCodes } from '../exit-codes.js';

interface EmulateDynamicsFlags {
  port: number;
  host: string;
  contacts: number;
  seed: number;
  clientId: string;
  clientSecret?: string;
  seedFile?: string;
  tlsCert?: string;
  tlsKey?: string;
  caOut?: string;
  insecureHttp?: boolean;
  adminKey?: string;
  tokenLifetime?: number;
  retentionDays?: number;
}

function integer(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
  };
}

/** Resolve when the process is asked to stop (SIGINT/SIGTERM). */
function waitForSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string): void => {
      process.off('SIGINT', onInt);
      process.off('SIGTERM', onTerm);
      resolve(signal);
    };
    const onInt = (): void => stop('SIGINT');
    const onTerm = (): void => stop('SIGTERM');
    process.on('SIGINT', onInt);
    process.on('SIGTERM', onTerm);
  });
}

/** `dcsync emulate dynamics`: run the Dataverse Web API emulator until interrupted. */
export function registerEmulateDynamicsCommand(program: Command, context: CliContext): void {
  program
    .command('dynamics')
    .description('run the Dataverse (Dynamics 365) Web API emulator with its Entra ID token endpoint')
    .option('--port <port>', 'TCP port (0 = any free port)', integer('--port'), 0)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--contacts <n>', 'contacts to generate at start', integer('--contacts'), 100)
    .option('--seed <n>', 'seed of the data generator', integer('--seed'), 1)
    .option('--client-id <id>', 'client id the token endpoint accepts', 'demo-client')
    .option(
      '--client-secret <secret>',
      'client secret it accepts (default demo-secret; prefer DCSYNC_EMULATOR_CLIENT_SECRET)',
    )
    .option('--seed-file <file>', 'YAML/JSON file declaring custom tables and rows')
    .option('--tls-cert <file>', 'serve this certificate (PEM) instead of a generated one')
    .option('--tls-key <file>', 'private key (PEM) of --tls-cert')
    .option('--ca-out <file>', 'write the CA certificate (PEM) clients must trust to this file')
    .option('--insecure-http', 'serve plain HTTP (debugging only; MSAL refuses http authorities)')
    .option(
      '--admin-key <key>',
      'require this key (header x-emulator-admin-key) on /_emulator/ (prefer DCSYNC_EMULATOR_ADMIN_KEY)',
    )
    .option('--token-lifetime <seconds>', 'access-token lifetime', integer('--token-lifetime'))
    .option(
      '--retention-days <days>',
      'change-tracking retention (expirechangetrackingindays)',
      integer('--retention-days'),
    )
    .action(async (flags: EmulateDynamicsFlags) => {
      if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
        context.err.write('dcsync: --tls-cert and --tls-key go together\n');
        context.setExitCode(exitCodes.usage);
        return;
      }
      const clientSecret = flags.clientSecret ?? context.env.DCSYNC_EMULATOR_CLIENT_SECRET ?? 'demo-secret';
      const adminKey = flags.adminKey ?? context.env.DCSYNC_EMULATOR_ADMIN_KEY;
      context.redactor.addSecret(clientSecret);
      context.redactor.addSecret(adminKey);
      const options: DynamicsEmulatorOptions = {
        port: flags.port,
        host: flags.host,
        contacts: flags.contacts,
        seed: flags.seed,
        clientId: flags.clientId,
        clientSecret,
        ...(flags.seedFile ? { seedFile: flags.seedFile } : {}),
        ...(flags.insecureHttp ? { insecureHttp: true } : {}),
        ...(flags.tlsCert && flags.tlsKey
          ? { tls: { cert: readFileSync(flags.tlsCert, 'utf8'), key: readFileSync(flags.tlsKey, 'utf8') } }
          : {}),
        ...(adminKey ? { adminKey } : {}),
        ...(flags.tokenLifetime !== undefined ? { tokenLifetimeSec: flags.tokenLifetime } : {}),
        ...(flags.retentionDays !== undefined ? { changeTrackingRetentionDays: flags.retentionDays } : {}),
      };
      const emulator = await startDynamicsEmulator(options);
      if (flags.caOut && emulator.caCert) writeFileSync(flags.caOut, emulator.caCert);
      const lines = [
        `Dynamics emulator listening`,
        `  org URL (dynamics.url):         ${emulator.url}`,
        `  authority host:                 ${emulator.authorityHost}`,
        `  token endpoint:                 ${emulator.tokenUrl} (any tenant id works)`,
        `  client id:                      ${emulator.clientId}`,
        `  contacts:                       ${emulator.admin.countRows('contact')}`,
        `  admin API:                      ${emulator.url}/_emulator/ (${adminKey ? 'needs x-emulator-admin-key' : 'loopback only'})`,
      ];
      if (flags.caOut && emulator.caCert) lines.push(`  CA certificate written to:      ${flags.caOut}`);
      else if (!emulator.caCert) lines.push('  plain HTTP: for debugging only');
      context.out.write(`${lines.join('\n')}\nPress Ctrl+C to stop.\n`);
      const signal = await waitForSignal();
      context.out.write(`received ${signal}, stopping\n`);
      await emulator.close();
      context.setExitCode(exitCodes.ok);
    });
}
