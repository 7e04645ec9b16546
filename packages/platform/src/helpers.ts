/**
 * The product doc's free-standing helpers: encrypt to a session key, commit to data, sign a consent.
 * They work exactly as the doc calls them:
 *
 *     const encryptedData = await encryptWithSessionKey(JSON.stringify(data), sessionKey.publicKey);
 *     const commitment = await hashCommitment(data);
 *     const signature = await signConsent(session.id, myPrivateKey);
 */
import { DATA_INFO, SecretBytes, fromBase64Url, sealEnvelope, toBase64Url, utf8Encode } from '@tenzro/crypto';
import { ConsentFlags, FULL_CONSENT, SESSION_ID_PATTERN, signConsentStatement } from '@tenzro/protocol';
import type { PartyIdentity } from './identity.js';

export { hashCommitment, saltedCommitment } from '@tenzro/crypto';

/**
 * Seals `text` (a string, encoded as UTF-8, or bytes) to a session's public key (DESIGN §5.3): a chunked
 * HPKE envelope with info "tenzro/mpi/v1/data". Returns the envelope as base64url, the form
 * `submitSessionData` takes. Get the key from `platform.ai.getSessionKey`, which verifies its attestation.
 */
export async function encryptWithSessionKey(text: string | Uint8Array, publicKey: string | Uint8Array): Promise<string> {
  let plaintext: Uint8Array;
  if (typeof text === 'string') plaintext = utf8Encode(text);
  else if (text instanceof Uint8Array) plaintext = text;
  else throw new TypeError('text must be a string or a Uint8Array');
  let key: Uint8Array;
  if (typeof publicKey === 'string') key = fromBase64Url(publicKey, 'publicKey');
  else if (publicKey instanceof Uint8Array) key = publicKey;
  else throw new TypeError('publicKey must be a base64url string or a Uint8Array');
  if (key.length !== 32) throw new RangeError(`publicKey must be a 32-byte X25519 key, got ${key.length} bytes`);
  return toBase64Url(await sealEnvelope(key, plaintext, { info: DATA_INFO }));
}

/** The signing private key of a consent: raw bytes, their base64url, a SecretBytes, or a party identity. */
export type ConsentSigningKey = string | Uint8Array | SecretBytes | PartyIdentity;

function signingKeyBytes(privateKey: ConsentSigningKey): Uint8Array | SecretBytes {
  if (typeof privateKey === 'string') return fromBase64Url(privateKey, 'privateKey');
  if (privateKey instanceof Uint8Array || privateKey instanceof SecretBytes) return privateKey;
  if (typeof privateKey === 'object' && privateKey !== null && typeof privateKey.signingKey?.privateKey === 'string') {
    return fromBase64Url(privateKey.signingKey.privateKey, 'privateKey.signingKey.privateKey');
  }
  throw new TypeError('privateKey must be a base64url string, a Uint8Array, a SecretBytes or a party identity');
}

/**
 * Signs the consent statement `JCS({ type: "tenzro.consent/v1", sessionId, consent })` (DESIGN §5.5) with
 * an Ed25519 private key; `consent` defaults to all four flags true. Returns the signature as base64url.
 */
export async function signConsent(
  sessionId: string,
  privateKey: ConsentSigningKey,
  consent: ConsentFlags = FULL_CONSENT,
): Promise<string> {
  if (typeof sessionId !== 'string' || !SESSION_ID_PATTERN.test(sessionId)) {
    throw new TypeError('sessionId must be a session id (mps_…)');
  }
  const flags = ConsentFlags.safeParse(consent);
  if (!flags.success) throw new TypeError('consent must have the four boolean flags dataUsage, resultSharing, attestationSharing, retentionAcknowledged');
  const key = signingKeyBytes(privateKey);
  if (key instanceof Uint8Array && key.length !== 32) {
    throw new RangeError(`privateKey must be a 32-byte Ed25519 private key, got ${key.length} bytes`);
  }
  const signature = signConsentStatement(sessionId, key, flags.data);
  if (key instanceof Uint8Array && key !== privateKey) key.fill(0);
  return signature;
}
