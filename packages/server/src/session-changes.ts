/**
 * Notice that a session changed: every audit entry of a session is one (a submission, a consent, a run's
 * start or end, expiry, cancellation…). The notice carries the session id only; the live event streams
 * (http/events.ts) reread the session through the normal access path before telling a browser anything.
 *
 * Publishing happens in the audit entry's own transaction (`publishSessionChange`, from appendAudit), and
 * subscribing through the server's `SessionChangeBus` (`ctx.changes`), whose delivery depends on the dialect:
 * - SQLite: one process serves the database, so the notice is an in-process event, emitted when the entry
 *   is written (possibly before its transaction commits: the streams reread a little later, and again).
 * - PostgreSQL: `pg_notify('tenzro_session_changes', sessionId)` in the same transaction, which PostgreSQL
 *   delivers at commit (exactly when readers can see the change) and never on rollback, to every server
 *   instance: each holds one dedicated connection that LISTENs (session-change-listener.ts) and feeds its
 *   own subscribers, so a browser connected to instance B hears of a change made through instance A. When
 *   that connection drops it is reopened with backoff, and subscribers then get one `resync` (notices sent
 *   while it was down are lost, so every stream rereads what it shows).
 */
import { EventEmitter } from 'node:events';
import { PostgresIntrospector, sql } from 'kysely';
import type { Logger } from './logger.js';
import type { Executor } from './repositories/executor.js';
import { listenForSessionChanges, type ListenerBackoff } from './session-change-listener.js';

/** The PostgreSQL notification channel; the payload is a session id and nothing else. */
export const SESSION_CHANGES_CHANNEL = 'tenzro_session_changes';

/** One session changed, or (after a lost notification connection) any may have: reread everything shown. */
export type SessionChange = { kind: 'session'; sessionId: string } | { kind: 'resync' };

export interface SessionChangeBus {
  /** Calls `listener` on every change this instance hears of; returns the unsubscribe function. */
  subscribe(listener: (change: SessionChange) => void): () => void;
  /** Stops listening (on PostgreSQL: ends the LISTEN connection). Subscribers hear nothing after it. */
  close(): Promise<void>;
}

export type SessionChangeBusOptions =
  | { dialect: 'sqlite' }
  | {
      dialect: 'postgres';
      /** The database URL; it may hold a password and is never logged. */
      connectionString: string;
      logger: Logger;
      backoff?: ListenerBackoff;
    };

/** SQLite's notices: one emitter for the process (every server on one SQLite file lives in this process). */
const inProcess = new EventEmitter();
inProcess.setMaxListeners(0);

/**
 * Publishes that `sessionId` changed, on `executor` (the audit entry's transaction). On PostgreSQL the
 * notice is queued in that transaction and delivered at its commit; on SQLite it is emitted now.
 */
export async function publishSessionChange(executor: Executor, sessionId: string): Promise<void> {
  if (typeof sessionId !== 'string' || sessionId.length === 0) throw new TypeError('sessionId: expected a non-empty string');
  if (executor.introspection instanceof PostgresIntrospector) {
    await sql`select pg_notify(${SESSION_CHANGES_CHANNEL}, ${sessionId})`.execute(executor);
    return;
  }
  inProcess.emit('change', { kind: 'session', sessionId } satisfies SessionChange);
}

/**
 * The bus for a server: in process on SQLite; on PostgreSQL a LISTEN connection of its own (not from the
 * pool), open before this resolves, so a change committed after it is heard.
 */
export async function createSessionChangeBus(options: SessionChangeBusOptions): Promise<SessionChangeBus> {
  switch (options?.dialect) {
    case 'sqlite':
      return inProcessBus();
    case 'postgres':
      return listenForSessionChanges({
        channel: SESSION_CHANGES_CHANNEL,
        connectionString: options.connectionString,
        logger: options.logger,
        ...(options.backoff !== undefined ? { backoff: options.backoff } : {}),
      });
    default:
      throw new TypeError(`dialect: expected 'sqlite' or 'postgres', got ${String((options as { dialect?: unknown } | undefined)?.dialect)}`);
  }
}

function inProcessBus(): SessionChangeBus {
  const mine = new Set<(change: SessionChange) => void>();
  return {
    subscribe(listener) {
      inProcess.on('change', listener);
      mine.add(listener);
      return () => {
        inProcess.off('change', listener);
        mine.delete(listener);
      };
    },
    async close() {
      for (const listener of mine) inProcess.off('change', listener);
      mine.clear();
    },
  };
}
