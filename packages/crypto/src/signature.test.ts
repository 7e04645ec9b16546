// Signed statements (DESIGN §5): Ed25519 over RFC 8785 canonical JSON with a versioned `type`.
import { describe, expect, it } from 'vitest';
import { fromHex, utf8Encode } from './encoding.js';
import { canonicalBytes } from './jcs.js';
import { SecretBytes } from './secret.js';
import {
  ed25519Sign,
  ed25519Verify,
  generateSigningKeyPair,
  isStatementType,
  isValidSigningPublicKey,
  signStatement,
  signingPublicKeyFromPrivate,
  verifyStatement,
} from './signature.js';

describe('key pairs', () => {
  it('generates a fresh pair whose private key is a SecretBytes', () => {
    const a = generateSigningKeyPair();
    const b = generateSigningKeyPair();
    expect(a.privateKey).toBeInstanceOf(SecretBytes);
    expect(a.privateKey.length).toBe(32);
    expect(a.publicKey).toHaveLength(32);
    expect(a.publicKey).not.toEqual(b.publicKey);
    expect(signingPublicKeyFromPrivate(a.privateKey)).toEqual(a.publicKey);
    expect(isValidSigningPublicKey(a.publicKey)).toBe(true);
  });

  it('validates private keys when given', () => {
    expect(() => ed25519Sign(new Uint8Array(31), new Uint8Array(0))).toThrow(new RangeError('privateKey must be 32 bytes, got 31'));
    expect(() => ed25519Sign(new Uint8Array(64), new Uint8Array(0))).toThrow(RangeError);
    expect(() => signingPublicKeyFromPrivate('k' as unknown as Uint8Array)).toThrow(
      new TypeError('privateKey must be a Uint8Array or SecretBytes'),
    );
    expect(() => ed25519Sign(new Uint8Array(32), 'm' as unknown as Uint8Array)).toThrow(new TypeError('message must be a Uint8Array'));
    const destroyed = SecretBytes.from(new Uint8Array(32));
    destroyed.destroy();
    expect(() => ed25519Sign(destroyed, new Uint8Array(0))).toThrow(/destroyed/);
  });

  it('isValidSigningPublicKey refuses wrong lengths, non-points and small-order points', () => {
    expect(isValidSigningPublicKey(new Uint8Array(31))).toBe(false);
    expect(isValidSigningPublicKey('x')).toBe(false);
    // The identity point (0, 1) has order 1.
    expect(isValidSigningPublicKey(fromHex('0100000000000000000000000000000000000000000000000000000000000000'))).toBe(false);
    // y = 2 is not on the curve.
    expect(isValidSigningPublicKey(fromHex('0200000000000000000000000000000000000000000000000000000000000000'))).toBe(false);
  });
});

describe('ed25519Verify never throws', () => {
  const { publicKey, privateKey } = generateSigningKeyPair();
  const message = utf8Encode('hello');
  const signature = ed25519Sign(privateKey, message);

  it('accepts the right signature and rejects altered ones', () => {
    expect(ed25519Verify(publicKey, message, signature)).toBe(true);
    const altered = signature.slice();
    altered[10]! ^= 1;
    expect(ed25519Verify(publicKey, message, altered)).toBe(false);
    expect(ed25519Verify(publicKey, utf8Encode('hellp'), signature)).toBe(false);
  });

  it.each([
    ['short public key', () => ed25519Verify(publicKey.subarray(1), message, signature)],
    ['short signature', () => ed25519Verify(publicKey, message, signature.subarray(1))],
    ['long signature', () => ed25519Verify(publicKey, message, new Uint8Array(65))],
    ['empty everything', () => ed25519Verify(new Uint8Array(0), new Uint8Array(0), new Uint8Array(0))],
    ['wrong types', () => ed25519Verify('pk' as unknown as Uint8Array, null as unknown as Uint8Array, 5 as unknown as Uint8Array)],
    ['all-ones public key', () => ed25519Verify(new Uint8Array(32).fill(0xff), message, signature)],
  ])('%s → false', (_label, call) => {
    expect(call()).toBe(false);
  });
});

describe('signStatement / verifyStatement', () => {
  const { publicKey, privateKey } = generateSigningKeyPair();
  const statement = { type: 'tenzro.consent/v1', sessionId: 'mps_abc', consent: { dataUsage: true, resultSharing: true } };

  it('signs the canonical bytes of the statement', () => {
    const signature = signStatement(privateKey, statement);
    expect(ed25519Verify(publicKey, canonicalBytes(statement), signature)).toBe(true);
    // Key order does not matter: the canonical form is what is signed.
    const reordered = { consent: { resultSharing: true, dataUsage: true }, sessionId: 'mps_abc', type: 'tenzro.consent/v1' };
    expect(verifyStatement(publicKey, reordered, signature)).toBe(true);
  });

  it('a signature for one statement type does not verify as another', () => {
    const signature = signStatement(privateKey, statement);
    expect(verifyStatement(publicKey, { ...statement, type: 'tenzro.result/v1' }, signature)).toBe(false);
    expect(verifyStatement(publicKey, { ...statement, sessionId: 'mps_abd' }, signature)).toBe(false);
    expect(verifyStatement(generateSigningKeyPair().publicKey, statement, signature)).toBe(false);
  });

  it.each([
    [{ sessionId: 'x' }, /statement.type is missing/],
    [{ type: 'consent' }, /versioned type/],
    [{ type: 'tenzro.consent' }, /versioned type/],
    [{ type: 'tenzro.consent/v0' }, /versioned type/],
    [{ type: 'Tenzro.Consent/v1' }, /versioned type/],
    [{ type: 7 }, /versioned type/],
    [null, /statement must be a JSON object/],
    [['tenzro.consent/v1'], /statement must be a JSON object/],
  ])('refuses to sign %j', (bad, message) => {
    expect(() => signStatement(privateKey, bad as unknown as { type: string })).toThrow(TypeError);
    expect(() => signStatement(privateKey, bad as unknown as { type: string })).toThrow(message);
  });

  it('refuses to sign what JCS cannot canonicalise', () => {
    expect(() => signStatement(privateKey, { type: 'tenzro.consent/v1', at: new Date() } as { type: string })).toThrow(TypeError);
  });

  it('verifyStatement returns false instead of throwing on malformed input', () => {
    const signature = signStatement(privateKey, statement);
    expect(verifyStatement(publicKey, { type: 'nope' }, signature)).toBe(false);
    expect(verifyStatement(publicKey, null as unknown as { type: string }, signature)).toBe(false);
    expect(verifyStatement(publicKey, { type: 'tenzro.consent/v1', n: NaN } as { type: string }, signature)).toBe(false);
    expect(verifyStatement(new Uint8Array(3), statement, signature)).toBe(false);
  });

  it('accepts the project statement type shapes', () => {
    for (const type of ['tenzro.consent/v1', 'tenzro.result/v1', 'tenzro.session-terms/v2', 'tenzro.sa.advertise/v10']) {
      expect(isStatementType(type)).toBe(true);
    }
    for (const type of ['', 'tenzro/v1', 'tenzro.consent/v1 ', 'tenzro.consent/1', 'tenzro..consent/v1']) {
      expect(isStatementType(type)).toBe(false);
    }
  });
});
