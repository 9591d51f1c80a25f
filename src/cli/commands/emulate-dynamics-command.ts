import type { Command } from 'commander';
import {
  startDynamicsEmulator,
  type DynamicsEmulatorOptions,
} from '../../../emulators/dynamics/dynamics-emulator.js';
import type { CliContext } from '../cli-context.js';
import { nonNegativeInt as integer } from '../option-parsers.js';
import {
  addEmulatorServerOptions,
  emulatorServerOptions,
  serveUntilStopped,
  type EmulatorServerFlags,
} from './emulate-common.js';

interface EmulateDynamicsFlags extends EmulatorServerFlags {
  contacts: number;
  seed: number;
  seedFile?: string;
  tokenLifetime?: number;
  retentionDays?: number;
}

/** `dcsync emulate dynamics`: run the Dataverse Web API emulator until interrupted. */
export function registerEmulateDynamicsCommand(program: Command, context: CliContext): void {
  const command = program
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
    .option('--seed-file <file>', 'YAML/JSON file declaring custom tables and rows');
  addEmulatorServerOptions(command, 'serve plain HTTP (debugging only; MSAL refuses http authorities)')
    .option('--token-lifetime <seconds>', 'access-token lifetime', integer('--token-lifetime'))
    .option(
      '--retention-days <days>',
      'change-tracking retention (expirechangetrackingindays)',
      integer('--retention-days'),
    )
    .action(async (flags: EmulateDynamicsFlags) => {
      const server = emulatorServerOptions(flags, context);
      if (!server) return;
      const options: DynamicsEmulatorOptions = {
        ...server,
        contacts: flags.contacts,
        seed: flags.seed,
        ...(flags.seedFile ? { seedFile: flags.seedFile } : {}),
        ...(flags.tokenLifetime !== undefined ? { tokenLifetimeSec: flags.tokenLifetime } : {}),
        ...(flags.retentionDays !== undefined ? { changeTrackingRetentionDays: flags.retentionDays } : {}),
      };
      const emulator = await startDynamicsEmulator(options);
      const lines = [
        `Dynamics emulator listening`,
        `  org URL (dynamics.url):         ${emulator.url}`,
        `  authority host:                 ${emulator.authorityHost}`,
        `  token endpoint:                 ${emulator.tokenUrl} (any tenant id works)`,
        `  client id:                      ${emulator.clientId}`,
        `  contacts:                       ${emulator.admin.countRows('contact')}`,
        `  admin API:                      ${emulator.url}/_emulator/ (${server.adminKey ? 'needs x-emulator-admin-key' : 'loopback only'})`,
      ];
      await serveUntilStopped(emulator, flags, lines, context);
    });
}
