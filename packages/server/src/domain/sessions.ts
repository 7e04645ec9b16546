/**
 * Creating and reading sessions (createMultiPartySession, getMultiPartySession, listMultiPartySessions,
 * getSessionStatus, getSessionKey, join-code lookup).
 *
 * Creation builds the immutable terms (DESIGN §5.1), derives the session id from them, has the enclave make
 * the session key, and only then stores the session, its roster and its audit entry in one transaction:
 * if the enclave fails nothing is stored.
 */
import { canonicalBytes, fromBase64Url, toBase64Url } from '@tenzro/crypto';
import {
  DataPolicyError,
  JOIN_CODE_PATTERN,
  SESSION_TERMS_TYPE,
  SessionTerms,
  TenzroError,
  assertCan,
  computeSessionId,
  generateJoinCode,
  normalizeDataPolicy,
  sha256Tagged,
  tenantOfParty,
  type CreateSessionRequest,
  type DataPolicy,
  type MultiPartySession,
  type SessionKeyResponse,
  type SessionStatus,
  type SessionStatusResponse,
} from '@tenzro/protocol';
import { randomBytes } from 'node:crypto';
import { nowIso, type Context } from '../context.js';
import { sendAfterCommit } from '../queue/after-commit.js';
import type { SessionMembersTable } from '../db/schema.js';
import { appendAudit } from '../repositories/audit.js';
import { findParties } from '../repositories/parties.js';
import { lastRun } from '../repositories/runs.js';
import { findSessionByJoinCode, insertSession, listVisibleSessions } from '../repositories/sessions.js';
import { isVisibleTo, parseTerms, rosterPartyIds, type Actor } from './access.js';
import { recordJoin } from './joins.js';
import { factsOf } from './lifecycle.js';
import { loadCurrent } from './load.js';
import { resolveModel } from './models.js';
import { insertRound } from '../repositories/secagg.js';
import { isSecAgg, newRoundRow, secAggLayoutForSession } from './secagg.js';
import { startPreprocessing } from './mpc.js';
import { sessionView, statusView } from './views.js';

export const DEFAULT_SESSION_TTL_MS = 24 * 60 * 60 * 1000;
export const MAX_SESSION_TTL_MS = 30 * 24 * 60 * 60 * 1000;

function invalid(field: string, message: string): TenzroError {
  return new TenzroError('invalid_request', `${field}: ${message}`, { details: [{ field, message }] });
}

function assertDistinct(ids: readonly string[], field: string): void {
  const seen = new Set<string>();
  for (const [index, id] of ids.entries()) {
    if (seen.has(id)) throw new TenzroError('invalid_request', `${field} lists ${id} twice`, { details: [{ index, field, message: 'duplicate party' }] });
    seen.add(id);
  }
}

function expiryOf(request: CreateSessionRequest, now: Date, minTtlMs: number): string {
  if (request.expiresAt === undefined) return new Date(now.getTime() + DEFAULT_SESSION_TTL_MS).toISOString();
  const at = new Date(request.expiresAt);
  const ttl = at.getTime() - now.getTime();
  if (ttl < minTtlMs) throw invalid('expiresAt', `must be at least ${minTtlMs / 1000} s in the future`);
  if (ttl > MAX_SESSION_TTL_MS) throw invalid('expiresAt', 'must be at most 30 days in the future');
  return at.toISOString();
}

function policyOf(request: CreateSessionRequest): DataPolicy {
  try {
    return normalizeDataPolicy(request.dataPolicy, request.participants.length);
  } catch (error) {
    if (error instanceof DataPolicyError) throw new TenzroError('invalid_data_policy', error.message, { cause: error });
    throw error;
  }
}

/** mpc is offered only when the server can reach (or start) a fleet of `totalParties` compute nodes. */
function assertMpcNodes(ctx: Context, dataPolicy: DataPolicy): void {
  const total = dataPolicy.mpcConfig?.totalParties;
  if (total !== undefined && !ctx.mpc.canServe(total)) {
    throw new TenzroError('method_not_available', `aggregation method mpc is not available: this server has no fleet of ${total} compute nodes`, {
      details: [{ field: 'dataPolicy.mpcConfig.totalParties', message: 'no compute node fleet of this size' }],
    });
  }
}

