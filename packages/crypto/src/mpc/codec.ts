// Fixed-point encoding of reals into the `mpc` field (see field.ts). A value v in the declared range
// [min, max] becomes the integer round(v · 2^scale) (Math.round: halves round up), embedded in Z_M as
// v mod M; the upper half of Z_M is negative. `decode(vector, scale)` maps reconstructed elements back:
// signed representative / 2^scale, where scale is the codec's for sums and linear combinations, twice it
// for an untruncated product of two encodings, and the codec's again after truncation.
//
// Out-of-range values, NaN and ±Infinity are refused with a RangeError naming the index, never clipped.
// `valueBits` is the k with |round(v · 2^scale)| < 2^(k−1) for every accepted v: the bound that the
// truncation protocol (Catrina & Saxena 2010) needs; a product of two encodings has 2k − 1 such bits, a sum
// of m products ⌈log2 m⌉ more.

import { assertFieldVector, fieldVectorFromIntegers, fieldVectorToSignedNumbers, MPC_FIELD, type FieldVector, type MpcField } from './field.js';

/** Most fractional bits a codec may use (the truncation protocol cuts at most 26 bits at once). */
export const MPC_MAX_SCALE = 26;

export interface MpcCodecOptions {
  /** Fractional bits: v is encoded as round(v · 2^scale). 0..26. */
  scale: number;
  /** Smallest value accepted by encode. */
  min: number;
  /** Largest value accepted by encode. */
  max: number;
  /** Defaults to MPC_FIELD. */
  field?: MpcField;
}

export interface MpcCodec {
  readonly field: MpcField;
  readonly scale: number;
  readonly min: number;
  readonly max: number;
  /** |encoding| < 2^(valueBits − 1) for every accepted value. */
  readonly valueBits: number;
  /** |product of two encodings| < 2^(productValueBits − 1) (at scale 2·scale, before truncation). */
  readonly productValueBits: number;
  /** Encodes each value; RangeError naming the index for NaN, ±Infinity or a value outside [min, max]. */
  encode(values: ArrayLike<number>): FieldVector;
  /** Signed representative / 2^scale per element (scale defaults to the codec's; 0..2·MPC_MAX_SCALE). */
  decode(vector: FieldVector, scale?: number): Float64Array;
}

/** A fixed-point codec into the field (see the module header). */
export function createMpcCodec(options: MpcCodecOptions): MpcCodec {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { scale, min, max } = options;
  const field = options.field ?? MPC_FIELD;
  for (const [name, value] of [['scale', scale], ['min', min], ['max', max]] as const) {
    if (typeof value !== 'number') throw new TypeError(`options.${name} must be a number`);
  }
  if (!Number.isInteger(scale) || scale < 0 || scale > MPC_MAX_SCALE) {
    throw new RangeError(`options.scale must be an integer from 0 to ${MPC_MAX_SCALE}, got ${scale}`);
  }
  if (!Number.isFinite(min)) throw new RangeError(`options.min must be finite, got ${min}`);
  if (!Number.isFinite(max)) throw new RangeError(`options.max must be finite, got ${max}`);
  if (!(min < max)) throw new RangeError(`options.min (${min}) must be below options.max (${max})`);
  const factor = 2 ** scale;
  const maxAbs = Math.max(Math.abs(Math.round(min * factor)), Math.abs(Math.round(max * factor)));
  if (!Number.isSafeInteger(maxAbs)) {
    throw new RangeError(`options: max(|min|, |max|) · 2^scale must stay below 2^53, got ${Math.max(Math.abs(min), Math.abs(max))} · 2^${scale}`);
  }
  const valueBits = maxAbs.toString(2).length + 1; // maxAbs < 2^(bitlength) = 2^(valueBits − 1)
  const productValueBits = (BigInt(maxAbs) * BigInt(maxAbs)).toString(2).length + 1;
  // Both signs must be told apart: the encodings must lie in (−M/2, M/2).
  if (2n * BigInt(maxAbs) >= field.modulus) {
    throw new RangeError(`options: the encoded range ±${maxAbs} does not fit the field (M = ${field.modulus})`);
  }
  return Object.freeze({
    field,
    scale,
    min,
    max,
    valueBits,
    productValueBits,
    encode(values: ArrayLike<number>): FieldVector {
      if (typeof values !== 'object' || values === null || typeof values.length !== 'number') {
        throw new TypeError('values must be an array of numbers');
      }
      const ints = new Float64Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const value = values[i];
        if (typeof value !== 'number') throw new TypeError(`values[${i}] must be a number`);
        if (!Number.isFinite(value)) throw new RangeError(`values[${i}] is not a finite number`);
        if (value < min || value > max) throw new RangeError(`values[${i}] is outside the declared range [${min}, ${max}]`);
        ints[i] = Math.round(value * factor);
      }
      return fieldVectorFromIntegers(field, ints);
    },
    decode(vector: FieldVector, decodeScale: number = scale): Float64Array {
      assertFieldVector(vector, 'vector');
      if (vector.field !== field) throw new RangeError('vector belongs to another field than the codec');
      if (typeof decodeScale !== 'number') throw new TypeError('scale must be a number');
      if (!Number.isInteger(decodeScale) || decodeScale < 0 || decodeScale > 2 * MPC_MAX_SCALE) {
        throw new RangeError(`scale must be an integer from 0 to ${2 * MPC_MAX_SCALE}, got ${decodeScale}`);
      }
      const out = fieldVectorToSignedNumbers(vector);
      const divisor = 2 ** decodeScale;
      for (let i = 0; i < out.length; i++) out[i] = out[i]! / divisor;
      return out;
    },
  });
}
