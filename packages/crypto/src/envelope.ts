// The chunked HPKE envelope (DESIGN §5.3): encryption to an X25519 public key for payloads of any size,
// in memory bounded by a few chunks.
//
// Construction (a STREAM-style online AEAD, Hoang–Reyhanitabar–Rogaway–Vizár 2015):
//   1. SetupBaseS(pkR, info) (RFC 9180 §5.1.1) gives `enc` and an HPKE context.
//   2. chunk_key = context.Export("tenzro/mpi/v1/chunk-key", 32) (RFC 9180 §5.3); the context's own
//      AEAD is not used. `enc` is fresh per envelope, so so is chunk_key.
//   3. Chunk i (from 0) is AES-256-GCM (WebCrypto, native speed) under chunk_key with
//        nonce = final_flag (1 byte: 0x01 on the last chunk, else 0x00) || 0x000000 || u64be(i)
//        aad   = header || u64be(i) || final_flag
//      so every chunk is bound to its position, to whether it is the last one, and to this envelope's
//      header (including `enc` and the chunk size). Reordering, dropping or duplicating chunks, cutting
//      the envelope at a chunk boundary or inside a chunk, and mixing chunks of two envelopes all fail.
//
// Wire format (all integers big-endian):
//   header (47 bytes) = "TZE1" | version u8 (1) | kem_id u16 (0x0020) | kdf_id u16 (0x0001)
//                       | aead_id u16 (0x0002) | chunkSize u32 | enc (32 bytes)
//   chunks            = ciphertext || tag (16 bytes) for each chunk; every chunk but the last holds
//                       exactly chunkSize plaintext bytes, the last holds 1..chunkSize (0 only when the
//                       whole plaintext is empty, which is one empty final chunk).
// The last chunk is the one the data ends with, so a reader needs no length field: it treats a chunk as
// final exactly when nothing follows it, and the final flag makes that decision authenticated.
//
// Streaming open yields each chunk's plaintext once that chunk has verified; the stream as a whole is
// authentic only when the generator finishes normally (after the final chunk verified). A consumer must
// treat what it received as provisional until then, and discard it on an error.

import { assertBytes } from './encoding.js';
import { OpenError, SealError } from './hpke.js';
import {
  SUITE_IDS,
  X25519_KEY_LENGTH,
  assertEncryptionPublicKey,
  infoBytes,
  isLowOrderX25519,
  setupBaseRecipient,
  setupBaseSender,
} from './internal/hpke-suite.js';
import type { SecretBytes } from './secret.js';
import { secretKeyBytes } from './secret.js';

/** `info` for party data sealed to a session key (DESIGN §5.3). */
export const DATA_INFO = 'tenzro/mpi/v1/data';
/** `info` for a result sealed to a recipient. */
export const RESULT_INFO = 'tenzro/mpi/v1/result';

export const ENVELOPE_MAGIC = 'TZE1';
export const ENVELOPE_VERSION = 1;
export const ENVELOPE_HEADER_LENGTH = 47;
export const DEFAULT_CHUNK_SIZE = 1024 * 1024;
export const MIN_CHUNK_SIZE = 1024;
export const MAX_CHUNK_SIZE = 16 * 1024 * 1024;

const CHUNK_KEY_CONTEXT = new TextEncoder().encode('tenzro/mpi/v1/chunk-key');
const TAG_LENGTH = 16;
const MAGIC_BYTES = new TextEncoder().encode(ENVELOPE_MAGIC);
// Chunks encrypted or decrypted concurrently. WebCrypto AES runs off the main thread in Node (libuv
// pool), so a few in flight use several cores; memory stays bounded by this many chunks.
const PIPELINE_DEPTH = 4;

export interface SealEnvelopeOptions {
  /** Application context bound into the HPKE key schedule, e.g. DATA_INFO. */
  info: string;
  /** Plaintext bytes per chunk: 1 KiB to 16 MiB, default 1 MiB. */
  chunkSize?: number;
}

