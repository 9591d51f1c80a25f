import type { EmailEventsFlowConfig } from '../../config/config-schema.js';
import { openAdobeConnection } from '../../connectors/adobe/adobe-connection.js';
import { AdobeEventJournalReader } from '../../connectors/adobe-events/adobe-event-journal-reader.js';
import { DynamicsActivityWriter } from '../../connectors/dynamics/dynamics-activity-writer.js';
import type { AlertSink } from '../../core/ports/alert-sink.js';
import { emailEventTypes } from '../../core/ports/email-event-source.js';
import { EmailEventApplier } from '../../engine/email-events/email-event-applier.js';
import { EmailEventPoller } from '../../engine/email-events/email-event-poller.js';
import {
  emailEventsFlowId,
  type EmailEventSettings,
} from '../../engine/email-events/email-event-settings.js';
import type { EngineEvents } from '../../engine/engine-events.js';
import type { Flow } from '../../engine/flow.js';
import type { SourceService } from '../../engine/sync-engine.js';
import { createOptOutWriter } from './opt-out-runtime.js';
import type { SyncRuntime } from './sync-runtime.js';
import { plain, readCa } from './tenant-clients.js';

/** The engine's settings of flow F6 from `flows.emailEvents`. */
export function emailEventSettingsOf(config: EmailEventsFlowConfig): EmailEventSettings {
  const entitySet = (table: string): string => config.entitySets[table] ?? `${table}s`;
  return {
    types: { ...config.types },
    tables: Object.fromEntries(
      emailEventTypes.map((type) => [
        type,
        { table: config.tables[type], entitySetName: entitySet(config.tables[type]) },
      ]),
    ) as EmailEventSettings['tables'],
    fields: { ...config.fields },
    contactsFlow: config.contactsFlow,
  };
}

/**
 * The journal flow F6 reads (`flows.emailEvents.journal`), through an Adobe connection of the
 * Campaign credential; close it when done. The poller reads it, and so does `dcsync plan`.
 */
export function openEmailEventSource(runtime: SyncRuntime): {
  source: AdobeEventJournalReader;
  close(): Promise<void>;
} {
  const config = runtime.config.flows.emailEvents;
  const { url, imsOrgId } = config.journal;
  if (url === undefined || imsOrgId === undefined)
    throw new Error('flows.emailEvents.journal.url and imsOrgId are required (the schema checks them)');
  const campaign = runtime.config.campaign;
  const connection = openAdobeConnection({
    target: 'events',
    imsUrl: campaign.imsUrl,
    clientId: plain(campaign.clientId),
    clientSecret: campaign.clientSecret.reveal(),
    scope: campaign.scope,
    caCert: readCa(campaign.caFile, 'campaign.caFile'),
    timeoutMs: campaign.timeoutMs,
    metrics: runtime.callMetrics,
    clock: runtime.clock,
    headers: { 'x-ims-org-id': imsOrgId },
  });
  return {
    source: new AdobeEventJournalReader({
      journalUrl: url,
      caller: connection.caller,
      limit: config.journal.limit,
      defaultEmptyWaitMs: config.pollIntervalMs,
    }),
    close: () => connection.close(),
  };
}

/** Flow F6 of a running sync: the flow, and (when this process polls) the journal poller. */
export interface EmailEventsRuntime {
  flows: Flow<unknown>[];
  services: SourceService[];
  poller: EmailEventPoller | null;
}

/**
 * Wire flow F6 (Campaign e-mail events → Dynamics timeline activities) when `flows.emailEvents` is
 * enabled: the activity writer and applier, and the journal reader with its poller (a duty, so one
 * worker of the deployment reads). Null when the flow is disabled.
 */
export async function createEmailEventsRuntime(
  runtime: SyncRuntime,
  alerts: AlertSink,
  events: EngineEvents,
  options: { poll?: boolean } = {},
): Promise<EmailEventsRuntime | null> {
  const config = runtime.config.flows.emailEvents;
  if (!config.enabled) return null;
  const settings = emailEventSettingsOf(config);
  const contacts = await createOptOutWriter(runtime);
  const applier = new EmailEventApplier({
    settings,
    writer: new DynamicsActivityWriter(runtime.dynamics.writer, {
      batch: { initial: config.initialBatchSize, max: config.batchSize, slowMs: config.slowBatchMs },
      clock: runtime.clock,
      executionTime: () => runtime.dynamics.client.executionTime(),
    }),
    store: runtime.store,
    guard: runtime.store.privacy,
    contacts: {
      existing: async (ids) => new Set((await contacts.readContacts(ids, [])).keys()),
    },
    clock: runtime.clock,
    events,
  });
  if (options.poll === false) return { flows: [applier.flow()], services: [], poller: null };
  const journal = openEmailEventSource(runtime);
  const poller = new EmailEventPoller({
    source: journal.source,
    settings,
    store: runtime.store,
    clock: runtime.clock,
    logger: runtime.logger,
    alerts,
    events,
    duty: runtime.worker.duties.duty(`poller:${emailEventsFlowId}`),
    start: config.journal.start,
    pollIntervalMs: config.pollIntervalMs,
    limit: config.journal.limit,
  });
  return {
    flows: [applier.flow()],
    poller,
    services: [
      {
        replay: { flowId: poller.flowId, request: (sinceMs) => poller.requestReplay(sinceMs) },
        start: () => poller.start(),
        isIdle: () => poller.isIdle(),
        stop: async () => {
          await poller.stop();
          await journal.close();
        },
      },
    ],
  };
}
