// A test client of the server's live event streams (http/events.ts): opens `GET …/events` over fetch and
// collects the parsed events as they arrive, with a wait for a condition on them.
import { createServerSentEventParser } from '@tenzro/protocol';

export interface CollectedStream {
  response: Response;
  /** Each event's data fields plus `event` (and `receivedAt`, ms since the epoch, when asked for). */
  events: any[];
  /** Resolves once `predicate(events)` holds; rejects after `timeoutMs` naming `what` and what arrived. */
  until(predicate: (all: any[]) => boolean, what: string, timeoutMs?: number): Promise<void>;
  close(): void;
}

export async function openEventStream(url: string, headers: Record<string, string>, options: { stampArrival?: boolean } = {}): Promise<CollectedStream> {
  const controller = new AbortController();
  const response = await fetch(url, { headers: { ...headers, accept: 'text/event-stream' }, signal: controller.signal });
  const events: any[] = [];
  const waiters: Array<() => void> = [];
  if (response.ok) {
    const parser = createServerSentEventParser();
    void (async () => {
      try {
        for await (const chunk of response.body!.pipeThrough(new TextDecoderStream())) {
          for (const e of parser.push(chunk)) {
            events.push({ event: e.event, ...(options.stampArrival ? { receivedAt: Date.now() } : {}), ...JSON.parse(e.data) });
            waiters.splice(0).forEach((w) => w());
          }
        }
      } catch {
        /* aborted */
      }
    })();
  }
  const until = async (predicate: (all: any[]) => boolean, what: string, timeoutMs = 10_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!predicate(events)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; got ${JSON.stringify(events)}`);
      await new Promise<void>((r) => {
        waiters.push(r);
        setTimeout(r, 100);
      });
    }
  };
  return { response, events, until, close: () => controller.abort() };
}
