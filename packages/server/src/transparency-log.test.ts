// The verifiable audit trail of issue 3, host side: every audit entry is an RFC 9162 leaf appended in the
// transaction of the change it records; signed tree heads, inclusion and consistency proofs verify with
// @tenzro/crypto against the published log key; the seed flow's events carry the pinned payloads; the
// enclave's deletion statements are attested.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  canonicalBytes,
  fromBase64Url,
  merkleRoot,
  verifyConsistency,
  verifyInclusion,
  verifyStatement,
} from '@tenzro/crypto';
import {
  ConsentRecordedPayload,
  DataSubmittedPayload,
  DeletionAttestedPayload,
  KeyIssuedPayload,
  LogKeyResponse,
  ResultReleasedPayload,
  SessionCreatedPayload,
  SessionTrailResponse,
  SignedTreeHead,
  auditLeafHash,
  deletionStatementDigest,
  logIdOf,
  reportDigest,
  reportHash,
  sessionKeyUserData,
  sha256Tagged,
  verifyAttestation,
  verifyConsentSignature,
  type AuditEvent,
  type SessionTrailResponse as Trail,
} from '@tenzro/protocol';
import {
  PARTY,
  consent,
  createTestSession,
  demoData,
  refuseInserts,
  startTestServer,
  submitValid,
  uploadData,
  type DemoName,
  type TestServer,
} from './harness.fixture.js';
import { parseTerms } from './domain/access.js';
import { AnchorPublisher, type LedgerAnchor } from './log/anchor.js';
import { loadOrCreateLogKey } from './log/log-key.js';
import { TransparencyLog } from './log/transparency-log.js';
import { createLogger } from './logger.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

async function logSize(): Promise<number> {
  const row = await t.server.ctx.db.selectFrom('audit_events').select((eb) => eb.fn.countAll<number>().as('n')).where('log_index', 'is not', null).executeTakeFirstOrThrow();
  return Number(row.n);
}

