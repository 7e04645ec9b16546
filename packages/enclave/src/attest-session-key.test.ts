// attestSessionKey over the real process (DESIGN §5.2): every call issues a NEW attestation document for
// the session's existing key, so a party can verify the key at the current time however old the session
// is; destroyed keys, expired sessions and swapped terms are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64Url } from '@tenzro/crypto';
import { AttestSessionKeyResult, CreateSessionKeyResult, HelloResult, parseAttestationDocument, sessionKeyUserData, verifyAttestation } from '@tenzro/protocol';
import { EnclaveProcess, tempDir } from '../test/enclave-process.js';
import { makeParty, makeTerms, type Party } from '../test/session-fixture.js';

describe('attestSessionKey', () => {
  let stateDir: string;
  let enclave: EnclaveProcess;
  let hello: ReturnType<typeof HelloResult.parse>;
  let parties: Party[];
  let model: { modelId: string; modelDigest: string };

  async function newSession(expiresAt?: string) {
    const { terms, sessionId } = makeTerms({ participants: parties, ...model, ...(expiresAt ? { expiresAt } : {}) });
    const key = CreateSessionKeyResult.parse(await enclave.call('createSessionKey', { sessionId }));
    return { terms, sessionId, key };
  }

  beforeAll(async () => {
    stateDir = await tempDir('tenzro-enclave-attest-');
    enclave = EnclaveProcess.start(stateDir);
    hello = HelloResult.parse(await enclave.call('hello'));
    const found = hello.models.find((m) => m.modelId === 'risk-analyzer-v2')!;
    model = { modelId: found.modelId, modelDigest: found.modelDigest };
    parties = await Promise.all(['bankA', 'bankB'].map((bank) => makeParty(`party::${bank}::treasury`)));
  });
  afterAll(async () => {
    await enclave.stop();
  });

  it('issues a fresh document for the existing key on every call, bound to the session', async () => {
    const { terms, sessionId, key } = await newSession();
    const created = parseAttestationDocument(fromBase64Url(key.attestation));
    await new Promise((r) => setTimeout(r, 5));
    const first = AttestSessionKeyResult.parse(await enclave.call('attestSessionKey', { sessionId, sealedKey: key.sealedKey, terms }));
    const second = AttestSessionKeyResult.parse(await enclave.call('attestSessionKey', { sessionId, sealedKey: key.sealedKey, terms }));
    expect(first.publicKey).toBe(key.publicKey);
    expect(second.publicKey).toBe(key.publicKey);
    expect(new Set([key.attestation, first.attestation, second.attestation]).size).toBe(3);
    for (const attestation of [first.attestation, second.attestation]) {
      const verified = await verifyAttestation(attestation, {
        roots: [hello.rootPem],
        expectedMeasurements: [hello.measurement],
        expectedPublicKey: fromBase64Url(key.publicKey),
        expectedUserData: sessionKeyUserData(sessionId),
        maxAgeMs: 60_000,
      });
      expect(verified.timestamp).toBeGreaterThan(created.timestamp);
    }
  });

  it('works from the sealed key alone in a restarted process (nothing cached)', async () => {
    const { terms, sessionId, key } = await newSession();
    await enclave.stop();
    enclave = EnclaveProcess.start(stateDir);
    const fresh = AttestSessionKeyResult.parse(await enclave.call('attestSessionKey', { sessionId, sealedKey: key.sealedKey, terms }));
    expect(fresh.publicKey).toBe(key.publicKey);
    await verifyAttestation(fresh.attestation, {
      roots: [hello.rootPem],
      expectedPublicKey: fromBase64Url(key.publicKey),
      expectedUserData: sessionKeyUserData(sessionId),
    });
  });

  it('refuses a destroyed key (data_deleted), an expired session (session_expired) and swapped terms', async () => {
    const { terms, sessionId, key } = await newSession();
    expect(await enclave.request('attestSessionKey', { sessionId, sealedKey: key.sealedKey, terms: { ...terms, name: 'swapped' } })).toMatchObject({
      ok: false,
      error: { code: 'invalid_request' },
    });
    await enclave.call('destroySessionKey', { sessionId, reason: 'cancelled', ciphertexts: [] });
    expect(await enclave.request('attestSessionKey', { sessionId, sealedKey: key.sealedKey, terms })).toMatchObject({
      ok: false,
      error: { code: 'data_deleted' },
    });

    const expired = await newSession(new Date(Date.now() - 1000).toISOString());
    const reply = await enclave.request('attestSessionKey', { sessionId: expired.sessionId, sealedKey: expired.key.sealedKey, terms: expired.terms });
    expect(reply).toMatchObject({ ok: false, error: { code: 'session_expired' } });
  });
});
