// Wycheproof XDH (X25519) vectors: shared secrets through @noble/curves and through WebCrypto (which
// @hpke/core uses at run time), and our public-key check against every low-order point.
import { x25519 } from '@noble/curves/ed25519.js';
import { describe, expect, it } from 'vitest';
import { readVectorJson } from '../../../test/support/vectors.js';
import { concatBytes, fromHex, toHex } from './encoding.js';
import { hpkeSeal, isValidEncryptionPublicKey } from './hpke.js';

interface WycheproofXdh {
  algorithm: string;
  numberOfTests: number;
  testGroups: Array<{
    curve: string;
    tests: Array<{ tcId: number; comment: string; flags: string[]; public: string; private: string; shared: string; result: string }>;
  }>;
}

const file = readVectorJson<WycheproofXdh>('wycheproof/x25519_test.json');
const cases = file.testGroups.flatMap((group) => group.tests);
const ZERO = '00'.repeat(32);
const zeroShared = cases.filter((c) => c.shared === ZERO);
const nonZero = cases.filter((c) => c.shared !== ZERO);

const PKCS8_X25519_PREFIX = fromHex('302e020100300506032b656e04220420');

async function webCryptoShared(privateKey: Uint8Array, publicKey: Uint8Array): Promise<Uint8Array> {
  const subtle = globalThis.crypto.subtle;
  const sk = await subtle.importKey('pkcs8', concatBytes(PKCS8_X25519_PREFIX, privateKey) as Uint8Array<ArrayBuffer>, { name: 'X25519' }, false, ['deriveBits']);
  const pk = await subtle.importKey('raw', publicKey as Uint8Array<ArrayBuffer>, { name: 'X25519' }, false, []);
  return new Uint8Array(await subtle.deriveBits({ name: 'X25519', public: pk }, sk, 256));
}

describe('Wycheproof x25519_test.json', () => {
  it('covers every test in the file; none is "invalid"', () => {
    expect(file.algorithm).toBe('XDH');
    expect(cases).toHaveLength(file.numberOfTests);
    expect(cases.every((c) => c.result === 'valid' || c.result === 'acceptable')).toBe(true);
    expect(zeroShared.length).toBeGreaterThan(0);
  });

  it(`@noble/curves computes the expected shared secret for all ${nonZero.length} non-zero cases`, () => {
    for (const c of nonZero) expect(toHex(x25519.getSharedSecret(fromHex(c.private), fromHex(c.public))), `tcId ${c.tcId}`).toBe(c.shared);
  });

  it(`WebCrypto X25519 computes the expected shared secret for all ${nonZero.length} non-zero cases`, async () => {
    for (const c of nonZero) expect(toHex(await webCryptoShared(fromHex(c.private), fromHex(c.public))), `tcId ${c.tcId}`).toBe(c.shared);
  });

  it(`isValidEncryptionPublicKey rejects the public key of all ${zeroShared.length} all-zero-shared-secret cases`, () => {
    for (const c of zeroShared) expect(isValidEncryptionPublicKey(fromHex(c.public)), `tcId ${c.tcId} ${c.comment}`).toBe(false);
  });

  it('isValidEncryptionPublicKey accepts every public key with a non-zero shared secret', () => {
    for (const c of nonZero) expect(isValidEncryptionPublicKey(fromHex(c.public)), `tcId ${c.tcId}`).toBe(true);
  });

  it('noble and WebCrypto refuse the all-zero cases too (defence in depth under our check)', async () => {
    for (const c of zeroShared) {
      expect(() => x25519.getSharedSecret(fromHex(c.private), fromHex(c.public)), `tcId ${c.tcId}`).toThrow();
      await expect(webCryptoShared(fromHex(c.private), fromHex(c.public)), `tcId ${c.tcId}`).rejects.toThrow();
    }
  });

  it('hpkeSeal refuses a low-order recipient key before doing any work', async () => {
    const lowOrder = fromHex(zeroShared[0]!.public);
    await expect(hpkeSeal(lowOrder, new Uint8Array(1), { info: 'x' })).rejects.toThrow(
      new RangeError('recipientPublicKey is a low-order X25519 point and cannot be used'),
    );
  });
});
