// Issue 3: `platform.audit.verifySession` checks, offline from what the host returned, every claim the
// host makes about a session, in the order of VERIFICATION_CHECKS, and names the first that fails. Each
// check is shown passing on an honest trail and failing on a trail a host could serve.
import { fromBase64Url, generateSigningKeyPair, hashCommitment, toBase64Url } from '@tenzro/crypto';
import {
  DELETION_STATEMENT_TYPE,
  VERIFICATION_CHECKS,
  aggregatedDataHash,
  auditLeafHash,
  reportHash,
  sessionKeyUserData,
  sha256Tagged,
  signConsentStatement,
  type CheckOutcome,
  type SessionVerdict,
  type VerificationCheck,
} from '@tenzro/protocol';
import { describe, expect, it } from 'vitest';
import { generatePartyIdentity } from '../identity.js';
import { json, rogueNsm, submissionReceipt } from '../fake-host.fixture.js';
import { MemoryAuditStore } from './store.js';
import { makeTrail, type TrailFixture } from './trail.fixture.js';

function outcome(verdict: SessionVerdict, check: VerificationCheck): CheckOutcome {
  return verdict.checks.find((c) => c.check === check)!;
}

function expectFirstFailure(verdict: SessionVerdict, check: VerificationCheck, detail?: RegExp): void {
  expect(verdict.ok).toBe(false);
  expect(verdict.firstFailure?.check, JSON.stringify(verdict.checks, null, 1)).toBe(check);
  if (detail) expect(verdict.firstFailure?.detail).toMatch(detail);
}

function expectAllPass(verdict: SessionVerdict, notApplicable: VerificationCheck[] = []): void {
  expect(verdict.firstFailure, JSON.stringify(verdict.firstFailure)).toBeNull();
  expect(verdict.ok).toBe(true);
  for (const check of VERIFICATION_CHECKS) {
    expect(outcome(verdict, check).status, `${check}: ${outcome(verdict, check).detail}`).toBe(
      notApplicable.includes(check) ? 'not_applicable' : 'passed',
    );
  }
}

/** A bankA client whose store holds its own commitment, as if it had submitted through the SDK. */
async function bankA(trail: TrailFixture, store = new MemoryAuditStore()) {
  await store.putCommitment(trail.sessionId, trail.fixture.bankA.partyId, trail.commitments[trail.fixture.bankA.partyId]!);
  return { platform: trail.platform(trail.fixture.bankA, { auditStore: store }), store };
}

function eventIndex(trail: TrailFixture, kind: string, nth = 0): number {
  return trail.log.events.map((e, i) => (e.kind === kind && e.sessionId === trail.sessionId ? i : -1)).filter((i) => i >= 0)[nth]!;
}

describe('verifySession on an honest trail', () => {
  it('passes every check for a participant, in the order of VERIFICATION_CHECKS', async () => {
    const trail = await makeTrail();
    const { platform } = await bankA(trail);
    const verdict = await platform.audit.verifySession(trail.sessionId);
    expect(verdict.checks.map((c) => c.check)).toEqual([...VERIFICATION_CHECKS]);
    expect(verdict.sessionId).toBe(trail.sessionId);
    expect(verdict.treeSize).toBe(trail.log.events.length);
    // The first head a client sees is trusted on first use.
    expectAllPass(verdict, ['tree_consistency']);
    expect(outcome(verdict, 'result_report').detail).toMatch(/received/);
  });

  it('passes for the observer, for whom own_commitment_included does not apply', async () => {
    const trail = await makeTrail();
    const verdict = await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId);
    expectAllPass(verdict, ['tree_consistency', 'own_commitment_included']);
    expect(outcome(verdict, 'own_commitment_included').detail).toMatch(/observer/);
  });

  it('remembers the head: a second verification checks consistency with the first', async () => {
    const trail = await makeTrail('released');
    const { platform, store } = await bankA(trail);
    await platform.audit.verifySession(trail.sessionId);
    expect((await store.getTreeHead(trail.log.logId))?.treeHead.treeSize).toBe(trail.log.events.length);
    await trail.deletion({
      type: DELETION_STATEMENT_TYPE,
      sessionId: trail.sessionId,
      destroyed: { sessionKey: true, ciphertexts: Object.values(trail.ciphertextHashes) },
      reason: 'delete_after_inference',
      destroyedAt: '2025-01-15T10:05:01.000Z',
    });
    const verdict = await platform.audit.verifySession(trail.sessionId);
    expectAllPass(verdict);
    expect(outcome(verdict, 'tree_consistency').detail).toMatch(/consistency proof verified/);
  });

  it('reports not_applicable for what has not happened yet (the session state says nothing happened)', async () => {
    const trail = await makeTrail('created');
    expect(trail.fixture.session).toMatchObject({ status: 'created', dataSubmittedBy: [], consentedBy: [] });
    const verdict = await trail.platform(trail.fixture.bankA).audit.verifySession(trail.sessionId);
    expectAllPass(verdict, [
      'tree_consistency',
      'consent_signatures',
      'result_report',
      'result_attestation',
      'aggregated_data_hash',
      'own_commitment_included',
      'deletion_statement',
    ]);
  });

  it('submitSessionData records the party\'s commitment in the audit store', async () => {
    const trail = await makeTrail('created');
    const store = new MemoryAuditStore();
    trail.fixture.routes.set(`POST /v1/sessions/${trail.sessionId}/data`, (request) => submissionReceipt(trail.fixture, request));
    const commitment = await hashCommitment({ rows: [1, 2] });
    await trail.platform(trail.fixture.bankA, { auditStore: store }).ai.submitSessionData({
      sessionId: trail.sessionId,
      data: new Uint8Array([1, 2, 3]),
      dataSchema: 'transaction_records_v1',
      commitment,
    });
    expect(await store.getCommitment(trail.sessionId, trail.fixture.bankA.partyId)).toBe(commitment);
  });

  it('verifies under a pinned log key without asking the host for one', async () => {
    const trail = await makeTrail();
    const platform = trail.platform(trail.fixture.regulator, { logPublicKey: toBase64Url(trail.log.publicKey) });
    expect((await platform.audit.verifySession(trail.sessionId)).ok).toBe(true);
    expect(trail.fixture.requests.some((r) => r.path === '/.well-known/tenzro-log-key')).toBe(false);
  });
});

