import { describe, expect, it } from 'vitest';
import { parseSeedFile, tableSchemasOf } from '../../../emulators/dynamics/schema/seed-file.js';

describe('emulator seed file: choice options', () => {
  it('accepts labelled options and bare numbers (labelled by their own text)', () => {
    const seed = parseSeedFile(`
tables:
  - logicalName: new_tier
    entitySetName: new_tiers
    columns:
      - name: new_rank
        type: picklist
        options: [{ value: 100000000, label: Gold }, 3]
`);
    const [contact, tier] = tableSchemasOf(seed);
    expect(tier!.columns.find((c) => c.logicalName === 'new_rank')!.options).toEqual([
      { value: 100000000, label: 'Gold' },
      { value: 3, label: '3' },
    ]);
    expect(contact!.columns.find((c) => c.logicalName === 'preferredcontactmethodcode')!.options).toEqual([
      { value: 1, label: 'Any' },
      { value: 2, label: 'Email' },
      { value: 3, label: 'Phone' },
      { value: 4, label: 'Fax' },
      { value: 5, label: 'Mail' },
    ]);
  });

  it('refuses duplicate option values, empty labels and options on a column without choices', () => {
    const table = (column: string): string =>
      `tables:\n  - logicalName: new_a\n    entitySetName: new_as\n    columns: [${column}]`;
    expect(() =>
      parseSeedFile(table('{ name: new_x, type: picklist, options: [1, { value: 1, label: One }] }')),
    ).toThrow('option values must be unique');
    expect(() =>
      parseSeedFile(table("{ name: new_x, type: picklist, options: [{ value: 1, label: '' }] }")),
    ).toThrow(/tables\.0\.columns\.0\.options\.0/);
    expect(() => parseSeedFile(table('{ name: new_x, type: integer, options: [1, 2] }'))).toThrow(
      'options belong to picklist, state, status and multiselectpicklist columns',
    );
  });
});
