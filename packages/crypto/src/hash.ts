// SHA-2 digests (FIPS 180-4) through @noble/hashes: synchronous, identical in Node and browsers.

import { sha256 as nobleSha256, sha384 as nobleSha384 } from '@noble/hashes/sha2.js';
import { assertBytes, toHex } from './encoding.js';

/** SHA-256 of `bytes` (32 bytes). */
export function sha256(bytes: Uint8Array): Uint8Array {
  assertBytes(bytes, 'bytes');
  return nobleSha256(bytes);
}

/** SHA-384 of `bytes` (48 bytes). */
export function sha384(bytes: Uint8Array): Uint8Array {
  assertBytes(bytes, 'bytes');
  return nobleSha384(bytes);
}

/** Lowercase hex of SHA-256(`bytes`). */
export function sha256Hex(bytes: Uint8Array): string {
  return toHex(sha256(bytes));
}
