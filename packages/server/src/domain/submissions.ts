/**
 * submitSessionData: a participant streams its envelope (ciphertext) to the host. The host stores it by
 * hash, asks the enclave to verify it (decrypts, checks the commitment and the data schema, counts records),
 * and only then records the submission, the new status and the audit entry in one transaction. A refusal
 * goes back to the submitter with the enclave's code and details; the audit log keeps only the code.
 *
 * One pipeline (`receiveSubmission`) serves POST /data and POST /secagg/masked-input (a masked input is a
 * normal submission filed under `tenzro.secagg.masked-input/v1`); `SubmissionRules` carry what differs: the
 * checks before the upload, the checks again in the recording transaction, and what follows the record.
 * POST /mpc/shares uses its two halves (`precheckSubmission` before reading the bundle, `recordSubmission`
 * once it is checked and stored).
 */
import {
  TenzroError,
  assertCan,
  type CommitmentScheme,
  type SessionStatus,
  type SessionTerms,
  type SubmissionResponse,
} from '@tenzro/protocol';
import type { Readable } from 'node:stream';
import { nowIso, type Context } from '../context.js';
import { EnclaveCallError } from '../enclave-client.js';
import { appendAudit } from '../repositories/audit.js';
import { activeRun } from '../repositories/runs.js';
import { findSession } from '../repositories/sessions.js';
import { findSubmission, insertSubmission } from '../repositories/submissions.js';
import type { SessionsTable } from '../db/schema.js';
import type { Executor } from '../repositories/executor.js';
import { actingParty, denyAndAudit, rosterRole, type Actor, type LoadedSession } from './access.js';
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

/** What differs between the routes that file a submission (POST /data, POST /secagg/masked-input). */
export interface SubmissionRules {
  /** The refused action, as the access_denied leaf names it ("submit data"). */
  action: string;
  /** Refusals that need no upload (method, data schema, stage), after the role and status checks. */
  before(loaded: LoadedSession, partyId: string, meta: SubmissionMeta): Promise<void>;
  /** In the recording transaction, before the insert: what may have changed while the upload streamed. */
  inTransaction?(trx: Executor, row: SessionsTable, terms: SessionTerms, partyId: string, at: string): Promise<void>;
  /** In the recording transaction, after the submission and its audit entry; may return a newer status. */
  afterRecorded?(trx: Executor, row: SessionsTable, terms: SessionTerms, partyId: string, at: string): Promise<SessionStatus | undefined>;
  /** After commit. */
  afterCommit?(): void;
}

/** POST /data: a plain upload, refused on a secure_aggregation session (its parties send masked statistics). */
const plainDataRules: SubmissionRules = {
  action: 'submit data',
  async before({ terms }, _partyId, meta) {
    if (terms.dataPolicy.aggregationMethod === 'secure_aggregation') {
      throw new TenzroError(
        'secure_aggregation_required',
        'this session uses secure_aggregation: the host takes no plain data upload; contribute masked statistics with platform.ai.contribute({ sessionId, data, dataSchema })',
      );
    }
    if (terms.dataPolicy.aggregationMethod === 'mpc') {
      throw new TenzroError(
        'mpc_shares_required',
        'this session uses mpc: records are not uploaded; use platform.ai.contribute, which sends Shamir shares sealed to the compute nodes',
      );
    }
    if (!dataSchemasOf(terms.modelId).includes(meta.dataSchema)) {
      throw new TenzroError('unknown_schema', `model ${terms.modelId} does not take data schema ${JSON.stringify(meta.dataSchema)}`);
    }
  },
};

export async function submitData(
  ctx: Context,
  actor: Actor,
  sessionId: string,
  meta: SubmissionMeta,
  body: Readable,
): Promise<SubmissionResponse> {
  return receiveSubmission(ctx, actor, sessionId, meta, body, plainDataRules);
}

/** Who may submit, established before any byte of the upload is read (`precheckSubmission`). */
export interface SubmissionGate {
  loaded: LoadedSession;
  partyId: string;
  /** The session's sealed key (the enclave verifies the submission with it). */
  sealedKey: string;
}

/**
 * The refusals that need no upload, in the pipeline's order: role (participants only; refusals audited),
 * status, `before` (the route's own: method, data schema), a run queued or running, an earlier
 * submission of the party, a destroyed session key. Every upload route runs them before it reads a byte.
 */
export async function precheckSubmission(
  ctx: Context,
  actor: Actor,
  sessionId: string,
  action: string,
  before?: (loaded: LoadedSession, partyId: string) => Promise<void>,
): Promise<SubmissionGate> {
  const loaded = await loadCurrent(ctx, actor, sessionId);
  const { row, terms } = loaded;
  const partyId = actingParty(actor, terms);
  if (partyId === undefined || rosterRole(terms, partyId) !== 'participant') {
    throw await denyAndAudit(ctx.db, actor, sessionId, partyId, action, nowIso(ctx));
  }
  assertCan('submit', row.status as SessionStatus);
  await before?.(loaded, partyId);
  if (await activeRun(ctx.db, sessionId)) throw new TenzroError('run_in_progress', 'a run is queued or running for this session');
  if (await findSubmission(ctx.db, sessionId, partyId)) {
    throw new TenzroError('already_submitted', `${partyId} has already submitted data to this session`);
  }
  if (row.sealed_key === null) throw new TenzroError('data_deleted', 'the session key has been destroyed');
  return { loaded, partyId, sealedKey: row.sealed_key };
}

/** The one submission pipeline: checks, streamed blob, enclave verification, one recording transaction. */
export async function receiveSubmission(
  ctx: Context,
  actor: Actor,
  sessionId: string,
  meta: SubmissionMeta,
  body: Readable,
  rules: SubmissionRules,
): Promise<SubmissionResponse> {
  const gate = await precheckSubmission(ctx, actor, sessionId, rules.action, (loaded, partyId) => rules.before(loaded, partyId, meta));
  if (meta.contentLength !== undefined && meta.contentLength > ctx.config.maxUploadBytes) {
    throw new TenzroError('payload_too_large', `the upload exceeds the limit of ${ctx.config.maxUploadBytes} bytes`);
  }
  // The slot is held through the enclave's verification too: that is where an upload's cost lies (a 1 MiB
  // body streams in milliseconds on a fast link, its check takes the enclave ~100 ms), so the gate bounds
  // the work queued in the enclave and a burst is told to come back (429) instead of waiting there.
  return ctx.uploads.run(async () => {
    const blob = await ctx.blobs.write(body, { maxBytes: ctx.config.maxUploadBytes, idleTimeoutMs: ctx.config.uploadIdleTimeoutMs });
    return recordSubmission(ctx, actor, gate, meta, blob, rules);
  });
}

/**
 * The pipeline after the upload: the stored blob verified by the enclave, then the submission, the new
 * status and the audit entry in one transaction (status and runs checked again). A blob left unrecorded
 * is removed.
 */
export async function recordSubmission(
  ctx: Context,
  actor: Actor,
  gate: SubmissionGate,
  meta: SubmissionMeta,
  blob: { hash: string; size: number },
  rules: SubmissionRules,
): Promise<SubmissionResponse> {
  const { partyId, sealedKey } = gate;
  const { terms } = gate.loaded;
  const sessionId = gate.loaded.row.id;
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
      await rules.inTransaction?.(trx, current, terms, partyId, at);
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
      return (await rules.afterRecorded?.(trx, current, terms, partyId, at)) ?? next;
    });
    committed = true;
    rules.afterCommit?.();
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
