import { describe, expect, it } from 'vitest';
import { chunkForStatements, groupBy, inList } from '../../../src/store/sql/sql-list.js';

describe('statement shapes of the SQL store', () => {
  it('pads an IN list to a power of two (or the maximum) with its last value', () => {
    expect(inList(['a'])).toEqual({ sql: '?', params: ['a'] });
    expect(inList(['a', 'b', 'c'])).toEqual({ sql: '?, ?, ?, ?', params: ['a', 'b', 'c', 'c'] });
    expect(inList(Array.from({ length: 300 }, (_, i) => String(i))).params).toHaveLength(500);
    expect(
      inList(
        Array.from({ length: 300 }, (_, i) => String(i)),
        300,
      ).params,
    ).toHaveLength(300);
    expect(inList([])).toEqual({ sql: '', params: [] });
    // Every length from 1 to 500 takes one of 10 statement texts.
    const texts = new Set(Array.from({ length: 500 }, (_, i) => inList(Array<string>(i + 1).fill('k')).sql));
    expect(texts.size).toBe(10);
  });

  it('splits rows into whole chunks, then descending powers of two', () => {
    const rows = Array.from({ length: 1013 }, (_, i) => i);
    const chunks = chunkForStatements(rows, 400);
    expect(chunks.map((c) => c.length)).toEqual([400, 400, 128, 64, 16, 4, 1]);
    expect(chunks.flat()).toEqual(rows);
    expect(chunkForStatements([], 400)).toEqual([]);
  });

  it('groups values by key, in order, one array per group', () => {
    const rows = [
      { flow: 'a', key: '1' },
      { flow: 'b', key: '2' },
      { flow: 'a', key: '3' },
    ];
    const groups = groupBy(
      rows,
      (r) => r.flow,
      (r) => r.key,
    );
    expect([...groups]).toEqual([
      ['a', ['1', '3']],
      ['b', ['2']],
    ]);
    expect(groupBy([], String, String).size).toBe(0);
  });
});
