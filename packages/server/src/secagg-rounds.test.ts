// The host's secure-aggregation round (docs/secure-aggregation.md): the stage machine, the relay of stage-0/1
// messages checked with the protocol's own functions, masked inputs through the submission pipeline, and
// the access rules. Parties play the client role with @tenzro/protocol's stage functions; the enclave is
// the real child process (it verifies every masked input).
import { generateSigningKeyPair, signStatement, toBase64Url } from '@tenzro/crypto';
import { SECAGG_TYPES, SecAggRoundResponse } from '@tenzro/protocol';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { PARTY, auditTypes, blobFiles, createTestSession, startTestServer, submitValid, demoData, type TestServer } from './harness.fixture.js';
import {
  advertiseMessage,
  consentAs,
  createSecAggSession,
  demoPlayer,
  extraPlayer,
  getRound,
  post,
  postMaskedInput,
  randomVector,
  sealMaskedInput,
  shareKeysMessage,
  type Player,
} from './secagg.fixture.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});
afterEach(() => {
  t.clockOffsetMs = 0;
});

const STAGE_TIMEOUT_MS = 120_000;

async function round(player: Player | 'regulator', sessionId: string): Promise<SecAggRoundResponse> {
  const response = await getRound(t, player, sessionId);
  expect(response.statusCode, response.body).toBe(200);
  return SecAggRoundResponse.parse(JSON.parse(response.body));
}

async function storedMessages(sessionId: string): Promise<number> {
  return (await t.server.ctx.db.selectFrom('secagg_messages').selectAll().where('session_id', '=', sessionId).execute()).length;
}

async function stageEvents(sessionId: string): Promise<Array<Record<string, unknown>>> {
  const rows = await t.server.ctx.db
    .selectFrom('audit_events')
    .select('payload_json')
    .where('session_id', '=', sessionId)
    .where('type', '=', 'secagg_stage_closed')
    .orderBy('seq')
    .execute();
  return rows.map((r) => JSON.parse(r.payload_json));
}

function trio(): Player[] {
  return [demoPlayer(t, 'bankA'), demoPlayer(t, 'bankB'), demoPlayer(t, 'bankC')];
}

async function quintet(): Promise<Player[]> {
  return [demoPlayer(t, 'bankA'), demoPlayer(t, 'bankB'), demoPlayer(t, 'bankC'), await extraPlayer(t, 'bankA', 'ops'), await extraPlayer(t, 'bankB', 'ops')];
}

