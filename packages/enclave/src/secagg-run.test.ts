// Secure aggregation over the real enclave process (docs/secure-aggregation.md, Enclave): parties run the
// client role of Bonawitz et al. on their statistic vectors, the test plays the host, the enclave plays the
// server role. Masks cancel (the decoded sum is the plain sum), dropouts before and after the masked input
// (n = 5, t = 3), below threshold, minParticipants over survivors, and forged relayed messages.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULT_INFO, fromBase64Url, openEnvelope, parseStrictJson, ringVectorFromBytes, signStatement, toBase64Url, utf8Decode } from '@tenzro/crypto';
import { decodeStatisticSum } from '@tenzro/models';
import {
  HelloResult,
  ResultBody,
  RunResult,
  SECAGG_UNMASK_ENVELOPE_TYPE,
  aggregatedDataHash,
  reportDigest,
  resultHash,
  verifyAttestation,
} from '@tenzro/protocol';
import { EnclaveProcess, tempDir } from '../test/enclave-process.js';
import {
  MODEL_ID,
  consentsOf,
  hostRequest,
  plainSum,
  readJson,
  runParams,
  sealUnmask,
  secaggParties,
  setupRound,
  unmaskAnswers,
  type Round,
} from '../test/secagg-fixture.js';
import { makeParty, type Party } from '../test/session-fixture.js';

