import { describe, expect, it } from 'vitest';
import { filterColumns, matchesFilter } from '../../../src/core/record-filter.js';

describe('record filter', () => {
  const contact = { statecode: 0, address1_country: 'France', donotemail: false, birthdate: null };

  it('passes everything without a filter', () => {
    expect(matchesFilter(undefined, contact)).toBe(true);
  });

  it('combines with all (And)', () => {
    expect(
      matchesFilter(
        {
          all: [
            { field: 'statecode', op: 'eq', value: 0 },
            { field: 'address1_country', op: 'eq', value: 'france' },
          ],
        },
        contact,
      ),
    ).toBe(true);
    expect(
      matchesFilter(
        {
          all: [
            { field: 'statecode', op: 'eq', value: 0 },
            { field: 'address1_country', op: 'eq', value: 'Spain' },
          ],
        },
        contact,
      ),
    ).toBe(false);
  });

  it('combines with any (Or)', () => {
    expect(
      matchesFilter(
        {
          any: [
            { field: 'statecode', op: 'eq', value: 1 },
            { field: 'address1_country', op: 'in', value: ['Spain', 'France'] },
          ],
        },
        contact,
      ),
    ).toBe(true);
    expect(matchesFilter({ any: [{ field: 'statecode', op: 'ne', value: 0 }] }, contact)).toBe(false);
  });

  it('handles null checks and comparisons', () => {
    expect(matchesFilter({ all: [{ field: 'birthdate', op: 'null' }] }, contact)).toBe(true);
    expect(matchesFilter({ all: [{ field: 'statecode', op: 'lt', value: 1 }] }, contact)).toBe(true);
    expect(matchesFilter({ all: [{ field: 'statecode', op: 'gt', value: 'x' }] }, contact)).toBe(false);
    expect(matchesFilter({ all: [{ field: 'missing', op: 'notNull' }] }, contact)).toBe(false);
  });

  it('lists the columns it reads', () => {
    expect(
      filterColumns({
        any: [
          { field: 'a', op: 'null' },
          { field: 'b', op: 'eq', value: 1 },
          { field: 'a', op: 'notNull' },
        ],
      }),
    ).toEqual(['a', 'b']);
  });
});
