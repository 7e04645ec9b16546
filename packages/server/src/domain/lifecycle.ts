/**
 * The session state machine's writes (DESIGN §6): the open status is always recomputed from the facts with
 * `deriveOpenStatus` inside the transaction that changed them; final states delete the data. Deletion is
 * crypto-shredding in two steps: inside the state-changing transaction the host marks every submission
 * deleted, forgets the sealed session key and audits it; after commit it removes the blob files and asks
 * the enclave to destroy its copy of the key. A crash between the two is finished by `resumeShredding`.
 */
import {
  FINAL_STATUSES,
  deriveOpenStatus,
  type DeletionReason,
  type EnclaveResultOf,
  type ProgressFacts,
  type SessionStatus,
  type SessionTerms,
} from '@tenzro/protocol';
import { nowIso, type Context } from '../context.js';
import { sendAfterCommit } from '../queue/after-commit.js';
import type { ConsentsTable, SessionsTable, SubmissionsTable } from '../db/schema.js';
import { appendAudit } from '../repositories/audit.js';
import { consentsOf } from '../repositories/consents.js';
import type { Executor } from '../repositories/executor.js';
import { activeRun, updateRun } from '../repositories/runs.js';
import {
  clearSealedKey,
  findSession,
  markKeyDestroyed,
  sessionsOwingKeyDestruction,
  setSessionStatus,
} from '../repositories/sessions.js';
import { deletedBlobHashes, isBlobReferenced, markSubmissionsDeleted, submissionsOf } from '../repositories/submissions.js';
import {
  deletedUnmaskBlobHashes,
  findRound,
  isUnmaskBlobReferenced,
  markUnmaskDeleted,
  unmaskOfSession,
} from '../repositories/secagg.js';
import { EnclaveCallError } from '../enclave-client.js';
import { parseTerms } from './access.js';
import { forgetMpcSession } from './mpc.js';

export interface SessionFacts extends ProgressFacts {
  submissions: SubmissionsTable[];
  consents: ConsentsTable[];
}

/**
 * A submission withdrawn by a revoked consent is deleted before the session is: while the session key is
 * kept every deleted submission is withdrawn; once it is shredded, those deleted before the shredding.
 * Withdrawn submissions do not count as submitted.
 */
async function countedSubmissions(db: Executor, sessionId: string): Promise<SubmissionsTable[]> {
  const all = await submissionsOf(db, sessionId);
  if (all.every((s) => s.deleted_at === null)) return all;
  const session = await findSession(db, sessionId);
  if (session && session.sealed_key !== null) return all.filter((s) => s.deleted_at === null);
  const shreddedAt = all.reduce((latest, s) => (s.deleted_at !== null && s.deleted_at > latest ? s.deleted_at : latest), '');
  return all.filter((s) => s.deleted_at === null || s.deleted_at >= shreddedAt);
}

export async function factsOf(db: Executor, sessionId: string, terms: SessionTerms): Promise<SessionFacts> {
  const submissions = await countedSubmissions(db, sessionId);
  const consents = await consentsOf(db, sessionId);
  return {
    participants: terms.participants.map((p) => p.partyId),
    minParticipants: terms.dataPolicy.minParticipants,
    dataSubmittedBy: submissions.map((s) => s.party_id),
    consentedBy: consents.map((c) => c.party_id),
    submissions,
    consents,
  };
}

/** Round stages after the masked-input stage closed: the inputs are fixed and the session may run. */
export const SECAGG_INPUTS_CLOSED: ReadonlySet<string> = new Set(['awaiting-run', 'unmask', 'done']);

/**
 * The facts a secure-aggregation session runs on once its masked-input stage closed: only parties that
 * sent a masked input can still be included, so a party that dropped out earlier (and may have consented)
 * no longer holds the session back as "midway".
 */
export function secAggRunFacts<F extends ProgressFacts>(facts: F): F {
  const submitted = new Set(facts.dataSubmittedBy);
  return { ...facts, participants: facts.participants.filter((p) => submitted.has(p)) };
}

/**
 * The open status of a session (deriveOpenStatus), with the secure-aggregation gate: such a session is
 * never `ready` before its masked-input stage has closed (round stage `awaiting-run`), nor after its round
 * failed; once closed, readiness is judged over the parties that sent a masked input.
 */
export async function openStatusOf(
  db: Executor,
  sessionId: string,
  terms: SessionTerms,
  facts: SessionFacts,
): Promise<'created' | 'collecting' | 'awaiting_consent' | 'ready'> {
  if (terms.dataPolicy.aggregationMethod !== 'secure_aggregation') return deriveOpenStatus(facts);
  const round = await findRound(db, sessionId);
  if (round && SECAGG_INPUTS_CLOSED.has(round.stage)) return deriveOpenStatus(secAggRunFacts(facts));
  const status = deriveOpenStatus(facts);
  return status === 'ready' ? 'collecting' : status;
}

