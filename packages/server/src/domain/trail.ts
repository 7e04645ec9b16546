/**
 * A session's audit trail (issue 3): what the host logged about the session, with the proofs a party
 * needs to check it offline. Visible exactly as the session is (creator and roster tenants; 404 otherwise).
 */
import type { SessionTrailResponse } from '@tenzro/protocol';
import type { Context } from '../context.js';
import type { Actor } from './access.js';
import { loadCurrent } from './load.js';

export async function getSessionTrail(ctx: Context, actor: Actor, sessionId: string): Promise<SessionTrailResponse> {
  await loadCurrent(ctx, actor, sessionId);
  return ctx.log.sessionTrail(sessionId);
}
