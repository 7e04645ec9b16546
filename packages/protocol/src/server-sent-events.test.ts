import { describe, expect, it } from 'vitest';
import { createServerSentEventParser, formatServerSentEvent, type SessionEvent } from './events.js';

const event: SessionEvent = { type: 'session.updated', sessionId: 'mps_aaaaaaaaaaaaaaaaaaaaaaaaaa', status: 'collecting', at: '2026-11-25T15:00:00.000Z' };

describe('server-sent events (WHATWG event-stream format)', () => {
  it('round-trips a formatted event, whatever the chunk boundaries', () => {
    const text = formatServerSentEvent(event, 7) + ': keep-alive\n\n' + formatServerSentEvent({ ...event, status: 'ready' }, 8);
    for (const size of [1, 3, 17, text.length]) {
      const parser = createServerSentEventParser();
      const out: Array<{ event: string; data: string }> = [];
      for (let i = 0; i < text.length; i += size) out.push(...parser.push(text.slice(i, i + size)));
      expect(out.map((e) => e.event)).toEqual(['session.updated', 'session.updated']);
      expect(out.map((e) => JSON.parse(e.data).status)).toEqual(['collecting', 'ready']);
    }
  });

  it('joins data lines with \\n, accepts CRLF and CR, ignores comments and unknown fields, defaults the event name', () => {
    const parser = createServerSentEventParser();
    expect(parser.push(': hello\r\ndata: a\r\ndata:b\rretry: 10\r\n\r\n')).toEqual([{ event: 'message', data: 'a\nb' }]);
    expect(parser.push('event: x\n\n')).toEqual([]); // no data: no event
  });

  it('bounds what an endless line or event can make it hold', () => {
    const parser = createServerSentEventParser({ maxEventChars: 100 });
    expect(() => parser.push('data: ' + 'x'.repeat(200))).toThrow(RangeError);
    const second = createServerSentEventParser({ maxEventChars: 100 });
    expect(() => second.push(('data: ' + 'y'.repeat(60) + '\n').repeat(3))).toThrow(RangeError);
  });
});
