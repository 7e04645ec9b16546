// Fixed-point encoding into Z_{2^32}: exact sums, wraparound, range refusal (never clipping), overflow refusal.
import { describe, expect, it } from 'vitest';
import { addVectors, createFixedPointCodec, ringVectorFromBytes, ringVectorToBytes, subtractVectors } from './fixed-point.js';

describe('createFixedPointCodec', () => {
  it('decodes the exact sum of encodings, negatives included (property, 50 runs)', () => {
    const codec = createFixedPointCodec({ scale: 16, min: -100, max: 100, maxParties: 300 });
    for (let run = 0; run < 50; run++) {
      const parties = 1 + Math.floor(Math.random() * 300);
      const length = 8;
      let sum: Uint32Array = new Uint32Array(length);
      const expected = new Array<number>(length).fill(0);
      for (let p = 0; p < parties; p++) {
        const values = Array.from({ length }, () => Math.round((Math.random() * 200 - 100) * 2 ** 16) / 2 ** 16);
        sum = addVectors(sum, codec.encode(values));
        values.forEach((v, i) => (expected[i]! += v));
      }
      const decoded = codec.decodeSum(sum, parties);
      decoded.forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 9));
    }
  });

  it('decodes the extremes of the range', () => {
    const codec = createFixedPointCodec({ scale: 8, min: -1, max: 1, maxParties: 10 });
    let sum: Uint32Array = new Uint32Array(2);
    for (let p = 0; p < 10; p++) sum = addVectors(sum, codec.encode([-1, 1]));
    expect(codec.decodeSum(sum, 10)).toEqual([-10, 10]);
    expect(codec.decodeSum(codec.encode([0.5, -0.25]), 1)).toEqual([0.5, -0.25]);
  });

  it('refuses out-of-range and non-finite values with the index, never clipping', () => {
    const codec = createFixedPointCodec({ scale: 8, min: 0, max: 10, maxParties: 10 });
    expect(() => codec.encode([1, 10.001])).toThrow(/values\[1\] is outside the declared range \[0, 10\]/);
    expect(() => codec.encode([-0.5])).toThrow(/values\[0\] is outside/);
    expect(() => codec.encode([1, 2, Number.NaN])).toThrow(/values\[2\] is not a finite number/);
    expect(() => codec.encode([Number.POSITIVE_INFINITY])).toThrow(/values\[0\] is not a finite number/);
    expect(() => codec.encode(['1' as unknown as number])).toThrow(TypeError);
    expect(() => codec.decodeSum(new Uint32Array(1), 11)).toThrow(/parties must be an integer from 1 to maxParties/);
    expect(() => codec.decodeSum(new Uint32Array(1), 0)).toThrow(RangeError);
  });

  it('refuses configurations whose summed range overflows the ring', () => {
    // 2^16 parties · 2 · 2^15 = 2^32: one too many.
    expect(() => createFixedPointCodec({ scale: 15, min: -1, max: 1, maxParties: 2 ** 16 })).toThrow(/overflows the ring/);
    expect(() => createFixedPointCodec({ scale: 15, min: -1, max: 1, maxParties: 2 ** 16 - 1 })).not.toThrow();
    expect(() => createFixedPointCodec({ scale: 31, min: 0, max: 1, maxParties: 1 })).toThrow(/options\.scale/);
    expect(() => createFixedPointCodec({ scale: 8, min: 1, max: 1, maxParties: 1 })).toThrow(/options\.min/);
    expect(() => createFixedPointCodec({ scale: 8, min: Number.NaN, max: 1, maxParties: 1 })).toThrow(/options\.min must be finite/);
    expect(() => createFixedPointCodec({ scale: 8, min: 0, max: 1, maxParties: 0 })).toThrow(/options\.maxParties/);
  });
});

describe('ring vector helpers', () => {
  it('add and subtract mod 2^32 and round-trip through bytes', () => {
    const a = Uint32Array.from([0xffffffff, 5, 0]);
    const b = Uint32Array.from([2, 7, 1]);
    expect(Array.from(subtractVectors(Uint32Array.from([0]), Uint32Array.from([1])))).toEqual([0xffffffff]);
    expect(Array.from(addVectors(a, b))).toEqual([1, 12, 1]);
    expect(Array.from(subtractVectors(b, a))).toEqual([3, 2, 1]);
    expect(subtractVectors(addVectors(a, b), b)).toEqual(a);
    expect(ringVectorToBytes(Uint32Array.from([0x04030201]))).toEqual(Uint8Array.from([1, 2, 3, 4]));
    expect(ringVectorFromBytes(ringVectorToBytes(a))).toEqual(a);
    expect(() => addVectors(a, new Uint32Array(2))).toThrow(/same length/);
    expect(() => ringVectorFromBytes(new Uint8Array(3))).toThrow(/multiple of 4/);
  });
});
