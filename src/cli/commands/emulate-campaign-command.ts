import { readFileSync, writeFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import {
  startCampaignEmulator,
  type CampaignEmulatorOptions,
} from '../../../emulators/campaign/campaign-emulator.js';
import type { CliContext } from '../cli-context.js';
import { exitCodes } from '../exit-codes.js';

interface EmulateCampaignFlags {
  port: number;
  host: string;
  sftpPort?: number;
  org: string;
  clientId: string;
  clientSecret?: string;
  seed: number;
  seedFile?: string;
  profiles: number;
  tlsCert?: string;
  tlsKey?: string;
  caOut?: string;
  insecureHttp?: boolean;
  adminKey?: string;
  tokenLifetime?: number;
  callsPerSecond?: number;
  sftpRoot?: string;
  sftpHostKey?: string;
  sftpUser: string;
  sftpPassword?: string;
  sftpPublicKey?: string;
}

function count(name: string): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      throw new InvalidArgumentError(`${name} must be a non-negative integer`);
    return n;
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

/** `dcsync emulate campaign`: run the Campaign Standard + IMS + Privacy Service (+ SFTP) emulator until interrupted. */
export function registerEmulateCampaignCommand(program: Command, context: CliContext): void {
  program
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
    .option('--profiles <n>', 'foreign profiles (no externalId) to generate at start', count('--profiles'), 0)
    .option('--tls-cert <file>', 'serve this certificate (PEM) instead of a generated one')
    .option('--tls-key <file>', 'private key (PEM) of --tls-cert')
    .option('--ca-out <file>', 'write the CA certificate (PEM) clients must trust to this file')
    .option('--insecure-http', 'serve plain HTTP (debugging only)')
    .option(
      '--admin-key <key>',
      'require this key (header x-emulator-admin-key) on /_emulator/ (prefer DCSYNC_EMULATOR_ADMIN_KEY)',
    )
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
      if ((flags.tlsCert === undefined) !== (flags.tlsKey === undefined)) {
        context.err.write('dcsync: --tls-cert and --tls-key go together\n');
        context.setExitCode(exitCodes.usage);
        return;
      }
      const clientSecret = flags.clientSecret ?? context.env.DCSYNC_EMULATOR_CLIENT_SECRET ?? 'demo-secret';
      const adminKey = flags.adminKey ?? context.env.DCSYNC_EMULATOR_ADMIN_KEY;
      const sftpPassword =
        flags.sftpPassword ?? context.env.DCSYNC_EMULATOR_SFTP_PASSWORD ?? 'demo-sftp-password';
      context.redactor.addSecret(clientSecret);
      context.redactor.addSecret(adminKey);
      context.redactor.addSecret(sftpPassword);
      const options: CampaignEmulatorOptions = {
        port: flags.port,
        host: flags.host,
        org: flags.org,
        clientId: flags.clientId,
        clientSecret,
        seed: flags.seed,
        profiles: flags.profiles,
        ...(flags.seedFile ? { seedFile: flags.seedFile } : {}),
        ...(flags.insecureHttp ? { insecureHttp: true } : {}),
        ...(flags.tlsCert && flags.tlsKey
          ? { tls: { cert: readFileSync(flags.tlsCert, 'utf8'), key: readFileSync(flags.tlsKey, 'utf8') } }
          : {}),
        ...(adminKey ? { adminKey } : {}),
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
      if (flags.caOut && emulator.caCert) writeFileSync(flags.caOut, emulator.caCert);
      const counts = emulator.admin.countRecords('profile');
      const lines = [
        'Campaign emulator listening',
        `  Campaign API (campaign.url):    ${emulator.url}`,
        `  IMS (campaign.imsUrl):          ${emulator.imsUrl} (token endpoint /ims/token/v3)`,
        `  Privacy Service:                ${emulator.privacyServiceUrl}`,
        `  IMS org id:                     ${emulator.imsOrgId}`,
        `  client id (X-Api-Key):          ${emulator.clientId}`,
        `  profiles:                       ${counts.total}`,
        `  admin API:                      ${emulator.adminUrl}/ (${adminKey ? 'needs x-emulator-admin-key' : 'loopback only'})`,
      ];
      if (emulator.sftp) {
        lines.push(
          `  SFTP:                           ${emulator.sftp.host}:${emulator.sftp.port} (user ${emulator.sftp.username})`,
          `  SFTP host key:                  ${emulator.sftp.hostKeySha256}`,
          `  opt-out exports:                /${emulator.sftp.exportDir} (daily, emulated clock)`,
        );
      }
      if (flags.caOut && emulator.caCert) lines.push(`  CA certificate written to:      ${flags.caOut}`);
      else if (!emulator.caCert && !flags.tlsCert) lines.push('  plain HTTP: for debugging only');
      context.out.write(`${lines.join('\n')}\nPress Ctrl+C to stop.\n`);
      const signal = await untilStopped();
      context.out.write(`received ${signal}, stopping\n`);
      await emulator.close();
      context.setExitCode(exitCodes.ok);
    });
}
