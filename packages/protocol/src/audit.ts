/**
 * The verifiable audit trail (issue 3): every session event is a leaf of one append-only RFC 9162 Merkle
 * log; the host signs tree heads with its log key (Ed25519); the SDK checks inclusion and consistency
 * proofs offline. A leaf's bytes are `JCS(event)` and its hash `leafHash(JCS(event))` (RFC 9162 §2.1.1).
 *
 * Events carry ids, hashes, commitments, signatures, attestation documents and refusal codes only — never
 * party data. Digests of documents are `sha256:` + hex SHA-256 of the document bytes.
 */
import { z } from 'zod';
import { canonicalBytes, leafHash, sha256 } from '@tenzro/crypto';
import { Base64Url, Commitment, PartyId, SessionId, TenantId } from './primitives.js';
import { ConsentFlags } from './consent.js';
import { ResultReport, sha256Tagged } from './report.js';

export const AUDIT_EVENT_TYPE = 'tenzro.audit-event/v1';
export const TREE_HEAD_TYPE = 'tenzro.tree-head/v1';
export const DELETION_STATEMENT_TYPE = 'tenzro.deletion/v1';

export const AuditEventKind = z.enum([
  'session_created',
  'session_joined',
  'key_issued',
  'data_submitted',
  'submission_rejected',
  'consent_recorded',
  'run_requested',
  'run_started',
  'run_failed',
  'run_requeued',
  'result_released',
  'data_destroyed',
  'key_destroyed',
  'deletion_attested',
  'session_cancelled',
  'session_expired',
  'access_denied',
  'party_registered',
  'tenant_created',
  'consent_revoked',
  /** Secure aggregation: a stage closed (or the round failed there); payload names the stage, how, and who. */
  'secagg_stage_closed',
  /** Secure aggregation: the host published a run's unmask request (stage 3). */
  'secagg_unmask_requested',
  /** Secure aggregation: a survivor's unmask answer arrived (a ciphertext to the session key, by hash). */
  'secagg_unmask_received',
]);
export type AuditEventKind = z.infer<typeof AuditEventKind>;

/**
 * Payloads the verifier relies on are pinned here; the others are free-form records of ids and codes.
 * Hashes are `sha256:<hex>`.
 */
export const SessionCreatedPayload = z.object({ termsHash: z.string() }).catchall(z.unknown());
/** The attestation document made when the key was created (base64url), so the trail is self-contained. */
export const KeyIssuedPayload = z
  .object({ publicKey: Base64Url, attestation: Base64Url, attestationDigest: z.string() })
  .catchall(z.unknown());
export const DataSubmittedPayload = z
  .object({ partyId: PartyId, commitment: Commitment, ciphertextHash: z.string() })
  .catchall(z.unknown());
export const ConsentRecordedPayload = z
  .object({ partyId: PartyId, consent: ConsentFlags, signature: Base64Url })
  .catchall(z.unknown());
/**
 * A survivor's unmask answer (secure aggregation, stage 3): a ciphertext to the session key like a
 * submission, so the deletion statement of the session lists its hash beside the submissions'.
 */
export const SecAggUnmaskReceivedPayload = z
  .object({ partyId: PartyId, runId: z.string(), ciphertextHash: z.string() })
  .catchall(z.unknown());
/** The whole attested report rides in the event, so observers can verify it without opening a result. */
export const ResultReleasedPayload = z
  .object({
    runId: z.string(),
    report: ResultReport,
    reportHash: z.string(),
    attestation: Base64Url,
    attestationDigest: z.string(),
    includedParties: z.array(PartyId),
  })
  .catchall(z.unknown());

export const DeletionStatement = z.strictObject({
  type: z.literal(DELETION_STATEMENT_TYPE),
  sessionId: SessionId,
  /** What the enclave destroyed: the session key, which makes every listed ciphertext unreadable. */
  destroyed: z.strictObject({ sessionKey: z.literal(true), ciphertexts: z.array(z.string()) }),
  reason: z.enum(['delete_after_inference', 'cancelled', 'expired']),
  destroyedAt: z.iso.datetime({ offset: false }),
});
export type DeletionStatement = z.infer<typeof DeletionStatement>;

