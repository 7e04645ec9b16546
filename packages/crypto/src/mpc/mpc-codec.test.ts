// Fixed-point encoding of reals into the `mpc` field: declared scale and range, refusal (never clipping)
// of values outside it, signed decoding, value-bit bounds used by the truncation.
import { describe, expect, it } from 'vitest';
import { createMpcCodec } from './codec.js';
import { MPC_FIELD, createMpcField, fieldVectorToBigInts, multiplyFieldVectors, zeroFieldVector } from './field.js';

describe('createMpcCodec', () => {
  const codec = createMpcCodec({ scale: 16, min: -(2 ** 30), max: 2 ** 30 });

  it('round-trips reals to within half a unit in the last place, both signs', () => {
    const values = [0, 1, -1, 0.5, -0.25, 1e9, -1e9, 2 ** 30, -(2 ** 30), 123.456789, -0.000001, 3.14159];
    const decoded = codec.decode(codec.encode(values));
    values.forEach((v, i) => expect(Math.abs(decoded[i]! - v)).toBeLessThanOrEqual(2 ** -17));
    expect(fieldVectorToBigInts(codec.encode([-1]))).toEqual([MPC_FIELD.modulus - 65536n]);
    expect(Array.from(codec.decode(codec.encode(new Float64Array([2.5]))))).toEqual([2.5]);
  });

  it('declares the value bits of encodings and of their products', () => {
    expect(codec.valueBits).toBe(48); // |v · 2^16| ≤ 2^46 < 2^47
    expect(codec.productValueBits).toBe(94); // ≤ 2^92 < 2^93
    const x = codec.encode([2 ** 30, -(2 ** 30)]);
    const product = multiplyFieldVectors(x, x);
    expect(fieldVectorToBigInts(product, { signed: true })).toEqual([1n << 92n, 1n << 92n]);
    expect(Array.from(codec.decode(product, 32))).toEqual([2 ** 60, 2 ** 60]);
  });

  it('refuses values outside the range, NaN and infinities, naming the index', () => {
    expect(() => codec.encode([0, 2 ** 30 + 1])).toThrow(new RangeError(`values[1] is outside the declared range [${-(2 ** 30)}, ${2 ** 30}]`));
    expect(() => codec.encode([Number.NaN])).toThrow(new RangeError('values[0] is not a finite number'));
    expect(() => codec.encode([1, 2, Number.NEGATIVE_INFINITY])).toThrow(new RangeError('values[2] is not a finite number'));
    expect(() => codec.encode([1, '2' as unknown as number])).toThrow(new TypeError('values[1] must be a number'));
    expect(() => codec.encode(5 as never)).toThrow(new TypeError('values must be an array of numbers'));
  });

  it('refuses bad options', () => {
    expect(() => createMpcCodec({ scale: 27, min: 0, max: 1 })).toThrow(new RangeError('options.scale must be an integer from 0 to 26, got 27'));
    expect(() => createMpcCodec({ scale: 1.5, min: 0, max: 1 })).toThrow(RangeError);
    expect(() => createMpcCodec({ scale: 8, min: 1, max: 1 })).toThrow(new RangeError('options.min (1) must be below options.max (1)'));
    expect(() => createMpcCodec({ scale: 8, min: Number.NaN, max: 1 })).toThrow(new RangeError('options.min must be finite, got NaN'));
    expect(() => createMpcCodec({ scale: 26, min: 0, max: 2 ** 30 })).toThrow(/must stay below 2\^53/);
    expect(() => createMpcCodec({ scale: 4, min: -100, max: 100, field: createMpcField([1613]) })).toThrow(/does not fit the field/);
    expect(() => createMpcCodec({ scale: '4' as unknown as number, min: 0, max: 1 })).toThrow(new TypeError('options.scale must be a number'));
    expect(() => createMpcCodec(null as never)).toThrow(new TypeError('options must be an object'));
  });

  it('refuses to decode a vector of another field or at a bad scale', () => {
    expect(() => codec.decode(zeroFieldVector(createMpcField([1613]), 1))).toThrow(new RangeError('vector belongs to another field than the codec'));
    expect(() => codec.decode(zeroFieldVector(MPC_FIELD, 1), 53)).toThrow(new RangeError('scale must be an integer from 0 to 52, got 53'));
  });
});
