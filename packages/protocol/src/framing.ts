/**
 * The enclave channel's framing: each message is a 4-byte big-endian length followed by that many bytes of
 * UTF-8 JSON. It is the shape of a vsock stream; the decoder never buffers more than one frame's limit.
 */
import { utf8Decode, utf8Encode } from '@tenzro/crypto';

export const MAX_FRAME_BYTES = 64 * 1024 * 1024;

export class FrameError extends Error {
  readonly code = 'invalid_frame' as const;
  /** Whole messages decoded before the bad frame: the caller still owes them a reply. */
  readonly decoded: unknown[];

  constructor(message: string, options: { cause?: unknown; decoded?: unknown[] } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.decoded = options.decoded ?? [];
  }
}

export function encodeFrame(message: unknown): Uint8Array {
  const body = utf8Encode(JSON.stringify(message));
  if (body.length > MAX_FRAME_BYTES) throw new FrameError(`frame of ${body.length} bytes exceeds ${MAX_FRAME_BYTES}`);
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length, false);
  frame.set(body, 4);
  return frame;
}

/** Accumulates stream chunks and yields whole decoded messages. */
export class FrameDecoder {
  #buffered: Uint8Array[] = [];
  #size = 0;

  push(chunk: Uint8Array): unknown[] {
    this.#buffered.push(chunk);
    this.#size += chunk.length;
    const messages: unknown[] = [];
    for (;;) {
      if (this.#size < 4) break;
      const head = this.#peek(4);
      const length = new DataView(head.buffer, head.byteOffset, 4).getUint32(0, false);
      if (length > MAX_FRAME_BYTES) {
        throw new FrameError(`frame length ${length} exceeds ${MAX_FRAME_BYTES}`, { decoded: messages });
      }
      if (this.#size < 4 + length) break;
      const frame = this.#take(4 + length);
      let message: unknown;
      try {
        message = JSON.parse(utf8Decode(frame.subarray(4)));
      } catch (cause) {
        // The bad frame is consumed; frames after it stay buffered for the next push().
        throw new FrameError('frame is not valid UTF-8 JSON', { cause, decoded: messages });
      }
      messages.push(message);
    }
    return messages;
  }

  #peek(n: number): Uint8Array {
    const first = this.#buffered[0]!;
    if (first.length >= n) return first.subarray(0, n);
    return this.#take(n, false);
  }

  #take(n: number, consume = true): Uint8Array {
    const out = new Uint8Array(n);
    let offset = 0;
    let index = 0;
    while (offset < n) {
      const chunk = this.#buffered[index]!;
      const need = Math.min(n - offset, chunk.length);
      out.set(chunk.subarray(0, need), offset);
      offset += need;
      if (consume) {
        if (need === chunk.length) this.#buffered.shift();
        else this.#buffered[0] = chunk.subarray(need);
      } else index++;
    }
    if (consume) this.#size -= n;
    return out;
  }
}