export interface OpenEnvelopeOptions {
  info: string;
}

interface ChunkCipher {
  header: Uint8Array;
  key: CryptoKey;
}

const subtle = (): SubtleCrypto => globalThis.crypto.subtle;

function checkChunkSize(chunkSize: unknown): number {
  if (chunkSize === undefined) return DEFAULT_CHUNK_SIZE;
  if (typeof chunkSize !== 'number') throw new TypeError('options.chunkSize must be a number');
  if (!Number.isSafeInteger(chunkSize) || chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) {
    throw new RangeError(`options.chunkSize must be an integer from ${MIN_CHUNK_SIZE} to ${MAX_CHUNK_SIZE}, got ${chunkSize}`);
  }
  return chunkSize;
}

function checkOptions(options: unknown): { info: Uint8Array; chunkSize: number } {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object with info');
  const { info, chunkSize } = options as { info?: unknown; chunkSize?: unknown };
  return { info: infoBytes(info), chunkSize: checkChunkSize(chunkSize) };
}

/** Size in bytes of the envelope that seals `plaintextLength` bytes with `chunkSize`. */
export function sealedEnvelopeLength(plaintextLength: number, chunkSize = DEFAULT_CHUNK_SIZE): number {
  if (!Number.isSafeInteger(plaintextLength) || plaintextLength < 0) {
    throw new RangeError(`plaintextLength must be a non-negative integer, got ${plaintextLength}`);
  }
  const size = checkChunkSize(chunkSize);
  const chunks = Math.max(1, Math.ceil(plaintextLength / size));
  return ENVELOPE_HEADER_LENGTH + plaintextLength + chunks * TAG_LENGTH;
}

function encodeHeader(chunkSize: number, enc: Uint8Array): Uint8Array {
  const header = new Uint8Array(ENVELOPE_HEADER_LENGTH);
  const view = new DataView(header.buffer);
  header.set(MAGIC_BYTES, 0);
  view.setUint8(4, ENVELOPE_VERSION);
  view.setUint16(5, SUITE_IDS.kem);
  view.setUint16(7, SUITE_IDS.kdf);
  view.setUint16(9, SUITE_IDS.aead);
  view.setUint32(11, chunkSize);
  header.set(enc, 15);
  return header;
}

/** Parses and checks a header; returns chunkSize and enc, or throws (the caller wraps it in OpenError). */
function decodeHeader(header: Uint8Array): { chunkSize: number; enc: Uint8Array } {
  if (header.length !== ENVELOPE_HEADER_LENGTH) throw new Error('envelope shorter than its header');
  const view = new DataView(header.buffer, header.byteOffset, header.byteLength);
  for (let i = 0; i < MAGIC_BYTES.length; i++) if (header[i] !== MAGIC_BYTES[i]) throw new Error('not an envelope (bad magic)');
  if (view.getUint8(4) !== ENVELOPE_VERSION) throw new Error('unsupported envelope version');
  if (view.getUint16(5) !== SUITE_IDS.kem || view.getUint16(7) !== SUITE_IDS.kdf || view.getUint16(9) !== SUITE_IDS.aead) {
    throw new Error('unsupported envelope suite');
  }
  const chunkSize = view.getUint32(11);
  if (chunkSize < MIN_CHUNK_SIZE || chunkSize > MAX_CHUNK_SIZE) throw new Error('envelope chunk size out of range');
  const enc = header.slice(15, 15 + X25519_KEY_LENGTH);
  if (isLowOrderX25519(enc)) throw new Error('envelope enc is a low-order point');
  return { chunkSize, enc };
}

async function importChunkKey(raw: ArrayBuffer): Promise<CryptoKey> {
  try {
    return await subtle().importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  } finally {
    new Uint8Array(raw).fill(0);
  }
}