describe('tree_head_signature', () => {
  it('fails for a head signed by another key', async () => {
    const trail = await makeTrail();
    const other = generateSigningKeyPair();
    trail.serveTrail = () => trail.log.trail(trail.sessionId, undefined, trail.log.head(undefined, other.privateKey));
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'tree_head_signature', /does not verify/);
  });

  it('fails for a head that names another log', async () => {
    const trail = await makeTrail();
    trail.serveTrail = () => trail.log.trail(trail.sessionId, undefined, trail.log.head(undefined, undefined, `sha256:${'0'.repeat(64)}`));
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'tree_head_signature', /names log/);
  });

  it('fails when the served log key is not the pinned one', async () => {
    const trail = await makeTrail();
    const pinned = generateSigningKeyPair().publicKey;
    const verdict = await trail.platform(trail.fixture.regulator, { logPublicKey: toBase64Url(pinned) }).audit.verifySession(trail.sessionId);
    expectFirstFailure(verdict, 'tree_head_signature');
  });
});

describe('tree_consistency', () => {
  it('fails when the host re-signs a forked history of the same size (a client saw the earlier head)', async () => {
    const trail = await makeTrail();
    const { platform } = await bankA(trail);
    await platform.audit.getTreeHead();
    trail.log.events[0] = { ...trail.log.events[0]!, payload: { tenantId: 'mallory' } };
    trail.log.rebuild();
    expectFirstFailure(await platform.audit.verifySession(trail.sessionId), 'tree_consistency', /^fork: two heads of size/);
  });

  it('fails when the host rewrites history and appends (the consistency proof does not verify)', async () => {
    const trail = await makeTrail('released');
    const { platform } = await bankA(trail);
    expect((await platform.audit.verifySession(trail.sessionId)).ok).toBe(false); // deletion not yet logged
    trail.log.events.splice(eventIndex(trail, 'session_joined'), 1);
    trail.log.rebuild();
    trail.log.append('access_denied', null, { code: 'forbidden' });
    trail.log.append('access_denied', null, { code: 'forbidden' });
    expectFirstFailure(await platform.audit.verifySession(trail.sessionId), 'tree_consistency', /^inconsistent:/);
  });

  it('fails when the head is smaller than one seen before (a rollback)', async () => {
    const trail = await makeTrail();
    const { platform } = await bankA(trail);
    await platform.audit.getTreeHead();
    trail.serveTrail = () => trail.log.trail(trail.sessionId, trail.log.events.length - 1);
    expectFirstFailure(await platform.audit.verifySession(trail.sessionId), 'tree_consistency', /^rollback:/);
  });

  it('fails when the host refuses the consistency proof', async () => {
    const trail = await makeTrail('released');
    const { platform } = await bankA(trail);
    await platform.audit.getTreeHead();
    trail.log.append('access_denied', null, { code: 'forbidden' });
    trail.fixture.routes.set('GET /v1/log/consistency', () => json(500, { error: { code: 'internal_error', message: 'no' } }));
    expectFirstFailure(await platform.audit.verifySession(trail.sessionId), 'tree_consistency', /no consistency proof/);
  });
});

describe('event_inclusion', () => {
  it('fails, naming the logIndex, when an event was edited after it was logged', async () => {
    const trail = await makeTrail();
    const index = eventIndex(trail, 'consent_recorded', 1);
    const event = trail.log.events[index]!;
    trail.log.events[index] = { ...event, at: '2025-01-15T11:00:00.000Z' };
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'event_inclusion', new RegExp(`logIndex ${index} `));
  });

  it('fails when an inserted event is not in the signed tree', async () => {
    const trail = await makeTrail();
    trail.serveTrail = () => {
      const served = trail.log.trail(trail.sessionId);
      const forged = { ...served.entries[2]!.event, kind: 'session_cancelled' as const, payload: {} };
      served.entries.splice(3, 0, { event: forged, proof: served.entries[2]!.proof });
      return served;
    };
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'event_inclusion');
  });

  it('fails for a proof that is not base64url', async () => {
    const trail = await makeTrail('created');
    trail.serveTrail = () => {
      const served = trail.log.trail(trail.sessionId);
      served.entries[0]!.proof = ['!!'];
      return served;
    };
    // The schema refuses it at the boundary: not a verdict, an invalid response.
    await expect(trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId)).rejects.toMatchObject({ code: 'invalid_response' });
  });
});

