// DESIGN §5.3–5.5 from the party's side: encryptWithSessionKey seals to the session key (DATA_INFO),
// contribute salts its commitment inside the ciphertext, signConsent signs the consent statement.
import {
  DATA_INFO,
  RESULT_INFO,
  fromBase64Url,
  generateEncryptionKeyPair,
  hashCommitment as cryptoHashCommitment,
  openEnvelope,
  parseStrictJson,
  saltedCommitment,
  utf8Decode,
} from '@tenzro/crypto';
import { FULL_CONSENT, verifyConsentSignature } from '@tenzro/protocol';
import { describe, expect, it } from 'vitest';
import { MEASUREMENT, makeFixture, submissionReceipt } from './fake-host.fixture.js';
import { encryptWithSessionKey, hashCommitment, signConsent } from './helpers.js';
import { TenzroPlatform } from './platform.js';

const records = [
  { transactionId: 't1', amount: 120.5, counterparty: 'B-9' },
  { transactionId: 't2', amount: 9, counterparty: 'C-1' },
];

describe('encryptWithSessionKey', () => {
  it('seals to the session key: the output opens with openEnvelope under DATA_INFO', async () => {
    const key = await generateEncryptionKeyPair();
    const text = JSON.stringify(records);
    const sealed = await encryptWithSessionKey(text, fromBase64Url(Buffer.from(key.publicKey).toString('base64url')));
    expect(sealed).toMatch(/^[A-Za-z0-9_-]+$/);
    const opened = await openEnvelope(key.privateKey, fromBase64Url(sealed), { info: DATA_INFO });
    expect(utf8Decode(opened)).toBe(text);
    await expect(openEnvelope(key.privateKey, fromBase64Url(sealed), { info: RESULT_INFO })).rejects.toMatchObject({ code: 'decryption_failed' });
  });

  it('accepts the key as base64url and the text as bytes; encrypts afresh each time', async () => {
    const key = await generateEncryptionKeyPair();
    const publicKey = Buffer.from(key.publicKey).toString('base64url');
    const a = await encryptWithSessionKey(new Uint8Array([1, 2, 3]), publicKey);
    const b = await encryptWithSessionKey(new Uint8Array([1, 2, 3]), publicKey);
    expect(a).not.toBe(b);
    expect([...(await openEnvelope(key.privateKey, fromBase64Url(b), { info: DATA_INFO }))]).toEqual([1, 2, 3]);
  });

  it('checks its arguments', async () => {
    await expect(encryptWithSessionKey('x', 'AAAA')).rejects.toThrow(RangeError);
    await expect(encryptWithSessionKey('x', 'not base64!')).rejects.toThrow(/publicKey/);
    await expect(encryptWithSessionKey(42 as unknown as string, new Uint8Array(32))).rejects.toThrow(/text/);
  });
});

describe('hashCommitment', () => {
  it('is the crypto commitment sha256:hex(SHA-256(JCS(data)))', async () => {
    expect(await hashCommitment(records)).toBe(await cryptoHashCommitment(records));
    expect(await hashCommitment({ b: 1, a: 2 })).toBe(await hashCommitment({ a: 2, b: 1 }));
  });
});

describe('signConsent', () => {
  it('signs the consent statement, all flags true by default, from any key form', async () => {
    const fixture = await makeFixture();
    const { bankA } = fixture;
    for (const key of [bankA.signingKey.privateKey, fromBase64Url(bankA.signingKey.privateKey), bankA]) {
      const signature = await signConsent(fixture.sessionId, key);
      expect(verifyConsentSignature(fixture.sessionId, FULL_CONSENT, signature, bankA.signingKey.publicKey)).toBe(true);
    }
    const partial = { ...FULL_CONSENT, resultSharing: false };
    const signature = await signConsent(fixture.sessionId, bankA.signingKey.privateKey, partial);
    expect(verifyConsentSignature(fixture.sessionId, partial, signature, bankA.signingKey.publicKey)).toBe(true);
    expect(verifyConsentSignature(fixture.sessionId, FULL_CONSENT, signature, bankA.signingKey.publicKey)).toBe(false);
  });

  it('checks its arguments', async () => {
    const fixture = await makeFixture();
    await expect(signConsent('mps_nope', fixture.bankA.signingKey.privateKey)).rejects.toThrow(/sessionId/);
    await expect(signConsent(fixture.sessionId, new Uint8Array(31))).rejects.toThrow(RangeError);
    await expect(signConsent(fixture.sessionId, 5 as unknown as string)).rejects.toThrow(/privateKey/);
  });
});

describe('contribute', () => {
  it('seals a salted payload and submits it under the salted commitment; two contributions differ', async () => {
    const fixture = await makeFixture();
    fixture.routes.set(`POST /v1/sessions/${fixture.sessionId}/data`, (request) => submissionReceipt(fixture, request));
    const platform = new TenzroPlatform({
      apiKey: 'k',
      tenantId: 'bankA',
      baseUrl: 'http://host.test',
      party: fixture.bankA,
      trustedRoots: [fixture.enclave.rootPem],
      expectedMeasurements: [MEASUREMENT],
      fetch: fixture.fetch,
    });
    const first = await platform.ai.contribute({ sessionId: fixture.sessionId, data: records, dataSchema: 'transaction_records_v1' });
    const second = await platform.ai.contribute({ sessionId: fixture.sessionId, data: records, dataSchema: 'transaction_records_v1' });
    expect(first.commitment).not.toBe(second.commitment);
    expect(first.salt).not.toBe(second.salt);
    expect(first.commitment).not.toBe(await hashCommitment(records));
    expect(first.commitment).toBe(await saltedCommitment(fromBase64Url(first.salt!), records));

    const uploads = fixture.requests.filter((r) => r.method === 'POST');
    expect(uploads).toHaveLength(2);
    const upload = uploads[0]!;
    expect(upload.headers['x-tenzro-commitment-scheme']).toBe('salted');
    expect(upload.headers['x-tenzro-commitment']).toBe(first.commitment);
    expect(upload.headers['content-type']).toBe('application/octet-stream');
    // The key was fetched (and verified) before anything was sealed.
    expect(fixture.requests.findIndex((r) => r.path.endsWith('/key'))).toBeLessThan(fixture.requests.indexOf(upload));

    const plaintext = await openEnvelope(fixture.sessionKey.privateKey, upload.body as Uint8Array, { info: DATA_INFO });
    expect(parseStrictJson(utf8Decode(plaintext))).toEqual({ type: 'tenzro.contribution/v1', salt: first.salt, data: records });
  });

  it('does not upload when the key attestation fails', async () => {
    const fixture = await makeFixture();
    const platform = new TenzroPlatform({ apiKey: 'k', tenantId: 'bankA', baseUrl: 'http://h.test', party: fixture.bankA, trustedRoots: [], expectedMeasurements: [MEASUREMENT], fetch: fixture.fetch });
    await expect(platform.ai.contribute({ sessionId: fixture.sessionId, data: records, dataSchema: 's' })).rejects.toMatchObject({ code: 'untrusted_root' });
    expect(fixture.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
  });
});
