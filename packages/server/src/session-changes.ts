/**
 * In-process notice that a session changed: every audit entry of a session is one (a submission, a consent,
 * a run's start or end, expiry, cancellation…). The live event streams (http/events.ts) listen here and
 * reread the session through the normal access path before telling a browser anything. One process only:
 * several server instances need the database's own notification (issue 8: LISTEN/NOTIFY).
 */
import { EventEmitter } from 'node:events';

const changes = new EventEmitter();
changes.setMaxListeners(0);

/** Called after a session's audit entry is written (possibly before its transaction commits: listeners reread later). */
export function notifySessionChanged(sessionId: string): void {
  changes.emit('change', sessionId);
}

/** Calls `listener(sessionId)` on every change; returns the unsubscribe function. */
export function onSessionChanged(listener: (sessionId: string) => void): () => void {
  changes.on('change', listener);
  return () => changes.off('change', listener);
}
