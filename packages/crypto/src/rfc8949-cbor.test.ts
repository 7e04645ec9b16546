// CBOR encoding and strict decoding (RFC 8949). Examples from RFC 8949 Appendix A and §4.2.1.
import { describe, expect, it } from 'vitest';
import { CborError, CborTag, decodeCbor, encodeCbor } from './cbor.js';

const hex = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'hex'));
const toHex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');

function expectInvalid(bytes: Uint8Array, message: RegExp): void {
  try {
    decodeCbor(bytes);
  } catch (error) {
    expect(error).toBeInstanceOf(CborError);
    expect((error as CborError).code).toBe('invalid_cbor');
    expect((error as CborError).message).toMatch(message);
    return;
  }
  throw new Error(`expected ${toHex(bytes)} to be rejected`);
}

describe('encodeCbor (RFC 8949 §4.2.1 core deterministic encoding)', () => {
  it('encodes the Appendix A examples in preferred serialisation', () => {
    const cases: Array<[unknown, string]> = [
      [0, '00'], [23, '17'], [24, '1818'], [1000, '1903e8'], [1000000, '1a000f4240'],
      [1000000000000, '1b000000e8d4a51000'], [-1, '20'], [-1000, '3903e7'],
      [false, 'f4'], [true, 'f5'], [null, 'f6'], ['', '60'], ['IETF', '6449455446'],
      ['\u00fc', '62c3bc'], [new Uint8Array(0), '40'], [hex('01020304'), '4401020304'],
      [[], '80'], [[1, [2, 3], [4, 5]], '8301820203820405'], [new Map(), 'a0'],
      [new Map([[1, 2], [3, 4]]), 'a201020304'],
    ];
    for (const [value, expected] of cases) expect(toHex(encodeCbor(value))).toBe(expected);
  });

  it('sorts map keys bytewise by their encoding, whatever the insertion order', () => {
    const map = new Map<unknown, unknown>([['aa', 1], [-1, 2], ['b', 3], [10, 4], [100, 5]]);
    // 0a < 1864 < 20 < 6162 < 626161
    expect(toHex(encodeCbor(map))).toBe('a50a041864052002616203626161' + '01');
    expect(encodeCbor({ b: 1, a: 2 })).toEqual(encodeCbor({ a: 2, b: 1 }));
  });

  it('encodes the COSE ES384 protected header as A1 01 38 22', () => {
    expect(toHex(encodeCbor(new Map([[1, -35]])))).toBe('a1013822');
  });

  it('encodes tags', () => {
    expect(toHex(encodeCbor(new CborTag(18, [])))).toBe('d280');
  });

  it('rejects values CBOR cannot represent with a TypeError', () => {
    expect(() => encodeCbor(() => 1)).toThrow(TypeError);
    expect(() => encodeCbor(() => 1)).toThrow(/encodeCbor: value cannot be encoded/);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    expect(() => encodeCbor(cyclic)).toThrow(/encodeCbor: value cannot be encoded as CBOR: value is too deeply nested or cyclic/);
  });
});

describe('decodeCbor (strict)', () => {
  it('decodes maps to Map, byte strings to Uint8Array and tags to CborTag', () => {
    const value = decodeCbor(hex('a2616101614280')) as Map<unknown, unknown>;
    expect(value).toBeInstanceOf(Map);
    expect([...value.entries()]).toEqual([['a', 1], ['B', []]]);
    expect(decodeCbor(hex('4401020304'))).toEqual(hex('01020304'));
    const tagged = decodeCbor(hex('c11a514b67b0'));
    expect(tagged).toBeInstanceOf(CborTag);
    expect(Number((tagged as CborTag).tag)).toBe(1);
    expect((tagged as CborTag).contents).toBe(1363896240);
    expect(decodeCbor(hex('1bffffffffffffffff'))).toBe(18446744073709551615n);
  });

  it('round-trips what it encodes', () => {
    const value = new Map<unknown, unknown>([['module_id', 'x'], ['pcrs', new Map([[0, new Uint8Array(48)]])], ['nonce', null]]);
    expect(decodeCbor(encodeCbor(value))).toEqual(value);
  });

  it('returns byte strings that do not alias the input', () => {
    const input = hex('43010203');
    const bytes = decodeCbor(input) as Uint8Array;
    input[1] = 0xff;
    expect(bytes).toEqual(hex('010203'));
  });

  it('rejects trailing bytes unless allowTrailing', () => {
    expectInvalid(hex('0102'), /Extra data/);
    expect(decodeCbor(hex('0102'), { allowTrailing: true })).toBe(1);
    expect(decodeCbor(hex('82010203ff'), { allowTrailing: true })).toEqual([1, 2]);
    expect(decodeCbor(hex('a1014101ff'), { allowTrailing: true })).toEqual(new Map([[1, hex('01')]]));
  });

  it('rejects indefinite lengths', () => {
    expectInvalid(hex('5f4101ff'), /Streaming/);
    expectInvalid(hex('9f01ff'), /Streaming/);
    expectInvalid(hex('bf0101ff'), /Streaming/);
    expect(() => decodeCbor(hex('9f01ff'), { allowTrailing: true })).toThrow(CborError);
  });

  it('rejects truncated, empty, reserved and malformed input', () => {
    expectInvalid(new Uint8Array(0), /CBOR input is empty/);
    expectInvalid(hex('430102'), /invalid CBOR/);
    expectInvalid(hex('8201'), /invalid CBOR/);
    expectInvalid(hex('1c'), /invalid CBOR/);
    expectInvalid(hex('62fffe'), /invalid CBOR/);
    expect(() => decodeCbor(hex('43'), { allowTrailing: true })).toThrow(/truncated string/);
  });

  it('rejects duplicate map keys and unassigned simple values', () => {
    expectInvalid(hex('a201010102'), /Duplicate key/);
    expectInvalid(hex('f0'), /simple/);
  });

  it('rejects nesting deeper than 64', () => {
    expectInvalid(new Uint8Array([...new Array(70).fill(0x81), 0x00]), /depth/);
  });

  it('checks its arguments', () => {
    expect(() => decodeCbor('a0' as unknown as Uint8Array)).toThrow(new TypeError('decodeCbor: bytes must be a Uint8Array'));
    expect(() => decodeCbor(hex('a0'), { allowTrailing: 1 as unknown as boolean })).toThrow(
      new TypeError('decodeCbor: options.allowTrailing must be a boolean'),
    );
  });
});