export async function createSession(ctx: Context, actor: Actor, request: CreateSessionRequest): Promise<MultiPartySession> {
  const observers = request.observers ?? [];
  assertDistinct(request.participants, 'participants');
  assertDistinct(observers, 'observers');
  const overlap = observers.find((o) => request.participants.includes(o));
  if (overlap) throw invalid('observers', `${overlap} is already a participant`);

  const dataPolicy = policyOf(request);
  const model = resolveModel(ctx.enclave, request.modelId, dataPolicy.aggregationMethod);
  if (dataPolicy.aggregationMethod === 'mpc') assertMpcNodes(ctx, dataPolicy);

  const parties = new Map((await findParties(ctx.db, [...request.participants, ...observers])).map((p) => [p.party_id, p]));
  const missing = [...request.participants, ...observers].filter((id) => !parties.has(id));
  if (missing.length > 0) {
    throw new TenzroError('unknown_party', `not registered: ${missing.join(', ')}`, {
      details: missing.map((id) => ({ field: 'participants', message: `${id} is not a registered party` })),
    });
  }

  const now = ctx.clock();
  const terms = SessionTerms.parse({
    type: SESSION_TERMS_TYPE,
    tenantId: actor.tenantId,
    name: request.name,
    description: request.description ?? '',
    modelId: model.modelId,
    modelDigest: model.modelDigest,
    participants: request.participants.map((id) => ({
      partyId: id,
      signingKey: parties.get(id)!.signing_key,
      encryptionKey: parties.get(id)!.encryption_key,
    })),
    observers: observers.map((id) => ({ partyId: id, encryptionKey: parties.get(id)!.encryption_key })),
    dataPolicy,
    expiresAt: expiryOf(request, now, ctx.config.minSessionTtlMs),
    createdAt: now.toISOString(),
    nonce: toBase64Url(new Uint8Array(randomBytes(16))),
  });
  const sessionId = computeSessionId(terms);
  // A secure_aggregation session starts with its round; its layout (vector length) is fixed here.
  const secAggLayout = isSecAgg(terms) ? secAggLayoutForSession(terms) : undefined;

  let key;
  try {
    key = await ctx.enclave.call('createSessionKey', { sessionId });
  } catch (error) {
    ctx.logger.error({ err: error, sessionId }, 'createSessionKey failed');
    throw new TenzroError('enclave_unavailable', 'the enclave could not create the session key; nothing was stored', { cause: error });
  }

  const members: SessionMembersTable[] = [
    ...terms.participants.map((p) => ({ session_id: sessionId, party_id: p.partyId, tenant_id: tenantOfParty(p.partyId), role: 'participant' as const })),
    ...terms.observers.map((o) => ({ session_id: sessionId, party_id: o.partyId, tenant_id: tenantOfParty(o.partyId), role: 'observer' as const })),
  ];
  const at = terms.createdAt;
  let stored: { joinCode: string } | undefined;
  for (let attempt = 0; attempt < 5 && !stored; attempt++) {
    const joinCode = generateJoinCode();
    try {
      await ctx.db.transaction().execute(async (trx) => {
        await insertSession(
          trx,
          {
            id: sessionId,
            tenant_id: actor.tenantId,
            terms_json: JSON.stringify(terms),
            join_code: joinCode,
            status: 'created',
            expires_at: terms.expiresAt,
            sealed_key: key.sealedKey,
            public_key: key.publicKey,
            suite: key.suite,
            attestation: key.attestation,
            key_destroyed_at: null,
            created_at: at,
            updated_at: at,
            version: 1,
          },
          members,
        );
        if (secAggLayout) await insertRound(trx, newRoundRow(sessionId, secAggLayout, at));
        await appendAudit(trx, {
          sessionId,
          type: 'session_created',
          actorTenant: actor.tenantId,
          actorParty: null,
          payload: {
            termsHash: sha256Tagged(canonicalBytes(terms)),
            modelId: terms.modelId,
            modelDigest: terms.modelDigest,
            participants: terms.participants.map((p) => p.partyId),
            observers: terms.observers.map((o) => o.partyId),
            expiresAt: terms.expiresAt,
          },
          at,
        });
        // The creation-time attestation rides in the trail, so the trail alone shows which key was issued.
        await appendAudit(trx, {
          sessionId,
          type: 'key_issued',
          actorTenant: null,
          actorParty: null,
          payload: {
            publicKey: key.publicKey,
            suite: key.suite,
            attestation: key.attestation,
            attestationDigest: sha256Tagged(fromBase64Url(key.attestation, 'attestation')),
          },
          at,
        });
      });
      stored = { joinCode };
    } catch (error) {
      if (ctx.dialect.isUniqueViolation(error) && attempt < 4) continue;
      // The enclave made a key for a session that does not exist: have it forget the key.
      ctx.enclave.call('destroySessionKey', { sessionId, reason: 'cancelled', ciphertexts: [] }).catch(() => undefined);
      throw error;
    }
  }
  // Expiry is a job due at expiresAt (any instance enforces it); the local timer and the sweep back it up.
  await sendAfterCommit(ctx, 'session-expiry', { sessionId }, { startAfter: new Date(terms.expiresAt) });
  ctx.signals.expiryChanged();
  // An mpc session's nodes (started here in development) make its Beaver triples now, in the background.
  startPreprocessing(ctx, sessionId, terms);
  const loaded = await loadCurrent(ctx, actor, sessionId);
  return sessionView(actor, loaded.row, loaded.terms, await factsOf(ctx.db, sessionId, loaded.terms));
}

