import { describe, expect, it } from 'vitest';
import {
  compareSourceVersions,
  holdsRecordKey,
  isDynamicsId,
  isOlderSourceVersion,
  isSourceVersion,
  newerSourceVersion,
} from '../../../src/core/record-key.js';

describe('record keys', () => {
  it('accepts Dataverse ids in any case and nothing else', () => {
    expect(isDynamicsId('6f1c7d1e-0000-4000-8000-000000000001')).toBe(true);
    expect(isDynamicsId('6F1C7D1E-0000-4000-8000-00000000000A')).toBe(true);
    expect(isDynamicsId('6f1c7d1e00004000800000000000000001')).toBe(false);
    expect(isDynamicsId('crm-42')).toBe(false);
  });

  it('recognises a key field holding the record key in another case, and nothing else', () => {
    expect(
      holdsRecordKey('6F1C7D1E-0000-4000-8000-000000000001', '6f1c7d1e-0000-4000-8000-000000000001'),
    ).toBe(true);
    expect(holdsRecordKey(null, 'a')).toBe(false);
    expect(holdsRecordKey('b', 'a')).toBe(false);
  });
});

describe('source versions', () => {
  it('compare as numbers beyond Number, leading zeros ignored', () => {
    expect(compareSourceVersions('10', '9')).toBe(1);
    expect(compareSourceVersions('0009', '9')).toBe(0);
    expect(compareSourceVersions('18446744073709551615', '18446744073709551614')).toBe(1);
    expect(isSourceVersion('123')).toBe(true);
    expect(isSourceVersion('1.5')).toBe(false);
    expect(isSourceVersion('1'.repeat(21))).toBe(false);
  });

  it('treat unknown versions as never stale and never newer', () => {
    expect(isOlderSourceVersion(null, '5')).toBe(false);
    expect(isOlderSourceVersion('4', null)).toBe(false);
    expect(isOlderSourceVersion('4', '5')).toBe(true);
    expect(newerSourceVersion(null, '5')).toBe('5');
    expect(newerSourceVersion('12', '5')).toBe('12');
  });
});
