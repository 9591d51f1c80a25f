import { describe, expect, it } from 'vitest';
import { flowsSchema } from '../../../src/config/config-schema.js';

const schema = flowsSchema.shape.emailEvents;

describe('flows.emailEvents', () => {
  it('is off by default, with send off and the documented tables and columns', () => {
    const parsed = schema.parse(undefined);
    expect(parsed.enabled).toBe(false);
    expect(parsed.types).toEqual({ send: false, open: true, click: true, bounce: true });
    expect(parsed.tables).toEqual({
      send: 'adobe_emailsend',
      open: 'adobe_emailopen',
      click: 'adobe_emailclick',
      bounce: 'adobe_emailbounce',
    });
    expect(parsed.fields.eventId).toBe('adobe_eventid');
    expect(parsed.journal).toMatchObject({ start: 'oldest', limit: 500 });
  });

  it('needs the journal URL and IMS organization once enabled, and says where', () => {
    const result = schema.safeParse({ enabled: true });
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((i) => i.path.join('.')).sort()).toEqual([
      'journal.imsOrgId',
      'journal.url',
    ]);
    expect(
      schema.safeParse({
        enabled: true,
        journal: { url: 'https://events.example/journal', imsOrgId: 'ABC123@AdobeOrg' },
      }).success,
    ).toBe(true);
  });

  it('refuses a table name that is not a Dataverse logical name', () => {
    const result = schema.safeParse({ tables: { open: 'adobe email open' } });
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.path).toEqual(['tables', 'open']);
  });
});
