// Fixed-point encoding of real vectors into the ring Z_{2^32} (the input space of secure aggregation,
// Bonawitz et al., CCS 2017 §3: inputs are vectors over Z_R). A value v in the declared range [min, max]
// becomes round(v · 2^scale) mod 2^32 (two's complement); sums wrap around the ring, and decodeSum maps a
// ring sum of `parties` encodings back into the one window [parties·min, parties·max] it can lie in.
//
// Values outside [min, max], NaN and ±Infinity are refused with a RangeError naming the index — never
// clipped (silent clipping changes the statistic and hides bad data). A codec whose summed range over
// maxParties does not fit the ring (2^32 values) is refused when it is created, so a decoded sum is exact.

import { assertBytes } from './encoding.js';

export const RING_BITS = 32;
const RING = 2 ** 32;
/** Most fractional bits a codec may use. */
export const MAX_FIXED_POINT_SCALE = 30;

export interface FixedPointOptions {
  /** Fractional bits: a value v is encoded as round(v · 2^scale). 0..30. */
  scale: number;
  /** Smallest value accepted by encode. */
  min: number;
  /** Largest value accepted by encode. */
  max: number;
  /** Most parties whose encodings may be summed; the codec refuses ranges whose sum would overflow. */
  maxParties: number;
}

export interface FixedPointCodec {
  readonly scale: number;
  readonly min: number;
  readonly max: number;
  readonly maxParties: number;
  /** Encodes each value; RangeError naming the index for NaN, ±Infinity or a value outside [min, max]. */
  encode(values: readonly number[]): Uint32Array;
  /** Decodes the ring sum of exactly `parties` encodings (1..maxParties). */
  decodeSum(sum: Uint32Array, parties: number): number[];
}

/** A fixed-point codec into Z_{2^32}; see the module header. */
export function createFixedPointCodec(options: FixedPointOptions): FixedPointCodec {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { scale, min, max, maxParties } = options;
  for (const [name, value] of [['scale', scale], ['min', min], ['max', max], ['maxParties', maxParties]] as const) {
    if (typeof value !== 'number') throw new TypeError(`options.${name} must be a number`);
  }
  if (!Number.isInteger(scale) || scale < 0 || scale > MAX_FIXED_POINT_SCALE) {
    throw new RangeError(`options.scale must be an integer from 0 to ${MAX_FIXED_POINT_SCALE}, got ${scale}`);
  }
  if (!Number.isFinite(min)) throw new RangeError(`options.min must be finite, got ${min}`);
  if (!Number.isFinite(max)) throw new RangeError(`options.max must be finite, got ${max}`);
  if (!(min < max)) throw new RangeError(`options.min (${min}) must be below options.max (${max})`);
  if (!Number.isInteger(maxParties) || maxParties < 1) {
    throw new RangeError(`options.maxParties must be a positive integer, got ${maxParties}`);
  }
  const factor = 2 ** scale;
  const minInt = Math.round(min * factor);
  const maxInt = Math.round(max * factor);
  // The sum of maxParties encodings lies in [P·minInt, P·maxInt]: that window must hold fewer than 2^32
  // integers, or two different sums would share one ring element.
  if (!Number.isSafeInteger(minInt) || !Number.isSafeInteger(maxInt) || maxParties * (maxInt - minInt) >= RING) {
    throw new RangeError(
      `options: the summed range maxParties · (max − min) · 2^scale = ${maxParties} · ${max - min} · 2^${scale} ` +
        `overflows the ring Z_2^32; narrow [min, max], lower scale or maxParties`,
    );
  }
  return Object.freeze({
    scale,
    min,
    max,
    maxParties,
    encode(values: readonly number[]): Uint32Array {
      if (!Array.isArray(values)) throw new TypeError('values must be an array of numbers');
      const out = new Uint32Array(values.length);
      for (let i = 0; i < values.length; i++) {
        const value = values[i];
        if (typeof value !== 'number') throw new TypeError(`values[${i}] must be a number`);
        if (!Number.isFinite(value)) throw new RangeError(`values[${i}] is not a finite number`);
        if (value < min || value > max) {
          throw new RangeError(`values[${i}] is outside the declared range [${min}, ${max}]`);
        }
        out[i] = Math.round(value * factor); // Uint32Array stores the value mod 2^32
      }
      return out;
    },
    decodeSum(sum: Uint32Array, parties: number): number[] {
      if (!(sum instanceof Uint32Array)) throw new TypeError('sum must be a Uint32Array');
      if (typeof parties !== 'number') throw new TypeError('parties must be a number');
      if (!Number.isInteger(parties) || parties < 1 || parties > maxParties) {
        throw new RangeError(`parties must be an integer from 1 to maxParties (${maxParties}), got ${parties}`);
      }
      const offset = parties * minInt;
      const out = new Array<number>(sum.length);
      for (let i = 0; i < sum.length; i++) {
        const shifted = (((sum[i]! - offset) % RING) + RING) % RING;
        out[i] = (shifted + offset) / factor;
      }
      return out;
    },
  });
}

function assertSameLength(a: Uint32Array, b: Uint32Array): void {
  if (!(a instanceof Uint32Array)) throw new TypeError('a must be a Uint32Array');
  if (!(b instanceof Uint32Array)) throw new TypeError('b must be a Uint32Array');
  if (a.length !== b.length) throw new RangeError(`a and b must have the same length, got ${a.length} and ${b.length}`);
}

/** (a + b) mod 2^32, element-wise, into a new array. */
export function addVectors(a: Uint32Array, b: Uint32Array): Uint32Array {
  assertSameLength(a, b);
  const out = new Uint32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + b[i]!;
  return out;
}

/** (a − b) mod 2^32, element-wise, into a new array. */
export function subtractVectors(a: Uint32Array, b: Uint32Array): Uint32Array {
  assertSameLength(a, b);
  const out = new Uint32Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! - b[i]!;
  return out;
}

/** Little-endian bytes of a ring vector (the wire form of a masked input). */
export function ringVectorToBytes(vector: Uint32Array): Uint8Array {
  if (!(vector instanceof Uint32Array)) throw new TypeError('vector must be a Uint32Array');
  const out = new Uint8Array(vector.length * 4);
  const view = new DataView(out.buffer);
  for (let i = 0; i < vector.length; i++) view.setUint32(i * 4, vector[i]!, true);
  return out;
}

/** The ring vector of little-endian bytes; RangeError unless the length is a multiple of 4. */
export function ringVectorFromBytes(bytes: Uint8Array): Uint32Array {
  assertBytes(bytes, 'bytes');
  if (bytes.length % 4 !== 0) throw new RangeError(`bytes must be a multiple of 4 bytes long, got ${bytes.length}`);
  const out = new Uint32Array(bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < out.length; i++) out[i] = view.getUint32(i * 4, true);
  return out;
}
