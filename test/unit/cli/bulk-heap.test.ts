import { getHeapStatistics } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { BulkHeapGrowth } from '../../../src/cli/runtime/bulk-heap.js';

describe('BulkHeapGrowth: V8 heap growth while bulk lanes work', () => {
  function recorded(nodeFlags: readonly string[] = []) {
    const flags: string[] = [];
    return { flags, heap: new BulkHeapGrowth({ setFlags: (f) => flags.push(f), nodeFlags }) };
  }

  it('sets the percent while a lane works and V8 default (0) when it stops', () => {
    const { flags, heap } = recorded();
    const lane = heap.hooks(50);
    lane.engaged();
    lane.disengaged();
    expect(flags).toEqual(['--heap-growing-percent=50', '--heap-growing-percent=0']);
  });

  it('applies the smallest percent of the lanes that work, process-wide', () => {
    const { flags, heap } = recorded();
    const contacts = heap.hooks(80);
    const orders = heap.hooks(30);
    contacts.engaged();
    orders.engaged();
    contacts.disengaged();
    expect(flags).toEqual(['--heap-growing-percent=80', '--heap-growing-percent=30']);
    orders.disengaged();
    expect(flags.at(-1)).toBe('--heap-growing-percent=0');
  });

  it('a lane with 0 asks for nothing; a repeated engage or stray disengage changes nothing', () => {
    const { flags, heap } = recorded();
    const off = heap.hooks(0);
    off.engaged();
    off.disengaged();
    off.disengaged();
    expect(flags).toEqual([]);
    const on = heap.hooks(50);
    on.engaged();
    on.engaged();
    on.disengaged();
    on.disengaged();
    expect(flags).toEqual(['--heap-growing-percent=50', '--heap-growing-percent=0']);
  });

  it.each([['--heap-growing-percent=200'], ['--heap_growing_percent=10']])(
    "leaves the operator's own %s alone",
    (flag) => {
      const { flags, heap } = recorded(['--enable-source-maps', flag]);
      const lane = heap.hooks(50);
      lane.engaged();
      lane.disengaged();
      expect(flags).toEqual([]);
    },
  );

  it("sets V8's flag in this process without harm", () => {
    const lane = new BulkHeapGrowth({ nodeFlags: [] }).hooks(50);
    lane.engaged();
    const held: number[][] = [];
    for (let i = 0; i < 200; i++) held.push(new Array<number>(10_000).fill(i));
    lane.disengaged();
    expect(held).toHaveLength(200);
    expect(getHeapStatistics().used_heap_size).toBeGreaterThan(0);
  });
});