async function senderCipher(recipientPublicKey: Uint8Array, info: Uint8Array, chunkSize: number): Promise<ChunkCipher> {
  const context = await setupBaseSender(recipientPublicKey, info);
  const header = encodeHeader(chunkSize, new Uint8Array(context.enc));
  return { header, key: await importChunkKey(await context.export(CHUNK_KEY_CONTEXT, 32)) };
}

async function recipientCipher(secret: Uint8Array, header: Uint8Array, info: Uint8Array): Promise<ChunkCipher & { chunkSize: number }> {
  const { chunkSize, enc } = decodeHeader(header);
  const context = await setupBaseRecipient(secret, enc, info);
  return { header, chunkSize, key: await importChunkKey(await context.export(CHUNK_KEY_CONTEXT, 32)) };
}

function chunkNonce(index: number, final: boolean): Uint8Array<ArrayBuffer> {
  const nonce = new Uint8Array(12);
  const view = new DataView(nonce.buffer);
  nonce[0] = final ? 1 : 0;
  view.setUint32(4, Math.floor(index / 0x1_0000_0000));
  view.setUint32(8, index >>> 0);
  return nonce;
}

function chunkAad(header: Uint8Array, index: number, final: boolean): Uint8Array<ArrayBuffer> {
  const aad = new Uint8Array(header.length + 9);
  const view = new DataView(aad.buffer);
  aad.set(header, 0);
  view.setUint32(header.length, Math.floor(index / 0x1_0000_0000));
  view.setUint32(header.length + 4, index >>> 0);
  aad[header.length + 8] = final ? 1 : 0;
  return aad;
}

async function sealChunk(cipher: ChunkCipher, index: number, final: boolean, data: Uint8Array): Promise<ArrayBuffer> {
  const params: AesGcmParams = { name: 'AES-GCM', iv: chunkNonce(index, final), additionalData: chunkAad(cipher.header, index, final), tagLength: 128 };
  return subtle().encrypt(params, cipher.key, data as Uint8Array<ArrayBuffer>);
}

async function openChunk(cipher: ChunkCipher, index: number, final: boolean, data: Uint8Array): Promise<ArrayBuffer> {
  const params: AesGcmParams = { name: 'AES-GCM', iv: chunkNonce(index, final), additionalData: chunkAad(cipher.header, index, final), tagLength: 128 };
  return subtle().decrypt(params, cipher.key, data as Uint8Array<ArrayBuffer>);
}

/** Runs task(0..count-1) with at most `depth` in flight; stops starting new ones after a failure. */
async function forEachPooled(count: number, depth: number, task: (index: number) => Promise<void>): Promise<void> {
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < count) {
      const index = next++;
      try {
        await task(index);
      } catch (error) {
        failed = true;
        throw error;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(depth, count) }, worker));
}

/** Marks a promise as handled (its rejection is observed later, when it is awaited in order). */
function quiet<T>(promise: Promise<T>): Promise<T> {
  promise.catch(() => undefined);
  return promise;
}

/** Seals `plaintext` to `recipientPublicKey` as one chunked envelope. */
export async function sealEnvelope(
  recipientPublicKey: Uint8Array,
  plaintext: Uint8Array,
  options: SealEnvelopeOptions,
): Promise<Uint8Array> {
  assertEncryptionPublicKey(recipientPublicKey, 'recipientPublicKey');
  assertBytes(plaintext, 'plaintext');
  const { info, chunkSize } = checkOptions(options);
  const total = plaintext.length;
  const chunkCount = Math.max(1, Math.ceil(total / chunkSize));
  try {
    const cipher = await senderCipher(recipientPublicKey, info, chunkSize);
    const out = new Uint8Array(ENVELOPE_HEADER_LENGTH + total + chunkCount * TAG_LENGTH);
    out.set(cipher.header, 0);
    await forEachPooled(chunkCount, PIPELINE_DEPTH, async (index) => {
      const start = index * chunkSize;
      const end = Math.min(total, start + chunkSize);
      const sealed = await sealChunk(cipher, index, index === chunkCount - 1, plaintext.subarray(start, end));
      out.set(new Uint8Array(sealed), ENVELOPE_HEADER_LENGTH + index * (chunkSize + TAG_LENGTH));
    });
    return out;
  } catch (cause) {
    throw new SealError({ cause });
  }
}

