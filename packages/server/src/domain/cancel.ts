/**
 * cancelSession: the creator tenant or a participant's tenant ends a session before it runs. The status
 * change, the refusal of any queued run and the crypto-shredding are one transaction; blob files and the
 * enclave's key copy go right after.
 */
import { TenzroError, assertCan, sha256Tagged, tenantOfParty, type MultiPartySession, type SessionStatus } from '@tenzro/protocol';
import { nowIso, type Context } from '../context.js';
import { appendAudit } from '../repositories/audit.js';
import { activeRun, updateRun } from '../repositories/runs.js';
import { findSession, setSessionStatus } from '../repositories/sessions.js';
import { actingParty, denyAndAudit, rosterRole, type Actor } from './access.js';
import { factsOf, finishShreddingOrQueue, shredInTransaction } from './lifecycle.js';
import { loadCurrent } from './load.js';
import { sessionView } from './views.js';

export async function cancelSession(
  ctx: Context,
  actor: Actor,
  sessionId: string,
  request: { reason?: string | undefined },
): Promise<MultiPartySession> {
  const { row, terms } = await loadCurrent(ctx, actor, sessionId);
  const partyId = actingParty(actor, terms);
  const isCreator = row.tenant_id === actor.tenantId;
  const ownsParticipant = terms.participants.some((p) => tenantOfParty(p.partyId) === actor.tenantId);
  const actsAsParticipant = partyId === undefined ? ownsParticipant : rosterRole(terms, partyId) === 'participant';
  if (!isCreator && !actsAsParticipant) throw await denyAndAudit(ctx.db, actor, sessionId, partyId, 'cancel', nowIso(ctx));
  assertCan('cancel', row.status as SessionStatus);

  const at = nowIso(ctx);
  const hashes = await ctx.db.transaction().execute(async (trx) => {
    const current = await findSession(trx, sessionId);
    if (!current) throw new TenzroError('not_found', 'session not found');
    assertCan('cancel', current.status as SessionStatus);
    const queued = await activeRun(trx, sessionId);
    if (queued?.status === 'running') throw new TenzroError('run_in_progress', 'cannot cancel while the inference is running');
    if (queued) {
      await updateRun(trx, queued.id, {
        status: 'failed',
        finished_at: at,
        lease_until: null,
        error_json: JSON.stringify({ code: 'session_cancelled', message: 'the session was cancelled', retryable: false }),
      });
    }
    await setSessionStatus(trx, sessionId, 'cancelled', at);
    const actorParty = partyId !== undefined && rosterRole(terms, partyId) === 'participant' ? partyId : null;
    await appendAudit(trx, {
      sessionId,
      type: 'session_cancelled',
      actorTenant: actor.tenantId,
      actorParty,
      payload: {
        previousStatus: current.status,
        reasonHash: request.reason === undefined ? null : sha256Tagged(Buffer.from(request.reason, 'utf8')),
      },
      at,
    });
    return shredInTransaction(trx, sessionId, 'cancelled', { tenantId: actor.tenantId, partyId: actorParty }, at);
  });
  await finishShreddingOrQueue(ctx, sessionId, hashes);
  const after = await findSession(ctx.db, sessionId);
  return sessionView(actor, after!, terms, await factsOf(ctx.db, sessionId, terms));
}