describe('trail_complete (a host that rewrites the whole log consistently, seen by a fresh client)', () => {
  it('fails when an event was deleted', async () => {
    const trail = await makeTrail();
    trail.serveTrail = () => {
      const served = trail.log.trail(trail.sessionId);
      served.entries.splice(3, 1);
      return served;
    };
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'trail_complete', /sessionSeq/);
  });

  it('fails when two events were swapped (reordered) and re-numbered', async () => {
    const trail = await makeTrail();
    const a = eventIndex(trail, 'data_submitted', 0);
    const b = eventIndex(trail, 'consent_recorded', 0);
    const first = trail.log.events[a]!;
    const second = trail.log.events[b]!;
    // The host swaps the log positions but keeps each event's own sessionSeq.
    trail.log.events[a] = { ...second, logIndex: a };
    trail.log.events[b] = { ...first, logIndex: b };
    trail.log.leaves = trail.log.events.map(auditLeafHash);
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'trail_complete', /out of order/);
  });

  it('fails when the trail does not start with session_created', async () => {
    const trail = await makeTrail();
    trail.log.events.splice(eventIndex(trail, 'session_created'), 1);
    trail.log.rebuild();
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'trail_complete', /starts with key_issued/);
  });

  it('fails when an event of another session is slipped in', async () => {
    const trail = await makeTrail('created');
    trail.serveTrail = () => {
      const served = trail.log.trail(trail.sessionId);
      const outsider = trail.log.events[0]!; // tenant_created, no session
      served.entries.push({ event: outsider, proof: trail.log.trail(trail.sessionId).entries[0]!.proof });
      return served;
    };
    const verdict = await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId);
    expect(outcome(verdict, 'trail_complete')).toMatchObject({ status: 'failed', detail: expect.stringMatching(/belongs to no session/) });
  });
});

describe('session_terms', () => {
  it('fails when the host serves terms that do not hash to the session id', async () => {
    const trail = await makeTrail();
    const { session } = trail.fixture;
    trail.fixture.routes.set(`GET /v1/sessions/${trail.sessionId}`, () => json(200, { ...session, terms: { ...session.terms, name: 'Other' } }));
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'session_terms', /do not hash/);
  });

  it('fails when session_created logs another termsHash', async () => {
    const trail = await makeTrail();
    const index = eventIndex(trail, 'session_created');
    trail.log.events[index] = { ...trail.log.events[index]!, payload: { termsHash: `sha256:${'9'.repeat(64)}` } };
    trail.log.rebuild();
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'session_terms', /termsHash/);
  });
});

describe('key_attestation', () => {
  async function withKeyPayload(change: (payload: Record<string, unknown>, trail: TrailFixture) => Promise<Record<string, unknown>>) {
    const trail = await makeTrail();
    const index = eventIndex(trail, 'key_issued');
    trail.log.events[index] = { ...trail.log.events[index]!, payload: await change(trail.log.events[index]!.payload, trail) };
    trail.log.rebuild();
    return trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId);
  }

  it('fails for an attestation from an untrusted enclave', async () => {
    const verdict = await withKeyPayload(async (payload, trail) => {
      const document = await (await rogueNsm()).issue({ publicKey: trail.fixture.sessionKey.publicKey });
      return { ...payload, attestation: toBase64Url(document), attestationDigest: sha256Tagged(document) };
    });
    expectFirstFailure(verdict, 'key_attestation', /untrusted_root/);
  });

  it('fails when the logged publicKey is not the attested one', async () => {
    const verdict = await withKeyPayload(async (payload) => ({ ...payload, publicKey: toBase64Url(new Uint8Array(32).fill(5)) }));
    expectFirstFailure(verdict, 'key_attestation', /public_key_mismatch/);
  });

  it('fails when the attestation binds another session', async () => {
    const verdict = await withKeyPayload(async (payload, trail) => {
      const document = await trail.fixture.enclave.issue({
        publicKey: trail.fixture.sessionKey.publicKey,
        userData: sessionKeyUserData(`mps_${'a'.repeat(26)}`),
      });
      return { ...payload, attestation: toBase64Url(document), attestationDigest: sha256Tagged(document) };
    });
    expectFirstFailure(verdict, 'key_attestation', /user_data_mismatch/);
  });

  it('fails when attestationDigest is not the digest of the document', async () => {
    const verdict = await withKeyPayload(async (payload) => ({ ...payload, attestationDigest: `sha256:${'0'.repeat(64)}` }));
    expectFirstFailure(verdict, 'key_attestation', /attestationDigest/);
  });

  it('fails when the enclave measurement is not an expected one', async () => {
    const trail = await makeTrail();
    const verdict = await trail.platform(trail.fixture.regulator, { measurements: ['cd'.repeat(48)] }).audit.verifySession(trail.sessionId);
    expectFirstFailure(verdict, 'key_attestation', /measurement_mismatch/);
    expect(outcome(verdict, 'result_attestation').status).toBe('failed');
    expect(outcome(verdict, 'deletion_statement').status).toBe('failed');
  });
});

