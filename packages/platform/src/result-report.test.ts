// DESIGN §5.7: a result is believed only if its report is attested (user_data = the report's digest), its
// body opens with the party's key, names this session, run and recipient, and hashes to resultHash. The
// report's attestation is historical evidence: checked at its own signed timestamp, so a result can be
// read days after its release.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AttestationError } from '@tenzro/protocol';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MEASUREMENT, json, makeFixture, submissionReceipt, type Fixture, type ResultTamper } from './fake-host.fixture.js';
import { TenzroPlatform, type TenzroPlatformOptions } from './platform.js';
import { ResultVerificationError } from './errors.js';
import type { PartyIdentity } from './identity.js';

const HOUR = 60 * 60 * 1000;

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllEnvs();
});

function platformOf(fixture: Fixture, reader: PartyIdentity, options: Partial<TenzroPlatformOptions> = {}): TenzroPlatform {
  return new TenzroPlatform({
    apiKey: 'k',
    tenantId: reader.partyId.split('::')[1]!,
    baseUrl: 'http://host.test',
    party: reader,
    trustedRoots: [fixture.enclave.rootPem],
    expectedMeasurements: [MEASUREMENT],
    fetch: fixture.fetch,
    ...options,
  });
}

async function resultWith(fixture: Fixture, tamper: ResultTamper = {}, reader: PartyIdentity = fixture.bankA, options: Partial<TenzroPlatformOptions> = {}) {
  const sealed = await fixture.sealedResult(reader, tamper);
  fixture.routes.set(`GET /v1/sessions/${fixture.sessionId}/result`, () => json(200, sealed));
  return platformOf(fixture, reader, options).ai.getSessionResult(fixture.sessionId);
}

/** A sealed result the enclave releases at `at` (report.releasedAt and the document's timestamp). */
async function releasedAt(fixture: Fixture, at: Date, tamper: ResultTamper = {}) {
  vi.useFakeTimers({ toFake: ['Date'], now: at });
  try {
    return await fixture.sealedResult(fixture.bankA, tamper);
  } finally {
    vi.useRealTimers();
  }
}

