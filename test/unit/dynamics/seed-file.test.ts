import { describe, expect, it } from 'vitest';
import { parseSeedFile, tableSchemasOf } from '../../../emulators/dynamics/schema/seed-file.js';

describe('emulator seed file', () => {
  it('declares custom tables with typed columns, lookups and change tracking', () => {
    const seed = parseSeedFile(`
tables:
  - logicalName: new_order
    entitySetName: new_orders
    changeTracking: false
    columns:
      - { name: new_total, type: money }
      - { name: new_contactid, type: lookup, target: contact, navigationProperty: new_ContactId }
`);
    const [contact, order] = tableSchemasOf(seed);
    expect(contact!.logicalName).toBe('contact');
    expect(order).toMatchObject({
      entitySetName: 'new_orders',
      primaryIdAttribute: 'new_orderid',
      changeTrackingEnabled: false,
    });
    expect(order!.columns.find((c) => c.logicalName === 'new_contactid')).toMatchObject({
      type: 'lookup',
      target: 'contact',
      navigationProperty: 'new_ContactId',
      onDelete: 'removeLink',
    });
    expect(order!.columns.map((c) => c.logicalName)).toContain('new_name');
  });

  it('reports every problem with its path', () => {
    expect(() =>
      parseSeedFile(
        'tables:\n  - logicalName: Bad\n    entitySetName: x\n    columns: [{ name: a, type: nope }]',
        'seed.yaml',
      ),
    ).toThrow(/^seed\.yaml: tables\.0\.logicalName: .*tables\.0\.columns\.0\.type/);
    expect(() =>
      parseSeedFile(
        'tables:\n  - { logicalName: new_a, entitySetName: new_as, columns: [{ name: new_x, type: lookup, target: new_b }] }',
      ),
    ).toThrow("looks up unknown table 'new_b'");
  });

  it('marks the listed contact columns read-only (none by default)', () => {
    const readOnly = (seed: string): string[] =>
      tableSchemasOf(parseSeedFile(seed))[0]!
        .columns.filter(
          (column) => column.readOnly && ['donotemail', 'donotphone'].includes(column.logicalName),
        )
        .map((column) => column.logicalName);
    expect(readOnly('contact: { readOnlyColumns: [donotemail] }')).toEqual(['donotemail']);
    expect(readOnly('contact: {}')).toEqual([]);
  });

  it('reads service endpoints (none by default) and refuses unknown fields such as authvalue', () => {
    expect(parseSeedFile('{}').serviceEndpoints).toBeUndefined();
    expect(
      parseSeedFile(
        "serviceEndpoints: [{ name: h, url: 'https://x/webhooks/dynamics', contract: 8, authtype: 5 }]",
      ).serviceEndpoints,
    ).toEqual([{ name: 'h', url: 'https://x/webhooks/dynamics', contract: 8, authtype: 5 }]);
    expect(() =>
      parseSeedFile(
        "serviceEndpoints: [{ name: h, url: 'https://x', contract: 8, authtype: 5, authvalue: k }]",
      ),
    ).toThrow('serviceEndpoints.0');
  });
});
