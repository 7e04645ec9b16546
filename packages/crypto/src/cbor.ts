// CBOR (RFC 8949) for COSE_Sign1 and Nitro attestation documents, on top of cbor2.
//
// Encoding is deterministic: RFC 8949 §4.2.1 core deterministic encoding (preferred serialisation,
// definite lengths, map keys sorted bytewise by their encoded form), via cbor2's CDE profile.
//
// Decoding is strict and its output shape is fixed:
// - every CBOR map decodes to a JS `Map` (never a plain object), whatever its key types;
// - byte strings decode to `Uint8Array` copies (never views into the input);
// - tags decode to `CborTag` (`{ tag, contents }`), with no automatic conversion (no Date, no bignum);
// - integers outside the JS safe range decode to `bigint`;
// - trailing bytes, indefinite lengths (RFC 8949 §3.2.2, which Nitro and COSE never use), duplicate
//   map keys, unassigned simple values, invalid UTF-8 and nesting deeper than 64 are rejected with
//   `CborError { code: 'invalid_cbor' }`.
import { Tag, cdeEncodeOptions, decode, encode } from 'cbor2';
import type { DecodeOptions } from 'cbor2';

/** A tagged CBOR item (RFC 8949 §3.4). Construct one to encode a tag: `new CborTag(18, [...])`. */
export { Tag as CborTag };

export type CborErrorCode = 'invalid_cbor';

/** Thrown by `decodeCbor` for input that is not one strict, well-formed CBOR item. */
export class CborError extends Error {
  readonly code: CborErrorCode;
  constructor(code: CborErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CborError';
    this.code = code;
  }
}

export interface DecodeCborOptions {
  /** Accept bytes after the first data item (they are ignored). Default false: trailing bytes are an error. */
  allowTrailing?: boolean;
}

const MAX_DEPTH = 64;

const STRICT_DECODE: DecodeOptions = {
  preferMap: true,
  ignoreGlobalTags: true,
  rejectStreaming: true,
  rejectDuplicateKeys: true,
  rejectSimple: true,
  maxDepth: MAX_DEPTH,
};

/**
 * Encodes `value` with RFC 8949 §4.2.1 core deterministic encoding. Supports null, booleans, numbers,
 * bigints, strings, Uint8Array (byte string), arrays, Map and plain objects (maps), and `CborTag`.
 * @throws TypeError when `value` holds something CBOR cannot represent (functions, symbols, cycles).
 */
export function encodeCbor(value: unknown): Uint8Array<ArrayBuffer> {
  try {
    // cbor2's writer always allocates a fresh ArrayBuffer for its output.
    return encode(value, cdeEncodeOptions) as Uint8Array<ArrayBuffer>;
  } catch (cause) {
    const reason = cause instanceof RangeError ? 'value is too deeply nested or cyclic' : describe(cause);
    throw new TypeError(`encodeCbor: value cannot be encoded as CBOR: ${reason}`, { cause });
  }
}

/**
 * Decodes exactly one strict CBOR data item (see the module header for the output shape).
 * @throws TypeError when `bytes` is not a Uint8Array; CborError('invalid_cbor') for malformed input.
 */
export function decodeCbor(bytes: Uint8Array, options: DecodeCborOptions = {}): unknown {
  if (!(bytes instanceof Uint8Array)) throw new TypeError('decodeCbor: bytes must be a Uint8Array');
  if (typeof options !== 'object' || options === null) throw new TypeError('decodeCbor: options must be an object');
  if (options.allowTrailing !== undefined && typeof options.allowTrailing !== 'boolean') {
    throw new TypeError('decodeCbor: options.allowTrailing must be a boolean');
  }
  if (bytes.length === 0) throw new CborError('invalid_cbor', 'CBOR input is empty');
  const input = options.allowTrailing ? bytes.subarray(0, itemLength(bytes)) : bytes;
  let value: unknown;
  try {
    value = decode(input, STRICT_DECODE);
  } catch (cause) {
    throw new CborError('invalid_cbor', `invalid CBOR: ${describe(cause)}`, { cause });
  }
  return detach(value);
}

// Length in bytes of the first data item of `bytes` (RFC 8949 §3), walking heads only. Definite lengths
// only, like the strict decoder; anything it cannot walk is left for the decoder to report.
function itemLength(bytes: Uint8Array): number {
  let offset = 0;
  let pending = 1;
  while (pending > 0) {
    if (offset >= bytes.length) throw new CborError('invalid_cbor', 'invalid CBOR: input ends inside a data item');
    const initial = bytes[offset]!;
    const major = initial >> 5;
    const info = initial & 0x1f;
    offset += 1;
    let argument = BigInt(info);
    if (info >= 24 && info <= 27) {
      const size = 1 << (info - 24);
      if (offset + size > bytes.length) throw new CborError('invalid_cbor', 'invalid CBOR: truncated argument');
      argument = 0n;
      for (let i = 0; i < size; i += 1) argument = (argument << 8n) | BigInt(bytes[offset + i]!);
      offset += size;
    } else if (info >= 28) {
      throw new CborError('invalid_cbor', 'invalid CBOR: indefinite or reserved length');
    }
    pending -= 1;
    if (major === 2 || major === 3) {
      if (argument > BigInt(bytes.length - offset)) throw new CborError('invalid_cbor', 'invalid CBOR: truncated string');
      offset += Number(argument);
    } else if (major === 4 || major === 5) {
      const children = argument * (major === 5 ? 2n : 1n);
      if (children > BigInt(bytes.length - offset)) throw new CborError('invalid_cbor', 'invalid CBOR: truncated container');
      pending += Number(children);
    } else if (major === 6) {
      pending += 1;
    }
  }
  return offset;
}

// Copies byte strings out of the input buffer, so decoded values never alias the caller's bytes.
function detach(value: unknown): unknown {
  if (value instanceof Uint8Array) return value.slice();
  if (Array.isArray(value)) return value.map(detach);
  if (value instanceof Map) {
    const copy = new Map<unknown, unknown>();
    for (const [key, item] of value) copy.set(detach(key), detach(item));
    return copy;
  }
  if (value instanceof Tag) return new Tag(value.tag, detach(value.contents));
  return value;
}

function describe(cause: unknown): string {
  return cause instanceof Error ? cause.message : String(cause);
}
