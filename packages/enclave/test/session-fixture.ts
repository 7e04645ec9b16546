// Test support: parties, session terms (built with protocol's helpers, as the server builds them),
// encrypted submissions written to a blob directory, and consents.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DATA_INFO,
  fromBase64Url,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  hashCommitment,
  randomBytes,
  saltedCommitment,
  sealEnvelope,
  toBase64Url,
  utf8Encode,
  type SecretBytes,
} from '@tenzro/crypto';
import {
  FULL_CONSENT,
  SESSION_TERMS_TYPE,
  computeSessionId,
  normalizeDataPolicy,
  signConsentStatement,
  type ConsentFlags,
  type DataPolicyInput,
  type SessionTerms,
} from '@tenzro/protocol';

export interface Party {
  partyId: string;
  signingPublicKey: Uint8Array;
  signingPrivateKey: SecretBytes;
  encryptionPublicKey: Uint8Array;
  encryptionPrivateKey: SecretBytes;
}

export async function makeParty(partyId: string): Promise<Party> {
  const signing = generateSigningKeyPair();
  const encryption = await generateEncryptionKeyPair();
  return {
    partyId,
    signingPublicKey: signing.publicKey,
    signingPrivateKey: signing.privateKey,
    encryptionPublicKey: encryption.publicKey,
    encryptionPrivateKey: encryption.privateKey,
  };
}

export interface SessionSpec {
  participants: Party[];
  observers?: Party[];
  modelId: string;
  modelDigest: string;
  dataPolicy?: DataPolicyInput;
  /** Default: 24 h from now. */
  expiresAt?: string;
}

export function makeTerms(spec: SessionSpec): { terms: SessionTerms; sessionId: string } {
  const now = Date.now();
  const terms: SessionTerms = {
    type: SESSION_TERMS_TYPE,
    tenantId: 'bankA',
    name: 'enclave test session',
    description: 'built by the enclave tests',
    modelId: spec.modelId,
    modelDigest: spec.modelDigest,
    participants: spec.participants.map((p) => ({
      partyId: p.partyId,
      signingKey: toBase64Url(p.signingPublicKey),
      encryptionKey: toBase64Url(p.encryptionPublicKey),
    })),
    observers: (spec.observers ?? []).map((o) => ({ partyId: o.partyId, encryptionKey: toBase64Url(o.encryptionPublicKey) })),
    dataPolicy: normalizeDataPolicy(spec.dataPolicy ?? {}, spec.participants.length),
    expiresAt: spec.expiresAt ?? new Date(now + 24 * 3600_000).toISOString(),
    createdAt: new Date(spec.expiresAt === undefined ? now : Math.min(now, Date.parse(spec.expiresAt) - 3600_000)).toISOString(),
    nonce: toBase64Url(randomBytes(16)),
  };
  return { terms, sessionId: computeSessionId(terms) };
}

export interface WrittenSubmission {
  partyId: string;
  blobPath: string;
  commitment: string;
  commitmentScheme: 'plain' | 'salted';
  dataSchema: string;
}

/** Encrypts `plaintext` (bytes) to the session key into `dir/<name>` and returns its path. */
export async function writeBlob(dir: string, name: string, sessionPublicKey: string, plaintext: Uint8Array): Promise<string> {
  const envelope = await sealEnvelope(fromBase64Url(sessionPublicKey), plaintext, { info: DATA_INFO, chunkSize: 4096 });
  const path = join(dir, name);
  await writeFile(path, envelope);
  return path;
}

/** A plain-commitment submission of `data`, as the product doc's flow makes it. */
export async function plainSubmission(
  dir: string,
  sessionPublicKey: string,
  partyId: string,
  data: unknown,
  dataSchema: string,
): Promise<WrittenSubmission> {
  const name = `${partyId.replace(/[^a-zA-Z0-9]/g, '_')}-${toBase64Url(randomBytes(6))}.tze`;
  const blobPath = await writeBlob(dir, name, sessionPublicKey, utf8Encode(JSON.stringify(data)));
  return { partyId, blobPath, commitment: await hashCommitment(data), commitmentScheme: 'plain', dataSchema };
}

/** A salted submission: the payload carries `{ type: 'tenzro.contribution/v1', salt, data }`. */
export async function saltedSubmission(
  dir: string,
  sessionPublicKey: string,
  partyId: string,
  data: unknown,
  dataSchema: string,
): Promise<WrittenSubmission> {
  const salt = randomBytes(32);
  const payload = { type: 'tenzro.contribution/v1', salt: toBase64Url(salt), data };
  const name = `${partyId.replace(/[^a-zA-Z0-9]/g, '_')}-${toBase64Url(randomBytes(6))}.tze`;
  const blobPath = await writeBlob(dir, name, sessionPublicKey, utf8Encode(JSON.stringify(payload)));
  return { partyId, blobPath, commitment: await saltedCommitment(salt, data), commitmentScheme: 'salted', dataSchema };
}

export function consentOf(party: Party, sessionId: string, consent: ConsentFlags = FULL_CONSENT) {
  return { partyId: party.partyId, consent, signature: signConsentStatement(sessionId, party.signingPrivateKey, consent) };
}
