// Byte encodings used on the wire: base64url without padding (RFC 4648 §5), lowercase hex, UTF-8.
// Decoders are strict: every text has exactly one accepted spelling, so a signed or hashed structure
// cannot be re-encoded into a second valid form (no padding, no whitespace, no non-zero trailing bits).

const B64URL_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const B64URL_CODES = Uint8Array.from(B64URL_ALPHABET, (c) => c.charCodeAt(0));
// Character code -> 6-bit value, or 0xff for a character outside the base64url alphabet.
const B64URL_VALUES = (() => {
  const table = new Uint8Array(256).fill(0xff);
  for (let i = 0; i < B64URL_CODES.length; i++) table[B64URL_CODES[i]!] = i;
  return table;
})();

const HEX_PAIRS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
// Character code -> nibble, or 0xff for a non-hex character.
const HEX_VALUES = (() => {
  const table = new Uint8Array(256).fill(0xff);
  for (let i = 0; i < 16; i++) {
    table['0123456789abcdef'.charCodeAt(i)] = i;
    table['0123456789ABCDEF'.charCodeAt(i)] = i;
  }
  return table;
})();

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
const latin1Decoder = new TextDecoder('latin1');

/** Throws a TypeError naming `name` unless `value` is a Uint8Array. */
export function assertBytes(value: unknown, name: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${name} must be a Uint8Array`);
}

/** Base64url (RFC 4648 §5) without padding. */
export function toBase64Url(bytes: Uint8Array): string {
  assertBytes(bytes, 'bytes');
  const full = bytes.length - (bytes.length % 3);
  const out = new Uint8Array(Math.ceil((bytes.length * 4) / 3));
  let o = 0;
  for (let i = 0; i < full; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = B64URL_CODES[n >>> 18]!;
    out[o++] = B64URL_CODES[(n >>> 12) & 63]!;
    out[o++] = B64URL_CODES[(n >>> 6) & 63]!;
    out[o++] = B64URL_CODES[n & 63]!;
  }
  const rest = bytes.length - full;
  if (rest === 1) {
    const n = bytes[full]!;
    out[o++] = B64URL_CODES[n >>> 2]!;
    out[o++] = B64URL_CODES[(n & 3) << 4]!;
  } else if (rest === 2) {
    const n = (bytes[full]! << 8) | bytes[full + 1]!;
    out[o++] = B64URL_CODES[n >>> 10]!;
    out[o++] = B64URL_CODES[(n >>> 4) & 63]!;
    out[o++] = B64URL_CODES[(n & 15) << 2]!;
  }
  // The output is ASCII, so a native latin1 decode turns it into a string without a per-char join.
  return latin1Decoder.decode(out);
}

/**
 * Strict base64url decoding: the alphabet `A-Z a-z 0-9 - _` only, no padding, no whitespace, a length
 * that is not 1 mod 4, and zero bits in the unused low bits of the last character (so each byte string
 * has exactly one encoding). Throws a TypeError naming `name`.
 */
export function fromBase64Url(text: string, name = 'value'): Uint8Array {
  if (typeof text !== 'string') throw new TypeError(`${name} must be a base64url string`);
  const rest = text.length % 4;
  if (rest === 1) throw new TypeError(`${name} is not valid base64url: impossible length ${text.length}`);
  const full = text.length - rest;
  const out = new Uint8Array((full / 4) * 3 + (rest === 0 ? 0 : rest - 1));
  let bad = 0;
  let o = 0;
  for (let i = 0; i < full; i += 4) {
    const a = B64URL_VALUES[text.charCodeAt(i)] ?? 0xff;
    const b = B64URL_VALUES[text.charCodeAt(i + 1)] ?? 0xff;
    const c = B64URL_VALUES[text.charCodeAt(i + 2)] ?? 0xff;
    const d = B64URL_VALUES[text.charCodeAt(i + 3)] ?? 0xff;
    bad |= a | b | c | d;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >>> 16;
    out[o++] = (n >>> 8) & 0xff;
    out[o++] = n & 0xff;
  }
  if (rest > 0) {
    const a = B64URL_VALUES[text.charCodeAt(full)] ?? 0xff;
    const b = B64URL_VALUES[text.charCodeAt(full + 1)] ?? 0xff;
    const c = rest === 3 ? (B64URL_VALUES[text.charCodeAt(full + 2)] ?? 0xff) : 0;
    bad |= a | b | c;
    if (bad < 0x80) {
      if (rest === 2) {
        if ((b & 15) !== 0) throw new TypeError(`${name} is not valid base64url: non-zero trailing bits`);
        out[o++] = (a << 2) | (b >>> 4);
      } else {
        if ((c & 3) !== 0) throw new TypeError(`${name} is not valid base64url: non-zero trailing bits`);
        const n = (a << 12) | (b << 6) | c;
        out[o++] = n >>> 10;
        out[o++] = (n >>> 2) & 0xff;
      }
    }
  }
  // Any character outside the alphabet ('=', '+', '/', whitespace, non-ASCII) looks up as 0xff.
  if (bad & 0x80) {
    throw new TypeError(`${name} is not valid base64url: only A-Z a-z 0-9 - _ without padding are allowed`);
  }
  return out;
}

/** Lowercase hex. */
export function toHex(bytes: Uint8Array): string {
  assertBytes(bytes, 'bytes');
  let out = '';
  for (let i = 0; i < bytes.length; i++) out += HEX_PAIRS[bytes[i]!];
  return out;
}

/** Hex decoding (either case, even length, no prefix or separators). Throws a TypeError naming `name`. */
export function fromHex(text: string, name = 'value'): Uint8Array {
  if (typeof text !== 'string') throw new TypeError(`${name} must be a hex string`);
  if (text.length % 2 !== 0) throw new TypeError(`${name} is not valid hex: odd length ${text.length}`);
  const out = new Uint8Array(text.length / 2);
  let bad = 0;
  for (let i = 0; i < out.length; i++) {
    const hi = HEX_VALUES[text.charCodeAt(2 * i)] ?? 0xff;
    const lo = HEX_VALUES[text.charCodeAt(2 * i + 1)] ?? 0xff;
    bad |= hi | lo;
    out[i] = (hi << 4) | lo;
  }
  if (bad & 0xf0) throw new TypeError(`${name} is not valid hex`);
  return out;
}

/** UTF-8 encoding of a string (lone surrogates become U+FFFD, as TextEncoder does). */
export function utf8Encode(text: string): Uint8Array {
  if (typeof text !== 'string') throw new TypeError('text must be a string');
  return textEncoder.encode(text);
}

/** UTF-8 decoding that throws a TypeError on malformed input instead of inserting U+FFFD. A BOM is kept. */
export function utf8Decode(bytes: Uint8Array): string {
  assertBytes(bytes, 'bytes');
  try {
    return textDecoder.decode(bytes);
  } catch (cause) {
    throw new TypeError('bytes are not valid UTF-8', { cause });
  }
}

/** Concatenates byte arrays into a new array. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (let i = 0; i < parts.length; i++) {
    assertBytes(parts[i], `parts[${i}]`);
    length += parts[i]!.length;
  }
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/**
 * Compares two byte arrays in time that depends only on their lengths (not on where they differ).
 * Arrays of different lengths are unequal; lengths are not treated as secret.
 */
export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  assertBytes(a, 'a');
  assertBytes(b, 'b');
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}
