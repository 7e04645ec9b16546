// The pseudorandom masks and pairwise keys of secure aggregation (Bonawitz et al., "Practical Secure
// Aggregation for Privacy-Preserving Machine Learning", CCS 2017, §4: PRG, key agreement KA, and the
// authenticated encryption AE of the ShareKeys round).
//
// - expandMask: PRG(seed) over Z_{2^32}: ChaCha20 (RFC 8439 §2.4) keyed with HKDF-SHA256 (RFC 5869)
//   (ikm = seed, salt = "tenzro.secagg.mask-prg/v1", info = domain), nonce 0, counter 0; the keystream is
//   read as little-endian uint32 words. Deterministic: the same (seed, length, domain) gives the same mask,
//   and a shorter mask is a prefix of a longer one.
// - pairwiseSeed: KA.agree = X25519 (RFC 7748 §5), refusing low-order peer keys, then HKDF-SHA256 with
//   info = JCS({type, sessionId, parties (sorted), purpose}), so both sides derive the same 32 bytes and
//   a seed made for one session, pair or purpose is useless for another.
// - sealPairwise / openPairwise: AE = ChaCha20-Poly1305 (RFC 8439 §2.8) under a pairwise key. The nonce is
//   fixed by the direction (sender sorts before the recipient or after), so a key that seals one message
//   per direction — as a fresh per-session key in the ShareKeys round does — never reuses a nonce.
//
// Primitives come from @noble/ciphers, @noble/curves and @noble/hashes; only the construction is ours.

import { chacha20, chacha20poly1305 } from '@noble/ciphers/chacha.js';
import { x25519 } from '@noble/curves/ed25519.js';
import { hkdf } from '@noble/hashes/hkdf.js';
import { sha256 } from '@noble/hashes/sha2.js';
import { assertBytes, utf8Encode } from './encoding.js';
import { isLowOrderX25519, X25519_KEY_LENGTH } from './internal/hpke-suite.js';
import { canonicalBytes } from './jcs.js';
import { SecretBytes, secretKeyBytes } from './secret.js';
import type { RandomSource } from './shamir.js';

export const MASK_SEED_LENGTH = 32;
/** Longest mask (in uint32 words) expandMask produces: 2^26 words = 256 MiB of keystream. */
export const MAX_MASK_LENGTH = 2 ** 26;
export const PAIRWISE_KEY_LENGTH = 32;
export const AGREEMENT_KEY_LENGTH = X25519_KEY_LENGTH;
const POLY1305_TAG_LENGTH = 16;

const PRG_SALT = utf8Encode('tenzro.secagg.mask-prg/v1');
const PAIRWISE_SALT = utf8Encode('tenzro.secagg.pairwise-seed/v1');
const ZERO_NONCE = new Uint8Array(12);

/** PRG(seed) as `length` uint32 words (see the module header). */
export function expandMask(seed: Uint8Array, length: number, domain: string): Uint32Array {
  assertBytes(seed, 'seed');
  if (seed.length !== MASK_SEED_LENGTH) throw new RangeError(`seed must be ${MASK_SEED_LENGTH} bytes, got ${seed.length}`);
  if (typeof length !== 'number') throw new TypeError('length must be a number');
  if (!Number.isInteger(length) || length < 0 || length > MAX_MASK_LENGTH) {
    throw new RangeError(`length must be an integer from 0 to ${MAX_MASK_LENGTH}, got ${length}`);
  }
  if (typeof domain !== 'string') throw new TypeError('domain must be a string');
  if (domain.length === 0) throw new RangeError('domain must not be empty');
  const key = hkdf(sha256, seed, PRG_SALT, utf8Encode(domain), 32);
  const stream = chacha20(key, ZERO_NONCE, new Uint8Array(length * 4));
  key.fill(0);
  const out = new Uint32Array(length);
  const view = new DataView(stream.buffer, stream.byteOffset, stream.byteLength);
  for (let i = 0; i < length; i++) out[i] = view.getUint32(i * 4, true);
  stream.fill(0);
  return out;
}

export interface PairwiseContext {
  /** The session both parties belong to. */
  sessionId: string;
  /** The two party ids (either order; they are sorted before use). */
  parties: readonly [string, string];
  /** What the seed is for, e.g. "mask" or "share-encryption"; different purposes give unrelated seeds. */
  purpose: string;
}

function assertContext(context: PairwiseContext): { sessionId: string; parties: [string, string]; purpose: string } {
  if (typeof context !== 'object' || context === null) throw new TypeError('context must be an object');
  const { sessionId, parties, purpose } = context;
  if (typeof sessionId !== 'string' || sessionId.length === 0) throw new TypeError('context.sessionId must be a non-empty string');
  if (typeof purpose !== 'string' || purpose.length === 0) throw new TypeError('context.purpose must be a non-empty string');
  if (!Array.isArray(parties) || parties.length !== 2 || parties.some((p) => typeof p !== 'string' || p.length === 0)) {
    throw new TypeError('context.parties must be two non-empty party ids');
  }
  if (parties[0] === parties[1]) throw new RangeError('context.parties must be two different parties');
  const sorted: [string, string] = parties[0] < parties[1] ? [parties[0], parties[1]] : [parties[1], parties[0]];
  return { sessionId, parties: sorted, purpose };
}