describe('consent_signatures', () => {
  it('fails when a consent signature does not verify under the roster key', async () => {
    const trail = await makeTrail();
    const index = eventIndex(trail, 'consent_recorded', 1);
    const stranger = await generatePartyIdentity('party::bankB::treasury');
    const payload = { ...trail.log.events[index]!.payload, signature: signConsentStatement(trail.sessionId, fromBase64Url(stranger.signingKey.privateKey)) };
    trail.log.events[index] = { ...trail.log.events[index]!, payload };
    trail.log.rebuild();
    expectFirstFailure(
      await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId),
      'consent_signatures',
      /party::bankB::treasury .* does not verify/,
    );
  });

  it('fails for a consent by a party outside the roster', async () => {
    const trail = await makeTrail('submitted');
    const outsider = await generatePartyIdentity('party::bankC::treasury');
    trail.log.append('consent_recorded', trail.sessionId, {
      partyId: outsider.partyId,
      consent: { dataUsage: true, resultSharing: true, attestationSharing: true, retentionAcknowledged: true },
      signature: signConsentStatement(trail.sessionId, fromBase64Url(outsider.signingKey.privateKey)),
    });
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'consent_signatures', /not a participant/);
  });
  it('fails when an included party\'s consent is missing from a consistently rewritten log', async () => {
    const trail = await makeTrail();
    trail.log.events.splice(eventIndex(trail, 'consent_recorded', 1), 1);
    trail.log.rebuild();
    // The host lies in the session state too, so trail_complete has nothing to hold the trail against.
    trail.fixture.session.consentedBy = [trail.fixture.bankA.partyId];
    expectFirstFailure(
      await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId),
      'consent_signatures',
      /party::bankB::treasury has no full consent/,
    );
  });
});

describe('consent_revoked', () => {
  it('a revoked consent no longer counts: the host may drop the party, and may not claim it still consents', async () => {
    const trail = await makeTrail('submitted');
    const bankB = trail.fixture.bankB.partyId;
    trail.log.append('consent_revoked', trail.sessionId, { partyId: bankB, submissionDeleted: true, ciphertextHash: trail.ciphertextHashes[bankB] }, bankB);
    Object.assign(trail.fixture.session, { status: 'awaiting_consent', dataSubmittedBy: [trail.fixture.bankA.partyId], consentedBy: [trail.fixture.bankA.partyId] });
    const verdict = await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId);
    expect(outcome(verdict, 'trail_complete').status, outcome(verdict, 'trail_complete').detail).toBe('passed');
    expect(outcome(verdict, 'consent_signatures').status).toBe('passed');

    trail.fixture.session.consentedBy = [trail.fixture.bankA.partyId, bankB];
    expectFirstFailure(
      await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId),
      'trail_complete',
      /party::bankB::treasury consented, but .* not revoked/,
    );

    // A run that includes the party after its revocation fails consent_signatures.
    trail.fixture.session.consentedBy = [trail.fixture.bankA.partyId];
    await trail.release(trail.report);
    expectFirstFailure(
      await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId),
      'consent_signatures',
      /party::bankB::treasury has no full consent .* or revoked it/,
    );
  });
});

describe('result_report', () => {
  it('fails when the logged reportHash does not match the report', async () => {
    const trail = await makeTrail('submitted');
    const { report } = await makeTrailReport(trail);
    await trail.release(report, { reportHash: `sha256:${'4'.repeat(64)}` });
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'result_report', /reportHash/);
  });

  it('fails when the result this party opened carries another report than the logged one', async () => {
    const trail = await makeTrail();
    trail.resultReport.set(trail.fixture.regulator.partyId, { ...trail.report, releasedAt: '2025-01-15T10:06:00.000Z' });
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'result_report', /differs from the logged report/);
  });

  it('fails when the party cannot open the result it is owed', async () => {
    const trail = await makeTrail();
    trail.fixture.routes.set(`GET /v1/sessions/${trail.sessionId}/result`, () => json(404, { error: { code: 'not_found', message: 'no' } }));
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'result_report', /could not be opened/);
  });

  it('fails when two results were released for one session', async () => {
    const trail = await makeTrail('released');
    await trail.release({ ...trail.report, runId: 'run_2' });
    const verdict = await trail.platform(trail.fixture.bankB).audit.verifySession(trail.sessionId);
    expectFirstFailure(verdict, 'result_report', /2 results/);
  });
});

async function makeTrailReport(trail: TrailFixture) {
  return { report: { ...trail.report } };
}

describe('result_attestation', () => {
  it('fails when the attestation binds another report', async () => {
    const trail = await makeTrail('submitted');
    const { report } = await makeTrailReport(trail);
    await trail.release(report, { attestedReport: { ...report, participantCount: 1 } });
    expectFirstFailure(await trail.platform(trail.fixture.bankB).audit.verifySession(trail.sessionId), 'result_attestation', /user_data_mismatch/);
  });
});

describe('aggregated_data_hash', () => {
  it('fails when a commitment is missing from the aggregated root', async () => {
    const trail = await makeTrail('submitted');
    const { report } = await makeTrailReport(trail);
    const onlyA = aggregatedDataHash([{ partyId: trail.fixture.bankA.partyId, commitment: trail.commitments[trail.fixture.bankA.partyId]! }]);
    await trail.release({ ...report, aggregatedDataHash: onlyA });
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'aggregated_data_hash', /Merkle root/);
  });

  it('fails when an included party has no logged submission', async () => {
    const trail = await makeTrail();
    trail.log.events.splice(eventIndex(trail, 'data_submitted', 1), 1);
    trail.log.rebuild();
    const verdict = await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId);
    expect(outcome(verdict, 'aggregated_data_hash')).toMatchObject({ status: 'failed', detail: expect.stringMatching(/0 data_submitted/) });
  });
});

