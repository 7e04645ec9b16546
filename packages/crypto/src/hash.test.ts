// SHA-256 / SHA-384 against the FIPS 180-4 examples (NIST CSRC "Example Algorithms").
import { describe, expect, it } from 'vitest';
import { toHex, utf8Encode } from './encoding.js';
import { sha256, sha256Hex, sha384 } from './hash.js';

describe('SHA-2 (FIPS 180-4)', () => {
  it('SHA-256', () => {
    expect(sha256Hex(new Uint8Array(0))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(sha256Hex(utf8Encode('abc'))).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    expect(toHex(sha256(utf8Encode('abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq')))).toBe(
      '248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1',
    );
    expect(sha256(new Uint8Array(0))).toHaveLength(32);
  });

  it('SHA-384', () => {
    expect(toHex(sha384(utf8Encode('abc')))).toBe(
      'cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7',
    );
  });

  it('checks the argument type', () => {
    expect(() => sha256('abc' as unknown as Uint8Array)).toThrow(new TypeError('bytes must be a Uint8Array'));
    expect(() => sha384([1] as unknown as Uint8Array)).toThrow(new TypeError('bytes must be a Uint8Array'));
  });
});
