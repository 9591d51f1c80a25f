import { describe, expect, it } from 'vitest';
import { FileRows } from '../../../src/engine/records/bulk-loader.js';

describe('the rows of a bulk file in flight', () => {
  it('gives back every id with its field set, in file order, across runs and breaks', () => {
    const rows = new FileRows();
    const pushed: [number, number][] = [
      [10, 0],
      [11, 0],
      [12, 0],
      [13, 1], // another field set: a new run
      [14, 1],
      [20, 1], // a gap (a row handed over): a new run
      [21, 0],
      [5, 0], // lower than before (a lease taken over): a new run
    ];
    for (const [id, set] of pushed) rows.push(id, set);
    expect(rows.length).toBe(pushed.length);
    expect([...rows.entries()]).toEqual(pushed);
    expect(rows.ids()).toEqual(pushed.map(([id]) => String(id)));
  });

  it('is empty until a row is pushed', () => {
    const rows = new FileRows();
    expect(rows.length).toBe(0);
    expect([...rows.entries()]).toEqual([]);
    expect(rows.ids()).toEqual([]);
  });
});