/** Writes the open status the facts imply (only for a session that is not final or running). */
export async function recomputeOpenStatus(
  db: Executor,
  row: SessionsTable,
  terms: SessionTerms,
  at: string,
): Promise<SessionStatus> {
  const facts = await factsOf(db, row.id, terms);
  const status = await openStatusOf(db, row.id, terms, facts);
  await setSessionStatus(db, row.id, status, at);
  return status;
}

export type ShredReason = 'delete_after_inference' | 'cancelled' | 'expired' | 'retention_expired';

/** The in-transaction half of crypto-shredding; returns the blobs to remove after commit. */
export async function shredInTransaction(
  db: Executor,
  sessionId: string,
  reason: ShredReason,
  actor: { tenantId: string | null; partyId: string | null },
  at: string,
): Promise<string[]> {
  // Masked inputs are submissions; the survivors' unmask answers are ciphertexts to the same key.
  const hashes = [...(await markSubmissionsDeleted(db, sessionId, at)), ...(await markUnmaskDeleted(db, sessionId, at))];
  await clearSealedKey(db, sessionId, at);
  await appendAudit(db, {
    sessionId,
    type: 'data_destroyed',
    actorTenant: actor.tenantId,
    actorParty: actor.partyId,
    payload: { reason, blobs: hashes, sealedKeyDiscarded: true },
    at,
  });
  return hashes;
}

/** Removes blob files no live submission or unmask answer names. */
export async function removeUnreferencedBlobs(ctx: Context, hashes: readonly string[]): Promise<void> {
  for (const hash of new Set(hashes)) {
    if ((await isBlobReferenced(ctx.db, hash)) || (await isUnmaskBlobReferenced(ctx.db, hash))) continue;
    try {
      await ctx.blobs.delete(hash);
    } catch (error) {
      ctx.logger.error({ err: error, blob: hash }, 'could not delete a blob; it will be retried at startup');
    }
  }
}

/**
 * Why a session's key is being destroyed, from the state that shredded it: a completed session under
 * delete_after_inference, else a completed one whose retention ran out ('expired'), or a cancelled or
 * expired one.
 */
export function deletionReasonOf(row: SessionsTable): DeletionReason {
  switch (row.status as SessionStatus) {
    case 'cancelled':
      return 'cancelled';
    case 'completed':
      return parseTerms(row).dataPolicy.retentionPolicy === 'delete_after_inference' ? 'delete_after_inference' : 'expired';
    default:
      return 'expired';
  }
}

/**
 * Asks the enclave to destroy its copy of a session key and to attest it (proof of deletion); records the
 * destruction, `key_destroyed` and `deletion_attested` (the enclave's statement and attestation) in one
 * transaction. An answer (even a refusal) settles it; a refusal is recorded without a statement.
 */
export async function destroyEnclaveKey(ctx: Context, sessionId: string): Promise<boolean> {
  const session = await findSession(ctx.db, sessionId);
  if (!session) return true;
  if (session.key_destroyed_at !== null) return true;
  const reason = deletionReasonOf(session);
  const deleted = [
    ...(await submissionsOf(ctx.db, sessionId)).filter((s) => s.deleted_at !== null).map((s) => s.blob_hash),
    ...(await unmaskOfSession(ctx.db, sessionId)).filter((u) => u.deleted_at !== null).map((u) => u.blob_hash),
  ];
  const ciphertexts = [...new Set(deleted.map((hash) => 'sha256:' + hash))].sort();
  let destroyed: EnclaveResultOf<'destroySessionKey'> | undefined;
  try {
    destroyed = await ctx.enclave.call('destroySessionKey', { sessionId, reason, ciphertexts });
  } catch (error) {
    if (!(error instanceof EnclaveCallError)) {
      ctx.logger.warn({ err: error, sessionId }, 'enclave key destruction postponed');
      return false;
    }
    ctx.logger.warn({ sessionId, code: error.enclaveCode }, 'enclave refused destroySessionKey; treating the key as gone');
  }
  if (destroyed && destroyed.statement.sessionId !== sessionId) {
    ctx.logger.error({ sessionId }, 'the enclave attested the deletion of another session; postponed');
    return false;
  }
  const at = nowIso(ctx);
  await ctx.db.transaction().execute(async (trx) => {
    const current = await findSession(trx, sessionId);
    if (!current || current.key_destroyed_at !== null) return; // another caller recorded it first
    await markKeyDestroyed(trx, sessionId, at);
    await appendAudit(trx, {
      sessionId,
      type: 'key_destroyed',
      actorTenant: null,
      actorParty: null,
      payload: { sessionId, reason, destroyedAt: destroyed?.destroyedAt ?? null, attested: destroyed !== undefined },
      at,
    });
    if (destroyed) {
      await appendAudit(trx, {
        sessionId,
        type: 'deletion_attested',
        actorTenant: null,
        actorParty: null,
        payload: { statement: destroyed.statement, attestation: destroyed.attestation },
        at,
      });
    }
  });
  return true;
}

