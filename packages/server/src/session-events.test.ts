// Live session events (server-sent events): GET /v1/sessions/:id/events and GET /v1/events start with the
// current state, send one event per change the caller may see, carry no data, refuse before streaming, and
// end when the server closes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consent, createTestSession, demoData, startTestServer, submitValid, type DemoName, type TestServer } from './harness.fixture.js';
import { openEventStream, type CollectedStream } from './event-stream.fixture.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ start: { listen: true } });
});
afterAll(async () => {
  await t?.close();
});

/** Opens a stream as `who` and collects its events. */
function open(who: DemoName, path: string): Promise<CollectedStream> {
  return openEventStream(`${t.server.url}${path}`, t.headers(who));
}

describe('live session events', () => {
  it('one change is one event (plus one more only if the status moved after it), not a stream of repeats', async () => {
    const session = await createTestSession(t);
    const stream = await open('bankA', `/v1/sessions/${session.id}/events`);
    await stream.until((e) => e.length >= 1, 'the initial event');
    expect((await submitValid(t, 'bankA', session.id, demoData('bankA'))).statusCode).toBe(201);
    await stream.until((e) => e.length >= 2, 'the change');
    await new Promise((r) => setTimeout(r, 1200)); // past the recheck
    expect(stream.events.length).toBe(2);
    stream.close();
  });

  it('at most 16 streams per tenant: the 17th is rate_limited before streaming', async () => {
    const streams = await Promise.all(Array.from({ length: 16 }, () => open('regulator', '/v1/events')));
    expect(streams.every((s) => s.response.status === 200)).toBe(true);
    const extra = await open('regulator', '/v1/events');
    expect(extra.response.status).toBe(429);
    expect((await extra.response.json()).error.code).toBe('rate_limited');
    streams.forEach((s) => s.close());
  });

  it('a participant\'s stream starts with the status and follows submissions and consents, with no data in it', async () => {
    const session = await createTestSession(t);
    const stream = await open('bankA', `/v1/sessions/${session.id}/events`);
    expect(stream.response.status).toBe(200);
    expect(stream.response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    await stream.until((e) => e.length >= 1, 'the initial event');
    expect(stream.events[0]).toMatchObject({ event: 'session.updated', type: 'session.updated', sessionId: session.id, status: session.status });

    expect((await submitValid(t, 'bankA', session.id, demoData('bankA'))).statusCode).toBe(201);
    expect((await submitValid(t, 'bankB', session.id, demoData('bankB'))).statusCode).toBe(201);
    await stream.until((e) => e.some((x) => x.status === 'awaiting_consent'), 'awaiting_consent');
    await consent(t, 'bankA', session.id);
    await consent(t, 'bankB', session.id);
    await stream.until((e) => e.some((x) => x.status === 'ready'), 'ready');
    for (const event of stream.events) expect(Object.keys(event).sort()).toEqual(['at', 'event', 'sessionId', 'status', 'type']);
    stream.close();
  });

  it('GET /v1/events lists every visible session first, then follows changes to any of them', async () => {
    const first = await createTestSession(t);
    const stream = await open('bankB', '/v1/events');
    await stream.until((e) => e.some((x) => x.sessionId === first.id), 'the listed session');
    const second = await createTestSession(t);
    await stream.until((e) => e.some((x) => x.sessionId === second.id), 'the new session');
    stream.close();
  });

  it('refuses before streaming: no credentials → 401, a session the tenant cannot see → 404, a bad id → 400', async () => {
    const session = await createTestSession(t, { participants: ['bankA', 'bankB'], observers: [] });
    const anonymous = await fetch(`${t.server.url}/v1/sessions/${session.id}/events`);
    expect(anonymous.status).toBe(401);
    const outsider = await open('bankC', `/v1/sessions/${session.id}/events`);
    expect(outsider.response.status).toBe(404);
    expect((await outsider.response.json()).error.code).toBe('not_found');
    const bad = await open('bankA', '/v1/sessions/not-an-id/events');
    expect(bad.response.status).toBe(400);
  });

  it('a tenant not on a session never hears of its changes on /v1/events', async () => {
    const stream = await open('bankC', '/v1/events');
    await stream.until(() => true, 'open');
    const hidden = await createTestSession(t, { participants: ['bankA', 'bankB'], observers: [] });
    await submitValid(t, 'bankA', hidden.id, demoData('bankA'));
    await new Promise((r) => setTimeout(r, 800));
    expect(stream.events.some((e) => e.sessionId === hidden.id)).toBe(false);
    // …and its stream never writes to that session's trail (no access_denied for a session it only heard of).
    const trail = await t.server.ctx.db.selectFrom('audit_events').select(['type', 'actor_tenant']).where('session_id', '=', hidden.id).execute();
    expect(trail.filter((e) => e.actor_tenant === 'bankC')).toEqual([]);
    stream.close();
  });
});
