/**
 * The sealed result for the acting party: only a recipient (an included participant or an observer) has
 * one. The host hands back what the enclave sealed; it cannot read it.
 */
import { ResultReport, TenzroError, assertCan, type SealedResultResponse, type SessionStatus } from '@tenzro/protocol';
import { nowIso, type Context } from '../context.js';
import { appendAudit } from '../repositories/audit.js';
import { findResult } from '../repositories/results.js';
import { actingParty, type Actor } from './access.js';
import { loadCurrent } from './load.js';

export async function getSealedResult(ctx: Context, actor: Actor, sessionId: string): Promise<SealedResultResponse> {
  const { row, terms } = await loadCurrent(ctx, actor, sessionId);
  const partyId = actingParty(actor, terms);
  assertCan('readResult', row.status as SessionStatus);
  if (partyId === undefined) {
    await auditRefusal(ctx, actor, sessionId, null);
    throw new TenzroError('forbidden', 'only a recipient of the result may read it');
  }
  const result = await findResult(ctx.db, sessionId, partyId);
  if (!result || result.sealed_inline === null) {
    await auditRefusal(ctx, actor, sessionId, partyId);
    throw new TenzroError('forbidden', `${partyId} is not a recipient of this session's result`);
  }
  return {
    sessionId,
    runId: result.run_id,
    recipient: partyId,
    report: ResultReport.parse(JSON.parse(result.report_json)),
    attestation: result.attestation,
    sealedResult: result.sealed_inline,
  };
}

/** A refused result read is an access the trail records (issue 3: every refused access). */
async function auditRefusal(ctx: Context, actor: Actor, sessionId: string, partyId: string | null): Promise<void> {
  await appendAudit(ctx.db, {
    sessionId,
    type: 'access_denied',
    actorTenant: actor.tenantId,
    actorParty: partyId,
    payload: { action: 'read the result', code: 'forbidden' },
    at: nowIso(ctx),
  });
}