/** The after-commit half of crypto-shredding; false when the enclave's key destruction is postponed. */
export async function finishShredding(ctx: Context, sessionId: string, hashes: readonly string[]): Promise<boolean> {
  await removeUnreferencedBlobs(ctx, hashes);
  const destroyed = await destroyEnclaveKey(ctx, sessionId);
  // An mpc session's nodes drop its preprocessings and runs (best effort; never fails the shredding).
  const row = await findSession(ctx.db, sessionId);
  if (row) await forgetMpcSession(ctx, sessionId, parseTerms(row));
  return destroyed;
}

/**
 * Finishes the shredding now when it can; otherwise (no enclave answered, or this instance failed) leaves
 * it to a `finish-shredding` job, which any instance takes.
 */
export async function finishShreddingOrQueue(ctx: Context, sessionId: string, hashes: readonly string[]): Promise<void> {
  let done = false;
  try {
    done = await finishShredding(ctx, sessionId, hashes);
  } catch (error) {
    ctx.logger.error({ err: error, sessionId }, 'finishing crypto-shredding failed; queued');
  }
  if (!done) await sendAfterCommit(ctx, 'finish-shredding', { sessionId });
}

/**
 * The `finish-shredding` job: deletes the session's deleted blobs no live row names and has the enclave
 * destroy its key. Idempotent (a destroyed key and a deleted blob are skipped); throws while the enclave
 * postpones, so the queue retries.
 */
export async function finishShreddingJob(ctx: Context, sessionId: string): Promise<void> {
  const hashes = [
    ...(await submissionsOf(ctx.db, sessionId)).filter((s) => s.deleted_at !== null).map((s) => s.blob_hash),
    ...(await unmaskOfSession(ctx.db, sessionId)).filter((u) => u.deleted_at !== null).map((u) => u.blob_hash),
  ];
  const row = await findSession(ctx.db, sessionId);
  if (!row || row.sealed_key !== null) return; // not shredded (or gone): nothing owed
  if (!(await finishShredding(ctx, sessionId, hashes))) throw new Error(`the key destruction of ${sessionId} is postponed; retried`);
}

/** Completes shredding a crash or an unavailable enclave interrupted. */
export async function resumeShredding(ctx: Context, options: { blobs: boolean }): Promise<void> {
  if (options.blobs) await removeUnreferencedBlobs(ctx, [...(await deletedBlobHashes(ctx.db)), ...(await deletedUnmaskBlobHashes(ctx.db))]);
  for (const sessionId of await sessionsOwingKeyDestruction(ctx.db)) {
    if (!ctx.enclave.ready()) return;
    await destroyEnclaveKey(ctx, sessionId);
  }
}

/**
 * Enforces a session's expiry: a non-final overdue session becomes `expired` and its data is deleted; a
 * completed one that kept its data (retain_until_expiry) has it deleted. Idempotent.
 */
export async function enforceExpiry(ctx: Context, sessionId: string): Promise<void> {
  const at = nowIso(ctx);
  const hashes = await ctx.db.transaction().execute(async (trx) => {
    const row = await findSession(trx, sessionId);
    if (!row || row.expires_at > at) return undefined;
    const status = row.status as SessionStatus;
    if (status === 'completed') {
      if (row.sealed_key === null) return undefined;
      return shredInTransaction(trx, row.id, 'retention_expired', { tenantId: null, partyId: null }, at);
    }
    if (FINAL_STATUSES.has(status)) return undefined;
    const active = await activeRun(trx, row.id);
    if (active && active.status === 'queued') {
      await updateRun(trx, active.id, {
        status: 'failed',
        finished_at: at,
        lease_until: null,
        error_json: JSON.stringify({ code: 'session_expired', message: 'the session expired before the run started', retryable: false }),
      });
    }
    await setSessionStatus(trx, row.id, 'expired', at);
    await appendAudit(trx, {
      sessionId: row.id,
      type: 'session_expired',
      actorTenant: null,
      actorParty: null,
      payload: { previousStatus: status, expiresAt: row.expires_at },
      at,
    });
    return shredInTransaction(trx, row.id, 'expired', { tenantId: null, partyId: null }, at);
  });
  if (hashes) await finishShreddingOrQueue(ctx, sessionId, hashes);
}

/** True when the row is past its expiry and not yet final (a caller arrived before the sweeper). */
export function isOverdue(row: SessionsTable, now: string): boolean {
  return row.expires_at <= now && !FINAL_STATUSES.has(row.status as SessionStatus);
}