describe('own_commitment_included', () => {
  it('fails when the logged commitment is not the one the party submitted', async () => {
    const trail = await makeTrail();
    const store = new MemoryAuditStore();
    await store.putCommitment(trail.sessionId, trail.fixture.bankA.partyId, await hashCommitment('something else'));
    const verdict = await trail.platform(trail.fixture.bankA, { auditStore: store }).audit.verifySession(trail.sessionId);
    expectFirstFailure(verdict, 'own_commitment_included', /not the sha256:/);
  });

  it('takes options.ownCommitment over the store', async () => {
    const trail = await makeTrail();
    const verdict = await trail.platform(trail.fixture.bankB).audit.verifySession(trail.sessionId, {
      ownCommitment: trail.commitments[trail.fixture.bankB.partyId]!,
    });
    expect(outcome(verdict, 'own_commitment_included').status).toBe('passed');
    await expect(trail.platform(trail.fixture.bankB).audit.verifySession(trail.sessionId, { ownCommitment: 'nope' })).rejects.toThrow(TypeError);
  });

  it('fails when the party submitted and consented in time but was left out', async () => {
    const trail = await makeTrail('submitted', { policy: { minParticipants: 1 } });
    const { report } = await makeTrailReport(trail);
    const a = trail.fixture.bankA.partyId;
    const onlyB = trail.fixture.bankB.partyId;
    await trail.release({
      ...report,
      participantCount: 1,
      includedParties: [onlyB],
      aggregatedDataHash: aggregatedDataHash([{ partyId: onlyB, commitment: trail.commitments[onlyB]! }]),
    });
    const { platform } = await bankA(trail);
    const verdict = await platform.audit.verifySession(trail.sessionId);
    expectFirstFailure(verdict, 'own_commitment_included', new RegExp(`${a} submitted and consented before the run`));
  });

  it('fails when the party submitted but the log has no submission of it', async () => {
    const trail = await makeTrail('created');
    const store = new MemoryAuditStore();
    await store.putCommitment(trail.sessionId, trail.fixture.bankA.partyId, trail.commitments[trail.fixture.bankA.partyId]!);
    const verdict = await trail.platform(trail.fixture.bankA, { auditStore: store }).audit.verifySession(trail.sessionId);
    expectFirstFailure(verdict, 'own_commitment_included', /no data_submitted/);
  });

  it('is not applicable when this client does not know the commitment', async () => {
    const trail = await makeTrail();
    const verdict = await trail.platform(trail.fixture.bankA).audit.verifySession(trail.sessionId);
    expect(outcome(verdict, 'own_commitment_included')).toMatchObject({ status: 'not_applicable', detail: expect.stringMatching(/ownCommitment/) });
  });
});

describe('deletion_statement', () => {
  const statement = (trail: TrailFixture, ciphertexts = Object.values(trail.ciphertextHashes)) => ({
    type: DELETION_STATEMENT_TYPE as typeof DELETION_STATEMENT_TYPE,
    sessionId: trail.sessionId,
    destroyed: { sessionKey: true as const, ciphertexts },
    reason: 'delete_after_inference' as const,
    destroyedAt: '2025-01-15T10:05:01.000Z',
  });

  it('fails when retention deleted the data but no deletion is attested', async () => {
    const trail = await makeTrail('released');
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'deletion_statement', /no deletion_attested/);
  });

  it('fails when a cancelled session has no attested deletion', async () => {
    const trail = await makeTrail('submitted');
    trail.log.append('session_cancelled', trail.sessionId, {});
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'deletion_statement');
  });

  it('fails when the statement does not list every submitted ciphertext', async () => {
    const trail = await makeTrail('released');
    await trail.deletion(statement(trail, [trail.ciphertextHashes[trail.fixture.bankA.partyId]!]));
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'deletion_statement', /differ/);
  });

  it('fails when the attestation binds another statement', async () => {
    const trail = await makeTrail('released');
    await trail.deletion(statement(trail), { ...statement(trail), destroyedAt: '2025-01-15T10:09:00.000Z' });
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'deletion_statement', /user_data_mismatch/);
  });

  it('fails when the statement is for another session', async () => {
    const trail = await makeTrail('released');
    await trail.deletion({ ...statement(trail), sessionId: `mps_${'b'.repeat(26)}` });
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'deletion_statement', /is for mps_b/);
  });
});

