/**
 * Loads a visible session, enforcing its expiry first if a caller got there before the sweeper, and
 * closing a secure-aggregation stage whose deadline passed (every GET and POST of the session sees the
 * round's current state, with or without the sweep).
 */
import { nowIso, type Context } from '../context.js';
import { loadVisible, type Actor, type LoadedSession } from './access.js';
import { enforceExpiry, isOverdue } from './lifecycle.js';
import { advanceSessionRound, isSecAgg } from './secagg.js';

export async function loadCurrent(ctx: Context, actor: Actor, sessionId: string): Promise<LoadedSession> {
  const at = nowIso(ctx);
  let loaded = await loadVisible(ctx.db, actor, sessionId, at);
  if (isOverdue(loaded.row, at)) {
    await enforceExpiry(ctx, sessionId);
    return loadVisible(ctx.db, actor, sessionId, nowIso(ctx));
  }
  if (isSecAgg(loaded.terms) && (await advanceSessionRound(ctx, sessionId))) {
    loaded = await loadVisible(ctx.db, actor, sessionId, nowIso(ctx)); // a stage closed: the status may have changed
  }
  return loaded;
}
