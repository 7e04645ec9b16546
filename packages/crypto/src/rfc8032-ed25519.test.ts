// RFC 8032 §7.1 Ed25519 test vectors (vectors/ed25519), through the public signature API.
import { describe, expect, it } from 'vitest';
import { readVectorJson } from '../../../test/support/vectors.js';
import { fromHex, toHex } from './encoding.js';
import { SecretBytes } from './secret.js';
import { ed25519Sign, ed25519Verify, signingPublicKeyFromPrivate } from './signature.js';

interface Rfc8032File {
  vectors: Array<{ name: string; secret_key: string; public_key: string; message: string; signature: string }>;
  negative_vectors: Array<{ comment: string; public_key: string; message: string; signature: string; expected: string }>;
}

const file = readVectorJson<Rfc8032File>('ed25519/rfc8032_ed25519_section7_1.json');

describe('RFC 8032 §7.1 Ed25519', () => {
  it('has the five published vectors', () => {
    expect(file.vectors.map((v) => v.name)).toEqual(['TEST 1', 'TEST 2', 'TEST 3', 'TEST 1024', 'TEST SHA(abc)']);
  });

  for (const vector of file.vectors) {
    it(`${vector.name}: public key, signature byte for byte, verification`, () => {
      const seed = fromHex(vector.secret_key);
      const message = fromHex(vector.message);
      expect(toHex(signingPublicKeyFromPrivate(seed))).toBe(vector.public_key);
      expect(toHex(signingPublicKeyFromPrivate(SecretBytes.from(seed)))).toBe(vector.public_key);
      expect(toHex(ed25519Sign(seed, message))).toBe(vector.signature);
      expect(toHex(ed25519Sign(SecretBytes.from(seed), message))).toBe(vector.signature);
      expect(ed25519Verify(fromHex(vector.public_key), message, fromHex(vector.signature))).toBe(true);
    });
  }

  for (const vector of file.negative_vectors) {
    it(`rejects: ${vector.comment}`, () => {
      expect(vector.expected).toBe('invalid');
      expect(ed25519Verify(fromHex(vector.public_key), fromHex(vector.message), fromHex(vector.signature))).toBe(false);
    });
  }
});