describe('stages close when every expected party answered', () => {
  it.each([
    { n: 3, threshold: 2 },
    { n: 5, threshold: 3 },
  ])('plays $n parties (t = $threshold) through advertise, share-keys and masked-input', async ({ n, threshold }) => {
    const players = n === 3 ? trio() : await quintet();
    const session = await createSecAggSession(t, players, { threshold });
    const roster = players.map((p) => p.partyId);

    const initial = await round(players[0]!, session.id);
    expect(initial).toMatchObject({
      sessionId: session.id,
      stage: 'advertise',
      threshold,
      layout: 'risk-analyzer-v2/aggregates/v1',
      graph: { kind: 'complete' },
      stageDeadline: null,
      advertised: [],
      advertisements: null,
      shareKeys: null,
      unmaskRequest: null,
      error: null,
    });
    const { vectorLength, layout } = initial;
    expect(vectorLength).toBeGreaterThan(0);

    // Stage 0: the first advertisement opens the round; U1 is relayed once everybody advertised.
    const adverts: unknown[] = [];
    for (const [i, player] of players.entries()) {
      const before = Date.now();
      const message = advertiseMessage(player, session.terms, vectorLength);
      adverts.push(message);
      const response = await post(t, player, session.id, 'advertise', message);
      expect(response.statusCode, response.body).toBe(202);
      const body = SecAggRoundResponse.parse(JSON.parse(response.body));
      if (i === 0) {
        expect(Date.parse(body.stageDeadline!)).toBeGreaterThanOrEqual(before + STAGE_TIMEOUT_MS - 1_000);
        expect(Date.parse(body.stageDeadline!)).toBeLessThanOrEqual(Date.now() + STAGE_TIMEOUT_MS);
      }
      if (i < players.length - 1) {
        expect(body).toMatchObject({ stage: 'advertise', advertised: roster.slice(0, i + 1), advertisements: null });
      } else {
        expect(body.stage).toBe('share-keys');
        expect(body.advertisements).toEqual(adverts); // U1, in roster order, exactly as signed
      }
    }

    // Stage 1: U2 is relayed once every party of U1 shared keys.
    let current = await round(players[1]!, session.id);
    const shares: unknown[] = [];
    for (const player of players) {
      const message = shareKeysMessage(player, current.advertisements);
      shares.push(message);
      const response = await post(t, player, session.id, 'share-keys', message);
      expect(response.statusCode, response.body).toBe(202);
    }
    current = await round('regulator', session.id); // an observer may read the round
    expect(current.stage).toBe('masked-input');
    expect(current.sharedKeys).toEqual(roster);
    expect(current.shareKeys).toEqual(shares);

    // The session cannot run before the masked-input stage closed.
    for (const player of players) expect((await consentAs(t, player, session.id)).statusCode).toBe(201);
    const early = await t.inject(players[0]!.tenant, { method: 'POST', url: `/v1/sessions/${session.id}/runs`, headers: players[0]!.headers, payload: { prompt: 'go' } });
    expect(early.statusCode).toBe(409);
    expect(t.json(early).error.code).toBe('session_not_ready');
    expect(t.json(early).error.message).toMatch(/stage masked-input.*once the masked-input stage has closed/);

    // Stage 2: masked inputs are submissions; the stage closes with the last party of U2.
    for (const [i, player] of players.entries()) {
      const sealed = await sealMaskedInput(t, player, session.id, current.shareKeys, randomVector(vectorLength), layout);
      const response = await postMaskedInput(t, player, session.id, sealed);
      expect(response.statusCode, response.body).toBe(201);
      expect(t.json(response)).toMatchObject({ partyId: player.partyId, dataSchema: 'tenzro.secagg.masked-input/v1', commitmentScheme: 'salted', recordCount: 0 });
      expect(t.json(response).status).toBe(i < players.length - 1 ? 'collecting' : 'ready');
      const status = t.json(await t.inject(player.tenant, { method: 'GET', url: `/v1/sessions/${session.id}/status`, headers: player.headers }));
      expect(status.readyToRun).toBe(i === players.length - 1);
    }
    current = await round(players[0]!, session.id);
    expect(current).toMatchObject({ stage: 'awaiting-run', stageDeadline: null, maskedInputs: roster, unmaskRequest: null });

    const events = await stageEvents(session.id);
    expect(events.map((e) => [e.stage, e.reason, e.next])).toEqual([
      ['advertise', 'all_answered', 'share-keys'],
      ['share-keys', 'all_answered', 'masked-input'],
      ['masked-input', 'all_answered', 'awaiting-run'],
    ]);
    expect(events.every((e) => JSON.stringify(e.parties) === JSON.stringify(roster))).toBe(true);
    // Every masked input is a ciphertext on disk, nothing the host can read.
    for (const file of await blobFiles(t)) {
      const { readFile } = await import('node:fs/promises');
      const bytes = await readFile(t.server.ctx.blobs.path(file));
      expect(bytes.includes(Buffer.from('masked-contribution'))).toBe(false);
    }
  });
});

