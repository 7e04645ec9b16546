/**
 * Party identities (DESIGN §4): a party id with an Ed25519 signing key pair (consents, roster statements)
 * and an X25519 encryption key pair (sealed results). The key file is plain JSON, keys as base64url of
 * their raw bytes:
 *
 *     { "partyId": "party::bankA::treasury",
 *       "signingKey":    { "publicKey": "…", "privateKey": "…" },
 *       "encryptionKey": { "publicKey": "…", "privateKey": "…" } }
 *
 * The private keys never leave the party: only the public halves are registered with the platform.
 */
import {
  SecretBytes,
  encryptionPublicKeyFromPrivate,
  equalBytes,
  fromBase64Url,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  parseStrictJson,
  signingPublicKeyFromPrivate,
  toBase64Url,
} from '@tenzro/crypto';
import { PARTY_ID_PATTERN } from '@tenzro/protocol';
import { z } from 'zod';

const Key32 = z
  .string()
  .regex(/^[A-Za-z0-9_-]{43}$/, 'must be 32 bytes as base64url without padding');

const KeyPairText = z.strictObject({ publicKey: Key32, privateKey: Key32 });

/** The schema of a party key file. */
export const PartyKeyFile = z.strictObject({
  partyId: z.string().regex(PARTY_ID_PATTERN, 'must be party::<tenantId>::<name>'),
  signingKey: KeyPairText,
  encryptionKey: KeyPairText,
});

/** A party's identity as its key file holds it (JSON-serialisable; write it with mode 0600). */
export interface PartyIdentity {
  partyId: string;
  signingKey: { publicKey: string; privateKey: string };
  encryptionKey: { publicKey: string; privateKey: string };
}

/** A key file that does not parse, or whose public keys are not those of its private keys. */
export class PartyIdentityError extends Error {
  readonly code = 'invalid_party_identity' as const;

  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'PartyIdentityError';
  }
}

/** The identity in the form the SDK works with: private keys held as SecretBytes. */
export interface PartyKeys {
  partyId: string;
  signingPublicKey: Uint8Array;
  signingPrivateKey: SecretBytes;
  encryptionPublicKey: Uint8Array;
  encryptionPrivateKey: SecretBytes;
}

/** A fresh identity: Ed25519 and X25519 key pairs from the platform CSPRNG. */
export async function generatePartyIdentity(partyId: string): Promise<PartyIdentity> {
  if (typeof partyId !== 'string') throw new TypeError('partyId must be a string');
  if (!PARTY_ID_PATTERN.test(partyId)) throw new TypeError('partyId must be of the form party::<tenantId>::<name>');
  const signing = generateSigningKeyPair();
  const encryption = await generateEncryptionKeyPair();
  try {
    return {
      partyId,
      signingKey: { publicKey: toBase64Url(signing.publicKey), privateKey: toBase64Url(signing.privateKey.expose()) },
      encryptionKey: {
        publicKey: toBase64Url(encryption.publicKey),
        privateKey: toBase64Url(encryption.privateKey.expose()),
      },
    };
  } finally {
    signing.privateKey.destroy();
    encryption.privateKey.destroy();
  }
}

/** Schema-checks a key file (JSON text or the parsed object) without touching the keys' mathematics. */
export function parsePartyKeyFile(json: unknown): PartyIdentity {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = parseStrictJson(json, { maxDepth: 4 });
    } catch (cause) {
      throw new PartyIdentityError('party key file is not valid JSON', { cause });
    }
  }
  const parsed = PartyKeyFile.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? issue.path.join('.') : 'party key file';
    throw new PartyIdentityError(`${where}: ${issue?.message ?? 'invalid'}`, { cause: parsed.error });
  }
  const { partyId, signingKey, encryptionKey } = parsed.data;
  return {
    partyId,
    signingKey: { publicKey: signingKey.publicKey, privateKey: signingKey.privateKey },
    encryptionKey: { publicKey: encryptionKey.publicKey, privateKey: encryptionKey.privateKey },
  };
}

/**
 * Opens a key file into SecretBytes-held keys, checking that each public key is the one its private key
 * derives (so a file with a swapped or corrupted half is refused before anything is signed or opened).
 */
export async function openPartyKeys(json: unknown): Promise<PartyKeys> {
  const identity = parsePartyKeyFile(json);
  const signingPrivate = fromBase64Url(identity.signingKey.privateKey, 'signingKey.privateKey');
  const encryptionPrivate = fromBase64Url(identity.encryptionKey.privateKey, 'encryptionKey.privateKey');
  const signingPrivateKey = SecretBytes.from(signingPrivate);
  const encryptionPrivateKey = SecretBytes.from(encryptionPrivate);
  signingPrivate.fill(0);
  encryptionPrivate.fill(0);
  const signingPublicKey = fromBase64Url(identity.signingKey.publicKey, 'signingKey.publicKey');
  const encryptionPublicKey = fromBase64Url(identity.encryptionKey.publicKey, 'encryptionKey.publicKey');
  try {
    let derivedEncryption: Uint8Array;
    try {
      derivedEncryption = await encryptionPublicKeyFromPrivate(encryptionPrivateKey);
    } catch (cause) {
      throw new PartyIdentityError('encryptionKey.privateKey is not a usable X25519 private key', { cause });
    }
    if (!equalBytes(signingPublicKeyFromPrivate(signingPrivateKey), signingPublicKey)) {
      throw new PartyIdentityError('signingKey.publicKey does not match signingKey.privateKey');
    }
    if (!equalBytes(derivedEncryption, encryptionPublicKey)) {
      throw new PartyIdentityError('encryptionKey.publicKey does not match encryptionKey.privateKey');
    }
  } catch (error) {
    signingPrivateKey.destroy();
    encryptionPrivateKey.destroy();
    throw error;
  }
  return { partyId: identity.partyId, signingPublicKey, signingPrivateKey, encryptionPublicKey, encryptionPrivateKey };
}

/**
 * Parses a key file (JSON text or object) and checks that its public keys match its private keys.
 * Returns a fresh copy; the input is not modified.
 */
export async function loadPartyIdentity(json: unknown): Promise<PartyIdentity> {
  const keys = await openPartyKeys(json);
  keys.signingPrivateKey.destroy();
  keys.encryptionPrivateKey.destroy();
  return parsePartyKeyFile(json);
}
