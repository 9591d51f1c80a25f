import { describe, expect, it } from 'vitest';
import { parseSeedFile, tableSchemasOf } from '../../../emulators/dynamics/schema/seed-file.js';

describe('emulator seed file: alternate keys and yes/no labels', () => {
  it('declares keys on contact and custom tables; none by default', () => {
    expect(tableSchemasOf(undefined)[0]!.keys).toEqual([]);
    const seed = parseSeedFile(`
contact: { keys: [{ name: new_emailkey, columns: [emailaddress1] }] }
tables:
  - logicalName: new_membership
    entitySetName: new_memberships
    columns:
      - { name: new_code, type: string }
      - { name: new_paid, type: boolean, trueLabel: Paid, falseLabel: Open }
      - { name: new_flag, type: boolean }
    keys: [{ name: new_codekey, columns: [new_code] }]
`);
    const [contact, membership] = tableSchemasOf(seed);
    expect(contact!.keys).toEqual([{ name: 'new_emailkey', columns: ['emailaddress1'] }]);
    expect(membership!.keys).toEqual([{ name: 'new_codekey', columns: ['new_code'] }]);
    const column = (name: string) => membership!.columns.find((c) => c.logicalName === name)!;
    expect([column('new_paid').trueLabel, column('new_paid').falseLabel]).toEqual(['Paid', 'Open']);
    expect([column('new_flag').trueLabel, column('new_flag').falseLabel]).toEqual(['Yes', 'No']);
  });

  it('refuses a key on an unknown column and labels on a column that is not yes/no', () => {
    expect(() => parseSeedFile('contact: { keys: [{ name: k, columns: [nope] }] }')).toThrow(
      "contact key 'k' names unknown column 'nope'",
    );
    expect(() =>
      parseSeedFile(`
tables:
  - { logicalName: new_x, entitySetName: new_xs, columns: [{ name: new_a, type: string }], keys: [{ name: k, columns: [new_b] }] }
`),
    ).toThrow("table 'new_x' key 'k' names unknown column 'new_b'");
    expect(() =>
      parseSeedFile(`
tables:
  - { logicalName: new_x, entitySetName: new_xs, columns: [{ name: new_a, type: string, trueLabel: Y }] }
`),
    ).toThrow('trueLabel and falseLabel belong to boolean columns');
  });
});
