import { describe, expect, it } from 'vitest';
import { cryptoRng, seededRng } from './index.js';

describe('seededRng (xoshiro128**)', () => {
  it('is reproducible and seed-dependent', () => {
    const a = seededRng(42);
    const b = seededRng(42);
    const c = seededRng(43);
    const xs = Array.from({ length: 5 }, () => a.nextFloat());
    expect(Array.from({ length: 5 }, () => b.nextFloat())).toEqual(xs);
    expect(Array.from({ length: 5 }, () => c.nextFloat())).not.toEqual(xs);
  });
  it('draws uniform floats in [0, 1)', () => {
    const r = seededRng(1);
    let sum = 0;
    let outside = 0;
    for (let i = 0; i < 100_000; i++) {
      const u = r.nextFloat();
      if (!(u >= 0 && u < 1)) outside++;
      sum += u;
    }
    expect(outside).toBe(0);
    expect(Math.abs(sum / 100_000 - 0.5)).toBeLessThan(0.01);
  });
  it('rejects a non-integer seed', () => {
    expect(() => seededRng(1.5)).toThrow(/seed must be an integer/);
  });
});

describe('cryptoRng', () => {
  it('draws floats in [0, 1) from crypto.getRandomValues', () => {
    const r = cryptoRng();
    const xs = Array.from({ length: 2000 }, () => r.nextFloat());
    expect(xs.every((u) => u >= 0 && u < 1)).toBe(true);
    expect(new Set(xs).size).toBe(xs.length);
  });
});
