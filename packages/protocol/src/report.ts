/**
 * The result report (DESIGN §5.7) and the sealed result body. The report is attested: the attestation's
 * `user_data` is SHA-256 of the report's canonical JSON, and `resultHash` is SHA-256 of the canonical JSON
 * of the shared result, so every recipient can check it received what everyone else received.
 */
import { z } from 'zod';
import { canonicalBytes, leafHash, merkleRoot, sha256, toHex, utf8Encode } from '@tenzro/crypto';
import { Commitment, PartyId, SessionId } from './primitives.js';

export const RESULT_REPORT_TYPE = 'tenzro.result/v1';
export const RESULT_BODY_TYPE = 'tenzro.result-body/v1';

export const InferenceParameters = z.strictObject({
  maxTokens: z.number().int().min(1).max(32768).optional(),
  temperature: z.number().min(0).max(2).optional(),
  /**
   * The language-model backend that writes `content` (one the enclave offers for the model, see
   * GET /v1/models). Absent in a request: `deterministic`. The enclave records the one it used in the report.
   */
  backend: z.string().regex(/^[a-z][a-z0-9-]{0,39}$/).optional(),
});
export type InferenceParameters = z.infer<typeof InferenceParameters>;

export const ResultReport = z.strictObject({
  type: z.literal(RESULT_REPORT_TYPE),
  sessionId: SessionId,
  runId: z.string().min(1).max(64),
  modelId: z.string(),
  modelDigest: z.string(),
  promptHash: z.string(),
  parameters: InferenceParameters,
  participantCount: z.number().int().min(1),
  includedParties: z.array(PartyId),
  aggregatedDataHash: z.string(),
  resultHash: z.string(),
  releasedAt: z.iso.datetime({ offset: false }),
});
export type ResultReport = z.infer<typeof ResultReport>;

export const SharedResult = z.strictObject({
  content: z.string(),
  findings: z.record(z.string(), z.unknown()),
});
export type SharedResult = z.infer<typeof SharedResult>;

export const FlaggedTransaction = z.strictObject({
  transactionId: z.string(),
  score: z.number(),
  reasons: z.array(z.string()),
});

export const PrivateFindings = z
  .object({ flagged: z.array(FlaggedTransaction) })
  .catchall(z.unknown());
export type PrivateFindings = z.infer<typeof PrivateFindings>;

/** What is sealed to one recipient: the shared result, and that recipient's private findings, if any. */
export const ResultBody = z.strictObject({
  type: z.literal(RESULT_BODY_TYPE),
  sessionId: SessionId,
  runId: z.string(),
  recipient: PartyId,
  shared: SharedResult,
  privateFindings: PrivateFindings.optional(),
});
export type ResultBody = z.infer<typeof ResultBody>;

export function sha256Tagged(bytes: Uint8Array): string {
  return 'sha256:' + toHex(sha256(bytes));
}

export function reportHash(report: ResultReport): string {
  return sha256Tagged(canonicalBytes(report));
}

/** The bytes an attestation binds a report with (its `user_data`). */
export function reportDigest(report: ResultReport): Uint8Array {
  return sha256(canonicalBytes(report));
}

export function resultHash(shared: SharedResult): string {
  return sha256Tagged(canonicalBytes(shared));
}

export function promptHash(prompt: string): string {
  return sha256Tagged(utf8Encode(prompt));
}

export const IncludedContribution = z.strictObject({ partyId: PartyId, commitment: Commitment });
export type IncludedContribution = z.infer<typeof IncludedContribution>;

/**
 * DESIGN §5.6: RFC 9162 Merkle root over the included contributions' commitments, sorted by party id.
 * Leaf i is `JCS({ partyId, commitment })`, so a party can prove both that it is in and what it committed.
 */
export function aggregatedDataLeaves(contributions: IncludedContribution[]): Uint8Array[] {
  return [...contributions]
    .sort((a, b) => (a.partyId < b.partyId ? -1 : a.partyId > b.partyId ? 1 : 0))
    .map((c) => leafHash(canonicalBytes({ partyId: c.partyId, commitment: c.commitment })));
}

export function aggregatedDataHash(contributions: IncludedContribution[]): string {
  return 'sha256:' + toHex(merkleRoot(aggregatedDataLeaves(contributions)));
}
