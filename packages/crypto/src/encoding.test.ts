import { describe, expect, it } from 'vitest';
import { concatBytes, equalBytes, fromBase64Url, fromHex, toBase64Url, toHex, utf8Decode, utf8Encode } from './encoding.js';

const bytes = (...values: number[]) => Uint8Array.from(values);

describe('base64url (RFC 4648 §5, no padding)', () => {
  // RFC 4648 §10 test vectors, re-spelled in the URL alphabet without padding.
  const cases: Array<[string, string]> = [
    ['', ''],
    ['f', 'Zg'],
    ['fo', 'Zm8'],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg'],
    ['fooba', 'Zm9vYmE'],
    ['foobar', 'Zm9vYmFy'],
  ];
  for (const [plain, encoded] of cases) {
    it(`encodes and decodes ${JSON.stringify(plain)}`, () => {
      expect(toBase64Url(utf8Encode(plain))).toBe(encoded);
      expect(utf8Decode(fromBase64Url(encoded))).toBe(plain);
    });
  }

  it('uses - and _ instead of + and /', () => {
    expect(toBase64Url(bytes(0xfb, 0xff, 0xbf))).toBe('-_-_');
    expect(fromBase64Url('-_-_')).toEqual(bytes(0xfb, 0xff, 0xbf));
  });

  it('round-trips every length up to 300 and all byte values', () => {
    const all = Uint8Array.from({ length: 300 }, (_, i) => (i * 151 + 7) & 0xff);
    for (let n = 0; n <= all.length; n++) expect(fromBase64Url(toBase64Url(all.subarray(0, n)))).toEqual(all.subarray(0, n));
  });

  it.each([
    ['Zg==', 'padding'],
    ['Zm9v+', 'plus'],
    ['Zm9v/w', 'slash'],
    ['Zm9 v', 'space'],
    ['Zm9v\n', 'newline'],
    ['Z', 'length 1 mod 4'],
    ['Zm9vY', 'length 1 mod 4'],
    ['Zh', 'non-zero trailing bits (2 chars)'],
    ['Zm9', 'non-zero trailing bits (3 chars)'],
    ['Zm9é', 'non-ASCII'],
    ['Zm9\u0141', 'code unit above 0xff'],
  ])('rejects %j (%s) with a TypeError naming the argument', (text) => {
    expect(() => fromBase64Url(text, 'enc')).toThrow(TypeError);
    expect(() => fromBase64Url(text, 'enc')).toThrow(/^enc /);
  });

  it('names "value" by default and rejects non-strings', () => {
    expect(() => fromBase64Url('Zg=')).toThrow(/^value /);
    expect(() => fromBase64Url(42 as unknown as string, 'key')).toThrow(new TypeError('key must be a base64url string'));
    expect(() => toBase64Url('abc' as unknown as Uint8Array)).toThrow(new TypeError('bytes must be a Uint8Array'));
  });
});

describe('hex', () => {
  it('encodes lowercase and decodes either case', () => {
    expect(toHex(bytes(0, 1, 0xab, 0xff))).toBe('0001abff');
    expect(fromHex('0001ABff')).toEqual(bytes(0, 1, 0xab, 0xff));
    expect(fromHex('')).toEqual(new Uint8Array(0));
  });

  it.each(['abc', '0g', ' 00', '0x00', 'zz', '\u0130\u0130'])('rejects %j naming the argument', (text) => {
    expect(() => fromHex(text, 'digest')).toThrow(TypeError);
    expect(() => fromHex(text, 'digest')).toThrow(/^digest /);
  });
});

describe('UTF-8', () => {
  it('round-trips non-ASCII text and keeps a BOM', () => {
    const text = '\ufeffpéché 😂 \u20ac';
    expect(utf8Decode(utf8Encode(text))).toBe(text);
  });

  it('rejects malformed UTF-8 instead of substituting U+FFFD', () => {
    for (const bad of [bytes(0xff), bytes(0xc0, 0x80), bytes(0xed, 0xa0, 0x80), bytes(0xe2, 0x82)]) {
      expect(() => utf8Decode(bad)).toThrow(new TypeError('bytes are not valid UTF-8'));
    }
  });

  it('checks argument types', () => {
    expect(() => utf8Encode(1 as unknown as string)).toThrow(new TypeError('text must be a string'));
    expect(() => utf8Decode('x' as unknown as Uint8Array)).toThrow(new TypeError('bytes must be a Uint8Array'));
  });
});

describe('concatBytes / equalBytes', () => {
  it('concatenates into a fresh array', () => {
    const a = bytes(1, 2);
    const out = concatBytes(a, new Uint8Array(0), bytes(3));
    expect(out).toEqual(bytes(1, 2, 3));
    out[0] = 9;
    expect(a[0]).toBe(1);
    expect(concatBytes()).toEqual(new Uint8Array(0));
    expect(() => concatBytes(a, [3] as unknown as Uint8Array)).toThrow(new TypeError('parts[1] must be a Uint8Array'));
  });

  it('compares contents and lengths', () => {
    expect(equalBytes(bytes(1, 2, 3), bytes(1, 2, 3))).toBe(true);
    expect(equalBytes(bytes(1, 2, 3), bytes(1, 2, 4))).toBe(false);
    expect(equalBytes(bytes(1, 2), bytes(1, 2, 3))).toBe(false);
    expect(equalBytes(new Uint8Array(0), new Uint8Array(0))).toBe(true);
    expect(() => equalBytes(bytes(1), null as unknown as Uint8Array)).toThrow(new TypeError('b must be a Uint8Array'));
  });
});