async function nodeCount(): Promise<number> {
  const row = await t.server.ctx.db.selectFrom('merkle_nodes').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

async function publishedKey(): Promise<Uint8Array> {
  const response = await t.inject(null, { method: 'GET', url: '/.well-known/tenzro-log-key' });
  expect(response.statusCode).toBe(200);
  return fromBase64Url(LogKeyResponse.parse(t.json(response)).publicKey);
}

async function treeHead(who: DemoName = 'bankA'): Promise<SignedTreeHead> {
  const response = await t.inject(who, { method: 'GET', url: '/v1/log/tree-head' });
  expect(response.statusCode, response.body).toBe(200);
  return SignedTreeHead.parse(t.json(response));
}

async function trail(who: DemoName, sessionId: string): Promise<Trail> {
  const response = await t.inject(who, { method: 'GET', url: `/v1/sessions/${sessionId}/trail` });
  expect(response.statusCode, response.body).toBe(200);
  return SessionTrailResponse.parse(t.json(response));
}

/** What a party checks offline: the head's signature under the published key, and every inclusion proof. */
function checkTrail(body: Trail, publicKey: Uint8Array): void {
  const { treeHead, signature } = body.signedTreeHead;
  expect(treeHead.logId).toBe(logIdOf(publicKey));
  expect(verifyStatement(publicKey, treeHead, fromBase64Url(signature))).toBe(true);
  const root = fromBase64Url(treeHead.rootHash);
  body.entries.forEach((entry, n) => {
    expect(entry.event.sessionSeq).toBe(n);
    if (n > 0) expect(entry.event.logIndex).toBeGreaterThan(body.entries[n - 1]!.event.logIndex);
    const ok = verifyInclusion({
      leafHash: auditLeafHash(entry.event),
      index: entry.event.logIndex,
      treeSize: treeHead.treeSize,
      proof: entry.proof.map((p) => fromBase64Url(p)),
      root,
    });
    expect(ok, `inclusion of ${entry.event.kind} #${entry.event.logIndex}`).toBe(true);
  });
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const value = await probe();
    if (value !== undefined) return value;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function kinds(sessionId: string): Promise<string[]> {
  const rows = await t.server.ctx.db.selectFrom('audit_events').select('type').where('session_id', '=', sessionId).orderBy('seq').execute();
  return rows.map((r) => r.type);
}

function payloadsOf(body: Trail, kind: AuditEvent['kind']): Record<string, unknown>[] {
  return body.entries.filter((e) => e.event.kind === kind).map((e) => e.event.payload);
}

describe('appending is atomic with the state change', () => {
  it('a refused audit row rolls back the consent, and leaves no leaf and no node', async () => {
    const session = await createTestSession(t);
    const [size, nodes] = [await logSize(), await nodeCount()];
    const allow = await refuseInserts(t, { table: 'audit_events', auditType: 'consent_recorded' });
    try {
      expect((await consent(t, 'bankA', session.id)).statusCode).toBe(500);
    } finally {
      await allow();
    }
    expect(await t.server.ctx.db.selectFrom('consents').selectAll().where('session_id', '=', session.id).execute()).toEqual([]);
    expect([await logSize(), await nodeCount()]).toEqual([size, nodes]);
  });

  it('a refused Merkle node rolls back the consent and its audit row', async () => {
    const session = await createTestSession(t);
    const [size, nodes] = [await logSize(), await nodeCount()];
    const allow = await refuseInserts(t, { table: 'merkle_nodes' });
    try {
      expect((await consent(t, 'bankA', session.id)).statusCode).toBe(500);
    } finally {
      await allow();
    }
    expect(await t.server.ctx.db.selectFrom('consents').selectAll().where('session_id', '=', session.id).execute()).toEqual([]);
    expect(await kinds(session.id)).toEqual(['session_created', 'key_issued']);
    expect([await logSize(), await nodeCount()]).toEqual([size, nodes]);
    // the log goes on without a gap
    expect((await consent(t, 'bankA', session.id)).statusCode).toBe(201);
    expect(await logSize()).toBe(size + 1);
  });

  it('stores each leaf as JCS(event) with leafHash(JCS(event)), log indexes 0…n−1, and nodes that rebuild the root', async () => {
    const rows = await t.server.ctx.db
      .selectFrom('audit_events')
      .select(['log_index', 'event_json', 'leaf_hash'])
      .where('log_index', 'is not', null)
      .orderBy('log_index')
      .execute();
    expect(rows.map((r) => Number(r.log_index))).toEqual(rows.map((_, n) => n));
    const leaves = rows.map((r) => {
      const event = JSON.parse(r.event_json!) as AuditEvent;
      expect(new TextDecoder().decode(canonicalBytes(event))).toBe(r.event_json);
      expect(Buffer.from(auditLeafHash(event)).toString('hex')).toBe(r.leaf_hash);
      return auditLeafHash(event);
    });
    const head = await treeHead();
    expect(head.treeHead.treeSize).toBe(rows.length);
    expect(head.treeHead.rootHash).toBe(Buffer.from(merkleRoot(leaves)).toString('base64url'));
  });
});

describe('log key and tree heads', () => {
  it('publishes the key without authentication at both routes, kept 0600 in dataDir/log', async () => {
    const wellKnown = await t.inject(null, { method: 'GET', url: '/.well-known/tenzro-log-key' });
    const v1 = await t.inject(null, { method: 'GET', url: '/v1/log/key' });
    expect(v1.statusCode).toBe(200);
    expect(t.json(v1)).toEqual(t.json(wellKnown));
    const key = LogKeyResponse.parse(t.json(wellKnown));
    expect(key.logId).toBe(logIdOf(fromBase64Url(key.publicKey)));
    expect((await stat(join(t.dataDir, 'log', 'log-key.json'))).mode & 0o777).toBe(0o600);
    expect((await t.inject(null, { method: 'GET', url: '/v1/log/tree-head' })).statusCode).toBe(401);
  });

  it('signs heads lazily: none on append, one per size, reused while the log does not grow', async () => {
    const first = await treeHead();
    expect(verifyStatement(await publishedKey(), first.treeHead, fromBase64Url(first.signature))).toBe(true);
    expect(await treeHead('bankB')).toEqual(first);
    const headsBefore = await t.server.ctx.db.selectFrom('tree_heads').selectAll().execute();
    await createTestSession(t);
    expect(await t.server.ctx.db.selectFrom('tree_heads').selectAll().execute()).toEqual(headsBefore);
    const second = await treeHead();
    expect(second.treeHead.treeSize).toBe(first.treeHead.treeSize + 2);
    const stored = await t.server.ctx.db.selectFrom('tree_heads').selectAll().where('tree_size', '=', second.treeHead.treeSize).execute();
    expect(stored.map((r) => r.signature)).toEqual([second.signature]);
  });

  it('serves consistency proofs between two heads that verify, and refuses impossible sizes', async () => {
    const older = await treeHead();
    const session = await createTestSession(t);
    await consent(t, 'bankA', session.id);
    const newer = await treeHead();
    const response = await t.inject('bankC', {
      method: 'GET',
      url: `/v1/log/consistency?from=${older.treeHead.treeSize}&to=${newer.treeHead.treeSize}`,
    });
    expect(response.statusCode, response.body).toBe(200);
    const body = t.json(response);
    expect(body.from).toBe(older.treeHead.treeSize);
    expect(body.to).toBe(newer.treeHead.treeSize);
    const check = {
      size1: older.treeHead.treeSize,
      size2: newer.treeHead.treeSize,
      root1: fromBase64Url(older.treeHead.rootHash),
      root2: fromBase64Url(newer.treeHead.rootHash),
      proof: (body.proof as string[]).map((p) => fromBase64Url(p)),
    };
    expect(verifyConsistency(check)).toBe(true);
    expect(verifyConsistency({ ...check, root1: fromBase64Url(newer.treeHead.rootHash) })).toBe(false);

    const same = t.json(await t.inject('bankA', { method: 'GET', url: `/v1/log/consistency?from=3&to=3` }));
    expect(same).toEqual({ from: 3, to: 3, proof: [] });
    const size = newer.treeHead.treeSize;
    for (const query of [`from=0&to=${size}`, `from=2&to=1`, `from=1&to=${size + 1000}`, 'from=1', `from=1&to=2&x=1`, 'from=a&to=2']) {
      const refused = await t.inject('bankA', { method: 'GET', url: `/v1/log/consistency?${query}` });
      expect(refused.statusCode, query).toBe(400);
      expect(t.json(refused).error.code).toBe('invalid_request');
    }
  });

  it('hands each newly signed head to the ledger anchors, logs a failure and publishes the next head instead', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tenzro-anchor-'));
    try {
      const published: number[] = [];
      let fail = true;
      const anchor: LedgerAnchor = {
        name: 'test-ledger',
        async publish(sth) {
          if (fail) throw new Error('ledger down');
          published.push(sth.treeHead.treeSize);
        },
      };
      const anchors = new AnchorPublisher([anchor], createLogger({ level: 'silent' }));
      const log = new TransparencyLog({
        db: t.server.ctx.db,
        dialect: t.server.ctx.dialect,
        key: await loadOrCreateLogKey(dir),
        anchors,
        clock: () => new Date(),
      });
      const a = await log.currentHead();
      await anchors.idle();
      expect(published).toEqual([]); // failed, not retried on its own
      fail = false;
      await log.currentHead(); // same size: no new head, nothing to publish
      await anchors.idle();
      expect(published).toEqual([]);
      await createTestSession(t);
      const b = await log.currentHead();
      await anchors.idle();
      expect(b.treeHead.treeSize).toBeGreaterThan(a.treeHead.treeSize);
      expect(published).toEqual([b.treeHead.treeSize]);
      expect(() => new AnchorPublisher([{ name: 'x' } as unknown as LedgerAnchor], createLogger({ level: 'silent' }))).toThrow(
        /anchors\[0\] must be a LedgerAnchor/,
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('the seed flow, as each party checks it', () => {
  it('logs every event with its pinned payload, and every proof verifies for all four parties', async () => {
    const session = await createTestSession(t, { participants: ['bankA', 'bankB', 'bankC'], observers: ['regulator'] });
    // bankB and bankC join by the code; bankC's key fetch does not log a second join
    for (const who of ['bankB', 'bankC'] as const) {
      expect((await t.inject(who, { method: 'GET', url: `/v1/join/${session.joinCode}` })).statusCode).toBe(200);
    }
    const submitted: Record<string, string> = {};
    for (const who of ['bankA', 'bankB', 'bankC'] as const) {
      const response = await submitValid(t, who, session.id, demoData(who));
      expect(response.statusCode, response.body).toBe(201);
      submitted[PARTY[who]] = t.json(response).ciphertextHash;
    }
    expect((await uploadData(t, 'regulator', session.id, Buffer.from('nope'))).statusCode).toBe(403);
    for (const who of ['bankA', 'bankB', 'bankC'] as const) expect((await consent(t, who, session.id)).statusCode).toBe(201);
    const prompt = 'Find cross-bank fraud rings';
    const queued = await t.inject('bankA', { method: 'POST', url: `/v1/sessions/${session.id}/runs`, payload: { prompt } });
    expect(queued.statusCode).toBe(202);
    const runId = t.json(queued).runId;
    await waitFor(async () => ((await kinds(session.id)).includes('deletion_attested') ? true : undefined), 'the deletion statement');

    const publicKey = await publishedKey();
    const root = t.server.ctx.enclave.info()!.rootPem;
    const measurement = t.server.ctx.enclave.info()!.measurement;
    const bodies = await Promise.all((['bankA', 'bankB', 'bankC', 'regulator'] as const).map((who) => trail(who, session.id)));
    for (const body of bodies) checkTrail(body, publicKey);
    const body = bodies[3]!;
    expect(body.entries.map((e) => e.event.kind)).toEqual([
      'session_created',
      'key_issued',
      'session_joined',
      'session_joined',
      'data_submitted',
      'data_submitted',
      'data_submitted',
      'access_denied',
      'consent_recorded',
      'consent_recorded',
      'consent_recorded',
      'run_requested',
      'run_started',
      'result_released',
      'data_destroyed',
      'key_destroyed',
      'deletion_attested',
    ]);
    expect(body.entries.every((e) => e.event.sessionId === session.id)).toBe(true);

    const row = await t.server.ctx.db.selectFrom('sessions').selectAll().where('id', '=', session.id).executeTakeFirstOrThrow();
    const terms = parseTerms(row);
    const created = SessionCreatedPayload.parse(payloadsOf(body, 'session_created')[0]);
    expect(created.termsHash).toBe(sha256Tagged(canonicalBytes(terms)));

    const issued = KeyIssuedPayload.parse(payloadsOf(body, 'key_issued')[0]);
    expect(issued.publicKey).toBe(row.public_key);
    expect(issued.attestationDigest).toBe(sha256Tagged(fromBase64Url(issued.attestation)));
    await verifyAttestation(issued.attestation, {
      roots: [root],
      expectedMeasurements: [measurement],
      expectedPublicKey: fromBase64Url(issued.publicKey),
      expectedUserData: sessionKeyUserData(session.id),
    });

    expect(payloadsOf(body, 'session_joined')).toEqual([
      { partyId: PARTY.bankB, role: 'participant', via: 'join_code' },
      { partyId: PARTY.bankC, role: 'participant', via: 'join_code' },
    ]);

    const data = payloadsOf(body, 'data_submitted').map((p) => DataSubmittedPayload.parse(p));
    expect(Object.fromEntries(data.map((d) => [d.partyId, d.ciphertextHash]))).toEqual(submitted);
    for (const d of data) {
      expect(d).toMatchObject({ commitmentScheme: 'plain', dataSchema: 'transaction_records_v1', recordCount: 40 });
    }
    expect(payloadsOf(body, 'access_denied')).toEqual([{ action: 'submit data', code: 'forbidden' }]);

    for (const p of payloadsOf(body, 'consent_recorded')) {
      const c = ConsentRecordedPayload.parse(p);
      const key = terms.participants.find((x) => x.partyId === c.partyId)!.signingKey;
      expect(verifyConsentSignature(session.id, c.consent, c.signature, key)).toBe(true);
    }

    const started = payloadsOf(body, 'run_started')[0]!;
    expect(started).toMatchObject({ runId, promptHash: sha256Tagged(new TextEncoder().encode(prompt)) });

    const released = ResultReleasedPayload.parse(payloadsOf(body, 'result_released')[0]);
    expect(released.runId).toBe(runId);
    expect(released.reportHash).toBe(reportHash(released.report));
    expect(released.attestationDigest).toBe(sha256Tagged(fromBase64Url(released.attestation)));
    expect(released.includedParties).toEqual([PARTY.bankA, PARTY.bankB, PARTY.bankC]);
    expect(released.report.promptHash).toBe(started.promptHash);
    await verifyAttestation(released.attestation, { roots: [root], expectedMeasurements: [measurement], expectedUserData: reportDigest(released.report) });

    const deletion = DeletionAttestedPayload.parse(payloadsOf(body, 'deletion_attested')[0]);
    expect(deletion.statement).toMatchObject({
      sessionId: session.id,
      reason: 'delete_after_inference',
      destroyed: { sessionKey: true, ciphertexts: Object.values(submitted).sort() },
    });
    await verifyAttestation(deletion.attestation, {
      roots: [root],
      expectedMeasurements: [measurement],
      expectedUserData: deletionStatementDigest(deletion.statement),
    });
    await expect(
      verifyAttestation(deletion.attestation, {
        roots: [root],
        expectedUserData: deletionStatementDigest({ ...deletion.statement, reason: 'cancelled' }),
      }),
    ).rejects.toMatchObject({ code: 'user_data_mismatch' });

    // Nothing in the trail is party data.
    const text = JSON.stringify(body);
    for (const who of ['bankA', 'bankB', 'bankC'] as const) expect(text).not.toContain(`${who}-tx-1`);
  });

  it('answers 404 to a tenant that is not on the session, as for a session that does not exist', async () => {
    const session = await createTestSession(t, { participants: ['bankA', 'bankB'], observers: [] });
    const hidden = await t.inject('bankC', { method: 'GET', url: `/v1/sessions/${session.id}/trail` });
    const missing = await t.inject('bankC', { method: 'GET', url: `/v1/sessions/mps_${'a'.repeat(26)}/trail` });
    expect(hidden.statusCode).toBe(404);
    expect(missing.statusCode).toBe(404);
    expect(t.json(hidden)).toEqual(t.json(missing));
  });

  it('attests the deletion of a cancelled session, naming its ciphertexts', async () => {
    const session = await createTestSession(t);
    const hash = t.json(await submitValid(t, 'bankB', session.id, demoData('bankB'))).ciphertextHash;
    expect((await t.inject('bankB', { method: 'POST', url: `/v1/sessions/${session.id}/cancel`, payload: {} })).statusCode).toBe(200);
    const body = await trail('bankA', session.id);
    checkTrail(body, await publishedKey());
    expect(body.entries.map((e) => e.event.kind).slice(-4)).toEqual(['session_cancelled', 'data_destroyed', 'key_destroyed', 'deletion_attested']);
    const deletion = DeletionAttestedPayload.parse(payloadsOf(body, 'deletion_attested')[0]);
    expect(deletion.statement).toMatchObject({ reason: 'cancelled', destroyed: { sessionKey: true, ciphertexts: [hash] } });
    await verifyAttestation(deletion.attestation, {
      roots: [t.server.ctx.enclave.info()!.rootPem],
      expectedUserData: deletionStatementDigest(deletion.statement),
    });
  });

  it('attests the deletion of an expired session', async () => {
    const session = await createTestSession(t, { expiresAt: new Date(Date.now() + 120_000).toISOString() });
    t.clockOffsetMs = 180_000;
    try {
      await t.server.expiry.sweep();
    } finally {
      t.clockOffsetMs = 0;
    }
    const body = await trail('bankA', session.id);
    checkTrail(body, await publishedKey());
    const deletion = DeletionAttestedPayload.parse(payloadsOf(body, 'deletion_attested')[0]);
    expect(deletion.statement).toMatchObject({ sessionId: session.id, reason: 'expired', destroyed: { sessionKey: true, ciphertexts: [] } });
    await verifyAttestation(deletion.attestation, {
      roots: [t.server.ctx.enclave.info()!.rootPem],
      expectedUserData: deletionStatementDigest(deletion.statement),
    });
    expect(payloadsOf(body, 'session_expired')).toHaveLength(1);
  });
});
