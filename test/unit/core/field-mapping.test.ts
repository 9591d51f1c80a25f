import { describe, expect, it } from 'vitest';
import { characterCount, FieldMapping, type FieldMappingRule } from '../../../src/core/field-mapping.js';
import { ConfigError } from '../../../src/core/errors.js';

function rule(source: string, target: string, extra: Partial<FieldMappingRule> = {}): FieldMappingRule {
  return {
    source,
    target,
    applyOnUpdate: true,
    replacements: [],
    picklist: 'label',
    targetType: 'any',
    ...extra,
  };
}

describe('field mapping', () => {
  it('maps columns to fields and leaves absent columns out', () => {
    const m = new FieldMapping([rule('firstname', 'firstName'), rule('lastname', 'lastName')]);
    expect(m.apply({ firstname: 'Ada' }, 'update').fields).toEqual({ firstName: 'Ada' });
  });

  it('writes create-only fields on create and full loads but not on updates', () => {
    const m = new FieldMapping([
      rule('firstname', 'firstName'),
      rule('jobtitle', 'title', { applyOnUpdate: false }),
    ]);
    const values = { firstname: 'Ada', jobtitle: 'Engineer' };
    expect(m.apply(values, 'update').fields).toEqual({ firstName: 'Ada' });
    expect(m.apply(values, 'create').fields).toEqual({ firstName: 'Ada', title: 'Engineer' });
    expect(m.apply(values, 'full').fields).toEqual({ firstName: 'Ada', title: 'Engineer' });
  });

  it('matches a replacement against the label in label mode, or against the raw value', () => {
    const m = new FieldMapping([
      rule('preferredcontactmethodcode', 'contactMethod', {
        replacements: [
          { from: 'Email', to: 'E-mail' },
          { from: 3, to: 'telephone' },
        ],
      }),
    ]);
    const labels = { preferredcontactmethodcode: { '2': 'Email', '3': 'Phone', '5': 'Mail' } };
    const write = (value: number): unknown =>
      m.apply({ preferredcontactmethodcode: value }, 'update', labels).fields.contactMethod;
    expect(write(2)).toBe('E-mail');
    expect(write(3)).toBe('telephone');
    expect(write(5)).toBe('Mail');
  });

  it('applies replacements of raw values before picklist labels', () => {
    const m = new FieldMapping([
      rule('preferredcontactmethodcode', 'contactMethod', { replacements: [{ from: 2, to: 'mail' }] }),
    ]);
    const labels = { preferredcontactmethodcode: { '1': 'Any', '2': 'Email' } };
    expect(m.apply({ preferredcontactmethodcode: 2 }, 'update', labels).fields).toEqual({
      contactMethod: 'mail',
    });
    expect(m.apply({ preferredcontactmethodcode: 1 }, 'update', labels).fields).toEqual({
      contactMethod: 'Any',
    });
  });

  it('writes technical values when asked', () => {
    const m = new FieldMapping([rule('preferredcontactmethodcode', 'contactMethod', { picklist: 'value' })]);
    expect(
      m.apply({ preferredcontactmethodcode: 2 }, 'update', { preferredcontactmethodcode: { '2': 'Email' } })
        .fields,
    ).toEqual({
      contactMethod: 2,
    });
  });

  it('writes a multi-select value as its labels joined by "; " in label mode, and as is in value mode', () => {
    const labels = { new_channels: { '100000000': 'Email', '100000001': 'Phone', '100000002': 'Post' } };
    const asLabels = new FieldMapping([
      rule('new_channels', 'channels', {
        targetType: 'string',
        replacements: [{ from: 'Email; Phone; Post', to: 'all' }],
      }),
    ]);
    const write = (value: string | null): unknown =>
      asLabels.apply({ new_channels: value }, 'update', labels).fields.channels;
    expect(write('100000000,100000002')).toBe('Email; Post');
    expect(write('100000001')).toBe('Phone');
    // An option the metadata has no label for keeps its number.
    expect(write('100000002,7')).toBe('Post; 7');
    expect(write('100000000,100000001,100000002')).toBe('all');
    expect(write(null)).toBeNull();
    const asValues = new FieldMapping([
      rule('new_channels', 'channels', { picklist: 'value', targetType: 'string' }),
    ]);
    expect(asValues.apply({ new_channels: '100000000,100000002' }, 'update', labels).fields).toEqual({
      channels: '100000000,100000002',
    });
  });

  it('converts to Campaign types and reports problems by field name only', () => {
    const m = new FieldMapping([
      rule('birthdate', 'birthDate', { targetType: 'date' }),
      rule('createdon', 'crmCreated', { targetType: 'datetime' }),
      rule('donotemail', 'blackListEmail', { targetType: 'boolean' }),
      rule('emailaddress1', 'email', { targetType: 'string', maxLength: 10 }),
    ]);
    const out = m.apply(
      {
        birthdate: '1985-08-17',
        createdon: '2024-05-01T10:00:00Z',
        donotemail: 1,
        emailaddress1: 'someone@example.org',
      },
      'create',
    );
    expect(out.fields).toEqual({
      birthDate: '1985-08-17',
      crmCreated: '2024-05-01 10:00:00.000Z',
      blackListEmail: true,
    });
    expect(out.problems).toEqual([
      { source: 'emailaddress1', target: 'email', reason: 'value longer than 10 characters' },
    ]);
    expect(JSON.stringify(out.problems)).not.toContain('example.org');
  });

  it('counts characters as Campaign does (code points), not UTF-16 units', () => {
    const m = new FieldMapping([rule('lastname', 'lastName', { targetType: 'string', maxLength: 30 })]);
    const emoji = '😀'.repeat(20); // 20 characters, 40 UTF-16 units
    expect(characterCount(emoji)).toBe(20);
    expect(m.apply({ lastname: emoji }, 'create')).toMatchObject({
      fields: { lastName: emoji },
      problems: [],
    });
    expect(m.apply({ lastname: '😀'.repeat(31) }, 'create').problems).toEqual([
      { source: 'lastname', target: 'lastName', reason: 'value longer than 30 characters' },
    ]);
    // A lone surrogate is one character, as PostgreSQL would refuse it whole anyway.
    expect(characterCount('a\ud800b')).toBe(3);
  });

  it('rejects a column mapped twice and two sources into one target', () => {
    expect(() => new FieldMapping([rule('a', 'x'), rule('a', 'y')])).toThrow(ConfigError);
    expect(() => new FieldMapping([rule('a', 'x'), rule('b', 'x')])).toThrow(/two sources/);
  });
});
