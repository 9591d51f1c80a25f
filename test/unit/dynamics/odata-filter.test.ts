import { describe, expect, it } from 'vitest';
import { DataverseError } from '../../../emulators/dynamics/dataverse-error.js';
import { compileFilter, type FilterProperty } from '../../../emulators/dynamics/odata/odata-filter.js';

type Item = Record<string, unknown>;
const kinds: Record<string, FilterProperty<Item>['kind']> = {
  name: 'string',
  age: 'number',
  optedOut: 'boolean',
  modifiedon: 'datetime',
  birthdate: 'date',
};
const resolve = (name: string): FilterProperty<Item> => {
  const kind = kinds[name];
  if (!kind) throw new DataverseError(400, '0x80060888', `Could not find a property named '${name}'`);
  return { get: (item) => item[name], kind };
};
const items: Item[] = [
  { name: "O'Brien", age: 40, optedOut: true, modifiedon: '2024-01-02T10:00:00Z', birthdate: '1984-05-01' },
  { name: 'olivia', age: 25, optedOut: false, modifiedon: '2024-03-01T00:00:00Z', birthdate: null },
  { name: null, age: 61, optedOut: false, modifiedon: '2023-12-31T23:59:59Z', birthdate: '1963-01-01' },
];
const select = (filter: string): number[] =>
  items.flatMap((item, index) => (compileFilter(filter, resolve)(item) ? [index] : []));

describe('compileFilter', () => {
  it.each([
    ["name eq 'OLIVIA'", [1]],
    ["name eq 'O''Brien'", [0]],
    ['name eq null', [2]],
    ['name ne null', [0, 1]],
    ['age gt 30 and age lt 61', [0]],
    ['age ge 61 or optedOut eq true', [0, 2]],
    ['not (age le 25)', [0, 2]],
    ['optedOut', [0]],
    ["startswith(name,'o')", [0, 1]],
    ["contains(name,'BRI')", [0]],
    ["endswith(name,'via') and not optedOut", [1]],
    ['modifiedon gt 2024-01-01T00:00:00Z', [0, 1]],
    ['birthdate lt 1970-01-01', [2]],
    ['age gt null', []],
  ])('%s', (filter, expected) => {
    expect(select(filter)).toEqual(expected);
  });

  it('rejects unknown properties and malformed expressions', () => {
    expect(() => compileFilter('nosuch eq 1', resolve)).toThrow("Could not find a property named 'nosuch'");
    for (const bad of ["name eq 'open", 'age gt', '(age gt 1', 'age gt 1 junk', '']) {
      expect(() => compileFilter(bad, resolve), bad).toThrow(DataverseError);
    }
  });
});
