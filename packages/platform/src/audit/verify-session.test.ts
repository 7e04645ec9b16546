// Issue 3: `platform.audit.verifySession` checks, offline from what the host returned, every claim the
// host makes about a session, in the order of VERIFICATION_CHECKS, and names the first that fails. Each
// check is shown passing on an honest trail and failing on a trail a host could serve.
import { fromBase64Url, generateSigningKeyPair, hashCommitment, toBase64Url } from '@tenzro/crypto';
import {
  DELETION_STATEMENT_TYPE,
  VERIFICATION_CHECKS,
  aggregatedDataHash,
  auditLeafHash,
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

  it('reports not_applicable for what has not happened yet', async () => {
    const trail = await makeTrail('created');
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
    expectFirstFailure(
      await trail.platform(trail.fixture.regulator).audit.verifySession(trail.sessionId),
      'consent_signatures',
      /party::bankB::treasury has no full consent/,
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
    const trail = await makeTrail('submitted');
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

  it('does not keep a head that fails its signature', async () => {
    const trail = await makeTrail();
    const other = generateSigningKeyPair();
    trail.serveTrail = () => trail.log.trail(trail.sessionId, undefined, trail.log.head(undefined, other.privateKey));
    const store = new MemoryAuditStore();
    await trail.platform(trail.fixture.regulator, { auditStore: store }).audit.verifySession(trail.sessionId);
    expect(await store.getTreeHead(trail.log.logId)).toBeUndefined();
  });
});
