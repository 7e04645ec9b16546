// Wycheproof EdDSA (Ed25519) verification vectors: every "valid" case verifies, every "invalid" case
// (S >= L, non-canonical encodings, truncated or padded signatures, ...) does not, and nothing throws.
import { describe, expect, it } from 'vitest';
import { readVectorJson } from '../../../test/support/vectors.js';
import { fromHex } from './encoding.js';
import { ed25519Verify } from './signature.js';

interface WycheproofEddsa {
  algorithm: string;
  numberOfTests: number;
  testGroups: Array<{
    publicKey: { curve: string; pk: string };
    tests: Array<{ tcId: number; comment: string; flags: string[]; msg: string; sig: string; result: 'valid' | 'invalid' | 'acceptable' }>;
  }>;
}

const file = readVectorJson<WycheproofEddsa>('wycheproof/ed25519_test.json');
const cases = file.testGroups.flatMap((group) => group.tests.map((test) => ({ ...test, pk: group.publicKey.pk })));

describe('Wycheproof ed25519_test.json', () => {
  it('covers every test in the file', () => {
    expect(file.algorithm).toBe('EDDSA');
    expect(cases).toHaveLength(file.numberOfTests);
    expect(cases.filter((c) => c.result === 'acceptable')).toHaveLength(0);
  });

  it.each(cases.map((c) => [c.tcId, c.result, c.comment || c.flags.join(','), c] as const))(
    'tcId %i (%s): %s',
    (_id, result, _comment, c) => {
      expect(ed25519Verify(fromHex(c.pk), fromHex(c.msg), fromHex(c.sig))).toBe(result === 'valid');
    },
  );
});