/** Opens an envelope made by sealEnvelope or sealEnvelopeStream. Every failure is OpenError. */
export async function openEnvelope(
  recipientPrivateKey: Uint8Array | SecretBytes,
  envelope: Uint8Array,
  options: OpenEnvelopeOptions,
): Promise<Uint8Array> {
  const secret = secretKeyBytes(recipientPrivateKey, 'recipientPrivateKey', X25519_KEY_LENGTH);
  assertBytes(envelope, 'envelope');
  const { info } = checkOptions({ info: (options as OpenEnvelopeOptions | undefined)?.info });
  try {
    if (envelope.length < ENVELOPE_HEADER_LENGTH + TAG_LENGTH) throw new Error('envelope too short');
    const cipher = await recipientCipher(secret, envelope.subarray(0, ENVELOPE_HEADER_LENGTH), info);
    const sealedChunk = cipher.chunkSize + TAG_LENGTH;
    const body = envelope.length - ENVELOPE_HEADER_LENGTH;
    const chunkCount = Math.ceil(body / sealedChunk);
    const lastLength = body - (chunkCount - 1) * sealedChunk;
    if (lastLength < TAG_LENGTH) throw new Error('truncated chunk');
    const out = new Uint8Array(body - chunkCount * TAG_LENGTH);
    await forEachPooled(chunkCount, PIPELINE_DEPTH, async (index) => {
      const start = ENVELOPE_HEADER_LENGTH + index * sealedChunk;
      const final = index === chunkCount - 1;
      const opened = await openChunk(cipher, index, final, envelope.subarray(start, final ? envelope.length : start + sealedChunk));
      out.set(new Uint8Array(opened), index * cipher.chunkSize);
    });
    return out;
  } catch (cause) {
    throw new OpenError({ cause });
  }
}

/** Pulls exact-size blocks out of an async byte source, with one-step lookahead for its end. */
class ByteReader {
  private pending: Uint8Array = new Uint8Array(0);
  private done = false;
  private readonly iterator: AsyncIterator<Uint8Array>;

  constructor(source: AsyncIterable<Uint8Array>) {
    this.iterator = source[Symbol.asyncIterator]();
  }

  /** Whether the source is exhausted (pulls the next piece if nothing is buffered). */
  async atEnd(): Promise<boolean> {
    while (this.pending.length === 0 && !this.done) {
      const step = await this.iterator.next();
      if (step.done) this.done = true;
      else {
        if (!(step.value instanceof Uint8Array)) throw new TypeError('source must yield Uint8Array pieces');
        this.pending = step.value;
      }
    }
    return this.pending.length === 0;
  }

  /** Copies the next `length` bytes into a new array; shorter only when the source ends first. */
  async read(length: number): Promise<Uint8Array> {
    const out = new Uint8Array(length);
    let filled = 0;
    while (filled < length && !(await this.atEnd())) {
      const take = Math.min(length - filled, this.pending.length);
      out.set(this.pending.subarray(0, take), filled);
      this.pending = this.pending.subarray(take);
      filled += take;
    }
    return filled === length ? out : out.subarray(0, filled);
  }

  async close(): Promise<void> {
    if (!this.done) await this.iterator.return?.();
  }
}

/**
 * Streaming seal: yields the header, then each sealed chunk, reading `source` one chunk ahead.
 * Memory is bounded by a few chunks whatever the total size. Failures after the arguments were checked
 * (including a failing source) are SealError.
 */
export function sealEnvelopeStream(
  recipientPublicKey: Uint8Array,
  source: AsyncIterable<Uint8Array>,
  options: SealEnvelopeOptions,
): AsyncGenerator<Uint8Array> {
  assertEncryptionPublicKey(recipientPublicKey, 'recipientPublicKey');
  assertAsyncIterable(source, 'source');
  const { info, chunkSize } = checkOptions(options);
  return sealStream(recipientPublicKey.slice(), source, info, chunkSize);
}

