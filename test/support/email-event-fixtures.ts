/**
 * Flow F6 fixtures: the custom activity tables the emulator is seeded with (as docs/email-events.md
 * tells an operator to create them), and counting what landed.
 */
import type { DynamicsEmulator } from '../../emulators/dynamics/dynamics-emulator.js';
import type { SeedFile } from '../../emulators/dynamics/schema/seed-file.js';

export const emailEventTypes = ['send', 'open', 'click', 'bounce'] as const;
export type EmailEventTypeName = (typeof emailEventTypes)[number];

/** The activity table of one event type, with its columns and the alternate key on the event id. */
export function activityTable(type: EmailEventTypeName): SeedFile['tables'][number] {
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
    keys: [{ name: 'adobe_eventidkey', columns: ['adobe_eventid'] }],
    rows: [],
  };
}

/** Seed data with the four activity tables. */
export function activityTablesSeed(): { tables: SeedFile['tables'] } {
  return { tables: emailEventTypes.map(activityTable) };
}

/** Activity rows per type, and how many distinct event ids they carry. */
export function activityCounts(admin: DynamicsEmulator['admin']): {
  rows: Record<EmailEventTypeName, number>;
  total: number;
  distinctEventIds: number;
} {
  const rows = { send: 0, open: 0, click: 0, bounce: 0 };
  const ids = new Set<string>();
  for (const type of emailEventTypes) {
    const list = admin.listRows(`adobe_email${type}`);
    rows[type] = list.length;
    for (const row of list) ids.add(String(row.adobe_eventid));
  }
  return { rows, total: rows.send + rows.open + rows.click + rows.bounce, distinctEventIds: ids.size };
}

/** Rows in the activity tables now (cheap: no row copies). */
export function activityTotal(admin: DynamicsEmulator['admin']): number {
  return emailEventTypes.reduce((sum, type) => sum + admin.countRows(`adobe_email${type}`), 0);
}
