import type { SeedFile } from './seed-file.js';

/** The e-mail event types of flow F6, one custom activity table each. */
export const emailActivityTypes = ['send', 'open', 'click', 'bounce'] as const;
export type EmailActivityType = (typeof emailActivityTypes)[number];

/**
 * The activity table of one e-mail event type as docs/email-events.md tells an operator to create
 * it (`adobe_email<type>`, `IsActivity`, its columns, the alternate key on the event id), for the
 * demo's seed and for tests.
 */
export function emailActivityTable(type: EmailActivityType): SeedFile['tables'][number] {
  return {
    logicalName: `adobe_email${type}`,
    entitySetName: `adobe_email${type}s`,
    changeTracking: false,
    isActivity: true,
    columns: [
      { name: 'adobe_eventid', type: 'string', maxLength: 100 },
      { name: 'adobe_campaignname', type: 'string', maxLength: 200 },
      { name: 'adobe_deliveryname', type: 'string', maxLength: 200 },
      { name: 'adobe_trackingurl', type: 'string', maxLength: 2000 },
      { name: 'adobe_mirrorpageurl', type: 'string', maxLength: 2000 },
    ],
    keys: [{ name: `adobe_email${type}_eventidkey`, columns: ['adobe_eventid'] }],
    rows: [],
  };
}
