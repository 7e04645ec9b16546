/** Loads a visible session, enforcing its expiry first if a caller got there before the sweeper. */
import { nowIso, type Context } from '../context.js';
import { loadVisible, type Actor, type LoadedSession } from './access.js';
import { enforceExpiry, isOverdue } from './lifecycle.js';

export async function loadCurrent(ctx: Context, actor: Actor, sessionId: string): Promise<LoadedSession> {
  const at = nowIso(ctx);
  const loaded = await loadVisible(ctx.db, actor, sessionId, at);
  if (!isOverdue(loaded.row, at)) return loaded;
  await enforceExpiry(ctx, sessionId);
  return loadVisible(ctx.db, actor, sessionId, nowIso(ctx));
}
