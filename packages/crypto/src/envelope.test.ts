// The chunked envelope of DESIGN §5.3: round trips at every boundary, wire format, and every kind of
// tampering (bit flips, truncation, reordering, splicing, wrong key or info) failing as one OpenError.
import { describe, expect, it } from 'vitest';
import { concatBytes } from './encoding.js';
import {
  DATA_INFO,
  DEFAULT_CHUNK_SIZE,
  ENVELOPE_HEADER_LENGTH,
  RESULT_INFO,
  openEnvelope,
  openEnvelopeStream,
  sealEnvelope,
  sealEnvelopeStream,
  sealedEnvelopeLength,
} from './envelope.js';
import { OpenError, SealError, generateEncryptionKeyPair } from './hpke.js';
import { randomBytes } from './random.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const info = DATA_INFO;
const recipient = await generateEncryptionKeyPair();
const other = await generateEncryptionKeyPair();

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  for await (const part of source) parts.push(part);
  return concatBytes(...parts);
}

async function* pieces(bytes: Uint8Array, sizes: number[] = [bytes.length || 1]): AsyncGenerator<Uint8Array> {
  let offset = 0;
  for (let i = 0; offset < bytes.length; i++) {
    const size = sizes[i % sizes.length]!;
    yield bytes.slice(offset, offset + size);
    offset += size;
  }
}

/** Deterministic filler that is cheap to produce and to check. */
function pattern(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed;
  for (let i = 0; i < length; i += 4) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    out[i] = x;
    out[i + 1] = x >>> 8;
    out[i + 2] = x >>> 16;
    out[i + 3] = x >>> 24;
  }
  return out;
}

/** Byte-array equality without vitest's per-element deep diff (which is very slow for megabytes). */
function expectBytes(actual: Uint8Array, expected: Uint8Array, label = ''): void {
  expect(actual.length, `${label} length`).toBe(expected.length);
  expect(Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(expected), `${label} bytes`).toBe(true);
}

async function expectOpenError(promise: Promise<unknown>, label = ''): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error, label).toBeInstanceOf(OpenError);
  expect((error as OpenError).code).toBe('decryption_failed');
  expect((error as OpenError).message).toBe('decryption failed');
}

/** Opens both ways (whole and streaming) and expects both to fail. */
async function expectBothFail(envelope: Uint8Array, label = '', key = recipient.privateKey, openInfo = info): Promise<void> {
  await expectOpenError(openEnvelope(key, envelope, { info: openInfo }), `${label} (whole)`);
  await expectOpenError(collect(openEnvelopeStream(key, pieces(envelope, [777]), { info: openInfo })), `${label} (stream)`);
}

describe('round trips', () => {
  const chunkSize = KiB;
  const sizes = [0, 1, chunkSize - 1, chunkSize, chunkSize + 1, 2 * chunkSize - 1, 2 * chunkSize, 2 * chunkSize + 1, 5 * chunkSize + 17];

  it.each(sizes)('%i bytes with 1 KiB chunks, whole and streaming, every combination', async (size) => {
    const plaintext = pattern(size, size + 1);
    const whole = await sealEnvelope(recipient.publicKey, plaintext, { info, chunkSize });
    expect(whole).toHaveLength(sealedEnvelopeLength(size, chunkSize));
    const streamed = await collect(sealEnvelopeStream(recipient.publicKey, pieces(plaintext, [100, 1, 2000]), { info, chunkSize }));
    expect(streamed).toHaveLength(whole.length);
    for (const envelope of [whole, streamed]) {
      expectBytes(await openEnvelope(recipient.privateKey, envelope, { info }), plaintext);
      expectBytes(await collect(openEnvelopeStream(recipient.privateKey, pieces(envelope, [1, 50, 3000]), { info })), plaintext);
    }
  });

  it('5 MiB with 64 KiB chunks', async () => {
    const plaintext = randomBytes(5 * MiB);
    const envelope = await sealEnvelope(recipient.publicKey, plaintext, { info, chunkSize: 64 * KiB });
    expect(envelope).toHaveLength(ENVELOPE_HEADER_LENGTH + 5 * MiB + 80 * 16);
    expectBytes(await openEnvelope(recipient.privateKey, envelope, { info }), plaintext);
    const streamed = await collect(openEnvelopeStream(recipient.privateKey, pieces(envelope, [100_000]), { info }));
    expectBytes(streamed, plaintext);
  });

  it('the default chunk size is 1 MiB, and raw or SecretBytes keys both work', async () => {
    const plaintext = pattern(MiB + 5);
    const envelope = await sealEnvelope(recipient.publicKey, plaintext, { info: RESULT_INFO });
    expect(new DataView(envelope.buffer).getUint32(11)).toBe(DEFAULT_CHUNK_SIZE);
    expect(envelope).toHaveLength(ENVELOPE_HEADER_LENGTH + MiB + 5 + 32);
    expectBytes(await openEnvelope(recipient.privateKey.expose(), envelope, { info: RESULT_INFO }), plaintext);
  });

  it('streaming seal accepts empty pieces and an empty source', async () => {
    async function* withEmpties() {
      yield new Uint8Array(0);
      yield Uint8Array.of(1, 2, 3);
      yield new Uint8Array(0);
    }
    const envelope = await collect(sealEnvelopeStream(recipient.publicKey, withEmpties(), { info }));
    expect(await openEnvelope(recipient.privateKey, envelope, { info })).toEqual(Uint8Array.of(1, 2, 3));
    const empty = await collect(sealEnvelopeStream(recipient.publicKey, pieces(new Uint8Array(0)), { info }));
    expect(empty).toHaveLength(ENVELOPE_HEADER_LENGTH + 16);
    expect(await openEnvelope(recipient.privateKey, empty, { info })).toEqual(new Uint8Array(0));
  });
});

