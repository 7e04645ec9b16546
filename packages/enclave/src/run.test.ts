// A full federated run over the real process: three banks' partitions from the demo generator, consents,
// then every sealed result opened by its recipient and checked against the attested report.
import { copyFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULT_INFO, fromBase64Url, openEnvelope, parseStrictJson, utf8Decode } from '@tenzro/crypto';
import { generateDemoData } from '@tenzro/models';
import {
  FULL_CONSENT,
  HelloResult,
  ResultBody,
  RunResult,
  aggregatedDataHash,
  promptHash,
  reportDigest,
  resultHash,
  verifyAttestation,
  type SessionTerms,
} from '@tenzro/protocol';
import { EnclaveProcess, tempDir } from '../test/enclave-process.js';
import {
  consentOf,
  makeParty,
  makeTerms,
  plainSubmission,
  saltedSubmission,
  type Party,
  type WrittenSubmission,
} from '../test/session-fixture.js';

const SCHEMA = 'transaction_records_v1';
const BANKS = ['bankA', 'bankB', 'bankC', 'bankD'];
const PROMPT = 'Find mule chains that cross banks.';
const FEDERATED = { localEpochs: 2, aggregationRounds: 3 };

describe('run', () => {
  let enclave: EnclaveProcess;
  let hello: ReturnType<typeof HelloResult.parse>;
  let blobDir: string;
  let participants: Party[];
  let observer: Party;
  let partitions: Record<string, Record<string, unknown>[]>;

  async function openSession(options: { minParticipants?: number; aggregation?: 'federated' | 'secure_aggregation' | 'mpc'; expiresAt?: string } = {}) {
    const model = hello.models.find((m) => m.modelId === 'risk-analyzer-v2')!;
    const dataPolicy =
      options.aggregation === 'secure_aggregation'
        ? { minParticipants: options.minParticipants ?? 3, aggregationMethod: 'secure_aggregation' as const, secureAggConfig: { threshold: 3, noiseAddition: false } }
        : options.aggregation === 'mpc'
          ? {
              minParticipants: options.minParticipants ?? 3,
              aggregationMethod: 'mpc' as const,
              mpcConfig: { protocol: 'shamir_secret_sharing' as const, threshold: 2, totalParties: 3 },
            }
          : { minParticipants: options.minParticipants ?? 3, federatedConfig: FEDERATED };
    const { terms, sessionId } = makeTerms({
      participants,
      observers: [observer],
      modelId: model.modelId,
      modelDigest: model.modelDigest,
      dataPolicy,
      ...(options.expiresAt ? { expiresAt: options.expiresAt } : {}),
    });
    const key = await enclave.call('createSessionKey', { sessionId });
    const submissions: WrittenSubmission[] = [];
    for (const [index, party] of participants.entries()) {
      const data = partitions[BANKS[index]!]!;
      const make = index === 1 ? saltedSubmission : plainSubmission;
      submissions.push(await make(blobDir, key.publicKey, party.partyId, data, SCHEMA));
    }
    return { terms, sessionId, key, submissions };
  }

  function runRequest(session: Awaited<ReturnType<typeof openSession>>, consents: ReturnType<typeof consentOf>[], extra: Record<string, unknown> = {}) {
    return enclave.request('run', {
      runId: 'run_1',
      sessionId: session.sessionId,
      sealedKey: session.key.sealedKey,
      terms: session.terms,
      submissions: session.submissions,
      consents,
      prompt: PROMPT,
      parameters: { maxTokens: 512 },
      ...extra,
    });
  }

  beforeAll(async () => {
    enclave = EnclaveProcess.start(await tempDir('tenzro-enclave-run-'));
    hello = HelloResult.parse(await enclave.call('hello'));
    blobDir = await tempDir('tenzro-enclave-run-blobs-');
    participants = await Promise.all(BANKS.map((bank) => makeParty(`party::${bank}::treasury`)));
    observer = await makeParty('party::regulator::supervision');
    partitions = generateDemoData({ banks: BANKS, recordsPerBank: 300, seed: 42 }).partitions as unknown as Record<string, Record<string, unknown>[]>;
  });
  afterAll(async () => {
    await enclave.stop();
  });

  it('includes consented parties with valid data, attests the report and seals one result per recipient', async () => {
    const session = await openSession();
    const [a, b, c, d] = participants as [Party, Party, Party, Party];
    // bankD's consent withholds a permission: its data must not be included (or even opened).
    const consents = [
      consentOf(c, session.sessionId),
      consentOf(a, session.sessionId),
      consentOf(b, session.sessionId),
      consentOf(d, session.sessionId, { ...FULL_CONSENT, resultSharing: false }),
    ];
    const reply = await runRequest(session, consents);
    expect(reply.error).toBeUndefined();
    const result = RunResult.parse(reply.result);
    const { report } = result;

    const included = [a, b, c].map((p) => p.partyId).sort();
    expect(report).toMatchObject({
      type: 'tenzro.result/v1',
      sessionId: session.sessionId,
      runId: 'run_1',
      modelId: 'risk-analyzer-v2',
      modelDigest: session.terms.modelDigest,
      promptHash: promptHash(PROMPT),
      parameters: { maxTokens: 512 },
      participantCount: 3,
      includedParties: included,
    });
    const commitments = session.submissions.filter((s) => included.includes(s.partyId)).map((s) => ({ partyId: s.partyId, commitment: s.commitment }));
    expect(report.aggregatedDataHash).toBe(aggregatedDataHash(commitments));
    expect(Object.keys(result.timings).sort()).toEqual(['decryptVerifyMs', 'reportMs', 'trainMs']);

    const verified = await verifyAttestation(result.attestation, {
      roots: [hello.rootPem],
      expectedMeasurements: [hello.measurement],
      expectedUserData: reportDigest(report),
    });
    expect(verified.provider).toBe('simulated');

    expect(result.sealedResults.map((s) => s.partyId)).toEqual([...included, observer.partyId]);
    const byId = new Map([...participants, observer].map((p) => [p.partyId, p]));
    const bodies = [];
    for (const { partyId, sealed } of result.sealedResults) {
      const recipient = byId.get(partyId)!;
      const plaintext = await openEnvelope(recipient.encryptionPrivateKey, fromBase64Url(sealed), { info: RESULT_INFO });
      const body = ResultBody.parse(parseStrictJson(utf8Decode(plaintext)));
      expect(body).toMatchObject({ type: 'tenzro.result-body/v1', sessionId: session.sessionId, runId: 'run_1', recipient: partyId });
      expect(resultHash(body.shared)).toBe(report.resultHash);
      if (partyId === observer.partyId) expect(body.privateFindings).toBeUndefined();
      else expect(body.privateFindings).toBeDefined();
      bodies.push(body);
      // nobody else can open it
      const other = partyId === a.partyId ? b : a;
      await expect(openEnvelope(other.encryptionPrivateKey, fromBase64Url(sealed), { info: RESULT_INFO })).rejects.toThrow();
    }
    // each participant's private findings are about its own transactions only
    for (const body of bodies) {
      if (!body.privateFindings) continue;
      const own = new Set(partitions[body.recipient.split('::')[1]!]!.map((r) => r.transactionId));
      for (const flagged of body.privateFindings.flagged) expect(own.has(flagged.transactionId)).toBe(true);
    }
  });

  it('excludes a consent whose signature does not verify against the roster, then refuses: session_not_ready', async () => {
    const session = await openSession({ minParticipants: 3 });
    const [a, b, c] = participants as [Party, Party, Party, Party];
    const forged = { ...consentOf(b, session.sessionId), partyId: c.partyId }; // b's key signing for c
    const reply = await runRequest(session, [consentOf(a, session.sessionId), consentOf(b, session.sessionId), forged]);
    expect(reply).toMatchObject({ ok: false, error: { code: 'session_not_ready' } });
  });

  it('excludes a submission that fails its checks', async () => {
    const session = await openSession({ minParticipants: 3 });
    const consents = participants.map((p) => consentOf(p, session.sessionId));
    const submissions = session.submissions.map((s, i) => (i === 0 ? { ...s, commitment: session.submissions[2]!.commitment } : s));
    const reply = await runRequest({ ...session, submissions }, consents);
    expect(reply.ok).toBe(true);
    expect(reply.result.report.includedParties).toEqual(participants.slice(1).map((p) => p.partyId));
  });

  it('refuses methods this build does not run, swapped terms, and a destroyed key', async () => {
    const mpc = await openSession({ aggregation: 'mpc' });
    const consents = participants.map((p) => consentOf(p, mpc.sessionId));
    // an mpc run without the nodes' outputs is malformed (records are never opened on an mpc session)
    expect(await runRequest(mpc, consents)).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    // records on a secure_aggregation session are never opened as such; without secagg inputs the run is malformed
    const secure = await openSession({ aggregation: 'secure_aggregation' });
    const secureConsents = participants.map((p) => consentOf(p, secure.sessionId));
    expect(await runRequest(secure, secureConsents)).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    // secagg inputs on a federated session are refused too
    const federated = await openSession();
    const federatedConsents = participants.map((p) => consentOf(p, federated.sessionId));
    expect(await runRequest(federated, federatedConsents, { secagg: { advertisements: [], shareKeys: [], unmask: [] } })).toMatchObject({
      ok: false,
      error: { code: 'invalid_request' },
    });
    // and mpc inputs
    expect(await runRequest(federated, federatedConsents, { mpc: { runTag: 'run_1.1', programId: 'risk-analyzer-v2.mpc.v1', outputs: [] } })).toMatchObject({
      ok: false,
      error: { code: 'invalid_request' },
    });

    const session = await openSession();
    const good = participants.map((p) => consentOf(p, session.sessionId));
    const swapped: SessionTerms = { ...session.terms, observers: [] };
    expect(await runRequest(session, good, { terms: swapped })).toMatchObject({ ok: false, error: { code: 'invalid_request' } });
    expect(await runRequest(session, [...good, good[0]!])).toMatchObject({ ok: false, error: { code: 'invalid_request' } });

    await enclave.call('destroySessionKey', { sessionId: session.sessionId, reason: 'cancelled', ciphertexts: [] });
    expect(await runRequest(session, good)).toMatchObject({ ok: false, error: { code: 'data_deleted' } });
  });

  it("refuses a replayed submission: party A's blob and commitment copied into party C's row", async () => {
    const session = await openSession({ minParticipants: 2 });
    const [a, , c] = participants as [Party, Party, Party, Party];
    const consents = participants.map((p) => consentOf(p, session.sessionId));
    const ofA = session.submissions.find((s) => s.partyId === a.partyId)!;
    // The same blob file under C's name (a content-addressed store gives it the same path).
    const samePath = session.submissions.map((s) => (s.partyId === c.partyId ? { ...ofA, partyId: c.partyId } : s));
    expect(await runRequest({ ...session, submissions: samePath }, consents)).toMatchObject({ ok: false, error: { code: 'duplicate_submission' } });
    // A copy of the blob file under another path, with A's commitment.
    const copy = join(blobDir, `copy-of-a-${Date.now()}.tze`);
    await copyFile(ofA.blobPath, copy);
    const copied = session.submissions.map((s) => (s.partyId === c.partyId ? { ...ofA, partyId: c.partyId, blobPath: copy } : s));
    expect(await runRequest({ ...session, submissions: copied }, consents)).toMatchObject({ ok: false, error: { code: 'duplicate_submission' } });
    // Same path spelled differently.
    const dotted = session.submissions.map((s) =>
      s.partyId === c.partyId ? { ...ofA, partyId: c.partyId, blobPath: join(blobDir, '.', basename(ofA.blobPath)).replace(blobDir, `${blobDir}/.`) } : s,
    );
    expect(await runRequest({ ...session, submissions: dotted }, consents)).toMatchObject({ ok: false, error: { code: 'duplicate_submission' } });
    // The untouched session still runs.
    expect(await runRequest(session, consents)).toMatchObject({ ok: true });
  });

  it('refuses a session past its terms.expiresAt (session_expired)', async () => {
    const session = await openSession({ expiresAt: new Date(Date.now() - 1000).toISOString() });
    const consents = participants.map((p) => consentOf(p, session.sessionId));
    expect(await runRequest(session, consents)).toMatchObject({ ok: false, error: { code: 'session_expired' } });
  });

  it('never writes data or results to stderr', () => {
    const log = enclave.stderrText();
    for (const records of Object.values(partitions)) {
      for (const record of records.slice(0, 20)) {
        expect(log).not.toContain(String(record.transactionId));
        expect(log).not.toContain(String(record.accountId));
      }
    }
  });
});
