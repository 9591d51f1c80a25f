import { InvalidArgumentError } from 'commander';
import { describe, expect, it } from 'vitest';
import { nonNegativeInt, portNumber, positiveInt } from '../../../src/cli/option-parsers.js';

describe('numeric CLI options', () => {
  it('accept whole numbers in range', () => {
    expect(positiveInt('--contacts')('10')).toBe(10);
    expect(positiveInt('--limit', 1000)('1000')).toBe(1000);
    expect(nonNegativeInt('--seed')('0')).toBe(0);
    expect(portNumber('--port')('65535')).toBe(65_535);
  });

  it.each([
    ['abc', "--contacts must be a whole number ≥ 1, got 'abc'"],
    ['', "--contacts must be a whole number ≥ 1, got ''"],
    ['0', "--contacts must be a whole number ≥ 1, got '0'"],
    ['1.5', "--contacts must be a whole number ≥ 1, got '1.5'"],
    ['-2', "--contacts must be a whole number ≥ 1, got '-2'"],
    ['1e3', "--contacts must be a whole number ≥ 1, got '1e3'"],
    ['0x10', "--contacts must be a whole number ≥ 1, got '0x10'"],
    ['Infinity', "--contacts must be a whole number ≥ 1, got 'Infinity'"],
    ['99999999999999999999', "--contacts must be a whole number ≥ 1, got '99999999999999999999'"],
  ])('refuse %j with a usage error that names the option and the value', (value, message) => {
    const parse = (): number => positiveInt('--contacts')(value);
    expect(parse).toThrow(InvalidArgumentError);
    expect(parse).toThrow(message);
  });

  it('name the range when there is a maximum', () => {
    expect(() => portNumber('--port')('70000')).toThrow(
      "--port must be a whole number from 0 to 65535, got '70000'",
    );
  });
});
