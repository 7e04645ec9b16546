// Ed25519 signatures (RFC 8032 §5.1) through @noble/curves, and signed statements.
//
// Verification is strict RFC 8032 (§5.1.7) — noble's `zip215: false`: S must be below the group order L,
// A and R must be canonical encodings, and small-order public keys are refused. Verify functions never
// throw on malformed input; they return false.
//
// A statement is any JSON object with a versioned `type` ("tenzro.consent/v1"); its signature is over
// the RFC 8785 canonical bytes of the whole object, so a signature made for one kind of statement can
// never be replayed as another kind (DESIGN §5).

import { ed25519 } from '@noble/curves/ed25519.js';
import { assertBytes } from './encoding.js';
import { canonicalBytes } from './jcs.js';
import { SecretBytes, secretKeyBytes } from './secret.js';

export const ED25519_PUBLIC_KEY_LENGTH = 32;
export const ED25519_PRIVATE_KEY_LENGTH = 32;
export const ED25519_SIGNATURE_LENGTH = 64;

/**
 * A statement type: dotted lowercase namespace, "/v" and a version number, e.g. "tenzro.consent/v1",
 * "tenzro.session-terms/v2".
 */
export const STATEMENT_TYPE_PATTERN = /^[a-z][a-z0-9_-]*(?:\.[a-z][a-z0-9_-]*)+\/v[1-9][0-9]*$/;

export interface SigningKeyPair {
  publicKey: Uint8Array;
  /** The 32-byte RFC 8032 private key (seed). */
  privateKey: SecretBytes;
}

export interface Statement {
  type: string;
}

const STRICT = { zip215: false } as const;

/**
 * Whether `publicKey` is usable for strict verification: 32 bytes, a canonical encoding of a curve point
 * (RFC 8032 §5.1.3), and not of small order. Use it when registering a key, to fail early.
 */
export function isValidSigningPublicKey(publicKey: unknown): publicKey is Uint8Array {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_LENGTH) return false;
  try {
    return !ed25519.Point.fromBytes(publicKey, false).isSmallOrder();
  } catch {
    return false;
  }
}

/** A fresh Ed25519 key pair from the platform CSPRNG. */
export function generateSigningKeyPair(): SigningKeyPair {
  const seed = ed25519.utils.randomSecretKey();
  const pair = { publicKey: ed25519.getPublicKey(seed), privateKey: SecretBytes.from(seed) };
  seed.fill(0);
  return pair;
}

/** The public key of a 32-byte Ed25519 private key (RFC 8032 §5.1.5). */
export function signingPublicKeyFromPrivate(privateKey: Uint8Array | SecretBytes): Uint8Array {
  return ed25519.getPublicKey(secretKeyBytes(privateKey, 'privateKey', ED25519_PRIVATE_KEY_LENGTH));
}

/** Ed25519 signature (64 bytes) of `message` (RFC 8032 §5.1.6). */
export function ed25519Sign(privateKey: Uint8Array | SecretBytes, message: Uint8Array): Uint8Array {
  const key = secretKeyBytes(privateKey, 'privateKey', ED25519_PRIVATE_KEY_LENGTH);
  assertBytes(message, 'message');
  return ed25519.sign(message, key);
}

/**
 * Strict RFC 8032 §5.1.7 verification. Returns false (never throws) for a wrong signature and for
 * malformed input of any kind: wrong types, wrong lengths, non-canonical points, S ≥ L, small-order keys.
 */
export function ed25519Verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== ED25519_PUBLIC_KEY_LENGTH) return false;
  if (!(message instanceof Uint8Array)) return false;
  if (!(signature instanceof Uint8Array) || signature.length !== ED25519_SIGNATURE_LENGTH) return false;
  try {
    return ed25519.verify(signature, message, publicKey, STRICT);
  } catch {
    return false;
  }
}

/** Whether `type` is a versioned statement type such as "tenzro.consent/v1". */
export function isStatementType(type: unknown): type is string {
  return typeof type === 'string' && STATEMENT_TYPE_PATTERN.test(type);
}

function assertStatement(statement: unknown): asserts statement is Statement {
  if (typeof statement !== 'object' || statement === null || Array.isArray(statement)) {
    throw new TypeError('statement must be a JSON object');
  }
  const type = (statement as { type?: unknown }).type;
  if (type === undefined) throw new TypeError('statement.type is missing');
  if (!isStatementType(type)) {
    throw new TypeError(`statement.type must be a versioned type such as "tenzro.consent/v1", got ${JSON.stringify(type)}`);
  }
}

/** Ed25519 over canonicalBytes(statement). TypeError if `statement.type` is missing or unversioned. */
export function signStatement<T extends Statement>(privateKey: Uint8Array | SecretBytes, statement: T): Uint8Array {
  const key = secretKeyBytes(privateKey, 'privateKey', ED25519_PRIVATE_KEY_LENGTH);
  assertStatement(statement);
  return ed25519.sign(canonicalBytes(statement), key);
}

/**
 * Verifies a signStatement signature. Returns false (never throws) when the signature is wrong, the
 * statement has no versioned type, or it is not canonicalisable JSON.
 */
export function verifyStatement<T extends Statement>(publicKey: Uint8Array, statement: T, signature: Uint8Array): boolean {
  let message: Uint8Array;
  try {
    assertStatement(statement);
    message = canonicalBytes(statement);
  } catch {
    return false;
  }
  return ed25519Verify(publicKey, message, signature);
}
