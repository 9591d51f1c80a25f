import { describe, expect, it } from 'vitest';
import { PassThrough } from 'node:stream';
import { ProgressReporter, describeProgress } from '../../src/cli/progress-reporter.js';

describe('progress reporter', () => {
  it('describes rate, percentage and ETA', () => {
    const text = describeProgress(
      { label: 'contacts initial load', done: 500, total: 2000, startedAt: 0, finished: false },
      10_000,
    );
    expect(text).toBe('contacts initial load: 500/2000 · 25.0 % · 50/s · ETA 30s');
  });

  it('prints plain lines at most once per interval off a terminal, and always the final line', () => {
    const stream = new PassThrough();
    let now = 0;
    const reporter = new ProgressReporter({ stream, plainIntervalMs: 1000, now: () => now });
    const chunks: string[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c.toString()));
    for (let i = 1; i <= 30; i++) {
      now = i * 100;
      reporter.update({ label: 'replay', done: i * 10, total: null, startedAt: 0, finished: false });
    }
    reporter.update({ label: 'replay', done: 300, total: null, startedAt: 0, finished: true });
    const lines = chunks.join('').trim().split('\n');
    expect(lines).toHaveLength(4);
    expect(lines.at(-1)).toContain('done in');
  });
});
