// Replays Wycheproof ECDSA P-384 / SHA-384 vectors through `verifyEcdsaP384Sha384`, the single path that
// COSE_Sign1 ES384 (raw r || s) and the attestation certificate-chain check (DER) both use.
import { describe, expect, it } from 'vitest';
import { readVectorJson } from '../../../test/support/vectors.js';
import { verifyEcdsaP384Sha384 } from './cose.js';

interface WycheproofTest { tcId: number; comment: string; flags: string[]; msg: string; sig: string; result: 'valid' | 'invalid' | 'acceptable' }
interface WycheproofGroup { publicKeyDer: string; sha: string; tests: WycheproofTest[] }
interface WycheproofFile { algorithm: string; numberOfTests: number; testGroups: WycheproofGroup[] }

const hex = (text: string): Uint8Array<ArrayBuffer> => new Uint8Array(Buffer.from(text, 'hex'));

async function importP384(spkiHex: string): Promise<CryptoKey> {
  return globalThis.crypto.subtle.importKey('spki', hex(spkiHex), { name: 'ECDSA', namedCurve: 'P-384' }, false, ['verify']);
}

async function replay(file: string, format: 'raw' | 'der'): Promise<{ checked: number; failures: string[] }> {
  const vectors = readVectorJson<WycheproofFile>(`wycheproof/${file}`);
  const failures: string[] = [];
  let checked = 0;
  for (const group of vectors.testGroups) {
    expect(group.sha).toBe('SHA-384');
    const publicKey = await importP384(group.publicKeyDer);
    for (const test of group.tests) {
      const ok = await verifyEcdsaP384Sha384({ publicKey, data: hex(test.msg), signature: hex(test.sig), format });
      checked += 1;
      if (test.result === 'valid' && !ok) failures.push(`tcId ${test.tcId} (${test.comment}): valid signature rejected`);
      if (test.result === 'invalid' && ok) failures.push(`tcId ${test.tcId} (${test.comment}): invalid signature accepted`);
    }
  }
  expect(checked).toBe(vectors.numberOfTests);
  return { checked, failures };
}

describe('Wycheproof ECDSA P-384 / SHA-384', () => {
  it('IEEE P1363 (r || s) signatures, the COSE ES384 path', async () => {
    const { checked, failures } = await replay('ecdsa_secp384r1_sha384_p1363_test.json', 'raw');
    expect(failures).toEqual([]);
    expect(checked).toBe(280);
  });

  it('DER signatures, the X.509 certificate-chain path', async () => {
    const { checked, failures } = await replay('ecdsa_secp384r1_sha384_test.json', 'der');
    expect(failures).toEqual([]);
    expect(checked).toBe(504);
  });
});
