// verifySubmission for secure aggregation over the real process: a masked input opens as a salted
// contribution whose signed stage-2 message, layout, source schema, vector length and noise share are
// checked; records on a secure_aggregation session and masked inputs on a federated one are refused.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { calibrateSkellam, randomBytes, signStatement, toBase64Url } from '@tenzro/crypto';
import { aggregateLayoutOf, generateDemoData } from '@tenzro/models';
import { HelloResult, SECAGG_MASKED_INPUT_SCHEMA, SECAGG_TYPES, secAggNoiseShare, type SessionTerms } from '@tenzro/protocol';
import { EnclaveProcess, tempDir } from '../test/enclave-process.js';
import { MODEL_ID, maskedSubmission, secaggParties } from '../test/secagg-fixture.js';
import { makeTerms, plainSubmission, saltedSubmission, type Party } from '../test/session-fixture.js';

const layout = aggregateLayoutOf(MODEL_ID)!;

describe('verifySubmission (secure_aggregation masked inputs)', () => {
  let enclave: EnclaveProcess;
  let blobDir: string;
  let parties: Party[];
  let digest: string;

  interface Session {
    terms: SessionTerms;
    sessionId: string;
    key: { publicKey: string; sealedKey: string };
  }
  let secure: Session;
  let noisy: Session;
  let federated: Session;
  let required: number;

  async function session(dataPolicy: Parameters<typeof makeTerms>[0]['dataPolicy']): Promise<Session> {
    const { terms, sessionId } = makeTerms({ participants: parties, modelId: MODEL_ID, modelDigest: digest, dataPolicy });
    const key = await enclave.call('createSessionKey', { sessionId });
    return { terms, sessionId, key };
  }

  /** A signed stage-2 message of `party` (the vector is random: the enclave cannot tell masked from random). */
  function message(party: Party, sessionId: string, overrides: Record<string, unknown> = {}) {
    const body = {
      type: SECAGG_TYPES.maskedInput,
      sessionId,
      partyId: party.partyId,
      maskedInput: toBase64Url(randomBytes(layout.ringLength * 4)),
      ...overrides,
    };
    return { body, signature: toBase64Url(signStatement(party.signingPrivateKey, body)) };
  }

  const verify = (s: Session, submission: object) =>
    enclave.request('verifySubmission', { sessionId: s.sessionId, sealedKey: s.key.sealedKey, terms: s.terms, submission });

  const masked = (s: Session, party: Party, noiseVariance: number | null, msg: unknown = message(party, s.sessionId), overrides: Record<string, unknown> = {}) =>
    maskedSubmission(blobDir, s.key.publicKey, party.partyId, layout.id, noiseVariance, msg, overrides);

  beforeAll(async () => {
    enclave = EnclaveProcess.start(await tempDir('tenzro-enclave-secagg-verify-'));
    digest = HelloResult.parse(await enclave.call('hello')).models.find((m) => m.modelId === MODEL_ID)!.modelDigest;
    blobDir = await tempDir('tenzro-enclave-secagg-verify-blobs-');
    parties = await secaggParties(3);
    secure = await session({ aggregationMethod: 'secure_aggregation', minParticipants: 2, secureAggConfig: { threshold: 2, noiseAddition: false } });
    noisy = await session({ aggregationMethod: 'secure_aggregation', minParticipants: 2, secureAggConfig: { threshold: 2, noiseAddition: true } });
    federated = await session({ minParticipants: 2 });
    const dp = noisy.terms.dataPolicy.secureAggConfig!.differentialPrivacy!;
    // threshold 2: each party adds μ / (2 − 1) = μ (secAggNoiseShare)
    required = secAggNoiseShare(calibrateSkellam({ epsilon: dp.epsilon, delta: dp.delta, l1: layout.l1Sensitivity, l2: layout.l2Sensitivity }).variance, 2);
  });
  afterAll(async () => {
    await enclave.stop();
  });

  it('accepts a valid masked input and reports recordCount 0', async () => {
    const [a] = parties as [Party];
    expect(await verify(secure, await masked(secure, a, null))).toMatchObject({ ok: true, result: { recordCount: 0 } });
  });

  it('refuses records on a secure_aggregation session (secure_aggregation_required) and a masked input on a federated one (submission_rejected)', async () => {
    const [a] = parties as [Party];
    const records = generateDemoData({ banks: ['bankA'], recordsPerBank: 100, seed: 3 }).partitions.bankA!;
    expect(await verify(secure, await saltedSubmission(blobDir, secure.key.publicKey, a.partyId, records, 'transaction_records_v1'))).toMatchObject({
      ok: false,
      error: { code: 'secure_aggregation_required' },
    });
    expect(await verify(federated, await masked(federated, a, null, message(a, federated.sessionId)))).toMatchObject({
      ok: false,
      error: { code: 'submission_rejected' },
    });
  });

  it('refuses a plain commitment, another layout, an unknown source schema and a malformed document', async () => {
    const [a] = parties as [Party];
    const plain = await plainSubmission(blobDir, secure.key.publicKey, a.partyId, { anything: true }, SECAGG_MASKED_INPUT_SCHEMA);
    expect(await verify(secure, plain)).toMatchObject({ ok: false, error: { code: 'submission_rejected' } });
    expect(await verify(secure, await masked(secure, a, null, undefined, { layout: 'other-model/aggregates/v1' }))).toMatchObject({
      ok: false,
      error: { code: 'submission_rejected' },
    });
    expect(await verify(secure, await masked(secure, a, null, undefined, { sourceSchema: 'payroll_v9' }))).toMatchObject({
      ok: false,
      error: { code: 'unknown_schema' },
    });
    const extra = await verify(secure, await masked(secure, a, null, undefined, { recordCount: 12 }));
    expect(extra).toMatchObject({ ok: false, error: { code: 'schema_validation_failed' } });
    expect(JSON.stringify(extra.error)).not.toContain('12');
  });

  it('refuses a stage-2 message that is forged, of another party, of another session, or of the wrong length (secagg_rejected)', async () => {
    const [a, b] = parties as [Party, Party];
    const cases: [unknown, RegExp][] = [
      [{ ...message(a, secure.sessionId), signature: message(a, secure.sessionId).signature }, /^invalid_signature: /],
      [message(b, secure.sessionId), /^invalid_message: /], // b's genuine message submitted as a's
      [message(a, 'mps_bbbbbbbbbbbbbbbbbbbbbbbbbb'), /^wrong_session: /],
      [message(a, secure.sessionId, { maskedInput: toBase64Url(randomBytes(layout.ringLength * 4 - 4)) }), /^invalid_message: /],
      [message(a, secure.sessionId, { type: SECAGG_TYPES.advertise }), /^stage_out_of_order: /],
    ];
    for (const [msg, pattern] of cases) {
      const reply = await verify(secure, await masked(secure, a, null, msg));
      expect(reply).toMatchObject({ ok: false, error: { code: 'secagg_rejected' } });
      expect(reply.error!.message).toMatch(pattern);
    }
    // b's key signing a body that names a
    const body = message(a, secure.sessionId).body;
    const wrongKey = { body, signature: toBase64Url(signStatement(b.signingPrivateKey, body)) };
    const reply = await verify(secure, await masked(secure, a, null, wrongKey));
    expect(reply.error!.message).toMatch(/^invalid_signature: /);
  });

  it('with noiseAddition, needs at least the per-party noise share; without it, no declared noise', async () => {
    const [a] = parties as [Party];
    const sub = (v: number | null) => masked(noisy, a, v, message(a, noisy.sessionId));
    expect(await verify(noisy, await sub(required))).toMatchObject({ ok: true, result: { recordCount: 0 } });
    expect(await verify(noisy, await sub(required * (1 - 1e-12)))).toMatchObject({ ok: true });
    expect(await verify(noisy, await sub(required * 2))).toMatchObject({ ok: true });
    expect(await verify(noisy, await sub(required * 0.99))).toMatchObject({ ok: false, error: { code: 'submission_rejected' } });
    // μ / threshold (the share before it became μ / (threshold − 1)) no longer suffices
    expect(await verify(noisy, await sub(required / 2))).toMatchObject({ ok: false, error: { code: 'submission_rejected' } });
    expect(await verify(noisy, await sub(null))).toMatchObject({ ok: false, error: { code: 'submission_rejected' } });
    expect(await verify(secure, await masked(secure, a, 5))).toMatchObject({ ok: false, error: { code: 'submission_rejected' } });
  });
});
