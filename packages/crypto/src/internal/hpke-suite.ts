// Internal (not re-exported from index.ts): the one HPKE cipher suite of this project and the X25519
// public-key check, shared by hpke.ts and envelope.ts. Tests reach the deterministic sender setup
// (`ekm`) through this module, never through the public API.

import { Aes256Gcm, CipherSuite, DhkemX25519HkdfSha256, HkdfSha256 } from '@hpke/core';
import type { RecipientContext, SenderContext } from '@hpke/core';
import { utf8Encode } from '../encoding.js';

export const X25519_KEY_LENGTH = 32;

let cachedSuite: CipherSuite | undefined;

/** RFC 9180 suite: DHKEM(X25519, HKDF-SHA256) 0x0020, HKDF-SHA256 0x0001, AES-256-GCM 0x0002. */
export function hpkeSuite(): CipherSuite {
  cachedSuite ??= new CipherSuite({ kem: new DhkemX25519HkdfSha256(), kdf: new HkdfSha256(), aead: new Aes256Gcm() });
  return cachedSuite;
}

/** KEM, KDF and AEAD identifiers of hpkeSuite() (RFC 9180 §7). */
export const SUITE_IDS = { kem: 0x0020, kdf: 0x0001, aead: 0x0002 } as const;

// u-coordinates whose X25519 output is all zeros for every scalar (RFC 7748 §6.1: "check for the all-zero
// value"): the points of order 1, 2, 4 and 8 on the curve and its twist, and their non-canonical
// encodings (u + p). This is libsodium's blocklist; as there, the top bit (masked by RFC 7748 §5) is
// ignored. The wycheproof-x25519 test checks it against every vector with an all-zero shared secret.
const LOW_ORDER_POINTS: readonly Uint8Array[] = [
  '0000000000000000000000000000000000000000000000000000000000000000', // 0
  '0100000000000000000000000000000000000000000000000000000000000000', // 1
  'e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800', // order 8
  '5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157', // order 8
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p - 1
  'edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p (= 0)
  'eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f', // p + 1 (= 1)
].map((hex) => Uint8Array.from(hex.match(/../g)!, (byte) => parseInt(byte, 16)));

/** Whether a 32-byte X25519 public key is one of the low-order points (all-zero shared secret). */
export function isLowOrderX25519(publicKey: Uint8Array): boolean {
  let found = 0;
  for (const point of LOW_ORDER_POINTS) {
    let diff = (publicKey[31]! & 0x7f) ^ point[31]!;
    for (let i = 0; i < 31; i++) diff |= publicKey[i]! ^ point[i]!;
    found |= diff === 0 ? 1 : 0;
  }
  return found === 1;
}

/** Checks type, length (32) and not-low-order of an X25519 public key; TypeError / RangeError naming `name`. */
export function assertEncryptionPublicKey(publicKey: unknown, name: string): asserts publicKey is Uint8Array {
  if (!(publicKey instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
  if (publicKey.length !== X25519_KEY_LENGTH) {
    throw new RangeError(`${name} must be ${X25519_KEY_LENGTH} bytes, got ${publicKey.length}`);
  }
  if (isLowOrderX25519(publicKey)) throw new RangeError(`${name} is a low-order X25519 point and cannot be used`);
}

/** Checks that `info` is a string and returns its UTF-8 bytes. */
export function infoBytes(info: unknown, name = 'options.info'): Uint8Array {
  if (typeof info !== 'string') throw new TypeError(`${name} must be a string`);
  return utf8Encode(info);
}

/**
 * RFC 9180 §5.1.1 SetupBaseS. `ekm` (input keying material for the ephemeral key) exists only so tests
 * can replay the published vectors; production callers leave it out.
 */
export async function setupBaseSender(
  recipientPublicKey: Uint8Array,
  info: Uint8Array,
  ekm?: Uint8Array,
): Promise<SenderContext> {
  const suite = hpkeSuite();
  const pkR = await suite.kem.deserializePublicKey(recipientPublicKey.slice());
  return suite.createSenderContext(ekm === undefined ? { recipientPublicKey: pkR, info } : { recipientPublicKey: pkR, info, ekm });
}

/** RFC 9180 §5.1.1 SetupBaseR. */
export async function setupBaseRecipient(
  recipientPrivateKey: Uint8Array,
  enc: Uint8Array,
  info: Uint8Array,
): Promise<RecipientContext> {
  const suite = hpkeSuite();
  const skR = await suite.kem.deserializePrivateKey(recipientPrivateKey.slice());
  return suite.createRecipientContext({ recipientKey: skR, enc: enc.slice(), info });
}
