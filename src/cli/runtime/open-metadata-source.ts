import type { ResolvedConfig } from '../../config/resolved-config.js';
import { CallBudget } from '../../connectors/campaign/call-budget.js';
import { DynamicsMetadataReader } from '../../connectors/dynamics/dynamics-metadata-reader.js';
import { createMetadataSource } from '../../preflight/metadata-source.js';
import type { OpenedMetadataSource } from '../../preflight/metadata-live-checks.js';
import { openCampaignClient, openDynamicsClient } from './tenant-clients.js';

/**
 * Metadata readers of both tenants for `validate`'s live checks: the production clients, without
 * a state store (validate must work before the store exists).
 */
export function openMetadataSource(config: ResolvedConfig): OpenedMetadataSource {
  const dynamics = openDynamicsClient(config);
  const budget = new CallBudget({
    callsPerSecond: config.campaign.budget.callsPerSecond,
    callsPerDay: config.campaign.budget.callsPerDay,
  });
  const campaign = openCampaignClient(config, budget);
  return {
    source: createMetadataSource({ dynamics: new DynamicsMetadataReader(dynamics), campaign }),
    async close() {
      budget.close();
      await Promise.allSettled([campaign.close(), dynamics.close()]);
    },
  };
}