describe('the verdict', () => {
  it('names the first failing check when several fail, and reports every check', async () => {
    const trail = await makeTrail();
    const consent = eventIndex(trail, 'consent_recorded', 0);
    trail.log.events[consent] = { ...trail.log.events[consent]!, payload: { ...trail.log.events[consent]!.payload, signature: toBase64Url(new Uint8Array(64)) } };
    const created = eventIndex(trail, 'session_created');
    trail.log.events[created] = { ...trail.log.events[created]!, payload: { termsHash: `sha256:${'9'.repeat(64)}` } };
    trail.log.rebuild();
    const verdict = await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId);
    expectFirstFailure(verdict, 'session_terms');
    expect(outcome(verdict, 'consent_signatures').status).toBe('failed');
    expect(verdict.checks).toHaveLength(VERIFICATION_CHECKS.length);
  });

  it('throws when the trail itself cannot be fetched, and checks its arguments', async () => {
    const trail = await makeTrail('created');
    trail.fixture.routes.delete(`GET /v1/sessions/${trail.sessionId}/trail`);
    await expect(trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId)).rejects.toMatchObject({ code: 'not_found' });
    await expect(trail.platform(trail.fixture.regulator).audit.verifySession('nope')).rejects.toThrow(/sessionId must be a session id/);
  });

  it('keeps a signed, consistent head even when a content check fails', async () => {
    const trail = await makeTrail('released');
    const store = new MemoryAuditStore();
    const verdict = await trail.platform(trail.fixture.regulator, { auditStore: store }).audit.verifySession(trail.sessionId);
    expect(verdict.ok).toBe(false);
    expect((await store.getTreeHead(trail.log.logId))?.treeHead.treeSize).toBe(verdict.treeSize);
  });

  it('refuses an audit store without the methods it needs', async () => {
    const trail = await makeTrail('created');
    const partial = { getTreeHead: async () => undefined, putTreeHead: async () => {}, getCommitment: async () => undefined, putCommitment: async () => {} };
    expect(() => trail.platform(trail.fixture.regulator, { auditStore: partial as never })).toThrow(/missing getLogKey, putLogKey, getSessionMemory, putSessionMemory/);
  });

  it('does not keep a head that fails its signature', async () => {
    const trail = await makeTrail();
    const other = generateSigningKeyPair();
    trail.serveTrail = () => trail.log.trail(trail.sessionId, undefined, trail.log.head(undefined, other.privateKey));
    const store = new MemoryAuditStore();
    await trail.platform(trail.fixture.regulator, { auditStore: store }).audit.verifySession(trail.sessionId);
    expect(await store.getTreeHead(trail.log.logId)).toBeUndefined();
  });
});

/** The host's rewrite that drops the session's last events (from the first event of `fromKind` on). */
function dropFrom(trail: TrailFixture, fromKind: string): void {
  const from = eventIndex(trail, fromKind);
  trail.log.events = trail.log.events.filter((event, index) => index < from || event.sessionId !== trail.sessionId);
  trail.log.rebuild();
}

describe('trail_complete: a trail whose last events were dropped', () => {
  it('fails when the host reports the session completed but the trail has no result_released', async () => {
    const trail = await makeTrail();
    dropFrom(trail, 'run_started');
    expect(trail.fixture.session.status).toBe('completed');
    expectFirstFailure(
      await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId),
      'trail_complete',
      /reports the session completed, but the trail has no result_released/,
    );
  });

  it('fails for a cancelled or expired session without its event', async () => {
    for (const [status, kind] of [['cancelled', 'session_cancelled'], ['expired', 'session_expired']] as const) {
      const trail = await makeTrail('submitted');
      trail.fixture.session.status = status;
      const verdict = await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId);
      expectFirstFailure(verdict, 'trail_complete', new RegExp(`session ${status}, but the trail has no ${kind}`));
    }
  });

  it('fails when a party the host lists as submitted or consented has no event', async () => {
    const trail = await makeTrail('submitted');
    const b = trail.fixture.bankB.partyId;
    trail.log.events = trail.log.events.filter((e) => !(e.sessionId === trail.sessionId && e.payload.partyId === b && e.kind === 'consent_recorded'));
    trail.log.rebuild();
    expectFirstFailure(
      await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId),
      'trail_complete',
      new RegExp(`${b} consented, but the trail has no consent_recorded`),
    );
    trail.log.events = trail.log.events.filter((e) => !(e.sessionId === trail.sessionId && e.payload.partyId === b));
    trail.log.rebuild();
    expectFirstFailure(
      await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId),
      'trail_complete',
      new RegExp(`${b} submitted data, but the trail has no data_submitted`),
    );
  });

  it('remembers the last event of a verified trail', async () => {
    const trail = await makeTrail();
    const { platform, store } = await bankA(trail);
    expect((await platform.audit.verifySession(trail.sessionId)).ok).toBe(true);
    const last = trail.log.trail(trail.sessionId).entries.at(-1)!.event;
    expect(await store.getSessionMemory(trail.sessionId)).toMatchObject({
      lastEvent: { sessionSeq: last.sessionSeq, leafHash: toBase64Url(auditLeafHash(last)) },
    });
  });

  it('fails for a client that saw the full trail, even when the host also lies about the session state', async () => {
    const trail = await makeTrail();
    const { platform, store } = await bankA(trail);
    expect((await platform.audit.verifySession(trail.sessionId)).ok).toBe(true);
    const seen = (await store.getSessionMemory(trail.sessionId))!.lastEvent!.sessionSeq;
    dropFrom(trail, 'run_started');
    Object.assign(trail.fixture.session, { status: 'ready' });
    // The same client: the log shrank (a rollback), and the trail ends before what it saw.
    const again = await platform.audit.verifySession(trail.sessionId);
    expectFirstFailure(again, 'tree_consistency', /^rollback/);
    expect(outcome(again, 'trail_complete')).toMatchObject({ status: 'failed', detail: expect.stringMatching(/dropped from its end/) });
    // A client that remembers the session but no head of this log (another device, a pruned store).
    const memoryOnly = new MemoryAuditStore();
    await memoryOnly.putSessionMemory(trail.sessionId, (await store.getSessionMemory(trail.sessionId))!);
    const verdict = await trail.platform(trail.fixture.bankA, { auditStore: memoryOnly }).audit.verifySession(trail.sessionId);
    expectFirstFailure(verdict, 'trail_complete', /this client saw event \d+ of the session before; the trail now ends at \d+: events were dropped/);
    // Nothing shorter is remembered in its place.
    expect((await memoryOnly.getSessionMemory(trail.sessionId))?.lastEvent?.sessionSeq).toBe(seen);
  });

  it('fails when the event this client saw last was rewritten', async () => {
    const trail = await makeTrail();
    const { platform, store } = await bankA(trail);
    await platform.audit.verifySession(trail.sessionId);
    const last = trail.log.events.length - 1;
    trail.log.events[last] = { ...trail.log.events[last]!, at: '2025-01-15T12:00:00.000Z' };
    trail.log.rebuild();
    const memoryOnly = new MemoryAuditStore();
    await memoryOnly.putSessionMemory(trail.sessionId, (await store.getSessionMemory(trail.sessionId))!);
    const verdict = await trail.platform(trail.fixture.regulator, { auditStore: memoryOnly }).audit.verifySession(trail.sessionId);
    expectFirstFailure(verdict, 'trail_complete', /is not the one this client saw before: the trail was rewritten/);
  });
});