describe('getSessionResult', () => {
  it('opens, verifies and returns the InferenceResult', async () => {
    const fixture = await makeFixture();
    const result = await resultWith(fixture);
    expect(result.content).toBe('Two cross-bank rings found.');
    expect(result.findings).toEqual({ rings: 2 });
    expect(result).not.toHaveProperty('privateFindings');
    expect(result.participantCount).toBe(2);
    expect(result.includedParties).toEqual(['party::bankA::treasury', 'party::bankB::treasury']);
    expect(result.teeAttestation).toMatchObject({ verified: true, provider: 'simulated', measurement: MEASUREMENT, moduleId: fixture.enclave.moduleId });
    expect(result.teeAttestation.reportHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(result.report.runId).toBe(result.runId);
    expect(result.resultHash).toBe(result.report.resultHash);
    const request = fixture.requests.at(-1)!;
    expect(request.headers['x-tenzro-party-id']).toBe('party::bankA::treasury');
  });

  it('includes the party\'s private findings only when the enclave sealed some', async () => {
    const fixture = await makeFixture();
    const flagged = [{ transactionId: 'A-17', score: 0.93, reasons: ['round-trip via bank B'] }];
    const result = await resultWith(fixture, { privateFindings: { flagged } });
    expect(result.privateFindings).toEqual({ flagged });
  });

  it('an observer opens its own sealed copy', async () => {
    const fixture = await makeFixture();
    const result = await resultWith(fixture, {}, fixture.regulator);
    expect(result.content).toBe('Two cross-bank rings found.');
  });

  it('rejects a body whose shared result does not hash to the attested resultHash', async () => {
    const fixture = await makeFixture();
    const error = await resultWith(fixture, { sealedShared: { content: 'Nothing to see.', findings: {} } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResultVerificationError);
    expect(error).toMatchObject({ code: 'result_hash_mismatch' });
  });

  it('rejects a report the attestation does not bind (user_data mismatch)', async () => {
    const fixture = await makeFixture();
    const honest = await fixture.sealedResult(fixture.bankA);
    // The host edits the report after it was attested (claims a third participant).
    const forged = await resultWith(fixture, {
      report: { participantCount: 3, includedParties: ['party::bankA::treasury', 'party::bankB::treasury', 'party::bankC::treasury'] },
      attestedReport: honest.report,
    }).catch((e: unknown) => e);
    expect(forged).toBeInstanceOf(AttestationError);
    expect(forged).toMatchObject({ code: 'user_data_mismatch' });
  });

  it('rejects a result sealed to another party, or whose body names another recipient', async () => {
    const fixture = await makeFixture();
    await expect(resultWith(fixture, { sealTo: fixture.bankB })).rejects.toMatchObject({ code: 'decryption_failed' });
    await expect(resultWith(fixture, { bodyRecipient: fixture.bankB.partyId })).rejects.toMatchObject({ code: 'result_binding_mismatch' });
  });

  it('rejects a report for another session', async () => {
    const fixture = await makeFixture();
    const other = await makeFixture();
    await expect(resultWith(fixture, { report: { sessionId: other.sessionId } })).rejects.toMatchObject({ code: 'result_binding_mismatch' });
  });

  it('a result read 25 h after its release still verifies (chain checked at the document timestamp)', async () => {
    const fixture = await makeFixture();
    const sealed = await fixture.sealedResult(fixture.bankA);
    fixture.routes.set(`GET /v1/sessions/${fixture.sessionId}/result`, () => json(200, sealed));
    const later = new Date(Date.parse(sealed.report.releasedAt) + 25 * HOUR);
    // The leaf certificate (3 h) has long expired at `later`: checked at the current time it would fail.
    const { verifyAttestation } = await import('./trust.js');
    await expect(verifyAttestation(sealed.attestation, { roots: [fixture.enclave.rootPem], now: later })).rejects.toMatchObject({ code: 'certificate_expired' });
    const result = await platformOf(fixture, fixture.bankA, { now: () => later }).ai.getSessionResult(fixture.sessionId);
    expect(result.teeAttestation).toMatchObject({ verified: true, measurement: MEASUREMENT });
    expect(Date.parse(result.teeAttestation.timestamp!) - Date.parse(result.releasedAt)).toBeLessThan(60_000);
  });

  it('refuses a result document dated in the future, or before the report was released', async () => {
    const fixture = await makeFixture();
    const ahead = await releasedAt(fixture, new Date(Date.now() + 2 * HOUR));
    fixture.routes.set(`GET /v1/sessions/${fixture.sessionId}/result`, () => json(200, ahead));
    await expect(platformOf(fixture, fixture.bankA).ai.getSessionResult(fixture.sessionId)).rejects.toMatchObject({ code: 'stale_document' });
    // The attested report claims a release an hour after the document was signed.
    const backdated = await fixture.sealedResult(fixture.bankA, { report: { releasedAt: new Date(Date.now() + HOUR).toISOString() } });
    fixture.routes.set(`GET /v1/sessions/${fixture.sessionId}/result`, () => json(200, backdated));
    await expect(platformOf(fixture, fixture.bankA).ai.getSessionResult(fixture.sessionId)).rejects.toMatchObject({ code: 'stale_document' });
  });

  it('a session whose terms say attestationRequired: false relaxes nothing; an unpinned measurement refuses', async () => {
    const fixture = await makeFixture({ minParticipants: 2, attestationRequired: false });
    await expect(resultWith(fixture, {}, fixture.bankA, { trustedRoots: [] })).rejects.toMatchObject({ code: 'untrusted_root' });
    const insecure = await resultWith(fixture, {}, fixture.bankA, { trustedRoots: [], insecureAcceptUnverifiedAttestation: true });
    expect(insecure.teeAttestation).toMatchObject({ verified: false, measurement: MEASUREMENT });
    vi.stubEnv('TENZRO_CREDENTIALS', '');
    vi.stubEnv('TENZRO_DATA_DIR', mkdtempSync(join(tmpdir(), 'tenzro-empty-')));
    const unpinned = new TenzroPlatform({
      apiKey: 'k',
      tenantId: 'bankA',
      baseUrl: 'http://host.test',
      party: fixture.bankA,
      trustedRoots: [fixture.enclave.rootPem],
      fetch: fixture.fetch,
    });
    await expect(unpinned.ai.getSessionResult(fixture.sessionId)).rejects.toMatchObject({ name: 'ConfigurationError', code: 'no_expected_measurement' });
  });

  it('refuses a result that leaves out a participant that submitted data', async () => {
    const fixture = await makeFixture();
    const excluded = { report: { includedParties: [fixture.bankB.partyId], participantCount: 1 } };
    // The host's own record says bankA submitted.
    fixture.routes.set(`GET /v1/sessions/${fixture.sessionId}`, () => json(200, { ...fixture.session, dataSubmittedBy: [fixture.bankA.partyId] }));
    const error = await resultWith(fixture, excluded).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ResultVerificationError);
    expect(error).toMatchObject({ code: 'party_not_included' });

    // The host hides the submission, but this SDK made it.
    fixture.routes.set(`GET /v1/sessions/${fixture.sessionId}`, () => json(200, fixture.session));
    fixture.routes.set(`POST /v1/sessions/${fixture.sessionId}/data`, (request) => submissionReceipt(fixture, request));
    const platform = platformOf(fixture, fixture.bankA);
    await platform.ai.submitSessionData({ sessionId: fixture.sessionId, data: 'AAAA', dataSchema: 's', commitment: `sha256:${'a'.repeat(64)}` });
    const sealed = await fixture.sealedResult(fixture.bankA, excluded);
    fixture.routes.set(`GET /v1/sessions/${fixture.sessionId}/result`, () => json(200, sealed));
    await expect(platform.ai.getSessionResult(fixture.sessionId)).rejects.toMatchObject({ code: 'party_not_included' });

    // A participant that never submitted (and an observer) may read a result it is not part of.
    const other = platformOf(fixture, fixture.bankA);
    expect((await other.ai.getSessionResult(fixture.sessionId)).includedParties).toEqual([fixture.bankB.partyId]);
  });

  it('needs a party identity', async () => {
    const fixture = await makeFixture();
    const platform = new TenzroPlatform({ apiKey: 'k', tenantId: 'bankA', baseUrl: 'http://h.test', trustedRoots: [], fetch: fixture.fetch });
    await expect(platform.ai.getSessionResult(fixture.sessionId)).rejects.toThrow(/party identity/);
    expect(fixture.requests).toHaveLength(0);
  });
});
