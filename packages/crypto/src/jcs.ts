// RFC 8785 JSON Canonicalization Scheme (JCS), and a strict JSON parser for input that will be signed
// or hashed.
//
// canonicalize() accepts only the I-JSON data model (RFC 7493): null, booleans, finite numbers, strings
// without lone surrogates, arrays, and plain objects (prototype Object.prototype or null). Anything a
// plain JSON.stringify would silently drop or rewrite (undefined, functions, symbols, bigint, Date and
// other toJSON objects, Map, class instances, NaN, ±Infinity, cycles) is a TypeError instead, because a
// signature over a silently different document is worse than no signature.

import { utf8Encode } from './encoding.js';

/** The strict JSON parser's one failure: malformed text, a duplicate or `__proto__` key, an unsafe integer, too deep. */
export class JsonInputError extends Error {
  readonly code = 'invalid_json' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'JsonInputError';
  }
}

// Matches a lone (unpaired) surrogate: with the `u` flag, paired surrogates form one code point.
const LONE_SURROGATE = /\p{Surrogate}/u;

function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}

/**
 * RFC 8785 canonical JSON text of `value`.
 * - §3.2.2.3 numbers: the ECMAScript Number-to-String serialisation (JSON.stringify of a finite double).
 * - §3.2.2.2 strings: JSON.stringify's escaping, which is the one JCS prescribes.
 * - §3.2.3 object members sorted by the UTF-16 code units of their names (JS default string order).
 * Throws a TypeError (with the JSON path) for values outside I-JSON.
 */
export function canonicalize(value: unknown): string {
  // One growing string (a V8 rope) rather than an array of millions of small parts: far less garbage.
  const out: Output = { text: '' };
  serialize(value, out, new Set(), ROOT);
  return out.text;
}

interface Output {
  text: string;
}

/**
 * Where a value sits, as a linked list built while descending: the `$.a[0].b` text is only spelt out for
 * an error message, since building it for every value dominated the cost on large documents.
 */
interface Path {
  readonly parent: Path | null;
  readonly segment: string | number;
}

const ROOT: Path = { parent: null, segment: '$' };

function pathText(path: Path): string {
  const segments: Array<string | number> = [];
  for (let node: Path | null = path; node; node = node.parent) segments.push(node.segment);
  let text = '';
  for (let i = segments.length - 1; i >= 0; i--) {
    const segment = segments[i]!;
    text += typeof segment === 'number' ? `[${segment}]` : i === segments.length - 1 ? segment : `.${segment}`;
  }
  return text;
}

/** UTF-8 bytes of canonicalize(value): what gets hashed or signed. */
export function canonicalBytes(value: unknown): Uint8Array {
  return utf8Encode(canonicalize(value));
}

