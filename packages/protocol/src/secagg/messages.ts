// Wire messages of the four stages (Bonawitz et al. CCS 2017 §4, Figure 4). Every party message is a
// statement with a versioned `type`, signed with the party's roster key: Ed25519 over its RFC 8785
// canonical bytes (signStatement), sent as `{ body, signature }` with base64url bytes. Parsed with zod at
// the boundary; a message of another stage is refused as stage_out_of_order.

import { canonicalBytes, concatBytes, fromBase64Url, sha256, signStatement, toBase64Url, toHex, verifyStatement, type SecretBytes } from '@tenzro/crypto';
import { z } from 'zod';
import { Base64Url, PartyId, SessionId } from '../primitives.js';
import { partyIndex, signingKeyOf, type SecAggConfig } from './config.js';
import { SecAggError, type SecAggStage } from './errors.js';

export const SECAGG_TYPES = {
  advertise: 'tenzro.secagg.advertise/v1',
  shareKeys: 'tenzro.secagg.share-keys/v1',
  maskedInput: 'tenzro.secagg.masked-input/v1',
  unmaskRequest: 'tenzro.secagg.unmask-request/v1',
  unmask: 'tenzro.secagg.unmask/v1',
  shareCiphertext: 'tenzro.secagg.share-ciphertext/v1',
} as const;

const KNOWN_TYPES: ReadonlySet<string> = new Set(Object.values(SECAGG_TYPES));

export const AdvertiseBody = z
  .object({
    type: z.literal(SECAGG_TYPES.advertise),
    sessionId: SessionId,
    partyId: PartyId,
    cPublicKey: Base64Url,
    sPublicKey: Base64Url,
  })
  .strict();

export const ShareKeysBody = z
  .object({
    type: z.literal(SECAGG_TYPES.shareKeys),
    sessionId: SessionId,
    partyId: PartyId,
    ciphertexts: z.array(z.object({ to: PartyId, ciphertext: Base64Url }).strict()),
  })
  .strict();

export const MaskedInputBody = z
  .object({
    type: z.literal(SECAGG_TYPES.maskedInput),
    sessionId: SessionId,
    partyId: PartyId,
    maskedInput: Base64Url,
  })
  .strict();

const ShareOf = z.object({ of: PartyId, share: Base64Url }).strict();

export const UnmaskBody = z
  .object({
    type: z.literal(SECAGG_TYPES.unmask),
    sessionId: SessionId,
    partyId: PartyId,
    selfMaskShares: z.array(ShareOf),
    pairwiseKeyShares: z.array(ShareOf),
  })
  .strict();

/** The server's stage-3 request (unsigned: the server has no roster key; clients check it instead). */
export const UnmaskRequest = z
  .object({
    type: z.literal(SECAGG_TYPES.unmaskRequest),
    sessionId: SessionId,
    /** Parties whose masked input arrived: reveal their self-mask (b) shares. */
    selfMaskShares: z.array(PartyId),
    /** Parties that dropped after sharing keys: reveal their pairwise secret-key (s^SK) shares. */
    pairwiseKeyShares: z.array(PartyId),
  })
  .strict();

export type AdvertiseBody = z.infer<typeof AdvertiseBody>;
export type ShareKeysBody = z.infer<typeof ShareKeysBody>;
export type MaskedInputBody = z.infer<typeof MaskedInputBody>;
export type UnmaskBody = z.infer<typeof UnmaskBody>;
export type UnmaskRequest = z.infer<typeof UnmaskRequest>;

export interface Signed<T> {
  body: T;
  signature: string;
}

export type SignedAdvertise = Signed<AdvertiseBody>;
export type SignedShareKeys = Signed<ShareKeysBody>;
export type SignedMaskedInput = Signed<MaskedInputBody>;
export type SignedUnmask = Signed<UnmaskBody>;

export function signBody<T extends { type: string }>(signingKey: Uint8Array | SecretBytes, body: T): Signed<T> {
  return { body, signature: toBase64Url(signStatement(signingKey, body)) };
}

