import { describe, expect, it } from 'vitest';
import { randomBytes } from './random.js';

describe('randomBytes', () => {
  it('returns the requested length, including 0 and more than getRandomValues allows at once', () => {
    expect(randomBytes(0)).toHaveLength(0);
    expect(randomBytes(32)).toHaveLength(32);
    const big = randomBytes(200_001);
    expect(big).toHaveLength(200_001);
    // Every 64 KiB slice was filled (a zero-filled tail would mean a missed getRandomValues call).
    for (let offset = 0; offset < big.length; offset += 65_536) {
      expect(big.subarray(offset, offset + 4096).some((b) => b !== 0)).toBe(true);
    }
    expect(big.subarray(big.length - 64).some((b) => b !== 0)).toBe(true);
  });

  it('does not repeat itself', () => {
    expect(randomBytes(32)).not.toEqual(randomBytes(32));
  });

  it('checks its argument', () => {
    expect(() => randomBytes(-1)).toThrow(new RangeError('length must be a non-negative integer, got -1'));
    expect(() => randomBytes(1.5)).toThrow(RangeError);
    expect(() => randomBytes('8' as unknown as number)).toThrow(new TypeError('length must be a number'));
  });
});
