// DESIGN §5.2: the SDK verifies a session key's attestation (trusted root, this key, this session's
// binding, a pinned measurement, a fresh document) before it hands the key out, whatever the host says.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEncryptionKeyPair, toBase64Url } from '@tenzro/crypto';
import { AttestationError, sessionKeyUserData } from '@tenzro/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigurationError } from './defaults.js';
import { MEASUREMENT, json, makeFixture, rogueNsm, submissionReceipt, type Fixture } from './fake-host.fixture.js';
import { TenzroPlatform, type TenzroPlatformOptions } from './platform.js';
import { SessionVerificationError } from './errors.js';

const HOUR = 60 * 60 * 1000;

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

function platformFor(fixture: Fixture, options: Partial<TenzroPlatformOptions> = {}): TenzroPlatform {
  return new TenzroPlatform({
    apiKey: 'k',
    tenantId: 'bankA',
    baseUrl: 'http://host.test',
    party: fixture.bankA,
    trustedRoots: [fixture.enclave.rootPem],
    expectedMeasurements: [MEASUREMENT],
    fetch: fixture.fetch,
    ...options,
  });
}

/** A document the enclave issues at `at` (the simulated provider stamps documents with its clock). */
async function issuedAt(fixture: Fixture, at: Date, publicKey: Uint8Array = fixture.sessionKey.publicKey): Promise<string> {
  vi.useFakeTimers({ toFake: ['Date'], now: at });
  try {
    return toBase64Url(await fixture.enclave.issue({ publicKey, userData: sessionKeyUserData(fixture.sessionId) }));
  } finally {
    vi.useRealTimers();
  }
}

