/**
 * Live session events over server-sent events (protocol events.ts): `GET /v1/sessions/:id/events` and
 * `GET /v1/events`. A stream starts with the current state, then sends one `session.updated` per change
 * the caller may see (coalesced over a short window, reread through the same access checks as GET
 * /v1/sessions/:id, so a stream never tells more than the API would), and a keep-alive comment every 15 s.
 * Events carry a session id and status only. Streams are bounded in number and end when the server closes.
 * Changes come from the server's session change bus (session-changes.ts): in process on SQLite, and on
 * PostgreSQL from every instance through LISTEN/NOTIFY, so a stream hears of changes made through any
 * instance. After the bus's `resync` (its database connection was lost and regained) every session the
 * stream shows is reread and sent once, as after a change.
 */
import { SESSION_EVENT_TYPE, SessionIdParams, TenzroError, assertNever, formatServerSentEvent, type SessionEvent } from '@tenzro/protocol';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Context } from '../context.js';
import { isVisibleTo, parseTerms, type Actor } from '../domain/access.js';
import { getSession, listSessions } from '../domain/sessions.js';
import { findSession, listVisibleSessions } from '../repositories/sessions.js';

const KEEP_ALIVE_MS = 15_000;
/** A change is reread after this window, so a burst (submission + status) becomes one event. */
const COALESCE_MS = 50;
/** A reread that sees no difference is tried once more after this (the writer's transaction may not have committed yet). */
const RECHECK_MS = 500;
export const MAX_EVENT_STREAMS = 1000;
/** Per tenant: one tenant cannot take every stream. */
export const MAX_EVENT_STREAMS_PER_TENANT = 16;

interface Stream {
  tenantId: string;
  close(): void;
}

export function registerEventRoutes(app: FastifyInstance, ctx: Context): void {
  const actorOf = (request: FastifyRequest): Actor => (request as FastifyRequest & { actor: Actor }).actor;
  const open = new Set<Stream>();
  app.addHook('onClose', async () => {
    for (const stream of [...open]) stream.close();
  });

  const start = (
    request: FastifyRequest,
    reply: FastifyReply,
    initial: SessionEvent[],
    reread: (sessionId: string) => Promise<SessionEvent | undefined>,
    wants: (sessionId: string) => boolean,
    shown: () => Promise<string[]>,
  ): void => {
    const tenantId = actorOf(request).tenantId;
    if (open.size >= MAX_EVENT_STREAMS) throw new TenzroError('rate_limited', 'too many open event streams; try again later');
    if ([...open].filter((s) => s.tenantId === tenantId).length >= MAX_EVENT_STREAMS_PER_TENANT) {
      throw new TenzroError('rate_limited', `at most ${MAX_EVENT_STREAMS_PER_TENANT} event streams per tenant; close one first`);
    }
    const raw = reply.raw;
    // The client may have gone while the route awaited its first read: then there is nothing to stream to.
    if (request.raw.destroyed || raw.destroyed) return void reply.hijack();
    reply.hijack();
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    raw.flushHeaders(); // a stream with nothing to say yet must still open now, not at the first keep-alive
    let id = 0;
    let closed = false;
    const lastStatus = new Map<string, string>();
    const send = (event: SessionEvent): void => {
      if (closed) return;
      lastStatus.set(event.sessionId, event.status);
      raw.write(formatServerSentEvent(event, ++id));
    };
    const pending = new Map<string, NodeJS.Timeout>();
    const check = async (sessionId: string, again: boolean): Promise<void> => {
      pending.delete(sessionId);
      if (closed) return;
      let event: SessionEvent | undefined;
      try {
        event = await reread(sessionId);
      } catch {
        return; // no longer visible (or gone): say nothing
      }
      if (event === undefined || closed) return;
      // The first reread after a change always tells (counts may have changed with the same status); the
      // recheck only when the status moved since (the writer's commit landed after the first reread).
      if (again || lastStatus.get(sessionId) !== event.status) send(event);
      if (again) pending.set(sessionId, setTimeout(() => void check(sessionId, false), RECHECK_MS));
    };
    const changed = (sessionId: string): void => {
      if (closed || !wants(sessionId)) return;
      clearTimeout(pending.get(sessionId));
      pending.set(sessionId, setTimeout(() => void check(sessionId, true), COALESCE_MS));
    };
    const unsubscribe = ctx.changes.subscribe((change) => {
      switch (change.kind) {
        case 'session':
          return changed(change.sessionId);
        case 'resync':
          // Notices may have been lost: every session shown (and any that became visible) counts as changed.
          return void shown().then(
            (ids) => new Set([...lastStatus.keys(), ...ids]).forEach(changed),
            () => [...lastStatus.keys()].forEach(changed),
          );
        default:
          return assertNever(change);
      }
    });
    const keepAlive = setInterval(() => raw.write(': keep-alive\n\n'), KEEP_ALIVE_MS);
    const stream: Stream = {
      tenantId,
      close() {
        if (closed) return;
        closed = true;
        unsubscribe();
        clearInterval(keepAlive);
        for (const timer of pending.values()) clearTimeout(timer);
        open.delete(stream);
        raw.end();
      },
    };
    open.add(stream);
    raw.on('close', () => stream.close());
    raw.on('error', () => stream.close());
    for (const event of initial) send(event);
  };

  /**
   * The session's event if the caller may see it. Visibility is checked first WITHOUT the access path's
   * refusal log: a stream hears of every session's changes, and logging access_denied for each would write
   * to other tenants' trails (and wake every stream again).
   */
  const visibleEvent = async (actor: Actor, sessionId: string): Promise<SessionEvent | undefined> => {
    const row = await findSession(ctx.db, sessionId);
    if (!row || !isVisibleTo(row, parseTerms(row), actor.tenantId)) return undefined;
    return eventOf(sessionId, (await getSession(ctx, actor, sessionId)).status);
  };

  const eventOf = (sessionId: string, status: string): SessionEvent => ({ type: SESSION_EVENT_TYPE, sessionId, status: status as SessionEvent['status'], at: new Date(ctx.clock().getTime()).toISOString() });

  app.get('/v1/sessions/:sessionId/events', { config: { auth: 'tenant' } }, async (request, reply) => {
    const params = SessionIdParams.safeParse(request.params);
    if (!params.success) throw new TenzroError('invalid_request', 'sessionId must be a session id (mps_…)');
    const actor = actorOf(request);
    const { sessionId } = params.data;
    const session = await getSession(ctx, actor, sessionId); // refusals (not_found, …) before the stream starts
    start(
      request,
      reply,
      [eventOf(session.id, session.status)],
      (id) => visibleEvent(actor, id),
      (id) => id === sessionId,
      async () => [sessionId],
    );
  });

  app.get('/v1/events', { config: { auth: 'tenant' } }, async (request, reply) => {
    const actor = actorOf(request);
    if (actor.partyHeader !== undefined && !actor.partyHeader.startsWith(`party::${actor.tenantId}::`)) {
      throw new TenzroError('forbidden', `tenant ${actor.tenantId} may not act for ${actor.partyHeader}`);
    }
    const sessions = await listSessions(ctx, actor);
    start(
      request,
      reply,
      sessions.map((s) => eventOf(s.id, s.status)),
      (id) => visibleEvent(actor, id),
      () => true,
      async () => (await listVisibleSessions(ctx.db, actor.tenantId)).map((s) => s.id),
    );
  });
}
