import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import {
  startCampaignEmulator,
  type CampaignEmulatorOptions,
} from '../../../emulators/campaign/campaign-emulator.js';
import type { CliContext } from '../cli-context.js';
import { nonNegativeInt as count } from '../option-parsers.js';
import {
  addEmulatorServerOptions,
  emulatorServerOptions,
  serveUntilStopped,
  type EmulatorServerFlags,
} from './emulate-common.js';

interface EmulateCampaignFlags extends EmulatorServerFlags {
  sftpPort?: number;
  org: string;
  seed: number;
  seedFile?: string;
  profiles: number;
  tokenLifetime?: number;
  callsPerSecond?: number;
  sftpRoot?: string;
  sftpHostKey?: string;
  sftpUser: string;
  sftpPassword?: string;
  sftpPublicKey?: string;
}

/** `dcsync emulate campaign`: run the Campaign Standard + IMS + Privacy Service (+ SFTP) emulator until interrupted. */
export function registerEmulateCampaignCommand(program: Command, context: CliContext): void {
  const command = program
    .command('campaign')
    .description(
      'run the Adobe Campaign Standard emulator with IMS, Privacy Service and (optionally) its SFTP server',
    )
    .option('--port <port>', 'TCP port of the REST APIs (0 = any free port)', count('--port'), 0)
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option(
      '--sftp-port <port>',
      'also run the SFTP server and opt-out export workflow on this port',
      count('--sftp-port'),
    )
    .option('--org <org>', 'Campaign organization (tenant) in URLs', 'demo-org')
    .option('--client-id <id>', 'OAuth client id IMS accepts (also the X-Api-Key)', 'demo-client')
    .option(
      '--client-secret <secret>',
      'client secret IMS accepts (default demo-secret; prefer DCSYNC_EMULATOR_CLIENT_SECRET)',
    )
    .option('--seed <n>', 'seed of generated data and PKeys', count('--seed'), 1)
    .option(
      '--seed-file <file>',
      'YAML/JSON file declaring custom resources, the profile key and initial data',
    )
    .option(
      '--profiles <n>',
      'foreign profiles (no externalId) to generate at start',
      count('--profiles'),
      0,
    );
  addEmulatorServerOptions(command, 'serve plain HTTP (debugging only)')
    .option('--token-lifetime <seconds>', 'IMS token lifetime (expires_in)', count('--token-lifetime'))
    .option(
      '--calls-per-second <n>',
      'answer 429 above this many calls per second (off by default, as the real service)',
      count('--calls-per-second'),
    )
    .option('--sftp-root <dir>', 'directory served as the SFTP root (default: a temp dir removed on exit)')
    .option('--sftp-host-key <file>', 'SFTP host key file (generated on first use and kept)')
    .option('--sftp-user <name>', 'SFTP account name', 'demo-sftp')
    .option(
      '--sftp-password <password>',
      'SFTP password (default demo-sftp-password; prefer DCSYNC_EMULATOR_SFTP_PASSWORD)',
    )
    .option('--sftp-public-key <file>', 'OpenSSH public key accepted for the SFTP account')
    .action(async (flags: EmulateCampaignFlags) => {
      const server = emulatorServerOptions(flags, context);
      if (!server) return;
      const sftpPassword =
        flags.sftpPassword ?? context.env.DCSYNC_EMULATOR_SFTP_PASSWORD ?? 'demo-sftp-password';
      context.redactor.addSecret(sftpPassword);
      const options: CampaignEmulatorOptions = {
        ...server,
        org: flags.org,
        seed: flags.seed,
        profiles: flags.profiles,
        ...(flags.seedFile ? { seedFile: flags.seedFile } : {}),
        ...(flags.tokenLifetime !== undefined ? { tokenLifetimeSec: flags.tokenLifetime } : {}),
        ...(flags.callsPerSecond ? { callsPerSecond: flags.callsPerSecond } : {}),
        ...(flags.sftpPort !== undefined
          ? {
              sftpPort: flags.sftpPort,
              sftp: {
                users: [
                  {
                    username: flags.sftpUser,
                    password: sftpPassword,
                    ...(flags.sftpPublicKey
                      ? { publicKeys: [readFileSync(flags.sftpPublicKey, 'utf8')] }
                      : {}),
                  },
                ],
                ...(flags.sftpRoot ? { rootDir: flags.sftpRoot } : {}),
                ...(flags.sftpHostKey ? { hostKeyPath: flags.sftpHostKey } : {}),
              },
            }
          : {}),
      };
      const emulator = await startCampaignEmulator(options);
      const counts = emulator.admin.countRecords('profile');
      const lines = [
        'Campaign emulator listening',
        `  Campaign API (campaign.url):    ${emulator.url}`,
        `  IMS (campaign.imsUrl):          ${emulator.imsUrl} (token endpoint /ims/token/v3)`,
        `  Privacy Service:                ${emulator.privacyServiceUrl}`,
        `  IMS org id:                     ${emulator.imsOrgId}`,
        `  client id (X-Api-Key):          ${emulator.clientId}`,
        `  profiles:                       ${counts.total}`,
        `  admin API:                      ${emulator.adminUrl}/ (${server.adminKey ? 'needs x-emulator-admin-key' : 'loopback only'})`,
      ];
      if (emulator.sftp) {
        lines.push(
          `  SFTP:                           ${emulator.sftp.host}:${emulator.sftp.port} (user ${emulator.sftp.username})`,
          `  SFTP host key:                  ${emulator.sftp.hostKeySha256}`,
          `  opt-out exports:                /${emulator.sftp.exportDir} (daily, emulated clock)`,
        );
      }
      await serveUntilStopped(emulator, flags, lines, context);
    });
}
