// DESIGN §5.2: the SDK verifies a session key's attestation (trusted root, this key, this session's
// binding, an expected measurement) before it hands the key out.
import { generateEncryptionKeyPair, toBase64Url } from '@tenzro/crypto';
import { AttestationError, sessionKeyUserData } from '@tenzro/protocol';
import { describe, expect, it } from 'vitest';
import { MEASUREMENT, json, makeFixture, rogueNsm, type Fixture } from './fake-host.fixture.js';
import { TenzroPlatform, type TenzroPlatformOptions } from './platform.js';
import { SessionVerificationError } from './errors.js';

function platformFor(fixture: Fixture, options: Partial<TenzroPlatformOptions> = {}): TenzroPlatform {
  return new TenzroPlatform({
    apiKey: 'k',
    tenantId: 'bankA',
    baseUrl: 'http://host.test',
    party: fixture.bankA,
    trustedRoots: [fixture.enclave.rootPem],
    fetch: fixture.fetch,
    ...options,
  });
}

function serveKey(fixture: Fixture, attestation: string, publicKey: Uint8Array = fixture.sessionKey.publicKey): void {
  fixture.routes.set(`GET /v1/sessions/${fixture.sessionId}/key`, () =>
    json(200, {
      sessionId: fixture.sessionId,
      publicKey: toBase64Url(publicKey),
      suite: 'DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM',
      attestation,
      expiresAt: fixture.terms.expiresAt,
    }),
  );
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('getSessionKey', () => {
  it('returns the key with the verified attestation', async () => {
    const fixture = await makeFixture();
    const key = await platformFor(fixture, { expectedMeasurements: [MEASUREMENT] }).ai.getSessionKey(fixture.sessionId);
    expect(key.publicKey).toBe(toBase64Url(fixture.sessionKey.publicKey));
    expect(key.attestation).toBe(fixture.keyAttestation);
    expect(key.verified.verified).toBe(true);
    expect(key.verified.provider).toBe('simulated');
    expect(key.verified.measurement).toBe(MEASUREMENT);
    expect(key.verified.moduleId).toBe(fixture.enclave.moduleId);
  });

  it('refuses a document from a root it was not told to trust', async () => {
    const fixture = await makeFixture();
    const error = await rejection(platformFor(fixture, { trustedRoots: [] }).ai.getSessionKey(fixture.sessionId));
    expect(error).toBeInstanceOf(AttestationError);
    expect(error).toMatchObject({ code: 'untrusted_root' });
  });

  it('refuses a document signed by another (rogue) CA', async () => {
    const fixture = await makeFixture();
    const rogue = await rogueNsm();
    serveKey(fixture, toBase64Url(await rogue.issue({ publicKey: fixture.sessionKey.publicKey, userData: sessionKeyUserData(fixture.sessionId) })));
    await expect(platformFor(fixture).ai.getSessionKey(fixture.sessionId)).rejects.toMatchObject({ code: 'untrusted_root' });
  });

  it("refuses a key that is not the attested one (the host swapped in its own key)", async () => {
    const fixture = await makeFixture();
    const hostKey = await generateEncryptionKeyPair();
    serveKey(fixture, fixture.keyAttestation, hostKey.publicKey);
    await expect(platformFor(fixture).ai.getSessionKey(fixture.sessionId)).rejects.toMatchObject({ code: 'public_key_mismatch' });
  });

  it("refuses another session's attested key (user_data binds the session id)", async () => {
    const fixture = await makeFixture();
    const other = await makeFixture();
    serveKey(fixture, other.keyAttestation, other.sessionKey.publicKey);
    await expect(platformFor(fixture).ai.getSessionKey(fixture.sessionId)).rejects.toMatchObject({ code: 'user_data_mismatch' });
  });

  it('refuses a measurement outside the expected set', async () => {
    const fixture = await makeFixture();
    const platform = platformFor(fixture, { expectedMeasurements: ['cd'.repeat(48)] });
    await expect(platform.ai.getSessionKey(fixture.sessionId)).rejects.toMatchObject({ code: 'measurement_mismatch' });
  });

  it('refuses a document that is not an attestation at all', async () => {
    const fixture = await makeFixture();
    serveKey(fixture, toBase64Url(new Uint8Array([1, 2, 3])));
    await expect(platformFor(fixture).ai.getSessionKey(fixture.sessionId)).rejects.toMatchObject({ code: 'malformed_document' });
  });

  it('checks the attestation at the configured clock', async () => {
    const fixture = await makeFixture();
    const platform = platformFor(fixture, { now: () => new Date(Date.now() + 30 * 24 * 3600 * 1000) });
    await expect(platform.ai.getSessionKey(fixture.sessionId)).rejects.toMatchObject({ code: 'certificate_expired' });
  });

  it('refuses the key when the session record does not hash to its id', async () => {
    const fixture = await makeFixture();
    fixture.routes.set(`GET /v1/sessions/${fixture.sessionId}`, () =>
      json(200, { ...fixture.session, terms: { ...fixture.terms, dataPolicy: { ...fixture.terms.dataPolicy, attestationRequired: false } }, dataPolicy: { ...fixture.terms.dataPolicy, attestationRequired: false } }),
    );
    await expect(platformFor(fixture, { trustedRoots: [] }).ai.getSessionKey(fixture.sessionId)).rejects.toBeInstanceOf(SessionVerificationError);
  });

  it('with attestationRequired false and no trusted root, returns the key marked unverified', async () => {
    const fixture = await makeFixture({ minParticipants: 2, attestationRequired: false });
    const key = await platformFor(fixture, { trustedRoots: [] }).ai.getSessionKey(fixture.sessionId);
    expect(key.verified).toMatchObject({ verified: false, code: 'untrusted_root', provider: 'simulated', measurement: MEASUREMENT });
    expect(key.verified.verified === false && key.verified.reason).toMatch(/root/);
  });

  it('with attestationRequired false, a forged binding is still refused', async () => {
    const fixture = await makeFixture({ minParticipants: 2, attestationRequired: false });
    const hostKey = await generateEncryptionKeyPair();
    serveKey(fixture, fixture.keyAttestation, hostKey.publicKey);
    await expect(platformFor(fixture).ai.getSessionKey(fixture.sessionId)).rejects.toMatchObject({ code: 'public_key_mismatch' });
  });
});