export async function getSession(ctx: Context, actor: Actor, sessionId: string): Promise<MultiPartySession> {
  const { row, terms } = await loadCurrent(ctx, actor, sessionId);
  return sessionView(actor, row, terms, await factsOf(ctx.db, sessionId, terms));
}

export async function listSessions(ctx: Context, actor: Actor): Promise<MultiPartySession[]> {
  const rows = await listVisibleSessions(ctx.db, actor.tenantId);
  const out: MultiPartySession[] = [];
  for (const listed of rows) {
    const { row, terms } = await loadCurrent(ctx, actor, listed.id);
    out.push(sessionView(actor, row, terms, await factsOf(ctx.db, row.id, terms)));
  }
  return out;
}

export async function getStatus(ctx: Context, actor: Actor, sessionId: string): Promise<SessionStatusResponse> {
  const { row, terms } = await loadCurrent(ctx, actor, sessionId);
  return statusView(row, terms, await factsOf(ctx.db, sessionId, terms), await lastRun(ctx.db, sessionId));
}

/**
 * The session key with an attestation document the enclave issues for this request: documents are
 * short-lived (their leaf certificate expires within hours), so the one made at creation is never served.
 * When the enclave cannot attest now the caller gets 503 enclave_unavailable, not a stale document.
 */
export async function getSessionKey(ctx: Context, actor: Actor, sessionId: string): Promise<SessionKeyResponse> {
  const { row, terms } = await loadCurrent(ctx, actor, sessionId);
  assertCan('readKey', row.status as SessionStatus);
  if (row.sealed_key === null) throw new TenzroError('data_deleted', 'the session key has been destroyed');
  let attested;
  try {
    attested = await ctx.enclave.call('attestSessionKey', { sessionId, sealedKey: row.sealed_key, terms });
  } catch (error) {
    // The enclave's own refusals that a caller can act on keep their code; anything else is "not now".
    if (error instanceof TenzroError && (error.code === 'data_deleted' || error.code === 'session_expired')) {
      throw new TenzroError(error.code, error.code === 'data_deleted' ? 'the session key has been destroyed' : 'the session has expired');
    }
    ctx.logger.error({ err: error, sessionId }, 'attestSessionKey failed');
    throw new TenzroError('enclave_unavailable', 'the enclave could not attest the session key now; try again shortly', { cause: error });
  }
  if (attested.publicKey !== row.public_key) {
    // The enclave unsealed another key than the one the session stored: never hand out either.
    ctx.logger.error({ sessionId }, 'attestSessionKey returned another public key than the stored one');
    throw new TenzroError('internal_error', 'the session key could not be attested');
  }
  await recordJoin(ctx, actor, row, terms, 'key');
  return { sessionId: row.id, publicKey: row.public_key, suite: row.suite, attestation: attested.attestation, expiresAt: row.expires_at };
}

/** A join code finds a session only for a tenant with a party on its roster (a creator alone is not enough). */
export async function findByJoinCode(ctx: Context, actor: Actor, joinCode: string): Promise<MultiPartySession> {
  const code = joinCode.toUpperCase();
  if (!JOIN_CODE_PATTERN.test(code)) throw new TenzroError('not_found', 'session not found');
  const found = await findSessionByJoinCode(ctx.db, code);
  if (!found) throw new TenzroError('not_found', 'session not found');
  const terms = parseTerms(found);
  if (!rosterPartyIds(terms).some((p) => tenantOfParty(p) === actor.tenantId) || !isVisibleTo(found, terms, actor.tenantId)) {
    throw new TenzroError('not_found', 'session not found');
  }
  const session = await getSession(ctx, actor, found.id);
  await recordJoin(ctx, actor, found, terms, 'join_code');
  return session;
}
