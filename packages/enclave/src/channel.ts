/**
 * The enclave side of the framed channel (protocol framing.ts): reads frames from `input`, hands each
 * message to the handler concurrently, and writes exactly one reply frame per request to `output`.
 * Resolves once `input` has ended and every request in flight has been answered.
 *
 * A frame that is not JSON is answered `invalid_request` with id -1 and the stream goes on (the decoder
 * has consumed it). A frame length beyond the limit desynchronises the stream: it is answered the same
 * way and the channel stops reading (the promise rejects with ChannelError).
 */
import type { Readable, Writable } from 'node:stream';
import { FrameDecoder, FrameError, encodeFrame, type EnclaveReply } from '@tenzro/protocol';
import type { RequestHandler } from './dispatch.js';
import { logError, logEvent } from './log.js';

export class ChannelError extends Error {
  readonly code = 'channel_broken' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ChannelError';
  }
}

const INTERNAL_REPLY_ERROR = { code: 'internal_error', message: 'the enclave failed while handling the request' } as const;

export async function serveChannel(input: Readable, output: Writable, handle: RequestHandler): Promise<void> {
  const decoder = new FrameDecoder();
  const inflight = new Set<Promise<void>>();

  const send = (reply: EnclaveReply): void => {
    let frame: Uint8Array;
    try {
      frame = encodeFrame(reply);
    } catch (error) {
      logError('encode_reply', error);
      frame = encodeFrame({ id: reply.id, ok: false, error: INTERNAL_REPLY_ERROR });
    }
    output.write(frame);
  };

  const dispatch = (message: unknown): void => {
    const task = handle(message)
      .catch((error: unknown): EnclaveReply => {
        logError('handler', error);
        return { id: -1, ok: false, error: INTERNAL_REPLY_ERROR };
      })
      .then(send)
      .finally(() => inflight.delete(task));
    inflight.add(task);
  };

  try {
    for await (const chunk of input as AsyncIterable<Buffer>) {
      let bytes: Uint8Array = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
      // A bad frame aborts one push() after the frames before it (error.decoded); frames after it are
      // still buffered, so push nothing to go on.
      for (;;) {
        let messages: unknown[];
        try {
          messages = decoder.push(bytes);
        } catch (error) {
          if (!(error instanceof FrameError)) throw error;
          for (const message of error.decoded) dispatch(message);
          send({ id: -1, ok: false, error: { code: 'invalid_request', message: 'malformed frame' } });
          if (/exceeds/.test(error.message)) throw new ChannelError('frame length beyond the limit', { cause: error });
          logEvent('frame_rejected', { reason: 'not_json' });
          bytes = new Uint8Array(0);
          continue;
        }
        for (const message of messages) dispatch(message);
        break;
      }
    }
  } finally {
    while (inflight.size > 0) await Promise.allSettled([...inflight]);
  }
}
