// Compute nodes of the `mpc` method as real processes (packages/mpc-node/dist/main.js, built by tsc -b):
// they attest to each other (verifyMpcNodeAttestation), run one GRR multiplication (Gennaro, Rabin &
// Rabin 1998) of shared vectors through the HTTP transport, and refuse forged, misdirected, replayed,
// unattested and wrong-session messages without recording them. The raw routes (/control/sessions,
// /control/multiply, /control/mailbox) are served only with --allow-raw-multiply, and even then never for a
// session of the session runtime nor for an op outside `mul/`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import {
  createMpcCodec,
  fieldVectorToBigInts,
  multiplyFieldVectors,
  reconstructVector,
  shareVector,
  toBase64Url,
  utf8Encode,
} from '@tenzro/crypto';
import { MPC_TYPES, MpcNodeAttestationError, RISK_ANALYZER_MPC_PROGRAM, verifyMpcNodeAttestation, type MulReshareMessage } from '@tenzro/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSimulatedIssuer } from './attester.js';
import { NodeControlClient } from './client.js';
import { loadOrCreateIdentity, type NodeIdentity } from './identity.js';
import { attestPeer, type Peer } from './peers.js';
import { sealNodeMessage, type NodeEnvelope } from './wire.js';

const MAIN = fileURLToPath(new URL('../dist/main.js', import.meta.url));
const SESSION = 'mps_aaaaaaaaaaaaaaaaaaaaaaaaaa';
const OTHER_SESSION = 'mps_bbbbbbbbbbbbbbbbbbbbbbbbbb';
const N = 3;
const T = 2;