/** Why the enclave destroyed a session key (the statement's `reason`). */
export const DeletionReason = DeletionStatement.shape.reason;
export type DeletionReason = z.infer<typeof DeletionReason>;

/**
 * The bytes a deletion attestation binds its statement with (the document's `user_data`):
 * SHA-256(JCS(statement)), as `reportDigest` does for a result report.
 */
export function deletionStatementDigest(statement: DeletionStatement): Uint8Array {
  return sha256(canonicalBytes(statement));
}

export const DeletionAttestedPayload = z
  .object({ statement: DeletionStatement, attestation: Base64Url })
  .catchall(z.unknown());

export const AuditEvent = z.strictObject({
  type: z.literal(AUDIT_EVENT_TYPE),
  /** Position of this leaf in the log (0-based). */
  logIndex: z.number().int().min(0),
  sessionId: SessionId.nullable(),
  /** 0, 1, 2, … within one session: a gap or a reordering in a trail is visible. Null for non-session events. */
  sessionSeq: z.number().int().min(0).nullable(),
  kind: AuditEventKind,
  actor: z.strictObject({ tenantId: TenantId.nullable(), partyId: PartyId.nullable() }),
  at: z.iso.datetime({ offset: false }),
  payload: z.record(z.string(), z.unknown()),
});
export type AuditEvent = z.infer<typeof AuditEvent>;

export function auditLeafHash(event: AuditEvent): Uint8Array {
  return leafHash(canonicalBytes(event));
}

export const TreeHead = z.strictObject({
  type: z.literal(TREE_HEAD_TYPE),
  /** `sha256:` + hex SHA-256 of the log's Ed25519 public key. */
  logId: z.string(),
  treeSize: z.number().int().min(0),
  /** base64url of the 32-byte RFC 9162 root. */
  rootHash: Base64Url,
  timestamp: z.iso.datetime({ offset: false }),
});
export type TreeHead = z.infer<typeof TreeHead>;

export const SignedTreeHead = z.strictObject({ treeHead: TreeHead, signature: Base64Url });
export type SignedTreeHead = z.infer<typeof SignedTreeHead>;

export function logIdOf(publicKey: Uint8Array): string {
  return sha256Tagged(publicKey);
}

export const LogKeyResponse = z.strictObject({
  logId: z.string(),
  algorithm: z.literal('Ed25519'),
  publicKey: Base64Url,
});
export type LogKeyResponse = z.infer<typeof LogKeyResponse>;

export const TrailEntry = z.strictObject({
  event: AuditEvent,
  /** Inclusion proof of the event's leaf in the tree of `treeHead.treeSize` (base64url hashes). */
  proof: z.array(Base64Url),
});
export type TrailEntry = z.infer<typeof TrailEntry>;

export const SessionTrailResponse = z.strictObject({
  sessionId: SessionId,
  signedTreeHead: SignedTreeHead,
  entries: z.array(TrailEntry),
});
export type SessionTrailResponse = z.infer<typeof SessionTrailResponse>;

export const ConsistencyQuery = z.strictObject({
  from: z.coerce.number().int().min(1),
  to: z.coerce.number().int().min(1),
});

export const ConsistencyResponse = z.strictObject({
  from: z.number().int(),
  to: z.number().int(),
  proof: z.array(Base64Url),
});
export type ConsistencyResponse = z.infer<typeof ConsistencyResponse>;

/** The checks `platform.audit.verifySession` runs, in order; a verdict names the first that fails. */
export const VERIFICATION_CHECKS = [
  'tree_head_signature',
  'tree_consistency',
  'event_inclusion',
  'trail_complete',
  'session_terms',
  'key_attestation',
  'consent_signatures',
  'result_report',
  'result_attestation',
  'aggregated_data_hash',
  'own_commitment_included',
  'deletion_statement',
] as const;
export type VerificationCheck = (typeof VERIFICATION_CHECKS)[number];

export interface CheckOutcome {
  check: VerificationCheck;
  status: 'passed' | 'failed' | 'not_applicable';
  detail: string;
}

export interface SessionVerdict {
  ok: boolean;
  sessionId: string;
  treeSize: number;
  checks: CheckOutcome[];
  firstFailure: CheckOutcome | null;
}