/** Development credentials that name the simulated root but no measurement. */
function credentialsWithoutMeasurement(fixture: Fixture): void {
  const path = join(mkdtempSync(join(tmpdir(), 'tenzro-creds-')), 'credentials.json');
  writeFileSync(path, JSON.stringify({ attestation: { rootPem: fixture.enclave.rootPem, measurement: null }, parties: [] }));
  vi.stubEnv('TENZRO_CREDENTIALS', path);
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

  it('a key fetched 25 h after the session was created verifies, with the fresh document the host serves then', async () => {
    const created = new Date();
    const fixture = await makeFixture({ minParticipants: 2 }, { expiresAt: new Date(created.getTime() + 7 * 24 * HOUR).toISOString() });
    const later = new Date(created.getTime() + 25 * HOUR);
    const platform = platformFor(fixture, { now: () => later });
    // The document made at creation no longer verifies 25 h later (its leaf certificate lives 3 h) ...
    await expect(platform.ai.getSessionKey(fixture.sessionId)).rejects.toMatchObject({ code: 'certificate_expired' });
    // ... but the host asks the enclave for a new one per request, and that one does.
    serveKey(fixture, await issuedAt(fixture, later));
    const key = await platform.ai.getSessionKey(fixture.sessionId);
    expect(key.verified).toMatchObject({ verified: true, measurement: MEASUREMENT, timestamp: later.getTime() });
  });

  it('refuses a document older than attestationMaxAgeMs (default 10 minutes), though its certificate is valid', async () => {
    const fixture = await makeFixture();
    const now = Date.now();
    serveKey(fixture, await issuedAt(fixture, new Date(now - 11 * 60 * 1000)));
    await expect(platformFor(fixture).ai.getSessionKey(fixture.sessionId)).rejects.toMatchObject({ code: 'stale_document' });
    const lenient = platformFor(fixture, { attestationMaxAgeMs: 15 * 60 * 1000 });
    expect((await lenient.ai.getSessionKey(fixture.sessionId)).verified.verified).toBe(true);
    serveKey(fixture, await issuedAt(fixture, new Date(now - 2 * 60 * 1000)));
    expect((await platformFor(fixture).ai.getSessionKey(fixture.sessionId)).verified.verified).toBe(true);
  });

  it('refuses the key when the session record does not hash to its id', async () => {
    const fixture = await makeFixture();
    fixture.routes.set(`GET /v1/sessions/${fixture.sessionId}`, () =>
      json(200, { ...fixture.session, terms: { ...fixture.terms, dataPolicy: { ...fixture.terms.dataPolicy, attestationRequired: false } }, dataPolicy: { ...fixture.terms.dataPolicy, attestationRequired: false } }),
    );
    await expect(platformFor(fixture, { trustedRoots: [] }).ai.getSessionKey(fixture.sessionId)).rejects.toBeInstanceOf(SessionVerificationError);
  });

  it('a session whose terms say attestationRequired: false relaxes nothing (host data is no switch)', async () => {
    const fixture = await makeFixture({ minParticipants: 2, attestationRequired: false });
    await expect(platformFor(fixture, { trustedRoots: [] }).ai.getSessionKey(fixture.sessionId)).rejects.toMatchObject({ code: 'untrusted_root' });
    const rogue = await rogueNsm();
    serveKey(fixture, toBase64Url(await rogue.issue({ publicKey: fixture.sessionKey.publicKey, userData: sessionKeyUserData(fixture.sessionId) })));
    await expect(platformFor(fixture).ai.getSessionKey(fixture.sessionId)).rejects.toMatchObject({ code: 'untrusted_root' });
    fixture.routes.set(`POST /v1/sessions/${fixture.sessionId}/data`, (request) => submissionReceipt(fixture, request));
    await expect(platformFor(fixture).ai.contribute({ sessionId: fixture.sessionId, data: [1], dataSchema: 's' })).rejects.toMatchObject({ code: 'untrusted_root' });
    expect(fixture.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
  });

  it('refuses with ConfigurationError no_expected_measurement when no measurement is pinned', async () => {
    const fixture = await makeFixture();
    credentialsWithoutMeasurement(fixture);
    const platform = new TenzroPlatform({ apiKey: 'k', tenantId: 'bankA', baseUrl: 'http://host.test', party: fixture.bankA, fetch: fixture.fetch });
    const error = await rejection(platform.ai.getSessionKey(fixture.sessionId));
    expect(error).toBeInstanceOf(ConfigurationError);
    expect(error).toMatchObject({ code: 'no_expected_measurement' });
    expect((error as Error).message).toMatch(/expectedMeasurements/);
    // The same with an explicit root and no credentials at all.
    vi.stubEnv('TENZRO_CREDENTIALS', '');
    vi.stubEnv('TENZRO_DATA_DIR', mkdtempSync(join(tmpdir(), 'tenzro-empty-')));
    const bare = new TenzroPlatform({ apiKey: 'k', tenantId: 'bankA', baseUrl: 'http://host.test', party: fixture.bankA, trustedRoots: [fixture.enclave.rootPem], fetch: fixture.fetch });
    await expect(bare.ai.getSessionKey(fixture.sessionId)).rejects.toMatchObject({ code: 'no_expected_measurement' });
  });

  it('only the local insecureAcceptUnverifiedAttestation option returns an unverified key, and contribute still refuses it', async () => {
    const fixture = await makeFixture();
    fixture.routes.set(`POST /v1/sessions/${fixture.sessionId}/data`, (request) => submissionReceipt(fixture, request));
    const insecure = platformFor(fixture, { trustedRoots: [], insecureAcceptUnverifiedAttestation: true });
    const key = await insecure.ai.getSessionKey(fixture.sessionId);
    expect(key.verified).toMatchObject({ verified: false, code: 'untrusted_root', provider: 'simulated', measurement: MEASUREMENT });
    expect(key.verified.verified === false && key.verified.reason).toMatch(/root/);
    const error = await rejection(insecure.ai.contribute({ sessionId: fixture.sessionId, data: [1], dataSchema: 's' }));
    expect(error).toBeInstanceOf(SessionVerificationError);
    expect(error).toMatchObject({ code: 'session_key_unverified' });
    expect(fixture.requests.filter((r) => r.method === 'POST')).toHaveLength(0);

    credentialsWithoutMeasurement(fixture);
    const unpinned = new TenzroPlatform({ apiKey: 'k', tenantId: 'bankA', baseUrl: 'http://host.test', party: fixture.bankA, fetch: fixture.fetch, insecureAcceptUnverifiedAttestation: true });
    expect((await unpinned.ai.getSessionKey(fixture.sessionId)).verified).toMatchObject({ verified: false, code: 'no_expected_measurement' });
  });

  it('in the insecure mode, a forged binding is still refused', async () => {
    const fixture = await makeFixture();
    const hostKey = await generateEncryptionKeyPair();
    serveKey(fixture, fixture.keyAttestation, hostKey.publicKey);
    const insecure = platformFor(fixture, { trustedRoots: [], insecureAcceptUnverifiedAttestation: true });
    await expect(insecure.ai.getSessionKey(fixture.sessionId)).rejects.toMatchObject({ code: 'public_key_mismatch' });
  });

  it("refuses a session record that lists the SDK's own party with another encryption key", async () => {
    const fixture = await makeFixture();
    const { sessionIdOf } = await import('@tenzro/protocol');
    const other = await generateEncryptionKeyPair();
    const participants = fixture.terms.participants.map((p, i) => (i === 0 ? { ...p, encryptionKey: toBase64Url(other.publicKey) } : p));
    const terms = { ...fixture.terms, participants };
    const id = sessionIdOf(terms);
    fixture.routes.set(`GET /v1/sessions/${id}`, () => json(200, { ...fixture.session, id, terms }));
    fixture.routes.set(`GET /v1/sessions/${id}/key`, () => json(200, { sessionId: id, publicKey: toBase64Url(fixture.sessionKey.publicKey), suite: 's', attestation: fixture.keyAttestation, expiresAt: terms.expiresAt }));
    await expect(platformFor(fixture).ai.getSessionKey(id)).rejects.toThrow(/keys that are not its own/);
  });
});