describe('result_report: what the client and the terms know', () => {
  it('remembers the reportHash of the result it opened, and fails when the trail later lacks it', async () => {
    const trail = await makeTrail();
    const store = new MemoryAuditStore();
    expect((await trail.platform(trail.fixture.regulator, { auditStore: store }).audit.verifySession(trail.sessionId)).ok).toBe(true);
    const { reportHash: opened } = (await store.getSessionMemory(trail.sessionId))!;
    expect(opened).toBe(reportHash(trail.report));
    dropFrom(trail, 'run_started');
    Object.assign(trail.fixture.session, { status: 'ready' });
    const remembersReport = new MemoryAuditStore();
    await remembersReport.putSessionMemory(trail.sessionId, { reportHash: opened! });
    const verdict = await trail.platform(trail.fixture.regulator, { auditStore: remembersReport }).audit.verifySession(trail.sessionId);
    expectFirstFailure(verdict, 'result_report', new RegExp(`opened a result with reportHash ${opened}, but the trail has no result_released`));
  });

  it('fails when the report names another model than the terms', async () => {
    for (const change of [{ modelId: 'other-model' }, { modelDigest: `sha256:${'e'.repeat(64)}` }]) {
      const trail = await makeTrail('submitted');
      await trail.release({ ...trail.report, ...change });
      expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'result_report', /names model/);
    }
  });

  it('fails when fewer parties are included than the terms require', async () => {
    const trail = await makeTrail('submitted');
    const a = trail.fixture.bankA.partyId;
    await trail.release({
      ...trail.report,
      participantCount: 1,
      includedParties: [a],
      aggregatedDataHash: aggregatedDataHash([{ partyId: a, commitment: trail.commitments[a]! }]),
    });
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'result_report', /includes 1 parties, the terms require at least 2/);
  });

  it('fails when an included party is not a participant in the terms', async () => {
    const trail = await makeTrail('submitted');
    const outsider = 'party::bankZ::treasury';
    await trail.release({ ...trail.report, participantCount: 3, includedParties: [...trail.report.includedParties, outsider] });
    const verdict = await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId);
    expect(outcome(verdict, 'result_report')).toMatchObject({ status: 'failed', detail: expect.stringMatching(/includes party::bankZ::treasury, who is not a participant/) });
  });
});

describe('consent and submission cut-off: the run\'s first start', () => {
  it('fails when an included party consented after the run started (though before the result)', async () => {
    const trail = await makeTrail('submitted');
    const index = eventIndex(trail, 'consent_recorded', 1);
    const [late] = trail.log.events.splice(index, 1);
    trail.log.rebuild();
    trail.log.append('run_started', trail.sessionId, { runId: trail.report.runId });
    trail.log.append('consent_recorded', trail.sessionId, late!.payload, late!.actor.partyId);
    await trail.release(trail.report); // logs a second start (a retried attempt), then the result
    expectFirstFailure(
      await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId),
      'consent_signatures',
      /party::bankB::treasury has no full consent logged before the run started/,
    );
  });

  it('fails when an included party submitted after the run started', async () => {
    const trail = await makeTrail('submitted');
    const index = eventIndex(trail, 'data_submitted', 1);
    const [late] = trail.log.events.splice(index, 1);
    trail.log.rebuild();
    trail.log.append('run_started', trail.sessionId, { runId: trail.report.runId });
    trail.log.append('data_submitted', trail.sessionId, late!.payload, late!.actor.partyId);
    await trail.release(trail.report);
    const verdict = await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId);
    expect(outcome(verdict, 'aggregated_data_hash')).toMatchObject({ status: 'failed', detail: expect.stringMatching(/0 data_submitted events before the run started/) });
  });

  it('fails when no run_started of the released run is logged', async () => {
    const trail = await makeTrail();
    trail.log.events.splice(eventIndex(trail, 'run_started'), 1);
    trail.log.rebuild();
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'consent_signatures', /no run_started of run_1/);
  });
});