describe('wire format', () => {
  it('header = "TZE1" | 1 | 0x0020 0x0001 0x0002 | chunkSize u32 | enc; empty plaintext is one 16-byte chunk', async () => {
    const envelope = await sealEnvelope(recipient.publicKey, new Uint8Array(0), { info, chunkSize: 4096 });
    expect(envelope).toHaveLength(ENVELOPE_HEADER_LENGTH + 16);
    expect(new TextDecoder().decode(envelope.subarray(0, 4))).toBe('TZE1');
    expect([...envelope.subarray(4, 15)]).toEqual([1, 0x00, 0x20, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x10, 0x00]);
    const again = await sealEnvelope(recipient.publicKey, new Uint8Array(0), { info, chunkSize: 4096 });
    expect(again.subarray(15, 47)).not.toEqual(envelope.subarray(15, 47)); // fresh enc each time
  });

  it('sealedEnvelopeLength', () => {
    expect(sealedEnvelopeLength(0)).toBe(63);
    expect(sealedEnvelopeLength(MiB)).toBe(47 + MiB + 16);
    expect(sealedEnvelopeLength(MiB + 1)).toBe(47 + MiB + 1 + 32);
    expect(() => sealedEnvelopeLength(-1)).toThrow(RangeError);
  });
});

describe('tampering', () => {
  const chunkSize = KiB;

  it('every single-bit flip of a one-chunk envelope fails (header, enc, ciphertext, tag)', async () => {
    const envelope = await sealEnvelope(recipient.publicKey, pattern(64), { info, chunkSize });
    expect(envelope).toHaveLength(47 + 64 + 16);
    for (let bit = 0; bit < envelope.length * 8; bit++) {
      const flipped = envelope.slice();
      flipped[bit >> 3]! ^= 1 << (bit & 7);
      await expectOpenError(openEnvelope(recipient.privateKey, flipped, { info }), `bit ${bit}`);
    }
  });

  it('bit flips across a three-chunk envelope fail, whole and streaming', async () => {
    const envelope = await sealEnvelope(recipient.publicKey, pattern(2 * chunkSize + 100), { info, chunkSize });
    const positions = new Set<number>();
    for (let i = 0; i < envelope.length; i += 37) positions.add(i);
    for (const boundary of [47, 47 + 1040, 47 + 2080]) for (let d = -17; d <= 1; d++) positions.add(boundary + d);
    positions.add(envelope.length - 1);
    for (const position of positions) {
      const flipped = envelope.slice();
      flipped[position]! ^= 0x80 >> (position % 8);
      await expectBothFail(flipped, `byte ${position}`);
    }
  });

  describe('truncation, extension, reordering, splicing', async () => {
    const plaintext = pattern(3 * chunkSize + 10);
    const a = await sealEnvelope(recipient.publicKey, plaintext, { info, chunkSize });
    const b = await sealEnvelope(recipient.publicKey, plaintext, { info, chunkSize });
    const sealed = chunkSize + 16;
    const header = (env: Uint8Array) => env.subarray(0, 47);
    const chunk = (env: Uint8Array, i: number) => env.subarray(47 + i * sealed, Math.min(env.length, 47 + (i + 1) * sealed));

    it('sanity: both envelopes open', async () => {
      expectBytes(await openEnvelope(recipient.privateKey, a, { info }), plaintext);
      expectBytes(await openEnvelope(recipient.privateKey, b, { info }), plaintext);
    });

    it.each([
      ['drop the final chunk (cut at a chunk boundary)', () => a.subarray(0, 47 + 3 * sealed)],
      ['drop the last two chunks', () => a.subarray(0, 47 + 2 * sealed)],
      ['cut mid-chunk', () => a.subarray(0, 47 + sealed + 500)],
      ['cut inside the final tag', () => a.subarray(0, a.length - 1)],
      ['cut to less than a tag after a boundary', () => a.subarray(0, 47 + sealed + 10)],
      ['header only', () => a.subarray(0, 47)],
      ['cut inside the header', () => a.subarray(0, 30)],
      ['empty input', () => new Uint8Array(0)],
      ['one byte appended', () => concatBytes(a, Uint8Array.of(0))],
      ['a whole extra chunk appended', () => concatBytes(a, chunk(a, 0))],
      ['chunks 0 and 1 swapped', () => concatBytes(header(a), chunk(a, 1), chunk(a, 0), chunk(a, 2), chunk(a, 3))],
      ['chunk 0 duplicated over chunk 1', () => concatBytes(header(a), chunk(a, 0), chunk(a, 0), chunk(a, 2), chunk(a, 3))],
      ['the final chunk moved first', () => concatBytes(header(a), chunk(a, 3), chunk(a, 1), chunk(a, 2), chunk(a, 0))],
      ["b's header with a's chunks", () => concatBytes(header(b), a.subarray(47))],
      ["a's chunk 1 spliced into b", () => concatBytes(header(b), chunk(b, 0), chunk(a, 1), chunk(b, 2), chunk(b, 3))],
      ["a's final chunk spliced into b", () => concatBytes(b.subarray(0, 47 + 3 * sealed), chunk(a, 3))],
      ['chunk size in the header changed', () => {
        const copy = a.slice();
        new DataView(copy.buffer).setUint32(11, 2 * chunkSize);
        return copy;
      }],
      ['chunk size in the header out of range', () => {
        const copy = a.slice();
        new DataView(copy.buffer).setUint32(11, 0xffffffff);
        return copy;
      }],
      ['enc replaced by a low-order point', () => concatBytes(a.subarray(0, 15), new Uint8Array(32), a.subarray(47))],
    ])('%s', async (label, make) => {
      await expectBothFail(make(), label);
    });

    it('wrong key, wrong info', async () => {
      await expectBothFail(a, 'wrong key', other.privateKey);
      await expectBothFail(a, 'wrong info', recipient.privateKey, RESULT_INFO);
    });
  });

  it('a streaming open that fails late has yielded only verified chunks, then throws OpenError', async () => {
    const plaintext = pattern(3 * KiB + 5);
    const envelope = await sealEnvelope(recipient.publicKey, plaintext, { info, chunkSize: KiB });
    const truncated = envelope.subarray(0, 47 + 3 * (KiB + 16)); // final chunk missing
    const received: Uint8Array[] = [];
    const error = await (async () => {
      for await (const part of openEnvelopeStream(recipient.privateKey, pieces(truncated, [KiB + 16]), { info })) received.push(part);
    })().then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(OpenError);
    // Whatever was yielded is a verified prefix of the plaintext.
    const prefix = concatBytes(...received);
    expectBytes(prefix, plaintext.subarray(0, prefix.length));
  });
});