describe('run (secure_aggregation)', () => {
  let enclave: EnclaveProcess;
  let hello: ReturnType<typeof HelloResult.parse>;
  let blobDir: string;
  let captureDir: string;
  let parties: Party[];
  let observer: Party;
  let digest: string;

  beforeAll(async () => {
    captureDir = await tempDir('tenzro-enclave-capture-');
    const previous = process.env.TENZRO_ENCLAVE_CAPTURE_DIR;
    process.env.TENZRO_ENCLAVE_CAPTURE_DIR = captureDir;
    try {
      enclave = EnclaveProcess.start(await tempDir('tenzro-enclave-secagg-'));
    } finally {
      if (previous === undefined) delete process.env.TENZRO_ENCLAVE_CAPTURE_DIR;
      else process.env.TENZRO_ENCLAVE_CAPTURE_DIR = previous;
    }
    hello = HelloResult.parse(await enclave.call('hello'));
    digest = hello.models.find((m) => m.modelId === MODEL_ID)!.modelDigest;
    blobDir = await tempDir('tenzro-enclave-secagg-blobs-');
    parties = await secaggParties(5);
    observer = await makeParty('party::regulator::supervision');
  });
  afterAll(async () => {
    await enclave.stop();
  });

  async function captureOf(round: Round, runId = 'run_1'): Promise<any> {
    const files = (await readdir(captureDir)).filter((f) => f.startsWith(`secagg-${round.sessionId}-`) && f.includes(runId.replace(/[^A-Za-z0-9_-]/g, '_')));
    expect(files).toHaveLength(1);
    return readJson(join(captureDir, files[0]!));
  }

  it('hello announces secure_aggregation for the model', () => {
    expect(hello.models.find((m) => m.modelId === MODEL_ID)!.methods).toEqual(['federated', 'secure_aggregation', 'mpc']);
  });

  it('masks cancel: the decoded sum is the plain sum of the parties’ statistics; report, attestation and sealed results', async () => {
    const round = await setupRound(enclave, blobDir, digest, parties, { n: 3, threshold: 2, observers: [observer] });
    const ids = round.parties.map((p) => p.partyId);
    const request = hostRequest(round, ids);
    const unmask = await unmaskAnswers(round, blobDir, request, 'run_1', ids);
    const reply = await enclave.request('run', runParams(round, { advertisements: round.advertisements, shareKeys: round.shareKeys, unmask }));
    expect(reply.error).toBeUndefined();
    const result = RunResult.parse(reply.result);
    const { report } = result;
    const sorted = [...ids].sort();
    expect(report).toMatchObject({ sessionId: round.sessionId, runId: 'run_1', modelId: MODEL_ID, participantCount: 3, includedParties: sorted });
    expect(report.aggregatedDataHash).toBe(aggregatedDataHash(round.submissions.map((s) => ({ partyId: s.partyId, commitment: s.commitment }))));
    expect(Object.keys(result.timings).sort()).toEqual(['decryptVerifyMs', 'reportMs', 'trainMs', 'unmaskMs']);
    await verifyAttestation(result.attestation, { roots: [hello.rootPem], expectedMeasurements: [hello.measurement], expectedUserData: reportDigest(report) });

    // The sum the enclave unmasked decodes to the plain sum.
    const capture = await captureOf(round);
    expect(capture.request).toEqual(request);
    const sum = ringVectorFromBytes(fromBase64Url(capture.sum));
    expect(decodeStatisticSum(round.layout, sum, 3)).toEqual(plainSum(round, ids));

    // One sealed body per survivor, then the observer; each opens only with its recipient's key.
    expect(result.sealedResults.map((s) => s.partyId)).toEqual([...sorted, observer.partyId]);
    const everyone = new Map([...round.parties, observer].map((p) => [p.partyId, p]));
    for (const { partyId, sealed } of result.sealedResults) {
      const plaintext = await openEnvelope(everyone.get(partyId)!.encryptionPrivateKey, fromBase64Url(sealed), { info: RESULT_INFO });
      const body = ResultBody.parse(parseStrictJson(utf8Decode(plaintext)));
      expect(body.recipient).toBe(partyId);
      expect(resultHash(body.shared)).toBe(report.resultHash);
    }
  });

  it('recovers from one dropout before its masked input and one after it (n = 5, t = 3)', async () => {
    const round = await setupRound(enclave, blobDir, digest, parties, { n: 5, threshold: 3, dropBeforeMasked: [3] });
    const ids = round.parties.map((p) => p.partyId);
    const included = ids.filter((_, i) => i !== 3); // 0, 1, 2, 4 sent masked inputs
    const request = hostRequest(round, included);
    expect(request.pairwiseKeyShares).toEqual([ids[3]]);
    // party 4 drops after its masked input: it never answers the unmask request.
    const unmask = await unmaskAnswers(round, blobDir, request, 'run_1', [ids[0]!, ids[1]!, ids[2]!]);
    const reply = await enclave.request('run', runParams(round, { advertisements: round.advertisements, shareKeys: round.shareKeys, unmask }));
    expect(reply.error).toBeUndefined();
    expect(reply.result.report.includedParties).toEqual([...included].sort());
    const capture = await captureOf(round);
    const sum = ringVectorFromBytes(fromBase64Url(capture.sum));
    expect(decodeStatisticSum(round.layout, sum, included.length)).toEqual(plainSum(round, included));
    // the dropped party's pairwise key was revealed, never its self mask; survivors' self masks only
    expect(capture.shares.filter((s: any) => s.of === ids[3]).every((s: any) => s.kind === 'pairwise-key')).toBe(true);
    expect(capture.shares.filter((s: any) => s.of !== ids[3]).every((s: any) => s.kind === 'self-mask')).toBe(true);
  });

  it('below threshold: too few unmask answers, or too few masked inputs → secagg_below_threshold', async () => {
    const round = await setupRound(enclave, blobDir, digest, parties, { n: 5, threshold: 3 });
    const ids = round.parties.map((p) => p.partyId);
    const request = hostRequest(round, ids);
    const two = await unmaskAnswers(round, blobDir, request, 'run_1', ids.slice(0, 2));
    const reply = await enclave.request('run', runParams(round, { advertisements: round.advertisements, shareKeys: round.shareKeys, unmask: two }));
    expect(reply).toMatchObject({ ok: false, error: { code: 'secagg_below_threshold' } });

    const few = await setupRound(enclave, blobDir, digest, parties, { n: 5, threshold: 3, dropBeforeMasked: [2, 3, 4] });
    const fewIds = few.parties.map((p) => p.partyId);
    const fewRequest = hostRequest(few, fewIds.slice(0, 2));
    // the clients refuse a request with fewer than t survivors, so the host has no answers to pass
    const replyFew = await enclave.request('run', runParams(few, { advertisements: few.advertisements, shareKeys: few.shareKeys, unmask: [] }));
    expect(replyFew).toMatchObject({ ok: false, error: { code: 'secagg_below_threshold' } });
    expect(fewRequest.selfMaskShares).toHaveLength(2);
  });

  it('minParticipants applies to the survivors', async () => {
    const round = await setupRound(enclave, blobDir, digest, parties, { n: 5, threshold: 3, minParticipants: 5, dropBeforeMasked: [4] });
    const ids = round.parties.map((p) => p.partyId);
    const request = hostRequest(round, ids.slice(0, 4));
    const unmask = await unmaskAnswers(round, blobDir, request, 'run_1', ids.slice(0, 4));
    const reply = await enclave.request('run', runParams(round, { advertisements: round.advertisements, shareKeys: round.shareKeys, unmask }));
    expect(reply).toMatchObject({ ok: false, error: { code: 'session_not_ready' } });
  });

  it('a party without consent is left out: its pairwise key is asked for instead, and the sum is of the others', async () => {
    const round = await setupRound(enclave, blobDir, digest, parties, { n: 5, threshold: 3 });
    const ids = round.parties.map((p) => p.partyId);
    const included = ids.slice(1);
    const request = hostRequest(round, included);
    const unmask = await unmaskAnswers(round, blobDir, request, 'run_1', included);
    const reply = await enclave.request(
      'run',
      runParams(round, { advertisements: round.advertisements, shareKeys: round.shareKeys, unmask }, { consents: consentsOf(round, round.parties.slice(1)) }),
    );
    expect(reply.error).toBeUndefined();
    expect(reply.result.report.includedParties).toEqual([...included].sort());
    const capture = await captureOf(round);
    expect(capture.maskedInputs.map((m: any) => m.partyId).sort()).toEqual([...included].sort()); // never opened
    const sum = ringVectorFromBytes(fromBase64Url(capture.sum));
    expect(decodeStatisticSum(round.layout, sum, included.length)).toEqual(plainSum(round, included));
  });

  it('refuses forged relayed stage messages: wrong signature, other session, duplicate party (secagg_rejected)', async () => {
    const round = await setupRound(enclave, blobDir, digest, parties, { n: 3, threshold: 2 });
    const ids = round.parties.map((p) => p.partyId);
    const request = hostRequest(round, ids);
    const unmask = await unmaskAnswers(round, blobDir, request, 'run_1', ids);
    const run = (advertisements: unknown[], shareKeys: unknown[]) => enclave.request('run', runParams(round, { advertisements, shareKeys, unmask }));

    const [a0, ...restAdverts] = round.advertisements;
    const badSignature = { ...a0!, signature: toBase64Url(new Uint8Array(64).fill(7)) };
    const forged = await run([badSignature, ...restAdverts], round.shareKeys);
    expect(forged).toMatchObject({ ok: false, error: { code: 'secagg_rejected' } });
    expect(forged.error!.message).toMatch(/^invalid_signature: /);

    const otherBody = { ...a0!.body, sessionId: 'mps_bbbbbbbbbbbbbbbbbbbbbbbbbb' };
    const otherSession = { body: otherBody, signature: toBase64Url(signStatement(round.parties[0]!.signingPrivateKey, otherBody)) };
    const wrong = await run([otherSession, ...restAdverts], round.shareKeys);
    expect(wrong).toMatchObject({ ok: false, error: { code: 'secagg_rejected' } });
    expect(wrong.error!.message).toMatch(/^wrong_session: /);

    const duplicate = await run(round.advertisements, [...round.shareKeys, round.shareKeys[0]!]);
    expect(duplicate).toMatchObject({ ok: false, error: { code: 'secagg_rejected' } });
    expect(duplicate.error!.message).toMatch(/^duplicate_party: /);

    const stage = await run(round.advertisements, [round.advertisements[0]!, ...round.shareKeys.slice(1)]);
    expect(stage).toMatchObject({ ok: false, error: { code: 'secagg_rejected' } });
    expect(stage.error!.message).toMatch(/^stage_out_of_order: /);

    // missing inputs altogether
    const { secagg: _, ...withoutSecagg } = runParams(round, { advertisements: [], shareKeys: [], unmask: [] });
    expect(await enclave.request('run', withoutSecagg)).toMatchObject({ ok: false, error: { code: 'invalid_request' } });

    // the untouched inputs run
    expect(await run(round.advertisements, round.shareKeys)).toMatchObject({ ok: true });
  });

  it('sets aside an unmask envelope for another run, another session or another party, and answers to another request', async () => {
    const round = await setupRound(enclave, blobDir, digest, parties, { n: 5, threshold: 3 });
    const ids = round.parties.map((p) => p.partyId);
    const request = hostRequest(round, ids);
    const good = await unmaskAnswers(round, blobDir, request, 'run_1', ids.slice(0, 2));
    // three answers, one of them sealed for another run: only two count → below threshold
    const otherRun = await unmaskAnswers(round, blobDir, request, 'run_0', [ids[2]!]);
    const reply = await enclave.request('run', runParams(round, { advertisements: round.advertisements, shareKeys: round.shareKeys, unmask: [...good, ...otherRun] }));
    expect(reply).toMatchObject({ ok: false, error: { code: 'secagg_below_threshold' } });

    // the same message under another party's channel entry, and an envelope naming another session
    const [first] = await unmaskAnswers(round, blobDir, request, 'run_1', [ids[3]!]);
    const message = round.unmasked.get(ids[3]!)!;
    const misfiled = { partyId: ids[4]!, blobPath: first!.blobPath };
    const otherSession = {
      partyId: ids[3]!,
      blobPath: await sealUnmask(round, blobDir, ids[3]!, { type: SECAGG_UNMASK_ENVELOPE_TYPE, sessionId: 'mps_bbbbbbbbbbbbbbbbbbbbbbbbbb', runId: 'run_1', unmask: message }),
    };
    for (const odd of [misfiled, otherSession]) {
      const r = await enclave.request('run', runParams(round, { advertisements: round.advertisements, shareKeys: round.shareKeys, unmask: [...good, odd] }));
      expect(r).toMatchObject({ ok: false, error: { code: 'secagg_below_threshold' } });
    }
    // with the genuine third answer the run goes through
    const third = { partyId: ids[3]!, blobPath: first!.blobPath };
    expect(await enclave.request('run', runParams(round, { advertisements: round.advertisements, shareKeys: round.shareKeys, unmask: [...good, third] }))).toMatchObject({
      ok: true,
    });
  });

  it('answers to a request other than the one the enclave derives do not count', async () => {
    const round = await setupRound(enclave, blobDir, digest, parties, { n: 5, threshold: 3 });
    const ids = round.parties.map((p) => p.partyId);
    // the host tells the parties that party 4 dropped, yet passes its masked input to the enclave
    const lie = hostRequest(round, ids.slice(0, 4));
    const unmask = await unmaskAnswers(round, blobDir, lie, 'run_1', ids.slice(0, 4));
    const reply = await enclave.request('run', runParams(round, { advertisements: round.advertisements, shareKeys: round.shareKeys, unmask }));
    expect(reply).toMatchObject({ ok: false, error: { code: 'secagg_below_threshold' } });
    const capture = await captureOf(round);
    expect(capture.sum).toBeNull();
  });

  it('never writes data or shares to stderr', () => {
    const log = enclave.stderrText();
    expect(log).not.toMatch(/"share"|maskedInput/);
  });
});
