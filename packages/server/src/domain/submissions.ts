/**
 * submitSessionData: a participant streams its envelope (ciphertext) to the host. The host stores it by
 * hash, asks the enclave to verify it (decrypts, checks the commitment and the data schema, counts records),
 * and only then records the submission, the new status and the audit entry in one transaction. A refusal
 * goes back to the submitter with the enclave's code and details; the audit log keeps only the code.
 */
import {
  TenzroError,
  assertCan,
  type CommitmentScheme,
  type SessionStatus,
  type SubmissionResponse,
} from '@tenzro/protocol';
import type { Readable } from 'node:stream';
import { nowIso, type Context } from '../context.js';
import { EnclaveCallError } from '../enclave-client.js';
import { appendAudit } from '../repositories/audit.js';
import { activeRun } from '../repositories/runs.js';
import { findSession } from '../repositories/sessions.js';
import { findSubmission, insertSubmission } from '../repositories/submissions.js';
import { actingParty, denyAndAudit, rosterRole, type Actor } from './access.js';
import { newId } from './ids.js';
import { recomputeOpenStatus, removeUnreferencedBlobs } from './lifecycle.js';
import { loadCurrent } from './load.js';
import { dataSchemasOf } from './models.js';

export interface SubmissionMeta {
  dataSchema: string;
  commitment: string;
  commitmentScheme: CommitmentScheme;
  /** The Content-Length header, when the client sent one. */
  contentLength: number | undefined;
}

export async function submitData(
  ctx: Context,
  actor: Actor,
  sessionId: string,
  meta: SubmissionMeta,
  body: Readable,
): Promise<SubmissionResponse> {
  const { row, terms } = await loadCurrent(ctx, actor, sessionId);
  const partyId = actingParty(actor, terms);
  if (partyId === undefined || rosterRole(terms, partyId) !== 'participant') {
    throw await denyAndAudit(ctx.db, actor, sessionId, partyId, 'submit data', nowIso(ctx));
  }
  assertCan('submit', row.status as SessionStatus);
  if (await activeRun(ctx.db, sessionId)) throw new TenzroError('run_in_progress', 'a run is queued or running for this session');
  if (await findSubmission(ctx.db, sessionId, partyId)) {
    throw new TenzroError('already_submitted', `${partyId} has already submitted data to this session`);
  }
  if (!dataSchemasOf(terms.modelId).includes(meta.dataSchema)) {
    throw new TenzroError('unknown_schema', `model ${terms.modelId} does not take data schema ${JSON.stringify(meta.dataSchema)}`);
  }
  if (meta.contentLength !== undefined && meta.contentLength > ctx.config.maxUploadBytes) {
    throw new TenzroError('payload_too_large', `the upload exceeds the limit of ${ctx.config.maxUploadBytes} bytes`);
  }
  if (row.sealed_key === null) throw new TenzroError('data_deleted', 'the session key has been destroyed');
  const sealedKey = row.sealed_key;

  const blob = await ctx.uploads.run(() =>
    ctx.blobs.write(body, { maxBytes: ctx.config.maxUploadBytes, idleTimeoutMs: ctx.config.uploadIdleTimeoutMs }),
  );
  let committed = false;
  try {
    if (blob.size === 0) throw new TenzroError('invalid_request', 'the upload is empty');
    let recordCount: number;
    try {
      ({ recordCount } = await ctx.enclave.call('verifySubmission', {
        sessionId,
        sealedKey,
        terms,
        submission: {
          partyId,
          blobPath: ctx.blobs.path(blob.hash),
          commitment: meta.commitment,
          commitmentScheme: meta.commitmentScheme,
          dataSchema: meta.dataSchema,
        },
      }));
    } catch (error) {
      if (error instanceof EnclaveCallError) {
        await appendAudit(ctx.db, {
          sessionId,
          type: 'submission_rejected',
          actorTenant: actor.tenantId,
          actorParty: partyId,
          payload: { code: error.enclaveCode, ciphertextHash: 'sha256:' + blob.hash, size: blob.size },
          at: nowIso(ctx),
        });
      }
      throw error;
    }

    const at = nowIso(ctx);
    const submissionId = newId('sub');
    const status = await ctx.db.transaction().execute(async (trx) => {
      const current = await findSession(trx, sessionId);
      if (!current) throw new TenzroError('not_found', 'session not found');
      assertCan('submit', current.status as SessionStatus);
      if (current.expires_at <= at) throw new TenzroError('session_expired', 'the session has expired');
      if (await activeRun(trx, sessionId)) throw new TenzroError('run_in_progress', 'a run is queued or running for this session');
      try {
        await insertSubmission(trx, {
          id: submissionId,
          session_id: sessionId,
          party_id: partyId,
          blob_hash: blob.hash,
          size: blob.size,
          commitment: meta.commitment,
          commitment_scheme: meta.commitmentScheme,
          data_schema: meta.dataSchema,
          record_count: recordCount,
          received_at: at,
          deleted_at: null,
        });
      } catch (error) {
        if (ctx.dialect.isUniqueViolation(error)) {
          throw new TenzroError('already_submitted', `${partyId} has already submitted data to this session`);
        }
        throw error;
      }
      const next = await recomputeOpenStatus(trx, current, terms, at);
      await appendAudit(trx, {
        sessionId,
        type: 'data_submitted',
        actorTenant: actor.tenantId,
        actorParty: partyId,
        payload: {
          partyId,
          submissionId,
          ciphertextHash: 'sha256:' + blob.hash,
          size: blob.size,
          commitment: meta.commitment,
          commitmentScheme: meta.commitmentScheme,
          dataSchema: meta.dataSchema,
          recordCount,
          status: next,
        },
        at,
      });
      return next;
    });
    committed = true;
    return {
      submissionId,
      sessionId,
      partyId,
      dataSchema: meta.dataSchema,
      commitment: meta.commitment,
      commitmentScheme: meta.commitmentScheme,
      ciphertextHash: 'sha256:' + blob.hash,
      size: blob.size,
      recordCount,
      receivedAt: at,
      status,
    };
  } finally {
    if (!committed) await removeUnreferencedBlobs(ctx, [blob.hash]);
  }
}
