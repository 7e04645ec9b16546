// Cryptographically secure random bytes from the platform CSPRNG (crypto.getRandomValues).

// getRandomValues fills at most 65,536 bytes per call (WebCrypto §10.1.1), so larger requests loop.
const MAX_GET_RANDOM_VALUES = 65_536;

/** `length` random bytes from crypto.getRandomValues. */
export function randomBytes(length: number): Uint8Array {
  if (typeof length !== 'number') throw new TypeError('length must be a number');
  if (!Number.isSafeInteger(length) || length < 0) throw new RangeError(`length must be a non-negative integer, got ${length}`);
  const out = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += MAX_GET_RANDOM_VALUES) {
    globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + MAX_GET_RANDOM_VALUES)));
  }
  return out;
}
