import { formatServerSentEvent, type SessionEvent } from '@tenzro/protocol';
import { describe, expect, it, vi } from 'vitest';
import { TenzroPlatform } from './index.js';

const ID = 'mps_aaaaaaaaaaaaaaaaaaaaaaaaaa';
const at = '2026-11-25T15:00:00.000Z';
const ev = (status: SessionEvent['status']): SessionEvent => ({ type: 'session.updated', sessionId: ID, status, at });

/** A fetch whose stream the test writes to. */
function streamingFetch() {
  const seen: Array<{ url: string; headers: Record<string, string> }> = [];
  let controller!: ReadableStreamDefaultController<Uint8Array>;
  const fetch = async (url: string, init: RequestInit) => {
    seen.push({ url, headers: init.headers as Record<string, string> });
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (controller = c) });
    init.signal?.addEventListener('abort', () => controller.error(init.signal!.reason));
    return new Response(body, { status: 200, headers: { 'content-type': 'text/event-stream' } });
  };
  const write = (text: string) => controller.enqueue(new TextEncoder().encode(text));
  return { fetch, seen, write, close: () => controller.close() };
}

const platformWith = (fetch: (url: string, init: RequestInit) => Promise<Response>) =>
  new TenzroPlatform({ apiKey: 'k', tenantId: 'bankA', baseUrl: 'http://host', fetch, trustedRoots: [], expectedMeasurements: ['0'.repeat(96)] } as never);

describe('platform.ai.watchSession: server-sent events, no polling', () => {
  it('yields each session.updated event as it arrives and ends when the server closes the stream', async () => {
    const host = streamingFetch();
    const events = platformWith(host.fetch).ai.watchSession(ID);
    const first = events.next();
    await new Promise((r) => setTimeout(r, 0));
    host.write(formatServerSentEvent(ev('collecting'), 1) + ': keep-alive\n\n');
    expect((await first).value).toEqual(ev('collecting'));
    host.write(formatServerSentEvent(ev('ready'), 2).slice(0, 20));
    const second = events.next();
    host.write(formatServerSentEvent(ev('ready'), 2).slice(20));
    expect((await second).value).toEqual(ev('ready'));
    host.close();
    expect((await events.next()).done).toBe(true);
    expect(host.seen[0]!.url).toBe(`http://host/v1/sessions/${ID}/events`);
    expect(host.seen[0]!.headers.accept).toBe('text/event-stream');
  });

  it('stops with the abort error when the caller aborts', async () => {
    const host = streamingFetch();
    const controller = new AbortController();
    const events = platformWith(host.fetch).ai.watchSessions({ signal: controller.signal });
    const next = events.next();
    await new Promise((r) => setTimeout(r, 0));
    controller.abort();
    await expect(next).rejects.toMatchObject({ code: 'aborted' });
    expect(host.seen[0]!.url).toBe('http://host/v1/events');
  });

  it('a refusal before the stream is the API error; a malformed event is invalid_response', async () => {
    const refused = platformWith(async () => new Response(JSON.stringify({ error: { code: 'not_found', message: 'session not found' } }), { status: 404 }));
    await expect(refused.ai.watchSession(ID).next()).rejects.toMatchObject({ code: 'not_found' });
    const host = streamingFetch();
    const events = platformWith(host.fetch).ai.watchSession(ID);
    const next = events.next();
    await new Promise((r) => setTimeout(r, 0));
    host.write('event: session.updated\ndata: {"type":"session.updated","sessionId":"nope"}\n\n');
    await expect(next).rejects.toMatchObject({ code: 'invalid_response' });
  });

  it('a stream silent past three keep-alives is reported as network_error, so the caller reconnects', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const host = streamingFetch();
      const events = platformWith(host.fetch).ai.watchSession(ID);
      const first = events.next();
      await vi.advanceTimersByTimeAsync(0);
      host.write(formatServerSentEvent(ev('collecting'), 1));
      expect((await first).value).toEqual(ev('collecting'));
      const next = events.next();
      const settled = next.then(
        () => 'resolved',
        (error: { code?: string; message?: string }) => error,
      );
      await vi.advanceTimersByTimeAsync(30_000);
      host.write(': keep-alive\n\n'); // a keep-alive resets the clock
      await vi.advanceTimersByTimeAsync(30_000);
      let outcome: unknown = 'pending';
      void settled.then((o) => (outcome = o));
      await vi.advanceTimersByTimeAsync(0);
      expect(outcome).toBe('pending');
      await vi.advanceTimersByTimeAsync(20_000);
      expect(await settled).toMatchObject({ code: 'network_error', message: expect.stringContaining('went silent') });
    } finally {
      vi.useRealTimers();
    }
  });
});
