// docs/mpc.md, "Host (server)": the mpc routes and their refusals over a real enclave and a real local
// fleet of compute node processes (started by the first mpc session): the nodes route returns every node
// freshly attested (nonce bound, the development node measurement), share bundles are filed as
// submissions only when they parse and name this session and the acting party, a plain upload on an mpc
// session is refused, and /mpc/* on another method's session is 409. A bundle a node cannot open is
// refused at upload (mpc_share_refused, naming the node); the cheap refusals come before the body is read.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { randomBytes, toBase64Url } from '@tenzro/crypto';
import { MpcNodesResponse } from '@tenzro/protocol';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { auditTypes, blobFiles, createTestSession, demoData, startTestServer, submitValid, type TestServer } from './harness.fixture.js';
import { listPreprocessed } from '@tenzro/mpc-node';
import { preprocessingSettled } from './domain/mpc.js';
import { createMpcSession, fakeBundle, getNodes, postShares, shareBundle, verifiedNodes } from './mpc.fixture.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer({ env: { TENZRO_MPC_STEP_TIMEOUT_MS: '5000' } });
}, 60_000);
afterAll(async () => {
  await t?.close();
});

describe('GET /v1/sessions/:id/mpc/nodes', () => {
  it('returns every node of the session, attested with the nonce, measured as the credentials say', async () => {
    const session = await createMpcSession(t);
    expect(t.credentials.attestation.mpcNodeMeasurement).toMatch(/^[0-9a-f]{96}$/);
    const nodes = await verifiedNodes(t, 'bankA', session.id);
    expect(nodes.map((n) => n.index)).toEqual([1, 2, 3]);
    expect(new Set(nodes.map((n) => toBase64Url(n.publicKey))).size).toBe(3);
    // An observer may list them too; the reply parses with the protocol schema.
    const observed = await getNodes(t, 'regulator', session.id, toBase64Url(randomBytes(16)));
    expect(observed.statusCode, observed.body).toBe(200);
    expect(MpcNodesResponse.parse(t.json(observed))).toMatchObject({ sessionId: session.id, threshold: 2, totalParties: 3, programId: 'risk-analyzer-v2.mpc.v1' });

    // The development fleet is listed for tests and tools.
    const listed = JSON.parse(await readFile(join(t.dataDir, 'mpc-nodes', '3', 'nodes.json'), 'utf8'));
    expect(listed.map((n: { index: number }) => n.index)).toEqual([1, 2, 3]);
    expect(listed[0]).toEqual({ index: 1, pid: expect.any(Number), url: expect.stringMatching(/^http:\/\//) });
  });

  it('requires a nonce of 16–64 bytes of base64url', async () => {
    const session = await createMpcSession(t);
    const none = await getNodes(t, 'bankA', session.id, null);
    expect(none.statusCode).toBe(400);
    expect(t.json(none).error.code).toBe('invalid_request');
    for (const nonce of ['', toBase64Url(randomBytes(8)), toBase64Url(randomBytes(65)), 'not+base64']) {
      const response = await getNodes(t, 'bankA', session.id, encodeURIComponent(nonce));
      expect(response.statusCode, nonce).toBe(400);
      expect(t.json(response).error.code).toBe('invalid_request');
    }
  });

  it('is for roster parties only: a creator tenant without a party on the roster is refused and audited', async () => {
    const session = await createMpcSession(t, { creator: 'bankC' });
    const response = await getNodes(t, 'bankC', session.id);
    expect(response.statusCode).toBe(403);
    expect(t.json(response).error.code).toBe('forbidden');
    expect(await auditTypes(t, session.id)).toContain('access_denied');
    // A tenant that can not see the session at all gets 404.
    const other = await createMpcSession(t);
    expect((await getNodes(t, 'bankC', other.id)).statusCode).toBe(404);
  });

  it('is 409 not_mpc_session on a session of another method', async () => {
    const session = await createTestSession(t);
    const response = await getNodes(t, 'bankA', session.id);
    expect(response.statusCode).toBe(409);
    expect(t.json(response).error.code).toBe('not_mpc_session');
  });
});

describe('POST /v1/sessions/:id/mpc/shares', () => {
  it('refuses a bundle one node cannot open with 422 mpc_share_refused naming the node, storing nothing', async () => {
    const session = await createMpcSession(t);
    const nodes = await verifiedNodes(t, 'bankA', session.id);
    const before = await blobFiles(t);
    const bundle = await shareBundle(t, 'bankA', session.id, nodes, { sealedToWrongKeyFor: 2 });
    const response = await postShares(t, 'bankA', session.id, bundle);
    expect(response.statusCode, response.body).toBe(422);
    const { error } = t.json(response);
    expect(error.code).toBe('mpc_share_refused');
    expect(error.message).toMatch(/compute node 2 refused the share bundle \([a-z_]+\)/);
    expect(error.details).toBeUndefined();
    expect(await blobFiles(t)).toEqual(before);
    expect(await auditTypes(t, session.id)).not.toContain('data_submitted');
    const stored = await t.server.ctx.db.selectFrom('submissions').select('id').where('session_id', '=', session.id).execute();
    expect(stored).toEqual([]);
    // The party's good bundle is taken afterwards.
    const good = await postShares(t, 'bankA', session.id, await shareBundle(t, 'bankA', session.id, nodes));
    expect(good.statusCode, good.body).toBe(201);
  });

  it('answers already_submitted before reading the body and before the upload gate', async () => {
    const session = await createMpcSession(t);
    const nodes = await verifiedNodes(t, 'bankA', session.id);
    expect((await postShares(t, 'bankA', session.id, await shareBundle(t, 'bankA', session.id, nodes))).statusCode).toBe(201);
    const again = await postShares(t, 'bankA', session.id, '{"not json');
    expect(again.statusCode).toBe(409);
    expect(t.json(again).error.code).toBe('already_submitted');
    // With every upload slot taken, the cheap refusal still answers (the gate is entered after it).
    const gate = t.server.ctx.uploads;
    const slots = Array.from({ length: gate.limit }, () => {
      let release!: () => void;
      const held = gate.run(() => new Promise<void>((resolve) => (release = resolve)));
      return { held, release: () => release() };
    });
    try {
      expect(t.json(await postShares(t, 'bankA', session.id, '{}')).error.code).toBe('already_submitted');
      expect(t.json(await postShares(t, 'bankB', session.id, '{}')).error.code).toBe('rate_limited');
    } finally {
      for (const slot of slots) slot.release();
      await Promise.all(slots.map((slot) => slot.held));
    }
  });

  it('files a real bundle as the party’s submission (commitment of the bundle, scheme plain)', async () => {
    const session = await createMpcSession(t);
    const nodes = await verifiedNodes(t, 'bankA', session.id);
    const bundle = await shareBundle(t, 'bankA', session.id, nodes);
    const response = await postShares(t, 'bankA', session.id, bundle);
    expect(response.statusCode, response.body).toBe(201);
    const { mpcShareBundleCommitment } = await import('@tenzro/protocol');
    expect(t.json(response)).toMatchObject({
      sessionId: session.id,
      partyId: 'party::bankA::treasury',
      dataSchema: 'transaction_records_v1',
      commitment: mpcShareBundleCommitment(bundle),
      commitmentScheme: 'plain',
      recordCount: 30,
    });
    const again = await postShares(t, 'bankA', session.id, bundle);
    expect(again.statusCode).toBe(409);
    expect(t.json(again).error.code).toBe('already_submitted');
  });

  it('refuses bad JSON and a bundle that does not parse with 400, storing nothing', async () => {
    const session = await createMpcSession(t);
    const before = await blobFiles(t);
    const bad = await postShares(t, 'bankA', session.id, '{"body": {');
    expect(bad.statusCode).toBe(400);
    expect(t.json(bad).error.code).toBe('invalid_json');
    const wrongShape = await postShares(t, 'bankA', session.id, { body: { type: 'nope' }, signature: 'x' });
    expect(wrongShape.statusCode).toBe(400);
    expect(t.json(wrongShape).error.code).toBe('invalid_request');
    const empty = await postShares(t, 'bankA', session.id, '');
    expect(empty.statusCode).toBe(400);
    expect(await blobFiles(t)).toEqual(before);
    expect(await auditTypes(t, session.id)).not.toContain('data_submitted');
  });

  it('refuses a bundle for another party or another session with 422, storing nothing', async () => {
    const session = await createMpcSession(t);
    const before = await blobFiles(t);
    const forB = await postShares(t, 'bankA', session.id, fakeBundle(t, 'bankA', session.id, 'party::bankB::treasury'));
    expect(forB.statusCode).toBe(422);
    expect(t.json(forB).error).toMatchObject({ code: 'submission_rejected', message: expect.stringMatching(/party::bankB::treasury/) });
    const other = await createMpcSession(t);
    const elsewhere = await postShares(t, 'bankA', session.id, fakeBundle(t, 'bankA', other.id));
    expect(elsewhere.statusCode).toBe(422);
    expect(await blobFiles(t)).toEqual(before);
  });

  it('refuses a bundle signed by another key: at the nodes, and at the enclave when no node answers', async () => {
    const session = await createMpcSession(t);
    const nodes = await verifiedNodes(t, 'bankA', session.id);
    const before = await blobFiles(t);
    const bundle = await shareBundle(t, 'bankB', session.id, nodes, { partyId: 'party::bankA::treasury' }); // B's key
    const atNodes = await postShares(t, 'bankA', session.id, bundle);
    expect(atNodes.statusCode).toBe(422);
    expect(t.json(atNodes).error.code).toBe('mpc_share_refused');
    expect(await blobFiles(t)).toEqual(before);
    // Nodes that do not answer are skipped at upload (they check at run time); the enclave still refuses it.
    const unreachable = nodes.map((n) => ({ index: n.index, url: 'http://127.0.0.1:9', controlToken: 'none' }));
    const spy = vi.spyOn(t.server.ctx.mpc, 'nodes').mockResolvedValue(unreachable);
    try {
      const atEnclave = await postShares(t, 'bankA', session.id, bundle);
      expect(atEnclave.statusCode).toBe(422);
      expect(t.json(atEnclave).error.code).toBe('submission_rejected');
    } finally {
      spy.mockRestore();
    }
    expect(await auditTypes(t, session.id)).toContain('submission_rejected');
    expect(await auditTypes(t, session.id)).not.toContain('data_submitted');
  });

  it('is for participants only, JSON only, and 409 on another method’s session', async () => {
    const session = await createMpcSession(t);
    const observer = await postShares(t, 'regulator', session.id, fakeBundle(t, 'regulator', session.id));
    expect(observer.statusCode).toBe(403);
    const octets = await postShares(t, 'bankA', session.id, Buffer.from('{}'), { 'content-type': 'application/octet-stream' });
    expect(octets.statusCode).toBe(415);
    const federated = await createTestSession(t);
    const response = await postShares(t, 'bankA', federated.id, fakeBundle(t, 'bankA', federated.id));
    expect(response.statusCode).toBe(409);
    expect(t.json(response).error.code).toBe('not_mpc_session');
  });
});

describe('POST /v1/sessions/:id/data on an mpc session', () => {
  it('is 422 mpc_shares_required, with nothing stored', async () => {
    const session = await createMpcSession(t);
    const before = await blobFiles(t);
    const response = await submitValid(t, 'bankA', session.id, demoData('bankA'));
    expect(response.statusCode).toBe(422);
    expect(t.json(response).error).toEqual({
      code: 'mpc_shares_required',
      message: 'this session uses mpc: records are not uploaded; use platform.ai.contribute, which sends Shamir shares sealed to the compute nodes',
    });
    expect(await blobFiles(t)).toEqual(before);
  });
});

describe('the nodes’ session state', () => {
  it('is preprocessed at session creation and forgotten when the session is cancelled', async () => {
    const session = await createMpcSession(t);
    await preprocessingSettled(t.server.ctx);
    const nodes = [...(await t.server.ctx.mpc.nodes(3))];
    const held = await listPreprocessed(nodes, session.id);
    expect([...held.values()]).toEqual([[1, 2, 3]]);
    expect([...held.keys()][0]).toMatch(/^prep-[0-9a-f]{12}$/);
    expect(await t.server.ctx.db.selectFrom('mpc_preps_used').selectAll().where('session_id', '=', session.id).execute()).toEqual([]);
    const cancelled = await t.inject('bankA', { method: 'POST', url: `/v1/sessions/${session.id}/cancel` });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect((await listPreprocessed(nodes, session.id)).size).toBe(0);
  });

  it('restarts a dev node that exited before the preprocessing at session creation', async () => {
    const fleet = (await t.server.ctx.mpc.localFleet(3))!;
    fleet.kill(3, 'SIGKILL');
    await fleet.exited(3);
    const session = await createMpcSession(t);
    await preprocessingSettled(t.server.ctx);
    const held = await listPreprocessed([...(await t.server.ctx.mpc.nodes(3))], session.id);
    expect([...held.values()]).toEqual([[1, 2, 3]]);
    const listed = JSON.parse(await readFile(join(t.dataDir, 'mpc-nodes', '3', 'nodes.json'), 'utf8'));
    expect(listed.find((n: { index: number }) => n.index === 3).pid).toBe(fleet.nodes[2]!.pid);
  });
});

describe('server shutdown', () => {
  it('stops the local fleet’s node processes (last: it closes the server)', async () => {
    const fleet = (await t.server.ctx.mpc.localFleet(3))!;
    const pids = fleet.nodes.map((n) => n.pid);
    await t.close();
    const alive = pids.filter((pid) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    });
    expect(alive).toEqual([]);
  });
});
