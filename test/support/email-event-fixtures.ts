/**
 * Flow F6 fixtures: the custom activity tables the emulator is seeded with (as docs/email-events.md
 * tells an operator to create them), and counting what landed.
 */
import type { DynamicsEmulator } from '../../emulators/dynamics/dynamics-emulator.js';
import {
  emailActivityTable,
  emailActivityTypes,
  type EmailActivityType,
} from '../../emulators/dynamics/schema/email-activity-tables.js';
import type { SeedFile } from '../../emulators/dynamics/schema/seed-file.js';

export const emailEventTypes = emailActivityTypes;
export type EmailEventTypeName = EmailActivityType;
export const activityTable = emailActivityTable;

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
