// Randomness sources. cryptoRng draws from crypto.getRandomValues (WebCrypto, Node and browsers);
// seededRng is xoshiro128** (Blackman & Vigna) seeded through splitmix32: reproducible, NOT secure,
// for demo data and tests only.
import type { Rng } from './types.js';

const TWO_POW_26 = 67108864;
const TWO_POW_53 = 9007199254740992;

/** A 53-bit uniform float in [0, 1) from two 32-bit words. */
function toFloat(a: number, b: number): number {
  return ((a >>> 5) * TWO_POW_26 + (b >>> 6)) / TWO_POW_53;
}

/** Uniform floats from the platform CSPRNG (crypto.getRandomValues), buffered 512 words at a time. */
export function cryptoRng(): Rng {
  const cryptoObj = globalThis.crypto;
  if (!cryptoObj || typeof cryptoObj.getRandomValues !== 'function') {
    throw new TypeError('crypto.getRandomValues is not available');
  }
  const buffer = new Uint32Array(512);
  let next = buffer.length;
  const word = (): number => {
    if (next === buffer.length) {
      cryptoObj.getRandomValues(buffer);
      next = 0;
    }
    return buffer[next++]!;
  };
  return { nextFloat: () => toFloat(word(), word()) };
}

/** A reproducible generator from a 32-bit integer seed (xoshiro128**). Not for anything secret. */
export function seededRng(seed: number): Rng {
  if (typeof seed !== 'number' || !Number.isInteger(seed)) throw new TypeError('seed must be an integer');
  let x = seed >>> 0;
  const splitmix32 = (): number => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
  let s0 = splitmix32();
  let s1 = splitmix32();
  let s2 = splitmix32();
  let s3 = splitmix32();
  if ((s0 | s1 | s2 | s3) === 0) s0 = 1;
  const next = (): number => {
    const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
    const t = (s1 << 9) >>> 0;
    s2 ^= s0;
    s3 ^= s1;
    s1 ^= s2;
    s0 ^= s3;
    s2 ^= t;
    s3 = rotl(s3 >>> 0, 11);
    s0 >>>= 0;
    s1 >>>= 0;
    s2 >>>= 0;
    return result;
  };
  return { nextFloat: () => toFloat(next(), next()) };
}

function rotl(v: number, k: number): number {
  return ((v << k) | (v >>> (32 - k))) >>> 0;
}

/** Checks an Rng argument and returns a reader that verifies each draw is in [0, 1). */
export function requireRng(rng: unknown, name = 'rng'): Rng {
  if (typeof rng !== 'object' || rng === null || typeof (rng as Rng).nextFloat !== 'function') {
    throw new TypeError(`${name} must have a nextFloat() method`);
  }
  const source = rng as Rng;
  return {
    nextFloat: () => {
      const u = source.nextFloat();
      if (typeof u !== 'number' || !(u >= 0 && u < 1)) throw new RangeError(`${name}.nextFloat() must return a number in [0, 1)`);
      return u;
    },
  };
}

/** Integer uniform in [0, n). */
export function nextInt(rng: Rng, n: number): number {
  return Math.floor(rng.nextFloat() * n);
}
