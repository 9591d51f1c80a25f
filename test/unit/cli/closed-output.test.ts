import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { endQuietlyWhenOutputCloses } from '../../../src/cli/closed-output.js';

function epipe(): NodeJS.ErrnoException {
  return Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
}

describe('a closed output stream', () => {
  it('ends the command with exit code 0 when stdout is closed (EPIPE)', () => {
    const out = new EventEmitter();
    const err = new EventEmitter();
    const exits: number[] = [];
    endQuietlyWhenOutputCloses({ out, err }, (code) => exits.push(code));
    out.emit('error', epipe());
    expect(exits).toEqual([0]);
  });

  it('ignores a closed stderr and raises any other stream error', () => {
    const out = new EventEmitter();
    const err = new EventEmitter();
    const exits: number[] = [];
    endQuietlyWhenOutputCloses({ out, err }, (code) => exits.push(code));
    expect(() => err.emit('error', epipe())).not.toThrow();
    const full = Object.assign(new Error('no space'), { code: 'ENOSPC' });
    expect(() => out.emit('error', full)).toThrow('no space');
    expect(exits).toEqual([]);
  });
});
