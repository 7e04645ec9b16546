/**
 * The PostgreSQL side of the session change bus (session-changes.ts): one dedicated pg client per server
 * instance, outside the query pool, that runs `LISTEN <channel>` (PostgreSQL 15 docs, SQL Commands: LISTEN,
 * NOTIFY) and hands each notification's payload, a session id, to this instance's subscribers.
 *
 * When the connection drops (a database restart, `pg_terminate_backend`, a network failure seen by TCP
 * keep-alive) it is reopened after a delay that starts at `backoff.initialMs` and doubles per failed attempt
 * up to `backoff.maxMs`. PostgreSQL does not keep notifications for a listener that is gone, so after a
 * reconnection subscribers get one `{ kind: 'resync' }`: whatever they show may have changed meanwhile.
 * Payloads that are not session ids (anyone who can connect may NOTIFY) are ignored. The connection string
 * may hold a password: it goes to pg only, never to a log line or an error message.
 */
import { EventEmitter } from 'node:events';
import { SESSION_ID_PATTERN } from '@tenzro/protocol';
import pg from 'pg';
import type { Logger } from './logger.js';
import type { SessionChange, SessionChangeBus } from './session-changes.js';

export interface ListenerBackoff {
  /** The first reconnection delay (default 100 ms). */
  initialMs: number;
  /** The longest reconnection delay (default 5 s). */
  maxMs: number;
}

export const DEFAULT_LISTENER_BACKOFF: ListenerBackoff = { initialMs: 100, maxMs: 5_000 };

export interface SessionChangeListenerOptions {
  /** The channel to LISTEN on: a plain lower-case identifier. */
  channel: string;
  connectionString: string;
  logger: Logger;
  backoff?: ListenerBackoff;
}

/** The first LISTEN connection could not be opened (the server does not start without one). */
export class SessionChangeListenerError extends Error {
  readonly code = 'session_changes_unavailable' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SessionChangeListenerError';
  }
}

const CHANNEL_PATTERN = /^[a-z_][a-z0-9_]{0,62}$/;

/** Opens the LISTEN connection, then returns the bus it feeds; rejects if the first connection fails. */
export async function listenForSessionChanges(options: SessionChangeListenerOptions): Promise<SessionChangeBus> {
  if (typeof options?.channel !== 'string' || !CHANNEL_PATTERN.test(options.channel)) {
    throw new TypeError('channel: expected a lower-case SQL identifier (letters, digits, _)');
  }
  if (typeof options.connectionString !== 'string' || options.connectionString.length === 0) {
    throw new TypeError('connectionString: expected a non-empty string');
  }
  const backoff = options.backoff ?? DEFAULT_LISTENER_BACKOFF;
  if (!Number.isFinite(backoff.initialMs) || backoff.initialMs <= 0) throw new RangeError(`backoff.initialMs: expected a positive number, got ${backoff.initialMs}`);
  if (!Number.isFinite(backoff.maxMs) || backoff.maxMs < backoff.initialMs) {
    throw new RangeError(`backoff.maxMs: expected a number of at least backoff.initialMs (${backoff.initialMs}), got ${backoff.maxMs}`);
  }
  const { channel, connectionString, logger } = options;

  const hub = new EventEmitter();
  hub.setMaxListeners(0);
  const emit = (change: SessionChange): void => {
    for (const listener of hub.listeners('change') as Array<(change: SessionChange) => void>) {
      try {
        listener(change);
      } catch (error) {
        logger.error({ err: error }, 'a session change subscriber threw');
      }
    }
  };

  let client: pg.Client | undefined;
  let closed = false;
  let delay = backoff.initialMs;
  let retry: NodeJS.Timeout | undefined;
  let attempt: Promise<void> | undefined;
  /** Clients whose connection has ended (one may end between its LISTEN and its adoption). */
  const ended = new WeakSet<pg.Client>();

  const connect = async (): Promise<pg.Client> => {
    const candidate = new pg.Client({ connectionString, keepAlive: true, keepAliveInitialDelayMillis: 10_000, application_name: 'tenzro-session-changes' });
    // pg emits 'error' on a broken connection; 'end' follows, and that is where a reconnection is planned.
    candidate.on('error', (error) => logger.warn({ err: error }, 'the session change connection failed'));
    candidate.on('notification', (message) => {
      if (candidate !== client || message.channel !== channel) return;
      const payload = message.payload;
      if (typeof payload === 'string' && SESSION_ID_PATTERN.test(payload)) emit({ kind: 'session', sessionId: payload });
    });
    candidate.on('end', () => {
      ended.add(candidate);
      if (candidate !== client) return;
      client = undefined;
      if (closed) return;
      logger.warn('the session change connection was lost; reconnecting');
      schedule();
    });
    try {
      await candidate.connect();
      await candidate.query(`LISTEN ${channel}`);
    } catch (error) {
      await candidate.end().catch(() => undefined);
      throw error;
    }
    return candidate;
  };

  const schedule = (): void => {
    retry = setTimeout(() => {
      retry = undefined;
      attempt = reconnect().finally(() => (attempt = undefined));
    }, delay);
    delay = Math.min(delay * 2, backoff.maxMs);
  };

  const reconnect = async (): Promise<void> => {
    if (closed) return;
    let fresh: pg.Client;
    try {
      fresh = await connect();
    } catch (error) {
      if (closed) return;
      logger.warn({ err: error, retryInMs: delay }, 'could not reopen the session change connection');
      schedule();
      return;
    }
    if (closed) {
      await fresh.end().catch(() => undefined);
      return;
    }
    if (ended.has(fresh)) return schedule();
    client = fresh;
    delay = backoff.initialMs;
    logger.info('the session change connection is back; streams reread their sessions');
    emit({ kind: 'resync' });
  };

  try {
    client = await connect();
  } catch (error) {
    throw new SessionChangeListenerError('could not LISTEN for session changes on the database', { cause: error });
  }
  if (ended.has(client)) {
    client = undefined;
    schedule();
  }

  return {
    subscribe(listener) {
      if (typeof listener !== 'function') throw new TypeError('listener: expected a function');
      hub.on('change', listener);
      return () => void hub.off('change', listener);
    },
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(retry);
      hub.removeAllListeners();
      await attempt; // a reconnection in flight ends the client it opens (closed is set)
      const last = client;
      client = undefined;
      await last?.end().catch(() => undefined);
    },
  };
}