async function* sealStream(
  recipientPublicKey: Uint8Array,
  source: AsyncIterable<Uint8Array>,
  info: Uint8Array,
  chunkSize: number,
): AsyncGenerator<Uint8Array> {
  const reader = new ByteReader(source);
  const inflight: Promise<ArrayBuffer>[] = [];
  try {
    let cipher: ChunkCipher;
    try {
      cipher = await senderCipher(recipientPublicKey, info, chunkSize);
    } catch (cause) {
      throw new SealError({ cause });
    }
    yield cipher.header.slice();
    for (let index = 0; ; index++) {
      let data: Uint8Array;
      let final: boolean;
      try {
        data = await reader.read(chunkSize);
        final = data.length < chunkSize || (await reader.atEnd());
      } catch (cause) {
        throw new SealError({ cause });
      }
      inflight.push(quiet(sealChunk(cipher, index, final, data)));
      if (final) break;
      if (inflight.length >= PIPELINE_DEPTH) yield new Uint8Array(await awaitSeal(inflight.shift()!));
    }
    while (inflight.length > 0) yield new Uint8Array(await awaitSeal(inflight.shift()!));
  } finally {
    await reader.close().catch(() => undefined);
  }
}

async function awaitSeal(promise: Promise<ArrayBuffer>): Promise<ArrayBuffer> {
  try {
    return await promise;
  } catch (cause) {
    throw new SealError({ cause });
  }
}

/**
 * Streaming open: yields each chunk's plaintext as soon as that chunk has verified. The plaintext is
 * authentic only once the generator has finished normally (the final chunk verified); on any failure
 * it throws OpenError and the consumer must discard what it received.
 */
export function openEnvelopeStream(
  recipientPrivateKey: Uint8Array | SecretBytes,
  source: AsyncIterable<Uint8Array>,
  options: OpenEnvelopeOptions,
): AsyncGenerator<Uint8Array> {
  const secret = secretKeyBytes(recipientPrivateKey, 'recipientPrivateKey', X25519_KEY_LENGTH).slice();
  assertAsyncIterable(source, 'source');
  const { info } = checkOptions({ info: (options as OpenEnvelopeOptions | undefined)?.info });
  return openStream(secret, source, info);
}

async function* openStream(secret: Uint8Array, source: AsyncIterable<Uint8Array>, info: Uint8Array): AsyncGenerator<Uint8Array> {
  const reader = new ByteReader(source);
  const inflight: Promise<ArrayBuffer>[] = [];
  try {
    const header = await reader.read(ENVELOPE_HEADER_LENGTH);
    const cipher = await recipientCipher(secret, header, info);
    secret.fill(0);
    const sealedChunk = cipher.chunkSize + TAG_LENGTH;
    for (let index = 0; ; index++) {
      const data = await reader.read(sealedChunk);
      if (data.length < TAG_LENGTH) throw new Error('truncated chunk');
      const final = data.length < sealedChunk || (await reader.atEnd());
      inflight.push(quiet(openChunk(cipher, index, final, data)));
      if (final) break;
      if (inflight.length >= PIPELINE_DEPTH) yield new Uint8Array(await inflight.shift()!);
    }
    while (inflight.length > 0) yield new Uint8Array(await inflight.shift()!);
  } catch (cause) {
    throw new OpenError({ cause });
  } finally {
    secret.fill(0);
    await reader.close().catch(() => undefined);
  }
}

function assertAsyncIterable(source: unknown, name: string): asserts source is AsyncIterable<Uint8Array> {
  if (typeof (source as AsyncIterable<Uint8Array> | null)?.[Symbol.asyncIterator] !== 'function') {
    throw new TypeError(`${name} must be an AsyncIterable<Uint8Array>`);
  }
}