/** Parses one body with `schema`, telling a message of another stage (stage_out_of_order) from garbage. */
export function parseBody<S extends z.ZodType>(schema: S, value: unknown, stage: SecAggStage, expectedType: string): z.infer<S> {
  const type = (value as { type?: unknown } | null)?.type;
  if (typeof type === 'string' && KNOWN_TYPES.has(type) && type !== expectedType) {
    throw new SecAggError('stage_out_of_order', stage, `expected a ${expectedType} message, got ${type}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) throw new SecAggError('invalid_message', stage, `not a valid ${expectedType} message: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

// Triples (roster key, canonical body, signature) that verified, by SHA-256: content-addressed, so a hit is
// exactly a signature that was checked before. The same U1 and U2 messages are checked by every party of a
// process that plays several (the demo, tests), twice by collectAdvertisements, and again by the enclave
// on a retried run; this keeps that at one Ed25519 verification each. Bounded; only successes are kept.
const VERIFIED = new Set<string>();
const VERIFIED_LIMIT = 65_536;

function verifiedBefore(publicKey: Uint8Array, body: object, signature: Uint8Array): { hit: boolean; key: string } {
  const key = toHex(sha256(concatBytes(publicKey, signature, canonicalBytes(body))));
  return { hit: VERIFIED.has(key), key };
}

function remember(key: string): void {
  if (VERIFIED.size >= VERIFIED_LIMIT) VERIFIED.delete(VERIFIED.values().next().value!);
  VERIFIED.add(key);
}

/** Internal (tests and measurements): forget every remembered verification. */
export function forgetVerifiedSignatures(): void {
  VERIFIED.clear();
}

/**
 * Parses a signed party message and checks session, roster membership and signature, in that order.
 */
export function parseSigned<S extends z.ZodType<{ type: string; sessionId: string; partyId: string }>>(
  config: SecAggConfig,
  schema: S,
  value: unknown,
  stage: SecAggStage,
  expectedType: string,
): Signed<z.infer<S>> {
  if (typeof value !== 'object' || value === null) throw new SecAggError('invalid_message', stage, 'a message must be { body, signature }');
  const { body: rawBody, signature } = value as { body?: unknown; signature?: unknown };
  const keys = Object.keys(value);
  if (keys.length !== 2 || !keys.includes('body') || !keys.includes('signature')) {
    throw new SecAggError('invalid_message', stage, 'a message must be exactly { body, signature }');
  }
  const body = parseBody(schema, rawBody, stage, expectedType);
  if (body.sessionId !== config.sessionId) throw new SecAggError('wrong_session', stage, `message of ${body.partyId} is for another session`);
  const publicKey = signingKeyOf(config, body.partyId);
  if (publicKey === undefined || partyIndex(config, body.partyId) === undefined) {
    throw new SecAggError('unknown_party', stage, `${body.partyId} is not in the roster`);
  }
  if (typeof signature !== 'string' || !/^[A-Za-z0-9_-]{86}$/.test(signature)) {
    throw new SecAggError('invalid_signature', stage, `signature of ${body.partyId} is malformed`);
  }
  const signatureBytes = fromBase64Url(signature, 'signature');
  const { hit, key } = verifiedBefore(publicKey, body, signatureBytes);
  if (!hit) {
    if (!verifyStatement(publicKey, body, signatureBytes)) {
      throw new SecAggError('invalid_signature', stage, `signature of ${body.partyId} does not verify under its roster key`);
    }
    remember(key);
  }
  return { body, signature };
}

/** Decodes base64url bytes of an exact length, else invalid_message naming the field. */
export function decodeBytes(text: string, length: number | undefined, stage: SecAggStage, name: string): Uint8Array {
  let bytes: Uint8Array;
  try {
    bytes = fromBase64Url(text, name);
  } catch (cause) {
    throw new SecAggError('invalid_message', stage, `${name} is not base64url`, { cause });
  }
  if (length !== undefined && bytes.length !== length) {
    throw new SecAggError('invalid_message', stage, `${name} must be ${length} bytes, got ${bytes.length}`);
  }
  return bytes;
}
