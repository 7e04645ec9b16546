/**
 * Live session events (issue 6): `GET /v1/sessions/:id/events` (one session) and `GET /v1/events` (every
 * session the caller sees) answer `text/event-stream`. Each event says only that a session changed and its
 * status now — never data — so a client refetches what it shows through the normal API. On connect the
 * server sends the current state of the session (or of each listed session); `: keep-alive` comments every
 * 15 s keep proxies from closing an idle stream.
 *
 *   event: session.updated
 *   id: <monotonic per stream>
 *   data: {"type":"session.updated","sessionId":"mps_…","status":"collecting","at":"2026-…Z"}
 */
import { z } from 'zod';
import { SessionId } from './primitives.js';
import { SESSION_STATUSES } from './session-state.js';

export const SESSION_EVENT_TYPE = 'session.updated';

export const SessionEvent = z.strictObject({
  type: z.literal(SESSION_EVENT_TYPE),
  sessionId: SessionId,
  status: z.enum(SESSION_STATUSES),
  /** When the server saw the change (ISO 8601, UTC). */
  at: z.string(),
});
export type SessionEvent = z.infer<typeof SessionEvent>;

/** One server-sent event as text (data on one line: JSON never contains a raw newline). */
export function formatServerSentEvent(event: SessionEvent, id: number): string {
  return `event: ${event.type}\nid: ${id}\ndata: ${JSON.stringify(event)}\n\n`;
}

/**
 * An incremental parser of a `text/event-stream` body (the WHATWG format: lines, blank line ends an event,
 * `data:` lines joined by \n, comments ignored). Feed decoded text; it returns the complete events' data.
 * `maxEventChars` bounds what an endless line can make it hold.
 */
export function createServerSentEventParser(options: { maxEventChars?: number } = {}): { push(text: string): Array<{ event: string; data: string }> } {
  const max = options.maxEventChars ?? 64 * 1024;
  let buffer = '';
  let data: string[] = [];
  let event = 'message';
  return {
    push(text: string) {
      buffer += text;
      if (buffer.length > max && !/[\r\n]/.test(buffer)) throw new RangeError(`a server-sent event line exceeds ${max} characters`);
      const out: Array<{ event: string; data: string }> = [];
      for (;;) {
        const end = buffer.search(/\r\n|\r|\n/);
        if (end < 0) break;
        const line = buffer.slice(0, end);
        buffer = buffer.slice(end + (buffer.startsWith('\r\n', end) ? 2 : 1));
        if (line === '') {
          if (data.length > 0) out.push({ event, data: data.join('\n') });
          data = [];
          event = 'message';
          continue;
        }
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') {
          data.push(value);
          if (data.reduce((n, d) => n + d.length, 0) > max) throw new RangeError(`a server-sent event exceeds ${max} characters`);
        } else if (field === 'event') event = value;
      }
      return out;
    },
  };
}