function serialize(value: unknown, out: Output, ancestors: Set<object>, path: Path): void {
  switch (typeof value) {
    case 'string':
      if (hasLoneSurrogate(value)) throw new TypeError(`canonicalize: string at ${pathText(path)} contains a lone surrogate`);
      out.text += JSON.stringify(value);
      return;
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalize: number at ${pathText(path)} is ${value}; JSON has no such value`);
      out.text += JSON.stringify(value); // ES6 serialisation; -0 becomes "0"
      return;
    case 'boolean':
      out.text += value ? 'true' : 'false';
      return;
    case 'object':
      if (value === null) {
        out.text += 'null';
        return;
      }
      break;
    default:
      // undefined, function, symbol, bigint
      throw new TypeError(`canonicalize: value at ${pathText(path)} is a ${typeof value}, which JSON cannot represent`);
  }
  const object = value as object;
  if (ancestors.has(object)) throw new TypeError(`canonicalize: cyclic structure at ${pathText(path)}`);
  ancestors.add(object);
  if (Array.isArray(object)) {
    out.text += '[';
    for (let i = 0; i < object.length; i++) {
      if (i > 0) out.text += ',';
      if (!(i in object)) throw new TypeError(`canonicalize: array at ${pathText(path)} has a hole at index ${i}`);
      serialize(object[i], out, ancestors, { parent: path, segment: i });
    }
    out.text += ']';
  } else {
    const proto = Object.getPrototypeOf(object) as unknown;
    if (proto !== Object.prototype && proto !== null) {
      const kind = (object as { constructor?: { name?: string } }).constructor?.name ?? 'object';
      throw new TypeError(`canonicalize: value at ${pathText(path)} is a ${kind}, not a plain object`);
    }
    if (Object.getOwnPropertySymbols(object).length > 0) {
      throw new TypeError(`canonicalize: object at ${pathText(path)} has symbol keys`);
    }
    const record = object as Record<string, unknown>;
    const keys = Object.keys(record).sort(); // default sort compares UTF-16 code units (§3.2.3)
    out.text += '{';
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i]!;
      if (hasLoneSurrogate(key)) throw new TypeError(`canonicalize: key ${JSON.stringify(key)} at ${pathText(path)} contains a lone surrogate`);
      if (i > 0) out.text += ',';
      out.text += JSON.stringify(key) + ':';
      serialize(record[key], out, ancestors, { parent: path, segment: key });
    }
    out.text += '}';
  }
  ancestors.delete(object);
}

// ---------------------------------------------------------------------------------------------------
// Strict JSON parsing (RFC 8259 grammar, plus I-JSON restrictions).

export interface ParseStrictJsonOptions {
  /** Maximum nesting of arrays and objects (the top-level container is depth 1). Default 64. */
  maxDepth?: number;
}

const NUMBER = /-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?/y;
// A run of string characters that need no special handling: not '"', not '\\', not a control char.
const PLAIN_STRING_RUN = /[^"\\\u0000-\u001f]*/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;
const ESCAPES = new Map<string, string>([
  ['"', '"'],
  ['\\', '\\'],
  ['/', '/'],
  ['b', '\b'],
  ['f', '\f'],
  ['n', '\n'],
  ['r', '\r'],
  ['t', '\t'],
]);

/**
 * Parses JSON text for anything that will be signed, hashed or trusted. Unlike JSON.parse it rejects
 * (JsonInputError, code 'invalid_json'): duplicate member names, the member name `__proto__`, integer
 * literals (no fraction or exponent) beyond ±(2^53 − 1), numbers that overflow to ±Infinity, strings with
 * lone surrogates, a byte-order mark, and nesting deeper than `maxDepth`. Objects come back as plain
 * objects; since `__proto__` is refused, no input can reach Object.prototype.
 */
export function parseStrictJson(text: string, options: ParseStrictJsonOptions = {}): unknown {
  if (typeof text !== 'string') throw new TypeError('text must be a string');
  const maxDepth = options.maxDepth ?? 64;
  if (!Number.isSafeInteger(maxDepth) || maxDepth < 1) throw new RangeError('maxDepth must be a positive integer');
  const parser = new StrictJsonParser(text, maxDepth);
  try {
    return parser.parseDocument();
  } catch (error) {
    if (error instanceof JsonInputError) throw error;
    // e.g. the engine's own stack limit with a huge maxDepth
    throw new JsonInputError('invalid JSON: input could not be parsed', { cause: error });
  }
}

class StrictJsonParser {
  private pos = 0;

  constructor(
    private readonly text: string,
    private readonly maxDepth: number,
  ) {}

  parseDocument(): unknown {
    this.skipWhitespace();
    const value = this.parseValue(0);
    this.skipWhitespace();
    if (this.pos !== this.text.length) this.fail('unexpected data after the JSON value');
    return value;
  }

  private fail(reason: string): never {
    throw new JsonInputError(`invalid JSON at offset ${this.pos}: ${reason}`);
  }

  private skipWhitespace(): void {
    const text = this.text;
    let pos = this.pos;
    for (;;) {
      const c = text.charCodeAt(pos);
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) pos++;
      else break;
    }
    this.pos = pos;
  }

  private parseValue(depth: number): unknown {
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.parseObject(depth + 1);
      case '[':
        return this.parseArray(depth + 1);
      case '"':
        return this.parseString();
      case 't':
        return this.parseLiteral('true', true);
      case 'f':
        return this.parseLiteral('false', false);
      case 'n':
        return this.parseLiteral('null', null);
      case undefined:
        return this.fail('unexpected end of input');
      default:
        if (c === '-' || (c >= '0' && c <= '9')) return this.parseNumber();
        return this.fail(`unexpected character ${JSON.stringify(c)}`);
    }
  }

  private parseLiteral<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail(`unexpected token, expected ${word}`);
    this.pos += word.length;
    return value;
  }

  private parseNumber(): number {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (!match) return this.fail('malformed number');
    const literal = match[0];
    const value = Number(literal);
    if (!Number.isFinite(value)) this.fail(`number ${literal} is out of range`);
    if (match[1] === undefined && match[2] === undefined && !Number.isSafeInteger(value)) {
      this.fail(`integer ${literal} is beyond ±(2^53 - 1) and would lose precision`);
    }
    this.pos += literal.length;
    return value;
  }

  private parseString(): string {
    const text = this.text;
    this.pos++; // opening quote
    let result = '';
    for (;;) {
      PLAIN_STRING_RUN.lastIndex = this.pos;
      PLAIN_STRING_RUN.exec(text);
      const end = PLAIN_STRING_RUN.lastIndex;
      if (end > this.pos) result += text.slice(this.pos, end);
      this.pos = end;
      const c = text[end];
      if (c === '"') {
        this.pos++;
        break;
      }
      if (c === undefined) this.fail('unterminated string');
      if (c !== '\\') this.fail('unescaped control character in string');
      const e = text[end + 1];
      if (e === 'u') {
        const hex = text.slice(end + 2, end + 6);
        if (!HEX4.test(hex)) this.fail('malformed \\u escape');
        result += String.fromCharCode(parseInt(hex, 16));
        this.pos = end + 6;
      } else {
        const decoded = e === undefined ? undefined : ESCAPES.get(e);
        if (decoded === undefined) this.fail('invalid escape in string');
        result += decoded;
        this.pos = end + 2;
      }
    }
    if (hasLoneSurrogate(result)) this.fail('string contains a lone surrogate');
    return result;
  }

  private parseArray(depth: number): unknown[] {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
    this.pos++; // [
    const result: unknown[] = [];
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      result.push(this.parseValue(depth));
      this.skipWhitespace();
      const c = this.text[this.pos];
      if (c === ',') this.pos++;
      else if (c === ']') {
        this.pos++;
        return result;
      } else this.fail("expected ',' or ']' in array");
    }
  }

  private parseObject(depth: number): Record<string, unknown> {
    if (depth > this.maxDepth) this.fail(`nesting deeper than ${this.maxDepth}`);
    this.pos++; // {
    const result: Record<string, unknown> = {};
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') this.fail('expected a string member name');
      const keyStart = this.pos;
      const key = this.parseString();
      if (key === '__proto__') {
        this.pos = keyStart;
        this.fail('member name __proto__ is not allowed');
      }
      if (Object.hasOwn(result, key)) {
        this.pos = keyStart;
        this.fail(`duplicate member name ${JSON.stringify(key)}`);
      }
      this.skipWhitespace();
      if (this.text[this.pos] !== ':') this.fail("expected ':' after member name");
      this.pos++;
      this.skipWhitespace();
      result[key] = this.parseValue(depth);
      this.skipWhitespace();
      const c = this.text[this.pos];
      if (c === ',') this.pos++;
      else if (c === '}') {
        this.pos++;
        return result;
      } else this.fail("expected ',' or '}' in object");
    }
  }
}
