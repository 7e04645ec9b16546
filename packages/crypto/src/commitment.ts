// Commitments to JSON data (DESIGN §5.4). Both forms are "sha256:" + lowercase hex of a SHA-256 digest
// over RFC 8785 canonical JSON, so any party can recompute them from the data.
//
// - hashCommitment(data) = "sha256:" + hex(SHA-256(JCS(data))): the product doc's plain form. It binds
//   but does not hide: low-entropy data can be guessed and checked against it.
// - saltedCommitment(salt, data) = "sha256:" + hex(SHA-256(JCS({ type: "tenzro.commitment/v1",
//   salt: base64url(salt), data }))): hiding as well as binding, as long as the 32-byte random salt
//   stays inside the ciphertext.

import { toBase64Url, toHex } from './encoding.js';
import { canonicalBytes } from './jcs.js';

/** "sha256:" followed by 64 lowercase hex digits. */
export const COMMITMENT_PATTERN = /^sha256:[0-9a-f]{64}$/;

/** Length in bytes of the salt saltedCommitment expects. */
export const COMMITMENT_SALT_LENGTH = 32;

/** The `type` of the structure a salted commitment hashes. */
export const SALTED_COMMITMENT_TYPE = 'tenzro.commitment/v1';

async function sha256Commitment(bytes: Uint8Array): Promise<string> {
  // WebCrypto digest: native speed for large datasets.
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return `sha256:${toHex(new Uint8Array(digest))}`;
}

/** "sha256:" + hex(SHA-256(JCS(data))). Throws a TypeError if `data` is not canonicalisable JSON. */
export async function hashCommitment(data: unknown): Promise<string> {
  return sha256Commitment(canonicalBytes(data));
}

/** "sha256:" + hex(SHA-256(JCS({ type: "tenzro.commitment/v1", salt: base64url(salt), data }))). */
export async function saltedCommitment(salt: Uint8Array, data: unknown): Promise<string> {
  if (!(salt instanceof Uint8Array)) throw new TypeError('salt must be a Uint8Array');
  if (salt.length !== COMMITMENT_SALT_LENGTH) {
    throw new RangeError(`salt must be ${COMMITMENT_SALT_LENGTH} bytes, got ${salt.length}`);
  }
  return sha256Commitment(canonicalBytes({ type: SALTED_COMMITMENT_TYPE, salt: toBase64Url(salt), data }));
}

/** Whether `text` has the commitment syntax ("sha256:" + 64 lowercase hex digits). */
export function isCommitment(text: unknown): text is string {
  return typeof text === 'string' && COMMITMENT_PATTERN.test(text);
}
