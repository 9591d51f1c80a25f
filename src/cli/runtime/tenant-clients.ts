import { readFileSync } from 'node:fs';
import type { Clock } from '../../core/clock.js';
import { ConfigError } from '../../core/errors.js';
import type { CallMetrics } from '../../core/ports/call-metrics.js';
import type { ResolvedConfig } from '../../config/resolved-config.js';
import type { Secret } from '../../config/secret.js';
import type { CallBudget } from '../../connectors/campaign/call-budget.js';
import { CampaignClient } from '../../connectors/campaign/campaign-client.js';
import { DynamicsWebApiClient } from '../../connectors/dynamics/dynamics-web-api-client.js';
import { SftpReader, type SftpReaderOptions } from '../../connectors/sftp/sftp-reader.js';
import type { DynamicsRequestGate } from '../../connectors/dynamics/dynamics-client-options.js';

/** A configured value that may be a secret (client ids may come from `env:`), as plain text. */
export function plain(value: string | Secret): string {
  return typeof value === 'string' ? value : value.reveal();
}

/** A configured CA file's PEM; a file that cannot be read is a configuration error naming the key. */
export function readCa(path: string | undefined, field: string): string | undefined {
  if (!path) return undefined;
  try {
    return readFileSync(path, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `${field}: cannot read CA file ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
      { cause: error },
    );
  }
}

/** What a command or the runtime adds to the configured connection: its clock and call metrics. */
export interface TenantClientExtras {
  clock?: Clock | undefined;
  metrics?: CallMetrics | undefined;
  /** Dataverse: the request budget shared by every worker (the runtime's). */
  sharedGate?: DynamicsRequestGate | undefined;
}

/** The Dataverse client of the configuration (the one way every command builds it). */
export function openDynamicsClient(
  config: ResolvedConfig,
  extras: TenantClientExtras = {},
): DynamicsWebApiClient {
  const ca = readCa(config.dynamics.caFile, 'dynamics.caFile');
  return new DynamicsWebApiClient({
    ...(extras.metrics ? { metrics: extras.metrics } : {}),
    url: config.dynamics.url,
    authorityHost: config.dynamics.authorityHost,
    tenantId: config.dynamics.tenantId,
    clientId: plain(config.dynamics.clientId),
    clientSecret: config.dynamics.clientSecret.reveal(),
    ...(ca ? { caCert: ca } : {}),
    maxConcurrency: config.dynamics.maxConcurrency,
    requestsPer5Min: config.dynamics.serviceProtection.requests,
    requestWindowMs: config.dynamics.serviceProtection.windowMs,
    executionTimePerWindowMs: config.dynamics.serviceProtection.executionTimeMs,
    executionTimeMarginShare: config.dynamics.serviceProtection.executionTimeMarginShare,
    timeoutMs: config.dynamics.timeoutMs,
    ...(extras.clock ? { clock: extras.clock } : {}),
    ...(extras.sharedGate ? { sharedGate: extras.sharedGate } : {}),
  });
}

/** The Campaign client of the configuration over `budget` (the one way every command builds it). */
export function openCampaignClient(
  config: ResolvedConfig,
  budget: CallBudget,
  extras: TenantClientExtras = {},
): CampaignClient {
  return new CampaignClient({
    url: config.campaign.url,
    imsUrl: config.campaign.imsUrl,
    clientId: plain(config.campaign.clientId),
    clientSecret: config.campaign.clientSecret.reveal(),
    caCert: readCa(config.campaign.caFile, 'campaign.caFile'),
    scope: config.campaign.scope,
    budget,
    ...(extras.metrics ? { metrics: extras.metrics } : {}),
    profileRoot: config.campaign.profileResource,
    timeoutMs: config.campaign.timeoutMs,
    ...(extras.clock ? { clock: extras.clock } : {}),
  });
}

/** The Campaign SFTP client from `campaign.sftp` (its secrets revealed here only). */
export function openSftpReader(
  sftp: NonNullable<ResolvedConfig['campaign']['sftp']>,
  options: Pick<SftpReaderOptions, 'clock' | 'timeoutMs'> = {},
): SftpReader {
  return new SftpReader({
    host: sftp.host,
    port: sftp.port,
    username: sftp.username,
    hostKeySha256: sftp.hostKeySha256,
    ...(sftp.privateKey ? { privateKey: sftp.privateKey.reveal() } : {}),
    ...(sftp.passphrase ? { passphrase: sftp.passphrase.reveal() } : {}),
    ...(sftp.password ? { password: sftp.password.reveal() } : {}),
    ...options,
  });
}
