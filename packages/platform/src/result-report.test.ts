// DESIGN §5.7: a result is believed only if its report is attested (user_data = the report's digest), its
// body opens with the party's key, names this session, run and recipient, and hashes to resultHash.
import { AttestationError } from '@tenzro/protocol';
import { describe, expect, it } from 'vitest';
import { MEASUREMENT, json, makeFixture, type Fixture, type ResultTamper } from './fake-host.fixture.js';
import { TenzroPlatform } from './platform.js';
import { ResultVerificationError } from './errors.js';
import type { PartyIdentity } from './identity.js';

async function resultWith(fixture: Fixture, tamper: ResultTamper = {}, reader: PartyIdentity = fixture.bankA) {
  const sealed = await fixture.sealedResult(reader, tamper);
  fixture.routes.set(`GET /v1/sessions/${fixture.sessionId}/result`, () => json(200, sealed));
  const tenantId = reader.partyId.split('::')[1]!;
  const platform = new TenzroPlatform({
    apiKey: 'k',
    tenantId,
    baseUrl: 'http://host.test',
    party: reader,
    trustedRoots: [fixture.enclave.rootPem],
    expectedMeasurements: [MEASUREMENT],
    fetch: fixture.fetch,
  });
  return platform.ai.getSessionResult(fixture.sessionId);
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

  it('needs a party identity', async () => {
    const fixture = await makeFixture();
    const platform = new TenzroPlatform({ apiKey: 'k', tenantId: 'bankA', baseUrl: 'http://h.test', trustedRoots: [], fetch: fixture.fetch });
    await expect(platform.ai.getSessionResult(fixture.sessionId)).rejects.toThrow(/party identity/);
    expect(fixture.requests).toHaveLength(0);
  });
});