/** The X25519 public key of a 32-byte private key (RFC 7748 §6.1). */
export function agreementPublicKey(privateKey: Uint8Array | SecretBytes): Uint8Array {
  return x25519.getPublicKey(secretKeyBytes(privateKey, 'privateKey', AGREEMENT_KEY_LENGTH));
}

/** Whether `publicKey` is a 32-byte X25519 public key that is not a low-order point. */
export function isValidAgreementPublicKey(publicKey: unknown): publicKey is Uint8Array {
  return publicKey instanceof Uint8Array && publicKey.length === AGREEMENT_KEY_LENGTH && !isLowOrderX25519(publicKey);
}

/**
 * HKDF-SHA256 over X25519(myPrivateKey, theirPublicKey), bound to the session, both parties (sorted) and
 * the purpose. Both sides of a pair get the same 32 bytes. RangeError for a low-order public key.
 */
export function pairwiseSeed(myPrivateKey: Uint8Array | SecretBytes, theirPublicKey: Uint8Array, context: PairwiseContext): Uint8Array {
  const privateKey = secretKeyBytes(myPrivateKey, 'myPrivateKey', AGREEMENT_KEY_LENGTH);
  assertBytes(theirPublicKey, 'theirPublicKey');
  if (theirPublicKey.length !== AGREEMENT_KEY_LENGTH) {
    throw new RangeError(`theirPublicKey must be ${AGREEMENT_KEY_LENGTH} bytes, got ${theirPublicKey.length}`);
  }
  if (isLowOrderX25519(theirPublicKey)) throw new RangeError('theirPublicKey is a low-order X25519 point and cannot be used');
  const { sessionId, parties, purpose } = assertContext(context);
  const shared = x25519.getSharedSecret(privateKey, theirPublicKey);
  const info = canonicalBytes({ type: 'tenzro.secagg.pairwise-seed/v1', sessionId, parties, purpose });
  const seed = hkdf(sha256, shared, PAIRWISE_SALT, info, PAIRWISE_KEY_LENGTH);
  shared.fill(0);
  return seed;
}

/** An AE ciphertext failed to open (wrong key, wrong direction, wrong aad or tampered): no detail, no oracle. */
export class PairwiseOpenError extends Error {
  readonly code = 'decryption_failed' as const;
  constructor(options?: { cause?: unknown }) {
    super('the pairwise ciphertext could not be opened', options);
    this.name = 'PairwiseOpenError';
  }
}

export interface PairwiseSealOptions {
  /** The party that seals. */
  sender: string;
  /** The party that opens. */
  recipient: string;
  /** Associated data bound to the ciphertext (authenticated, not encrypted). */
  aad: Uint8Array;
}

function directionNonce(options: PairwiseSealOptions): Uint8Array {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { sender, recipient, aad } = options;
  if (typeof sender !== 'string' || sender.length === 0) throw new TypeError('options.sender must be a non-empty string');
  if (typeof recipient !== 'string' || recipient.length === 0) throw new TypeError('options.recipient must be a non-empty string');
  if (sender === recipient) throw new RangeError('options.sender and options.recipient must differ');
  assertBytes(aad, 'options.aad');
  const nonce = new Uint8Array(12);
  nonce[0] = sender < recipient ? 1 : 2;
  return nonce;
}

/** ChaCha20-Poly1305 seal under a pairwise key; the nonce is the direction (one message per direction). */
export function sealPairwise(key: Uint8Array | SecretBytes, plaintext: Uint8Array, options: PairwiseSealOptions): Uint8Array {
  const raw = secretKeyBytes(key, 'key', PAIRWISE_KEY_LENGTH);
  assertBytes(plaintext, 'plaintext');
  const nonce = directionNonce(options);
  return chacha20poly1305(raw, nonce, options.aad).encrypt(plaintext);
}

/** Opens a sealPairwise ciphertext; PairwiseOpenError (code decryption_failed) for any failure. */
export function openPairwise(key: Uint8Array | SecretBytes, ciphertext: Uint8Array, options: PairwiseSealOptions): Uint8Array {
  const raw = secretKeyBytes(key, 'key', PAIRWISE_KEY_LENGTH);
  assertBytes(ciphertext, 'ciphertext');
  const nonce = directionNonce(options);
  if (ciphertext.length < POLY1305_TAG_LENGTH) throw new PairwiseOpenError();
  try {
    return chacha20poly1305(raw, nonce, options.aad).decrypt(ciphertext);
  } catch (cause) {
    throw new PairwiseOpenError({ cause });
  }
}

/**
 * Internal (not re-exported from index.ts): a deterministic byte source for known-answer tests and golden
 * vectors. Call i returns ChaCha20(key = seed, nonce = i as 96-bit little-endian) over `length` zero bytes.
 * Never use it for keys outside tests.
 */
export function deterministicRng(seed: Uint8Array): RandomSource {
  assertBytes(seed, 'seed');
  if (seed.length !== 32) throw new RangeError(`seed must be 32 bytes, got ${seed.length}`);
  const key = seed.slice();
  let call = 0;
  return (length: number) => {
    const nonce = new Uint8Array(12);
    new DataView(nonce.buffer).setUint32(0, call++, true);
    return chacha20(key, nonce, new Uint8Array(length));
  };
}
