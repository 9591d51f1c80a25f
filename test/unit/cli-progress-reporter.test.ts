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

  it('redraws a bar in place on a terminal, shows rate and ETA, and keeps the summary line', () => {
    const stream = Object.assign(new PassThrough(), { isTTY: true, columns: 120 });
    const chunks: string[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c.toString()));
    let now = 0;
    const reporter = new ProgressReporter({ stream, now: () => now });
    const label = 'contacts initial load';
    reporter.update({ label, done: 0, total: 1000, startedAt: 0, finished: false });
    now = 5000;
    reporter.update({
      label,
      done: 500,
      total: 1000,
      startedAt: 0,
      finished: false,
      ratePerSecond: 100,
      etaMs: 5000,
    });
    now = 10_000;
    reporter.update({
      label,
      done: 1000,
      total: 1000,
      startedAt: 0,
      finished: true,
      ratePerSecond: 100,
      etaMs: 0,
    });
    reporter.line('contacts initial load succeeded: 1000 of 1000 read settled');
    reporter.close();
    const out = chunks.join('');
    // Drawn in place: cursor movements and line clears, the bar, the figures.
    expect(out).toMatch(new RegExp(`${String.fromCharCode(27)}\\[\\d*[GK]`));
    expect(out).toContain('\u2588');
    expect(out).toContain('100.0 %');
    expect(out).toContain('1000/1000');
    expect(out).toContain('100/s');
    expect(out).toContain('done in 10s');
    expect(out).toContain('contacts initial load succeeded: 1000 of 1000 read settled');
  });

  it('uses the measured rate and ETA when given, and writes plain lines (no control characters) off a terminal', () => {
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c.toString()));
    let now = 0;
    const reporter = new ProgressReporter({ stream, now: () => now });
    const label = 'contacts replay';
    for (let s = 1; s <= 35; s++) {
      now = s * 1000;
      reporter.update({
        label,
        done: s * 10,
        total: 1000,
        startedAt: 0,
        finished: false,
        ratePerSecond: 10,
        etaMs: (1000 - s * 10) * 100,
      });
    }
    const out = chunks.join('');
    expect(out).not.toContain('\r');
    expect(out).not.toContain(String.fromCharCode(27));
    // A line when it starts, then one every 10 s of the clock.
    expect(out.trim().split('\n')).toEqual([
      'contacts replay: 10/1000 · 1.0 % · 10/s · ETA 1m39s',
      'contacts replay: 110/1000 · 11.0 % · 10/s · ETA 1m29s',
      'contacts replay: 210/1000 · 21.0 % · 10/s · ETA 1m19s',
      'contacts replay: 310/1000 · 31.0 % · 10/s · ETA 1m09s',
    ]);
  });

  it('off a terminal, says work goes on when nothing else was printed for an interval', () => {
    const stream = new PassThrough();
    const chunks: string[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c.toString()));
    let now = 0;
    const reporter = new ProgressReporter({ stream, now: () => now });
    const pulse = (): void => reporter.pulse(() => `working at ${now}`);
    for (now = 0; now <= 25_000; now += 1000) pulse();
    // A run's lines count as saying so.
    reporter.update({ label: 'contacts replay', done: 1, total: 10, startedAt: 20_000, finished: false });
    for (; now <= 40_000; now += 1000) pulse();
    expect(chunks.join('').trim().split('\n')).toEqual([
      'working at 10000',
      'working at 20000',
      'contacts replay: 1/10 · 10.0 % · 0/s · ETA 54s',
      'working at 36000',
    ]);
    const tty = Object.assign(new PassThrough(), { isTTY: true });
    const drawn: string[] = [];
    tty.on('data', (c: Buffer) => drawn.push(c.toString()));
    const onTerminal = new ProgressReporter({ stream: tty, now: () => now });
    for (let i = 0; i < 3; i++, now += 20_000) onTerminal.pulse(() => 'working');
    expect(drawn).toEqual([]);
  });
});
