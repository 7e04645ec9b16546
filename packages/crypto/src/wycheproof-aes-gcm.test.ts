// Wycheproof AES-GCM vectors for the HPKE / envelope profile (96-bit IV, 128-bit tag; 128- and 256-bit
// keys) through WebCrypto, which envelope.ts and @hpke/core use for every chunk.
import { describe, expect, it } from 'vitest';
import { readVectorJson } from '../../../test/support/vectors.js';
import { concatBytes, fromHex, toHex } from './encoding.js';

interface WycheproofAead {
  algorithm: string;
  testGroups: Array<{
    ivSize: number;
    keySize: number;
    tagSize: number;
    tests: Array<{ tcId: number; comment: string; flags: string[]; key: string; iv: string; aad: string; msg: string; ct: string; tag: string; result: string }>;
  }>;
}

const file = readVectorJson<WycheproofAead>('wycheproof/aes_gcm_test.json');
const subtle = globalThis.crypto.subtle;
const asBuffer = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>;

async function decrypt(key: string, iv: string, aad: string, ct: string, tag: string): Promise<Uint8Array> {
  const cryptoKey = await subtle.importKey('raw', asBuffer(fromHex(key)), { name: 'AES-GCM' }, false, ['decrypt']);
  const params = { name: 'AES-GCM', iv: asBuffer(fromHex(iv)), additionalData: asBuffer(fromHex(aad)), tagLength: 128 };
  return new Uint8Array(await subtle.decrypt(params, cryptoKey, asBuffer(concatBytes(fromHex(ct), fromHex(tag)))));
}

async function encrypt(key: string, iv: string, aad: string, msg: string): Promise<Uint8Array> {
  const cryptoKey = await subtle.importKey('raw', asBuffer(fromHex(key)), { name: 'AES-GCM' }, false, ['encrypt']);
  const params = { name: 'AES-GCM', iv: asBuffer(fromHex(iv)), additionalData: asBuffer(fromHex(aad)), tagLength: 128 };
  return new Uint8Array(await subtle.encrypt(params, cryptoKey, asBuffer(fromHex(msg))));
}

for (const keySize of [128, 256]) {
  const groups = file.testGroups.filter((g) => g.ivSize === 96 && g.tagSize === 128 && g.keySize === keySize);
  const cases = groups.flatMap((g) => g.tests);

  describe(`Wycheproof aes_gcm_test.json, AES-${keySize}-GCM, 96-bit IV, 128-bit tag`, () => {
    it('has valid and invalid cases', () => {
      expect(cases.filter((c) => c.result === 'valid').length).toBeGreaterThan(10);
      expect(cases.filter((c) => c.result === 'invalid').length).toBeGreaterThan(5);
    });

    it.each(cases.map((c) => [c.tcId, c.result, c.comment || c.flags.join(','), c] as const))('tcId %i (%s): %s', async (_id, result, _comment, c) => {
      if (result === 'valid') {
        expect(toHex(await decrypt(c.key, c.iv, c.aad, c.ct, c.tag))).toBe(c.msg);
        expect(toHex(await encrypt(c.key, c.iv, c.aad, c.msg))).toBe(c.ct + c.tag);
      } else {
        expect(result).toBe('invalid');
        await expect(decrypt(c.key, c.iv, c.aad, c.ct, c.tag)).rejects.toThrow();
      }
    });
  });
}
