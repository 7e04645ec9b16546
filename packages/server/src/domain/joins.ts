/**
 * `session_joined` (issue 3): the first time a roster party of a tenant other than the creator looks the
 * session up by its join code or fetches its key, the trail records that it joined. Idempotent per party;
 * the check and the append share one transaction.
 */
import { tenantOfParty, type SessionTerms } from '@tenzro/protocol';
import { nowIso, type Context } from '../context.js';
import type { SessionsTable } from '../db/schema.js';
import { appendAudit, hasJoined } from '../repositories/audit.js';
import { lockSession } from '../repositories/sessions.js';
import { rosterPartyIds, rosterRole, type Actor } from './access.js';

export type JoinedVia = 'join_code' | 'key';

/** The roster parties the caller joins as: the header's party, or every roster party of its tenant. */
function joiningParties(actor: Actor, terms: SessionTerms): string[] {
  const own = rosterPartyIds(terms).filter((p) => tenantOfParty(p) === actor.tenantId);
  if (actor.partyHeader !== undefined) return own.includes(actor.partyHeader) ? [actor.partyHeader] : [];
  return own;
}

export async function recordJoin(ctx: Context, actor: Actor, row: SessionsTable, terms: SessionTerms, via: JoinedVia): Promise<void> {
  if (row.tenant_id === actor.tenantId) return;
  const parties = joiningParties(actor, terms);
  if (parties.length === 0) return;
  const at = nowIso(ctx);
  await ctx.db.transaction().execute(async (trx) => {
    await lockSession(trx, row.id); // two requests of one party at once record one join
    for (const partyId of parties) {
      if (await hasJoined(trx, row.id, partyId)) continue;
      await appendAudit(trx, {
        sessionId: row.id,
        type: 'session_joined',
        actorTenant: actor.tenantId,
        actorParty: partyId,
        payload: { partyId, role: rosterRole(terms, partyId) ?? null, via },
        at,
      });
    }
  });
}
