import { describe, expect, it } from 'vitest';
import { AdaptiveBatchSize } from '../../../src/connectors/dynamics/adaptive-batch-size.js';

const calm = { pressure: 0.1, operationMs: 5, limitMs: 1_200_000 };

describe('AdaptiveBatchSize', () => {
  it('starts small and grows after each full batch answered fast, up to its bound', () => {
    const size = new AdaptiveBatchSize({ initial: 10, max: 100 });
    expect(size.size).toBe(10);
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) {
      size.answered(size.size, 200, calm);
      seen.push(size.size);
    }
    expect(seen).toEqual([15, 23, 35, 53, 80, 100, 100, 100]);
  });

  it('does not grow on batches shorter than its size (no evidence the bigger one is fine)', () => {
    const size = new AdaptiveBatchSize({ initial: 10, max: 100 });
    size.answered(4, 100, calm);
    expect(size.size).toBe(10);
  });

  it('halves on a 429 or timeout and on a slow answer, never below 1', () => {
    const size = new AdaptiveBatchSize({ initial: 80, max: 200, slowMs: 5000 });
    size.refused();
    expect(size.size).toBe(40);
    size.answered(40, 6000, calm);
    expect(size.size).toBe(20);
    for (let i = 0; i < 10; i++) size.refused();
    expect(size.size).toBe(1);
  });

  it('under execution-time pressure stops growing and keeps a batch to a share of the limit', () => {
    const size = new AdaptiveBatchSize({ initial: 200, max: 400, maxExecutionShare: 0.02 });
    // Batches of 200 cost 4 s each (20 ms per create); the limit is 120 s: 2.4 s fit in one batch.
    size.answered(200, 100, { pressure: 0.5, operationMs: 20, limitMs: 120_000 });
    expect(size.size).toBe(300);
    size.answered(200, 100, { pressure: 0.9, operationMs: 20, limitMs: 120_000 });
    expect(size.size).toBe(120);
    size.answered(120, 100, { pressure: 0.9, operationMs: 20, limitMs: 120_000 });
    expect(size.size).toBeLessThanOrEqual(120);
  });

  it('keeps the initial size within the bound and the bound within Dataverse’s 1,000', () => {
    expect(new AdaptiveBatchSize({ initial: 50, max: 20 }).size).toBe(20);
    expect(new AdaptiveBatchSize({ initial: 5000, max: 5000 }).size).toBe(1000);
  });
});
