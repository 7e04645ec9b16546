// Single-shot HPKE (RFC 9180) in base mode with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and AES-256-GCM
// (DESIGN §5.3), through @hpke/core, which runs on WebCrypto. For payloads of any size use the chunked
// envelope (envelope.ts), which builds on the same suite.
//
// Keys: X25519 private keys are any 32 bytes (RFC 7748 §5 clamps at use); public keys must be 32 bytes
// and not one of the low-order points whose shared secret is all zeros (RFC 7748 §6.1). Every failure to
// open is the same OpenError ('decryption_failed') with the same message, so a caller learns nothing
// about why (no oracle).

import { x25519 } from '@noble/curves/ed25519.js';
import { assertBytes } from './encoding.js';
import {
  X25519_KEY_LENGTH,
  assertEncryptionPublicKey,
  infoBytes,
  isLowOrderX25519,
  setupBaseRecipient,
  setupBaseSender,
} from './internal/hpke-suite.js';
import { randomBytes } from './random.js';
import { SecretBytes, secretKeyBytes } from './secret.js';

/** The one HPKE suite this project uses (RFC 9180 ids 0x0020 / 0x0001 / 0x0002). */
export const HPKE_SUITE = 'DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM';

export interface EncryptionKeyPair {
  publicKey: Uint8Array;
  /** The 32-byte X25519 private key. */
  privateKey: SecretBytes;
}

export interface HpkeOptions {
  /** Application context bound into the key schedule, e.g. DATA_INFO. */
  info: string;
  /** Additional authenticated data (not encrypted, but must match on open). */
  aad?: Uint8Array;
}

export interface HpkeCiphertext {
  /** The encapsulated ephemeral public key (32 bytes). */
  enc: Uint8Array;
  ciphertext: Uint8Array;
}

/** Raised when encryption fails (after the arguments were checked). */
export class SealError extends Error {
  readonly code = 'seal_failed' as const;
  constructor(options?: { cause?: unknown }) {
    super('encryption failed', options);
    this.name = 'SealError';
  }
}

/** Raised for every failure to decrypt, whatever the reason: the message never says which. */
export class OpenError extends Error {
  readonly code = 'decryption_failed' as const;
  constructor(options?: { cause?: unknown }) {
    super('decryption failed', options);
    this.name = 'OpenError';
  }
}

/** Whether `publicKey` is a usable X25519 public key: 32 bytes and not a low-order point. */
export function isValidEncryptionPublicKey(publicKey: unknown): publicKey is Uint8Array {
  return publicKey instanceof Uint8Array && publicKey.length === X25519_KEY_LENGTH && !isLowOrderX25519(publicKey);
}

/** A fresh X25519 key pair from the platform CSPRNG. */
export async function generateEncryptionKeyPair(): Promise<EncryptionKeyPair> {
  const secret = randomBytes(X25519_KEY_LENGTH);
  const pair = { publicKey: x25519.getPublicKey(secret), privateKey: SecretBytes.from(secret) };
  secret.fill(0);
  return pair;
}

/** The X25519 public key of a 32-byte private key (RFC 7748 §6.1). */
export async function encryptionPublicKeyFromPrivate(privateKey: Uint8Array | SecretBytes): Promise<Uint8Array> {
  return x25519.getPublicKey(secretKeyBytes(privateKey, 'privateKey', X25519_KEY_LENGTH));
}

function checkOptions(options: unknown): { info: Uint8Array; aad: Uint8Array | undefined } {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object with info');
  const { info, aad } = options as { info?: unknown; aad?: unknown };
  if (aad !== undefined) assertBytes(aad, 'options.aad');
  return { info: infoBytes(info), aad: aad as Uint8Array | undefined };
}

/** RFC 9180 §6.1 single-shot SealBase to `recipientPublicKey`. */
export async function hpkeSeal(
  recipientPublicKey: Uint8Array,
  plaintext: Uint8Array,
  options: HpkeOptions,
): Promise<HpkeCiphertext> {
  assertEncryptionPublicKey(recipientPublicKey, 'recipientPublicKey');
  assertBytes(plaintext, 'plaintext');
  const { info, aad } = checkOptions(options);
  try {
    const context = await setupBaseSender(recipientPublicKey, info);
    const ciphertext = await context.seal(plaintext, aad);
    return { enc: new Uint8Array(context.enc), ciphertext: new Uint8Array(ciphertext) };
  } catch (cause) {
    throw new SealError({ cause });
  }
}

/** RFC 9180 §6.1 single-shot OpenBase. Any failure (wrong key, info, aad, tampering) is OpenError. */
export async function hpkeOpen(
  recipientPrivateKey: Uint8Array | SecretBytes,
  sealed: HpkeCiphertext,
  options: HpkeOptions,
): Promise<Uint8Array> {
  const secret = secretKeyBytes(recipientPrivateKey, 'recipientPrivateKey', X25519_KEY_LENGTH);
  if (typeof sealed !== 'object' || sealed === null) throw new TypeError('sealed must be an object with enc and ciphertext');
  assertBytes(sealed.enc, 'sealed.enc');
  assertBytes(sealed.ciphertext, 'sealed.ciphertext');
  const { info, aad } = checkOptions(options);
  if (sealed.enc.length !== X25519_KEY_LENGTH || isLowOrderX25519(sealed.enc)) throw new OpenError();
  try {
    const context = await setupBaseRecipient(secret, sealed.enc, info);
    return new Uint8Array(await context.open(sealed.ciphertext, aad));
  } catch (cause) {
    throw new OpenError({ cause });
  }
}