interface Running {
  index: number;
  url: string;
  stateDir: string;
  child: ChildProcess;
  measurement: string;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function startNode(index: number, port: number, stateDir: string, caDir: string, peers: string): Promise<Running> {
  const child = spawn(process.execPath, [MAIN, '--index', String(index), '--total', String(N), '--port', String(port), '--state-dir', stateDir, '--ca-dir', caDir, '--peers', peers, '--allow-raw-multiply'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines = createInterface({ input: child.stdout! });
  const ready = await new Promise<{ port: number; measurement: string }>((resolve, reject) => {
    lines.once('line', (line) => resolve(JSON.parse(line) as { port: number; measurement: string }));
    child.once('exit', (code) => reject(new Error(`node ${index} exited with ${code}: ${stderr}`)));
  });
  return { index, url: `http://127.0.0.1:${ready.port}`, stateDir, child, measurement: ready.measurement };
}

async function post(url: string, body: unknown): Promise<{ status: number; body: { code?: string } }> {
  const response = await fetch(`${url}/mpc/messages`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as { code?: string } };
}

describe('mpc compute nodes over HTTP', () => {
  let dir: string;
  let caDir: string;
  let root: string;
  const nodes: Running[] = [];
  let lonely: Running; // index 1, no peers: every sender is unattested to it
  const attested = new Map<number, Peer>();
  const control = new Map<number, NodeControlClient>();
  let identity2: NodeIdentity;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tenzro-mpc-node-'));
    caDir = join(dir, 'ca');
    const ports = await Promise.all(Array.from({ length: N }, () => freePort()));
    const peersOf = (i: number) => ports.map((p, j) => (j + 1 === i ? '' : `${j + 1}=http://127.0.0.1:${p}`)).filter(Boolean).join(',');
    nodes.push(await startNode(1, ports[0]!, join(dir, 'n1'), caDir, peersOf(1))); // creates the shared CA
    nodes.push(...(await Promise.all([2, 3].map((i) => startNode(i, ports[i - 1]!, join(dir, `n${i}`), caDir, peersOf(i))))));
    lonely = await startNode(1, await freePort(), join(dir, 'lonely'), caDir, '');
    root = (JSON.parse(await readFile(join(caDir, 'simulated-ca.json'), 'utf8')) as { rootCertificatePem: string }).rootCertificatePem;
    for (const node of nodes) {
      const peer = await attestPeer(node.url, { index: node.index, total: N, roots: [root], expectedMeasurements: [node.measurement] });
      attested.set(node.index, peer);
      const token = (await readFile(join(node.stateDir, 'control-token'), 'utf8')).trim();
      control.set(node.index, new NodeControlClient(node.url, token, peer.publicKey));
      await control.get(node.index)!.openSession(SESSION, T);
    }
    const lonelyToken = (await readFile(join(lonely.stateDir, 'control-token'), 'utf8')).trim();
    await new NodeControlClient(lonely.url, lonelyToken, new Uint8Array(32)).openSession(SESSION, T);
    identity2 = await loadOrCreateIdentity(join(dir, 'n2')); // the test speaks as node 2 with its own keys
  });

  afterAll(async () => {
    for (const node of [...nodes, lonely]) node?.child.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  });

  it('each node attests its HPKE key, index and signing key under the shared root and one measurement', async () => {
    const measurements = new Set(nodes.map((n) => n.measurement));
    expect(measurements.size).toBe(1);
    for (const node of nodes) {
      const peer = attested.get(node.index)!;
      expect(peer.index).toBe(node.index);
      expect(peer.total).toBe(N);
      expect(peer.attestation.provider).toBe('simulated');
      expect(peer.publicKey).toHaveLength(32);
    }
    expect(attested.get(2)!.signingKey).toEqual(identity2.signingPublicKey);
    // node 2's document does not pass as node 3's
    await expect(attestPeer(nodes[1]!.url, { index: 3, total: N, roots: [root], expectedMeasurements: [nodes[1]!.measurement] })).rejects.toMatchObject({ code: 'index_mismatch' });
    // nor under another root or measurement
    await expect(attestPeer(nodes[1]!.url, { index: 2, total: N, roots: [root], expectedMeasurements: ['00'.repeat(48)] })).rejects.toMatchObject({ code: 'attestation_invalid' });
  });

  it('multiplies shared vectors across the three processes: the reconstruction is the plaintext product', async () => {
    const codec = createMpcCodec({ scale: 16, min: -(2 ** 20), max: 2 ** 20 });
    const xs = Array.from({ length: 64 }, (_, i) => ((i * 7919) % 2000) / 7 - 140);
    const ys = Array.from({ length: 64 }, (_, i) => ((i * 104729) % 3000) / 11 - 130);
    const ex = codec.encode(xs);
    const ey = codec.encode(ys);
    const a = shareVector(ex, { threshold: T, parties: N });
    const b = shareVector(ey, { threshold: T, parties: N });
    const products = await Promise.all(
      nodes.map((node) => control.get(node.index)!.multiply({ sessionId: SESSION, op: 'mul/0', a: a[node.index - 1]!, b: b[node.index - 1]!, timeoutMs: 20_000 })),
    );
    expect(fieldVectorToBigInts(reconstructVector(products, T))).toEqual(fieldVectorToBigInts(multiplyFieldVectors(ex, ey)));
    for (const pair of [[products[0]!, products[2]!], [products[1]!, products[2]!]]) {
      expect(fieldVectorToBigInts(reconstructVector(pair, T))).toEqual(fieldVectorToBigInts(multiplyFieldVectors(ex, ey)));
    }
    for (const node of nodes) expect(await control.get(node.index)!.mailbox(SESSION, 'mul/0')).toEqual([1, 2, 3]);
  });

  describe('refusals (each leaves nothing recorded)', () => {
    const reshare = (sessionId: string, op: string, to: number): MulReshareMessage => {
      const codec = createMpcCodec({ scale: 8, min: -100, max: 100 });
      return { type: MPC_TYPES.mulReshare, sessionId, op, from: 2, to, subshare: codec.encode([1, 2, 3]) };
    };
    const seal = (message: MulReshareMessage, recipient: number, to = message.to) =>
      sealNodeMessage({ message, to, recipientKey: attested.get(recipient)!.publicKey, signingKey: identity2.signingPrivateKey });
    const recorded = (op: string, node = 1) => control.get(node)!.mailbox(SESSION, op);

    it('a forged signature', async () => {
      const envelope = await seal(reshare(SESSION, 'mul/forged', 1), 1);
      const signature = Uint8Array.from(Buffer.from(envelope.signature, 'base64url'));
      signature[0]! ^= 1;
      expect(await post(nodes[0]!.url, { ...envelope, signature: toBase64Url(signature) })).toMatchObject({ status: 403, body: { code: 'bad_signature' } });
      // a signature over another header (op changed after signing)
      expect(await post(nodes[0]!.url, { ...envelope, op: 'mul/forged-2' })).toMatchObject({ status: 403, body: { code: 'bad_signature' } });
      expect(await recorded('mul/forged')).toEqual([]);
      expect(await recorded('mul/forged-2')).toEqual([]);
    });

    it('a message sealed to another node', async () => {
      const envelope = await seal(reshare(SESSION, 'mul/misdirected', 1), 3); // addressed to 1, sealed to 3's key
      expect(await post(nodes[0]!.url, envelope)).toMatchObject({ status: 422, body: { code: 'decryption_failed' } });
      expect(await recorded('mul/misdirected')).toEqual([]);
      // once refused, the honest message for that op still gets in
      expect(await post(nodes[0]!.url, await seal(reshare(SESSION, 'mul/misdirected', 1), 1))).toMatchObject({ status: 202 });
      expect(await recorded('mul/misdirected')).toEqual([2]);
    });

    it('a message for another recipient', async () => {
      const envelope = await seal(reshare(SESSION, 'mul/other-recipient', 3), 3);
      expect(await post(nodes[0]!.url, envelope)).toMatchObject({ status: 409, body: { code: 'wrong_recipient' } });
      expect(await recorded('mul/other-recipient')).toEqual([]);
    });

    it('a replay (same sender and op twice)', async () => {
      const envelope: NodeEnvelope = await seal(reshare(SESSION, 'mul/replayed', 1), 1);
      expect(await post(nodes[0]!.url, envelope)).toMatchObject({ status: 202 });
      expect(await post(nodes[0]!.url, envelope)).toMatchObject({ status: 409, body: { code: 'replay' } });
      expect(await post(nodes[0]!.url, await seal(reshare(SESSION, 'mul/replayed', 1), 1))).toMatchObject({ status: 409, body: { code: 'replay' } });
      expect(await recorded('mul/replayed')).toEqual([2]);
    });

    it('an unattested sender', async () => {
      const lonelyKey = (await attestPeer(lonely.url, { index: 1, total: N, roots: [root], expectedMeasurements: [lonely.measurement] })).publicKey;
      const envelope = await sealNodeMessage({ message: reshare(SESSION, 'mul/unattested', 1), to: 1, recipientKey: lonelyKey, signingKey: identity2.signingPrivateKey });
      expect(await post(lonely.url, envelope)).toMatchObject({ status: 403, body: { code: 'unattested_sender' } });
      const lonelyToken = (await readFile(join(lonely.stateDir, 'control-token'), 'utf8')).trim();
      expect(await new NodeControlClient(lonely.url, lonelyToken, lonelyKey).mailbox(SESSION, 'mul/unattested')).toEqual([]);
    });

    it('a message for another session', async () => {
      const envelope = await seal(reshare(OTHER_SESSION, 'mul/other-session', 1), 1);
      expect(await post(nodes[0]!.url, envelope)).toMatchObject({ status: 409, body: { code: 'unknown_session' } });
      expect(await control.get(1)!.mailbox(OTHER_SESSION, 'mul/other-session')).toEqual([]);
    });

    it('a malformed or oversized body, and the control endpoints without the token', async () => {
      expect(await post(nodes[0]!.url, '{"type":')).toMatchObject({ status: 400, body: { code: 'invalid_request' } });
      // a body declared over the 16 MiB limit is refused before it is read
      const tooLarge = await new Promise<{ status: number; code: string }>((resolve, reject) => {
        const req = request(`${nodes[0]!.url}/mpc/messages`, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': 17 * 1024 * 1024 } }, (res) => {
          let text = '';
          res.on('data', (chunk: Buffer) => (text += chunk.toString()));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, code: (JSON.parse(text) as { code: string }).code }));
        });
        req.on('error', reject);
        req.write('{"pad":"');
      });
      expect(tooLarge).toEqual({ status: 413, code: 'body_too_large' });
      const denied = await fetch(`${nodes[0]!.url}/control/mailbox?sessionId=${SESSION}&op=mul/0`);
      expect(denied.status).toBe(401);
    });
  });

  it("verifyMpcNodeAttestation refuses the enclave's shape of document (no role)", async () => {
    const issuer = await loadSimulatedIssuer(caDir, nodes[0]!.measurement);
    const peer = attested.get(1)!;
    // what the enclave attests: its key with user_data binding a session, no mpc-node statement
    const enclaveDocument = await issuer.issue({ publicKey: peer.publicKey, userData: utf8Encode(`tenzro.session-key/v1:${SESSION}`) });
    const options = { roots: [root], expectedMeasurements: [nodes[0]!.measurement], index: 1, total: N };
    const refused = verifyMpcNodeAttestation(enclaveDocument, { ...options, statement: peer.statement });
    await expect(refused).rejects.toBeInstanceOf(MpcNodeAttestationError);
    await expect(refused).rejects.toMatchObject({ code: 'statement_mismatch' });
    await expect(verifyMpcNodeAttestation(enclaveDocument, { ...options, statement: undefined })).rejects.toMatchObject({ code: 'role_mismatch' });
    await expect(verifyMpcNodeAttestation(enclaveDocument, { ...options, statement: { ...peer.statement, role: 'enclave' } })).rejects.toMatchObject({ code: 'role_mismatch' });
    // the node's own statement with another index is refused before the document is looked at
    await expect(verifyMpcNodeAttestation(enclaveDocument, { ...options, index: 2, statement: peer.statement })).rejects.toMatchObject({ code: 'index_mismatch' });
  });

  it('raw multiplication refuses a session of the runtime and ops outside mul/, and forgets a session on DELETE', async () => {
    const node1 = control.get(1)!;
    const token = (await readFile(join(nodes[0]!.stateDir, 'control-token'), 'utf8')).trim();
    const runtimeSession = 'mps_cccccccccccccccccccccccccc';
    const preprocess = await fetch(`${nodes[0]!.url}/control/preprocess`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ sessionId: runtimeSession, prepId: 'prep-1', programId: RISK_ANALYZER_MPC_PROGRAM.id, threshold: T, totalParties: N }),
    });
    expect(preprocess.status).toBe(200);
    const codec = createMpcCodec({ scale: 8, min: -100, max: 100 });
    const [a] = shareVector(codec.encode([1, 2, 3]), { threshold: T, parties: N });
    const multiply = (sessionId: string, op: string) => node1.multiply({ sessionId, op, a: a!, b: a!, timeoutMs: 2000 });
    await expect(node1.openSession(runtimeSession, T)).rejects.toMatchObject({ code: 'forbidden', status: 403 });
    await expect(multiply(runtimeSession, 'mul/x')).rejects.toMatchObject({ code: 'forbidden' });
    await expect(node1.mailbox(runtimeSession, 'mul/x')).rejects.toMatchObject({ code: 'forbidden' });
    // an op of the runtime's shape (a preprocessing's) is refused even in a raw session
    await expect(multiply(SESSION, 'prep-1:triples')).rejects.toMatchObject({ code: 'invalid_request', status: 400 });
    await expect(node1.mailbox(SESSION, 'prep-1:triples')).rejects.toMatchObject({ code: 'invalid_request' });
    // DELETE forgets a raw session (its threshold too): multiplying in it is refused
    const forget = await fetch(`${nodes[0]!.url}/control/sessions/${SESSION}`, { method: 'DELETE', headers: { authorization: `Bearer ${token}` } });
    expect(forget.status).toBe(204);
    await expect(multiply(SESSION, 'mul/after')).rejects.toMatchObject({ code: 'unknown_session' });
  });
});