describe('deletion_statement: expiry and the session\'s end', () => {
  const past = '2025-01-16T10:00:00.000Z';
  const statement = (trail: TrailFixture, reason: 'delete_after_inference' | 'cancelled' | 'expired') => ({
    type: DELETION_STATEMENT_TYPE as typeof DELETION_STATEMENT_TYPE,
    sessionId: trail.sessionId,
    destroyed: { sessionKey: true as const, ciphertexts: Object.values(trail.ciphertextHashes) },
    reason,
    destroyedAt: '2025-01-16T10:00:30.000Z',
  });

  it('requires an attested deletion once the session is past expiresAt and the grace period', async () => {
    for (const stage of ['created', 'submitted'] as const) {
      const trail = await makeTrail(stage, { expiresAt: past });
      expectFirstFailure(
        await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId),
        'deletion_statement',
        new RegExp(`expired at ${past}, but no deletion_attested`),
      );
    }
    // Within the grace period the sweeper may not have run yet.
    const soon = new Date(Date.now() - 30_000).toISOString();
    const trail = await makeTrail('submitted', { expiresAt: soon });
    expect(outcome(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'deletion_statement').status).toBe('not_applicable');
  });

  it('passes for an expired session whose deletion is attested after its session_expired', async () => {
    const trail = await makeTrail('submitted', { expiresAt: past });
    trail.log.append('session_expired', trail.sessionId, { previousStatus: 'ready', expiresAt: past });
    trail.fixture.session.status = 'expired';
    await trail.deletion(statement(trail, 'expired'));
    expectAllPass(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), [
      'tree_consistency',
      'result_report',
      'result_attestation',
      'aggregated_data_hash',
      'own_commitment_included',
    ]);
  });

  it('fails when the statement\'s reason is not how the session ended', async () => {
    const cases = [
      { setup: async (t: TrailFixture) => t.release(t.report), reason: 'cancelled', end: /ended with result_released \(reason delete_after_inference\)/ },
      { setup: async (t: TrailFixture) => void t.log.append('session_cancelled', t.sessionId, {}), reason: 'delete_after_inference', end: /ended with session_cancelled/ },
      { setup: async (t: TrailFixture) => void t.log.append('session_expired', t.sessionId, {}), reason: 'cancelled', end: /ended with session_expired/ },
    ] as const;
    for (const { setup, reason, end } of cases) {
      const trail = await makeTrail('submitted');
      await setup(trail);
      await trail.deletion(statement(trail, reason));
      expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'deletion_statement', end);
    }
  });

  it('fails when the deletion is logged before the event it follows, or follows none', async () => {
    const trail = await makeTrail('submitted');
    await trail.deletion(statement(trail, 'cancelled'));
    const orphan = await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId);
    expectFirstFailure(orphan, 'deletion_statement', /no result, cancellation or expiry it follows/);
    trail.log.append('session_cancelled', trail.sessionId, {});
    expectFirstFailure(await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId), 'deletion_statement', /is logged before the session_cancelled/);
  });
});

describe('tree_head_signature: a rotated log key', () => {
  function rotate(trail: TrailFixture) {
    const other = generateSigningKeyPair();
    const otherLogId = sha256Tagged(other.publicKey);
    trail.fixture.routes.set('GET /.well-known/tenzro-log-key', () =>
      json(200, { logId: otherLogId, algorithm: 'Ed25519', publicKey: toBase64Url(other.publicKey) }),
    );
    const head = () => trail.log.head(undefined, other.privateKey, otherLogId);
    trail.fixture.routes.set('GET /v1/log/tree-head', () => json(200, head()));
    trail.serveTrail = () => trail.log.trail(trail.sessionId, undefined, head());
    return otherLogId;
  }

  it('remembers the first key per host; a different key later is log_key_mismatch, in getTreeHead and in the verdict', async () => {
    const trail = await makeTrail();
    const store = new MemoryAuditStore();
    const first = trail.platform(trail.fixture.regulator, { auditStore: store });
    await first.audit.getTreeHead();
    expect(await store.getLogKey('http://host.test')).toBe(toBase64Url(trail.log.publicKey));
    const otherLogId = rotate(trail);
    // A later client on the same store (a new process), and the same client whose key was cached.
    const later = trail.platform(trail.fixture.regulator, { auditStore: store });
    await expect(later.audit.getTreeHead()).rejects.toMatchObject({ name: 'AuditLogError', code: 'log_key_mismatch' });
    await expect(later.audit.getLogKey()).rejects.toThrow(new RegExp(`now publishes log ${otherLogId}, not log ${trail.log.logId}`));
    await expect(first.audit.getTreeHead()).rejects.toMatchObject({ code: 'log_key_mismatch' });
    const verdict = await later.audit.verifySession(trail.sessionId);
    expectFirstFailure(verdict, 'tree_head_signature', /^log_key_mismatch: the host now publishes log/);
    // The first key stays the one trusted; nothing of the new log was remembered.
    expect(await store.getLogKey('http://host.test')).toBe(toBase64Url(trail.log.publicKey));
    expect(await store.getTreeHead(otherLogId)).toBeUndefined();
  });

  it('a client without a store entry for the host trusts the key it first sees', async () => {
    const trail = await makeTrail();
    rotate(trail);
    expect((await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId)).firstFailure).toBeNull();
  });
});
