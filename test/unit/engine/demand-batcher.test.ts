import { describe, expect, it } from 'vitest';
import { DemandBatcher } from '../../../src/engine/demand-batcher.js';

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('DemandBatcher', () => {
  it('sends full batches at once and a short one only while no other short one is in flight', async () => {
    const calls: number[][] = [];
    const gates: { resolve: () => void }[] = [];
    const batcher = new DemandBatcher<number, number>(
      async (inputs) => {
        calls.push([...inputs]);
        const gate = deferred();
        gates.push(gate);
        await gate.promise;
        return inputs.map((n) => n * 2);
      },
      { size: () => 4 },
    );
    const first = [1, 2].map((n) => batcher.submit(n));
    await turn();
    expect(calls).toEqual([[1, 2]]);
    // While the short batch is out, the next ones gather: a full one leaves, the rest waits.
    const rest = [3, 4, 5, 6, 7, 8, 9].map((n) => batcher.submit(n));
    await turn();
    expect(calls).toEqual([
      [1, 2],
      [3, 4, 5, 6],
    ]);
    expect(batcher.waiting).toBe(3);
    gates[0]!.resolve();
    expect(await Promise.all(first)).toEqual([2, 4]);
    await turn();
    expect(calls.at(-1)).toEqual([7, 8, 9]);
    for (const gate of gates) gate.resolve();
    gates[2]?.resolve();
    await turn();
    for (const gate of gates) gate.resolve();
    expect(await Promise.all(rest)).toEqual([6, 8, 10, 12, 14, 16, 18]);
  });

  it('fails every caller of a failed call', async () => {
    const batcher = new DemandBatcher<number, number>(() => Promise.reject(new Error('down')), {
      size: () => 10,
    });
    const results = await Promise.allSettled([batcher.submit(1), batcher.submit(2)]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
