import { readFileSync } from 'node:fs';
import type { ResolvedConfig } from '../../config/resolved-config.js';
import type { Secret } from '../../config/secret.js';
import { CallBudget } from '../../connectors/campaign/call-budget.js';
import { CampaignClient } from '../../connectors/campaign/campaign-client.js';
import { DynamicsMetadataReader } from '../../connectors/dynamics/dynamics-metadata-reader.js';
import { DynamicsWebApiClient } from '../../connectors/dynamics/dynamics-web-api-client.js';
import { createMetadataSource } from '../../preflight/metadata-source.js';
import type { OpenedMetadataSource } from '../../preflight/metadata-live-checks.js';

function plain(value: string | Secret): string {
  return typeof value === 'string' ? value : value.reveal();
}

/**
 * Metadata readers of both tenants for `validate`'s live checks: the production clients, without
 * a state store (validate must work before the store exists).
 */
export function openMetadataSource(config: ResolvedConfig): OpenedMetadataSource {
  const dynamics = new DynamicsWebApiClient({
    url: config.dynamics.url,
    authorityHost: config.dynamics.authorityHost,
    tenantId: config.dynamics.tenantId,
    clientId: plain(config.dynamics.clientId),
    clientSecret: config.dynamics.clientSecret.reveal(),
    ...(config.dynamics.caFile ? { caCert: readFileSync(config.dynamics.caFile, 'utf8') } : {}),
    maxConcurrency: config.dynamics.maxConcurrency,
  });
  const budget = new CallBudget({
    callsPerSecond: config.campaign.budget.callsPerSecond,
    callsPerDay: config.campaign.budget.callsPerDay,
  });
  const campaign = new CampaignClient({
    url: config.campaign.url,
    imsUrl: config.campaign.imsUrl,
    clientId: plain(config.campaign.clientId),
    clientSecret: config.campaign.clientSecret.reveal(),
    caCert: config.campaign.caFile ? readFileSync(config.campaign.caFile, 'utf8') : undefined,
    scope: config.campaign.scope,
    budget,
    profileRoot: config.campaign.profileResource,
  });
  return {
    source: createMetadataSource({ dynamics: new DynamicsMetadataReader(dynamics), campaign }),
    async close() {
      budget.close();
      await Promise.allSettled([campaign.close(), dynamics.close()]);
    },
  };
}