describe('arguments and errors', () => {
  it('checks chunkSize, info, keys and sources', async () => {
    const pt = new Uint8Array(1);
    await expect(sealEnvelope(recipient.publicKey, pt, { info, chunkSize: 1023 })).rejects.toThrow(
      new RangeError('options.chunkSize must be an integer from 1024 to 16777216, got 1023'),
    );
    await expect(sealEnvelope(recipient.publicKey, pt, { info, chunkSize: 16 * MiB + 1 })).rejects.toThrow(RangeError);
    await expect(sealEnvelope(recipient.publicKey, pt, { info, chunkSize: 1500.5 })).rejects.toThrow(RangeError);
    await expect(sealEnvelope(recipient.publicKey, pt, { info, chunkSize: '4096' as unknown as number })).rejects.toThrow(TypeError);
    await expect(sealEnvelope(recipient.publicKey, pt, {} as { info: string })).rejects.toThrow(new TypeError('options.info must be a string'));
    await expect(sealEnvelope(new Uint8Array(32), pt, { info })).rejects.toThrow(/low-order/);
    await expect(sealEnvelope(recipient.publicKey, [1] as unknown as Uint8Array, { info })).rejects.toThrow(
      new TypeError('plaintext must be a Uint8Array'),
    );
    await expect(openEnvelope(new Uint8Array(31), new Uint8Array(100), { info })).rejects.toThrow(
      new RangeError('recipientPrivateKey must be 32 bytes, got 31'),
    );
    await expect(openEnvelope(recipient.privateKey, new Uint8Array(100), {} as { info: string })).rejects.toThrow(TypeError);
    // The streaming forms check their arguments when called, before any iteration.
    expect(() => sealEnvelopeStream(recipient.publicKey, [pt] as unknown as AsyncIterable<Uint8Array>, { info })).toThrow(
      new TypeError('source must be an AsyncIterable<Uint8Array>'),
    );
    expect(() => sealEnvelopeStream(recipient.publicKey, pieces(pt), { info, chunkSize: 10 })).toThrow(RangeError);
    expect(() => openEnvelopeStream(recipient.privateKey, pieces(pt), { info: 5 as unknown as string })).toThrow(TypeError);
  });

  it('a failing or malformed source makes streaming seal throw SealError, and open OpenError', async () => {
    async function* failing() {
      yield new Uint8Array(2000);
      throw new Error('disk on fire');
    }
    const error = await collect(sealEnvelopeStream(recipient.publicKey, failing(), { info, chunkSize: KiB })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(SealError);
    expect((error as SealError).code).toBe('seal_failed');
    expect(((error as SealError).cause as Error).message).toBe('disk on fire');
    async function* notBytes() {
      yield 'text' as unknown as Uint8Array;
    }
    await expect(collect(sealEnvelopeStream(recipient.publicKey, notBytes(), { info }))).rejects.toThrow(SealError);
    await expectOpenError(collect(openEnvelopeStream(recipient.privateKey, failing(), { info })));
  });

  it('stopping a stream early closes the source', async () => {
    let closed = false;
    async function* endless() {
      try {
        for (;;) yield new Uint8Array(KiB);
      } finally {
        closed = true;
      }
    }
    for await (const part of sealEnvelopeStream(recipient.publicKey, endless(), { info, chunkSize: KiB })) {
      if (part.length > 47) break;
    }
    expect(closed).toBe(true);
  });
});

describe('memory', () => {
  it('streaming 64 MiB through seal and open keeps only a few chunks in flight', async () => {
    const total = 64 * MiB;
    const chunkSize = MiB;
    const piece = pattern(256 * KiB, 7);
    let produced = 0;
    async function* source() {
      while (produced < total) {
        produced += piece.length;
        yield piece; // the same buffer every time: nothing here grows
      }
    }
    let sealedBytes = 0;
    async function* countSealed(stream: AsyncIterable<Uint8Array>) {
      for await (const part of stream) {
        sealedBytes += part.length;
        yield part;
      }
    }
    let opened = 0;
    let maxAhead = 0;
    let maxCiphertextAhead = 0;
    const sealed = countSealed(sealEnvelopeStream(recipient.publicKey, source(), { info, chunkSize }));
    for await (const part of openEnvelopeStream(recipient.privateKey, sealed, { info })) {
      // Each part must be the right slice of the repeating pattern.
      expect(part[0]).toBe(piece[opened % piece.length]);
      opened += part.length;
      maxAhead = Math.max(maxAhead, produced - opened);
      maxCiphertextAhead = Math.max(maxCiphertextAhead, sealedBytes - opened);
    }
    expect(opened).toBe(total);
    expect(produced).toBe(total);
    // Plaintext read from the source but not yet delivered: bounded by the two pipelines (4 chunks
    // each, plus read-ahead), far below the 64 MiB total.
    expect(maxAhead).toBeLessThanOrEqual(12 * chunkSize);
    expect(maxCiphertextAhead).toBeLessThanOrEqual(7 * (chunkSize + 16));
  });
});
