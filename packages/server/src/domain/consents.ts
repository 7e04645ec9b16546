/**
 * submitSessionConsent: a participant's signed consent (DESIGN §5.5). The host checks the signature against
 * the participant's roster key in the terms for a quick error (the enclave checks it again before any run)
 * and requires all four permissions; it stores the consent, the new status and the audit entry together.
 */
import {
  TenzroError,
  assertCan,
  isFullConsent,
  progressOf,
  verifyConsentSignature,
  type ConsentResponse,
  type ConsentRevocationResponse,
  type SessionStatus,
  type SubmitConsentRequest,
} from '@tenzro/protocol';
import { nowIso, type Context } from '../context.js';
import { appendAudit } from '../repositories/audit.js';
import { deleteConsent, findConsent, insertConsent } from '../repositories/consents.js';
import { activeRun, updateRun } from '../repositories/runs.js';
import { findSession } from '../repositories/sessions.js';
import { findSubmission, markPartySubmissionDeleted } from '../repositories/submissions.js';
import { actingParty, denyAndAudit, rosterRole, type Actor } from './access.js';
import { factsOf, recomputeOpenStatus, removeUnreferencedBlobs } from './lifecycle.js';
import { loadCurrent } from './load.js';

export async function submitConsent(
  ctx: Context,
  actor: Actor,
  sessionId: string,
  request: SubmitConsentRequest,
): Promise<ConsentResponse> {
  const { row, terms } = await loadCurrent(ctx, actor, sessionId);
  const partyId = actingParty(actor, terms);
  if (partyId === undefined || rosterRole(terms, partyId) !== 'participant') {
    throw await denyAndAudit(ctx.db, actor, sessionId, partyId, 'consent', nowIso(ctx));
  }
  assertCan('consent', row.status as SessionStatus);
  const signingKey = terms.participants.find((p) => p.partyId === partyId)!.signingKey;
  if (!verifyConsentSignature(sessionId, request.consent, request.signature, signingKey)) {
    throw new TenzroError('consent_signature_invalid', `the consent is not signed by ${partyId}'s roster key for this session`);
  }
  if (!isFullConsent(request.consent)) {
    const refused = Object.entries(request.consent).filter(([, granted]) => !granted).map(([flag]) => flag);
    throw new TenzroError('invalid_request', 'a consent must grant every permission to count', {
      details: refused.map((flag) => ({ field: `consent.${flag}`, message: 'must be true' })),
    });
  }

  const at = nowIso(ctx);
  const status = await ctx.db.transaction().execute(async (trx) => {
    const current = await findSession(trx, sessionId);
    if (!current) throw new TenzroError('not_found', 'session not found');
    assertCan('consent', current.status as SessionStatus);
    if (current.expires_at <= at) throw new TenzroError('session_expired', 'the session has expired');
    if (await activeRun(trx, sessionId)) throw new TenzroError('run_in_progress', 'a run is queued or running for this session');
    if (await findConsent(trx, sessionId, partyId)) {
      throw new TenzroError('already_consented', `${partyId} has already consented to this session`);
    }
    const submission = await findSubmission(trx, sessionId, partyId);
    if (submission && submission.deleted_at !== null) {
      throw new TenzroError('conflict', `${partyId} revoked its consent; its data was deleted and it is excluded from this session`);
    }
    try {
      await insertConsent(trx, {
        session_id: sessionId,
        party_id: partyId,
        consent_json: JSON.stringify(request.consent),
        signature: request.signature,
        received_at: at,
      });
    } catch (error) {
      if (ctx.dialect.isUniqueViolation(error)) throw new TenzroError('already_consented', `${partyId} has already consented`);
      throw error;
    }
    const next = await recomputeOpenStatus(trx, current, terms, at);
    await appendAudit(trx, {
      sessionId,
      type: 'consent_recorded',
      actorTenant: actor.tenantId,
      actorParty: partyId,
      payload: { partyId, consent: request.consent, signature: request.signature, status: next },
      at,
    });
    return next;
  });
  return { sessionId, partyId, consent: request.consent, signature: request.signature, receivedAt: at, status };
}

/**
 * revokeSessionConsent (RELIABILITY item 10): before the run, a participant withdraws its consent. In one
 * transaction its consent is deleted, its submission marked deleted, the status re-derived and the
 * revocation audited; a queued run that no longer has `minParticipants` complete parties fails
 * (session_not_ready, not retryable), else it runs without the party (the job reads the facts when it
 * starts). The ciphertext file is removed after commit.
 */
export async function revokeConsent(ctx: Context, actor: Actor, sessionId: string): Promise<ConsentRevocationResponse> {
  const { row, terms } = await loadCurrent(ctx, actor, sessionId);
  const partyId = actingParty(actor, terms);
  if (partyId === undefined || rosterRole(terms, partyId) !== 'participant') {
    throw await denyAndAudit(ctx.db, actor, sessionId, partyId, 'revoke consent', nowIso(ctx));
  }
  assertCan('consent', row.status as SessionStatus);

  const at = nowIso(ctx);
  const outcome = await ctx.db.transaction().execute(async (trx) => {
    const current = await findSession(trx, sessionId);
    if (!current) throw new TenzroError('not_found', 'session not found');
    assertCan('consent', current.status as SessionStatus);
    if (current.expires_at <= at) throw new TenzroError('session_expired', 'the session has expired');
    const active = await activeRun(trx, sessionId);
    if (active && active.status === 'running') throw new TenzroError('run_in_progress', 'the inference is running; its inputs are fixed');
    if (!(await deleteConsent(trx, sessionId, partyId))) {
      throw new TenzroError('conflict', `no consent to revoke: ${partyId} has not consented to this session`);
    }
    const deleted = await markPartySubmissionDeleted(trx, sessionId, partyId, at);
    const status = await recomputeOpenStatus(trx, current, terms, at);
    await appendAudit(trx, {
      sessionId,
      type: 'consent_revoked',
      actorTenant: actor.tenantId,
      actorParty: partyId,
      payload: {
        partyId,
        submissionDeleted: deleted !== undefined,
        ...(deleted ? { ciphertextHash: 'sha256:' + deleted.blob_hash } : {}),
        status,
      },
      at,
    });
    if (active) {
      const facts = await factsOf(trx, sessionId, terms);
      const complete = progressOf(facts).complete.length;
      if (complete < terms.dataPolicy.minParticipants) {
        const error = {
          code: 'session_not_ready',
          message: `a consent was revoked: only ${complete} participants have submitted and consented`,
          retryable: false,
        };
        await updateRun(trx, active.id, { status: 'failed', finished_at: at, lease_until: null, error_json: JSON.stringify(error) });
        await appendAudit(trx, {
          sessionId,
          type: 'run_failed',
          actorTenant: null,
          actorParty: null,
          payload: { runId: active.id, code: error.code, retryable: error.retryable },
          at,
        });
      }
    }
    return { status, blob: deleted?.blob_hash };
  });
  if (outcome.blob !== undefined) await removeUnreferencedBlobs(ctx, [outcome.blob]);
  return { sessionId, partyId, revokedAt: at, submissionDeleted: outcome.blob !== undefined, status: outcome.status };
}