describe('deadlines', () => {
  it('closes a stage at its deadline with at least the threshold, and fails the round below it', async () => {
    const [a, b, c] = trio() as [Player, Player, Player];
    const session = await createSecAggSession(t, [a, b, c], { threshold: 2 });
    const { vectorLength } = await round(a, session.id);
    for (const player of [a, b]) expect((await post(t, player, session.id, 'advertise', advertiseMessage(player, session.terms, vectorLength))).statusCode).toBe(202);
    const lateAdvert = advertiseMessage(c, session.terms, vectorLength);

    t.clockOffsetMs = STAGE_TIMEOUT_MS - 5_000;
    expect((await round(a, session.id)).stage).toBe('advertise');
    t.clockOffsetMs = STAGE_TIMEOUT_MS + 1_000;
    const closed = await round(b, session.id);
    expect(closed.stage).toBe('share-keys');
    expect(closed.advertisements!.map((m) => (m.body as { partyId: string }).partyId)).toEqual([a.partyId, b.partyId]);
    expect((await stageEvents(session.id))[0]).toMatchObject({ stage: 'advertise', reason: 'deadline', parties: [a.partyId, b.partyId], missing: [c.partyId] });

    // Too late for C's advertisement; and C, outside U1, cannot share keys.
    const late = await post(t, c, session.id, 'advertise', lateAdvert);
    expect(late.statusCode).toBe(409);
    expect(t.json(late).error).toMatchObject({ code: 'secagg_stage_closed', message: expect.stringMatching(/advertise stage is not open.*closed/) });
    const outsider = await post(t, c, session.id, 'share-keys', {
      body: { type: SECAGG_TYPES.shareKeys, sessionId: session.id, partyId: c.partyId, ciphertexts: [] },
      signature: toBase64Url(signStatement(c.signingKey, { type: SECAGG_TYPES.shareKeys, sessionId: session.id, partyId: c.partyId, ciphertexts: [] })),
    });
    expect(outsider.statusCode).toBe(422);
    expect(t.json(outsider).error).toMatchObject({ code: 'secagg_rejected', message: expect.stringMatching(/^unknown_party: /) });

    // Only A shares keys: at the deadline 1 < t and the round fails.
    expect((await post(t, a, session.id, 'share-keys', shareKeysMessage(a, closed.advertisements))).statusCode).toBe(202);
    t.clockOffsetMs = 2 * STAGE_TIMEOUT_MS + 2_000;
    const failed = await round(a, session.id);
    expect(failed.stage).toBe('failed');
    expect(failed.stageDeadline).toBeNull();
    expect(failed.error).toEqual({ code: 'secagg_below_threshold', message: expect.stringMatching(/1 of 2 parties shared keys by the deadline, fewer than the threshold 2/) });
    expect((await stageEvents(session.id))[1]).toMatchObject({ stage: 'share-keys', outcome: 'failed', code: 'secagg_below_threshold' });

    const shareAfter = await post(t, b, session.id, 'share-keys', shareKeysMessage(b, closed.advertisements));
    expect(shareAfter.statusCode).toBe(409);
    expect(t.json(shareAfter).error.message).toMatch(/the round failed/);
    const run = await t.inject(a.tenant, { method: 'POST', url: `/v1/sessions/${session.id}/runs`, headers: a.headers, payload: { prompt: 'go' } });
    expect(run.statusCode).toBe(409);
    expect(t.json(run).error).toMatchObject({ code: 'session_not_ready', message: expect.stringMatching(/round failed \(secagg_below_threshold/) });
  });

  it('fails at the advertise deadline with fewer advertisements than the threshold', async () => {
    const [a, b, c] = trio() as [Player, Player, Player];
    const session = await createSecAggSession(t, [a, b, c], { threshold: 2 });
    const { vectorLength } = await round(a, session.id);
    expect((await post(t, a, session.id, 'advertise', advertiseMessage(a, session.terms, vectorLength))).statusCode).toBe(202);
    t.clockOffsetMs = STAGE_TIMEOUT_MS + 1_000;
    const failed = await round(c, session.id);
    expect(failed).toMatchObject({ stage: 'failed', advertisements: null, error: { code: 'secagg_below_threshold' } });
    void b;
  });

  it('takes masked inputs only from parties of U2, and closes masked-input at its deadline', async () => {
    const [a, b, c] = trio() as [Player, Player, Player];
    const session = await createSecAggSession(t, [a, b, c], { threshold: 2, minParticipants: 2 });
    const { vectorLength, layout } = await round(a, session.id);
    for (const player of [a, b, c]) await post(t, player, session.id, 'advertise', advertiseMessage(player, session.terms, vectorLength));
    const afterAdvertise = await round(a, session.id);

    // A masked input before its stage opened.
    const tooEarly = await t.inject(a.tenant, {
      method: 'POST',
      url: `/v1/sessions/${session.id}/secagg/masked-input`,
      headers: { ...a.headers, 'content-type': 'application/octet-stream', 'x-tenzro-data-schema': 'tenzro.secagg.masked-input/v1', 'x-tenzro-commitment': 'sha256:' + '0'.repeat(64), 'x-tenzro-commitment-scheme': 'salted' },
      payload: Buffer.from('x'),
    });
    expect(tooEarly.statusCode).toBe(409);
    expect(t.json(tooEarly).error).toMatchObject({ code: 'secagg_stage_closed', message: expect.stringMatching(/masked-input stage is not open \(it has not opened yet/) });

    for (const player of [a, b]) await post(t, player, session.id, 'share-keys', shareKeysMessage(player, afterAdvertise.advertisements));
    shareKeysMessage(c, afterAdvertise.advertisements); // C computes its shares but never sends them
    t.clockOffsetMs = STAGE_TIMEOUT_MS + 1_000;
    const u2 = await round(a, session.id);
    expect(u2.stage).toBe('masked-input');
    expect(u2.shareKeys!.map((m) => (m.body as { partyId: string }).partyId)).toEqual([a.partyId, b.partyId]);

    // C is not in U2: its masked input cannot be unmasked, so it is refused (and nothing is stored).
    const fromC = await t.inject(c.tenant, {
      method: 'POST',
      url: `/v1/sessions/${session.id}/secagg/masked-input`,
      headers: { ...c.headers, 'content-type': 'application/octet-stream', 'x-tenzro-data-schema': 'tenzro.secagg.masked-input/v1', 'x-tenzro-commitment': 'sha256:' + '0'.repeat(64), 'x-tenzro-commitment-scheme': 'salted' },
      payload: Buffer.from('x'),
    });
    expect(fromC.statusCode).toBe(422);
    expect(t.json(fromC).error).toMatchObject({ code: 'secagg_rejected', message: expect.stringMatching(/^unknown_party: .*not in U2/) });

    // The schema and scheme of a masked input are fixed.
    const sealed = await sealMaskedInput(t, a, session.id, u2.shareKeys, randomVector(vectorLength), layout);
    const wrongSchema = await postMaskedInput(t, a, session.id, sealed, { 'x-tenzro-data-schema': 'transaction_records_v1' });
    expect(wrongSchema.statusCode).toBe(422);
    expect(t.json(wrongSchema).error.code).toBe('unknown_schema');
    const plain = await postMaskedInput(t, a, session.id, sealed, { 'x-tenzro-commitment-scheme': 'plain' });
    expect(plain.statusCode).toBe(400);
    expect(t.json(plain).error.message).toMatch(/salted/);
    const observer = await t.inject('regulator', {
      method: 'POST',
      url: `/v1/sessions/${session.id}/secagg/masked-input`,
      headers: { 'content-type': 'application/octet-stream', 'x-tenzro-data-schema': 'tenzro.secagg.masked-input/v1', 'x-tenzro-commitment': sealed.commitment, 'x-tenzro-commitment-scheme': 'salted' },
      payload: Buffer.from(sealed.envelope),
    });
    expect(observer.statusCode).toBe(403);
    expect(await t.server.ctx.db.selectFrom('submissions').selectAll().where('session_id', '=', session.id).execute()).toEqual([]);

    expect((await postMaskedInput(t, a, session.id, sealed)).statusCode).toBe(201);
    // One of two: the stage waits for B until its deadline (opened when share-keys closed).
    t.clockOffsetMs = STAGE_TIMEOUT_MS + 61_000; // the masked-input stage opened at +121 s: its deadline is +241 s
    expect((await round(a, session.id)).stage).toBe('masked-input');
    const sealedB = await sealMaskedInput(t, b, session.id, u2.shareKeys, randomVector(vectorLength), layout);
    expect((await postMaskedInput(t, b, session.id, sealedB)).statusCode).toBe(201);
    expect(await round(b, session.id)).toMatchObject({ stage: 'awaiting-run', maskedInputs: [a.partyId, b.partyId] });

    // C dropped out after advertising and consented anyway: it does not hold the session back.
    for (const player of [c, a]) expect((await consentAs(t, player, session.id)).statusCode).toBe(201);
    const status = t.json(await t.inject(b.tenant, { method: 'GET', url: `/v1/sessions/${session.id}/status`, headers: b.headers }));
    expect(status).toMatchObject({ status: 'awaiting_consent', readyToRun: false });
    expect((await consentAs(t, b, session.id)).statusCode).toBe(201);
    const ready = t.json(await t.inject(b.tenant, { method: 'GET', url: `/v1/sessions/${session.id}/status`, headers: b.headers }));
    expect(ready).toMatchObject({ status: 'ready', readyToRun: true });
  });
});

describe('relayed messages are checked with the protocol and refused whole', () => {
  it('refuses a forged signature, another session, a repeated party, a reused key, and a closed stage; stores nothing', async () => {
    const [a, b, c] = trio() as [Player, Player, Player];
    const session = await createSecAggSession(t, [a, b, c], { threshold: 2 });
    const other = await createSecAggSession(t, [a, b, c], { threshold: 2 });
    const { vectorLength } = await round(a, session.id);

    const expectRejected = async (response: Awaited<ReturnType<typeof post>>, code: string) => {
      expect(response.statusCode, response.body).toBe(422);
      expect(t.json(response).error.code).toBe('secagg_rejected');
      expect(t.json(response).error.message).toMatch(new RegExp(`^${code}: secagg advertise: `));
    };

    // Forged: A's body signed with another key.
    const genuine = advertiseMessage(a, session.terms, vectorLength) as { body: { type: string } & Record<string, unknown>; signature: string };
    const forger = generateSigningKeyPair();
    await expectRejected(await post(t, a, session.id, 'advertise', { body: genuine.body, signature: toBase64Url(signStatement(forger.privateKey, genuine.body)) }), 'invalid_signature');
    // Another session's advertisement.
    await expectRejected(await post(t, a, session.id, 'advertise', advertiseMessage({ ...a }, other.terms, vectorLength)), 'wrong_session');
    // Not a message of this stage / not a message at all.
    await expectRejected(await post(t, a, session.id, 'advertise', { body: { ...genuine.body, type: SECAGG_TYPES.shareKeys }, signature: genuine.signature }), 'stage_out_of_order');
    const garbage = await post(t, a, session.id, 'advertise', { body: { partyId: a.partyId }, signature: 'x' });
    expect(t.json(garbage).error.message).toMatch(/^invalid_message: /);
    expect(await storedMessages(session.id)).toBe(0);
    expect((await round(a, session.id)).stageDeadline).toBeNull(); // nothing opened the round

    // The genuine one passes; the identical message again is a harmless retry; another one is a duplicate.
    expect((await post(t, a, session.id, 'advertise', genuine)).statusCode).toBe(202);
    const retry = await post(t, a, session.id, 'advertise', genuine);
    expect(retry.statusCode).toBe(202);
    expect(t.json(retry).advertised).toEqual([a.partyId]);
    await expectRejected(await post(t, a, session.id, 'advertise', advertiseMessage({ ...a }, session.terms, vectorLength)), 'duplicate_party');

    // B re-uses A's key (correctly signed by B): refused.
    const reused = { type: SECAGG_TYPES.advertise, sessionId: session.id, partyId: b.partyId, cPublicKey: genuine.body.cPublicKey, sPublicKey: (advertiseMessage({ ...b }, session.terms, vectorLength) as { body: { sPublicKey: string } }).body.sPublicKey };
    await expectRejected(await post(t, b, session.id, 'advertise', { body: reused, signature: toBase64Url(signStatement(b.signingKey, reused)) }), 'duplicate_key');
    expect(await storedMessages(session.id)).toBe(1);

    // share-keys before its stage opened.
    const early = await post(t, b, session.id, 'share-keys', { body: { type: SECAGG_TYPES.shareKeys, sessionId: session.id, partyId: b.partyId, ciphertexts: [] }, signature: 'A'.repeat(86) });
    expect(early.statusCode).toBe(409);
    expect(t.json(early).error).toMatchObject({ code: 'secagg_stage_closed', message: expect.stringMatching(/share-keys stage is not open \(it has not opened yet; the round is at advertise\)/) });

    // Closing the stage, then a message for it.
    for (const player of [b, c]) expect((await post(t, player, session.id, 'advertise', advertiseMessage(player, session.terms, vectorLength))).statusCode).toBe(202);
    const closed = await post(t, c, session.id, 'advertise', advertiseMessage({ ...c }, session.terms, vectorLength));
    expect(closed.statusCode).toBe(409);
    expect(t.json(closed).error.code).toBe('secagg_stage_closed');
    // …while the identical message already relayed is still answered (a retry after a lost reply).
    expect((await post(t, a, session.id, 'advertise', genuine)).statusCode).toBe(202);
    expect(await storedMessages(session.id)).toBe(3);

    // share-keys: a message that does not address exactly U1 minus the sender.
    const round1 = await round(a, session.id);
    const full = shareKeysMessage(a, round1.advertisements) as { body: { type: string; ciphertexts: unknown[] } & Record<string, unknown>; signature: string };
    const partial = { ...full.body, ciphertexts: full.body.ciphertexts.slice(1) };
    const response = await post(t, a, session.id, 'share-keys', { body: partial, signature: toBase64Url(signStatement(a.signingKey, partial)) });
    expect(response.statusCode).toBe(422);
    expect(t.json(response).error.message).toMatch(/^invalid_message: secagg share-keys: .*exactly one ciphertext to every other party of U1/);
    expect(await storedMessages(session.id)).toBe(3);
  });

  it('lets a participant send only its own messages; observers and outsiders send none', async () => {
    const [a, b, c] = trio() as [Player, Player, Player];
    const session = await createSecAggSession(t, [a, b], { threshold: 2 });
    const { vectorLength } = await round(a, session.id);
    const bMessage = advertiseMessage(b, session.terms, vectorLength);

    const impersonation = await post(t, a, session.id, 'advertise', bMessage);
    expect(impersonation.statusCode).toBe(403);
    expect(t.json(impersonation).error).toMatchObject({ code: 'forbidden', message: expect.stringMatching(/may only send its own messages/) });
    const observer = await t.inject('regulator', { method: 'POST', url: `/v1/sessions/${session.id}/secagg/advertise`, payload: bMessage as object });
    expect(observer.statusCode).toBe(403);
    const outsider = await post(t, c, session.id, 'advertise', { body: { partyId: c.partyId }, signature: 'x' });
    expect(outsider.statusCode).toBe(404);
    expect((await getRound(t, c, session.id)).statusCode).toBe(404);
    expect(await storedMessages(session.id)).toBe(0);
    const denials = await t.server.ctx.db.selectFrom('audit_events').select(['payload_json', 'actor_party']).where('session_id', '=', session.id).where('type', '=', 'access_denied').orderBy('seq').execute();
    expect(denials.map((d) => JSON.parse(d.payload_json).code)).toEqual(['forbidden', 'forbidden', 'not_found', 'not_found']);

    // An unauthenticated body is refused at the boundary.
    const malformed = await post(t, a, session.id, 'advertise', { body: {}, signature: 'x', extra: true });
    expect(malformed.statusCode).toBe(400);
  });
});

describe('the rest of the session API on a secure_aggregation session', () => {
  it('refuses POST /data with secure_aggregation_required, pointing at platform.ai.contribute', async () => {
    const session = await createSecAggSession(t, trio(), { threshold: 2 });
    const response = await submitValid(t, 'bankB', session.id, demoData('bankB'));
    expect(response.statusCode).toBe(422);
    expect(t.json(response).error.code).toBe('secure_aggregation_required');
    expect(t.json(response).error.message).toContain('platform.ai.contribute({ sessionId, data, dataSchema })');
    const observer = await submitValid(t, 'regulator', session.id, demoData('bankB'));
    expect(observer.statusCode).toBe(403);
    expect(await t.server.ctx.db.selectFrom('submissions').selectAll().where('session_id', '=', session.id).execute()).toEqual([]);
    expect(await auditTypes(t, session.id)).toEqual(['session_created', 'key_issued', 'session_joined', 'session_joined', 'access_denied']);
  });

  it('answers GET /secagg on a federated session with 409 conflict', async () => {
    const session = await createTestSession(t);
    const response = await t.inject('bankA', { method: 'GET', url: `/v1/sessions/${session.id}/secagg` });
    expect(response.statusCode).toBe(409);
    expect(t.json(response).error).toMatchObject({ code: 'conflict', message: expect.stringMatching(/uses aggregationMethod federated, not secure_aggregation/) });
    const advertise = await t.inject('bankA', { method: 'POST', url: `/v1/sessions/${session.id}/secagg/advertise`, payload: { body: { partyId: PARTY.bankA }, signature: 'x' } });
    expect(advertise.statusCode).toBe(409);
  });

  it('creates the round with the session, and refuses a roster the protocol cannot run', async () => {
    const session = await createSecAggSession(t, trio(), { threshold: 2 });
    const row = await t.server.ctx.db.selectFrom('secagg_rounds').selectAll().where('session_id', '=', session.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ stage: 'advertise', layout: 'risk-analyzer-v2/aggregates/v1', stage_opened_at: null, stage_deadline: null });
    const below = await t.inject('bankA', {
      method: 'POST',
      url: '/v1/sessions',
      payload: { name: 'x', modelId: 'risk-analyzer-v2', participants: [PARTY.bankA, PARTY.bankB, PARTY.bankC], dataPolicy: { aggregationMethod: 'secure_aggregation', secureAggConfig: { threshold: 1, noiseAddition: false } } },
    });
    expect(below.statusCode).toBe(422);
    expect(t.json(below).error.code).toBe('invalid_data_policy');
  });

  it('refuses at creation a noise target whose per-party share cannot be sampled and encoded (ε = 0.001), storing nothing; accepts ε = 1', async () => {
    const create = (epsilon: number) =>
      t.inject('bankA', {
        method: 'POST',
        url: '/v1/sessions',
        payload: {
          name: `noise ${epsilon}`,
          modelId: 'risk-analyzer-v2',
          participants: [PARTY.bankA, PARTY.bankB, PARTY.bankC],
          dataPolicy: { aggregationMethod: 'secure_aggregation', secureAggConfig: { threshold: 2, noiseAddition: true, differentialPrivacy: { epsilon, delta: 1e-5 } } },
        },
      });
    const count = async () => ({
      sessions: (await t.server.ctx.db.selectFrom('sessions').select('id').execute()).length,
      rounds: (await t.server.ctx.db.selectFrom('secagg_rounds').select('session_id').execute()).length,
      audit: (await t.server.ctx.db.selectFrom('audit_events').select('seq').where('type', '=', 'session_created').execute()).length,
    });
    const before = await count();
    const tiny = await create(0.001);
    expect(tiny.statusCode, tiny.body).toBe(422);
    expect(t.json(tiny).error).toMatchObject({
      code: 'invalid_data_policy',
      message: expect.stringMatching(/differential-privacy target epsilon = 0\.001, delta = 0\.00001 needs Skellam variance .* from each party \(threshold 2\), more than a party can sample and encode/),
    });
    expect(await count()).toEqual(before);
    const one = await create(1);
    expect(one.statusCode, one.body).toBe(201);
    expect(t.json(one).dataPolicy.secureAggConfig).toMatchObject({ noiseAddition: true, differentialPrivacy: { epsilon: 1, delta: 1e-5 } });
    expect(await count()).toEqual({ sessions: before.sessions + 1, rounds: before.rounds + 1, audit: before.audit + 1 });
  });

  it('documents every secure-aggregation route in the OpenAPI document', async () => {
    const document = t.json(await t.inject(null, { method: 'GET', url: '/openapi.json' }));
    const base = '/v1/sessions/{sessionId}/secagg';
    expect(document.paths[base].get.operationId).toBe('getSecAggRound');
    expect(document.paths[`${base}/advertise`].post.operationId).toBe('secAggAdvertise');
    expect(document.paths[`${base}/share-keys`].post.operationId).toBe('secAggShareKeys');
    expect(document.paths[`${base}/masked-input`].post.requestBody.content).toHaveProperty('application/octet-stream');
    expect(document.paths[`${base}/unmask`].post.responses['409'].description).toMatch(/secagg_stage_closed/);
    expect(document.paths[`${base}/advertise`].post.responses['422'].description).toMatch(/secagg_rejected/);
    expect(document.paths['/v1/sessions/{sessionId}/data'].post.responses['422'].description).toMatch(/secure_aggregation_required/);
  });
});
