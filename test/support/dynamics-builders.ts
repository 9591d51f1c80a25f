import { randomUUID } from 'node:crypto';

/** Contact values for the emulator admin (logical names); each test states only what it cares about. */
export function buildContact(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    contactid: randomUUID(),
    firstname: 'Ada',
    lastname: 'Lovelace',
    emailaddress1: 'ada.lovelace@example.com',
    donotemail: false,
    donotbulkemail: false,
    ...overrides,
  };
}

/** A custom-table seed: memberships looking up contacts, plus a table without change tracking. */
export const membershipSeed = {
  tables: [
    {
      logicalName: 'new_membership',
      entitySetName: 'new_memberships',
      changeTracking: true,
      columns: [
        { name: 'new_level', type: 'picklist' as const, options: [1, 2, 3] },
        { name: 'new_since', type: 'dateonly' as const },
        { name: 'new_active', type: 'boolean' as const },
        {
          name: 'new_contactid',
          type: 'lookup' as const,
          target: 'contact',
          navigationProperty: 'new_ContactId',
          onDelete: 'cascade' as const,
        },
      ],
      generate: { perParent: 0.5 },
      rows: [],
    },
    {
      logicalName: 'new_untracked',
      entitySetName: 'new_untrackeds',
      changeTracking: false,
      columns: [{ name: 'new_code', type: 'string' as const, maxLength: 20 }],
      rows: [],
    },
  ],
};
