// The `mpc` run contract (docs/mpc.md) over real node processes (startLocalFleet, dist/main.js: run
// `npx tsc -b` first): 5 nodes, threshold 3, 3 parties' share bundles sealed to the nodes' attested keys,
// the enclave's session key attested by the simulated Nitro module over the nodes' CA. Preprocessing with
// every node up, then runs with nodes killed (n − t tolerated; one more: mpc_nodes_unavailable, a clear
// message), restarts, and the control API's refusals (each with its code, nothing kept). Runs are dropped on
// every node once over (failed or not); a prep a run could not start with is dropped where it was left;
// upload-time bundle checks; a node whose mailbox refuses messages is the one marked down; a node restarted
// or hung (SIGSTOP) mid-run is marked down and the run still completes in bounded time; a run body over a
// node's --max-body-bytes fails with a message saying so. A use-case model's sum program preprocesses with t
// nodes (no triples) and runs in one round to the exact integer sums.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MPC_FIELD,
  canonicalBytes,
  createMpcCodec,
  fieldVectorFromBytes,
  fieldVectorToBytes,
  fromBase64Url,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  openEnvelope,
  parseStrictJson,
  randomBytes,
  sealEnvelope,
  sha256Hex,
  shareVector,
  toBase64Url,
  utf8Decode,
  type SecretBytes,
  type ShareVector,
} from '@tenzro/crypto';
import { SimulatedNsm } from '@tenzro/enclave';
import {
  MPC_OUTPUT_INFO,
  MPC_SHARE_BUNDLE_TYPE,
  MPC_SHARE_INFO,
  MPC_SHARE_TYPE,
  MpcOutputSharePlaintext,
  RISK_ANALYZER_MPC_PROGRAM as PROGRAM,
  SESSION_TERMS_TYPE,
  normalizeDataPolicy,
  reconstructMpcProgramOutputs,
  riskAnalyzerOutputErrorBound,
  runMpcProgramInMemory,
  sessionIdOf,
  sessionKeyUserData,
  signMpcShareBundle,
  verifyMpcNodeAttestation,
  verifyMpcNodeOutputSignature,
  mpcProgramForModel,
  type MpcNodeOutput,
  type MpcProgram,
  type MpcShareBundle,
  type SessionTerms,
} from '@tenzro/protocol';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MpcCoordinatorError, checkBundleOnNodes, fetchNodeAttestations, forgetSession, listPreprocessed, preprocessAcrossNodes, runMpcAcrossNodes, type CoordinatedNode } from './coordinator.js';
import { startLocalFleet, type LocalFleet } from './fleet.js';

const N = 5;
const T = 3;
const ENCLAVE_MEASUREMENT = 'e1'.repeat(48);
const OTHER_MEASUREMENT = 'e2'.repeat(48);
const codec = createMpcCodec({ scale: 8, min: 0, max: 2 ** 32 });

interface Party {
  partyId: string;
  signingKey: SecretBytes;
  signingPublicKey: Uint8Array;
  shares: ShareVector[];
}

function makeTerms(parties: ReadonlyArray<{ partyId: string; signingPublicKey: Uint8Array }>, threshold = T, totalParties = N, modelId = 'risk-analyzer-v2'): SessionTerms {
  return {
    type: SESSION_TERMS_TYPE,
    tenantId: 'bankA',
    name: 'mpc run test',
    description: '',
    modelId,
    modelDigest: `sha256:${'0'.repeat(64)}`,
    participants: parties.map((p) => ({ partyId: p.partyId, signingKey: toBase64Url(p.signingPublicKey), encryptionKey: toBase64Url(randomBytes(32)) })),
    observers: [],
    dataPolicy: normalizeDataPolicy({ aggregationMethod: 'mpc', mpcConfig: { protocol: 'shamir_secret_sharing', threshold, totalParties } }, parties.length),
    expiresAt: '2099-01-01T00:00:00.000Z',
    createdAt: '2025-11-25T00:00:00.000Z',
    nonce: toBase64Url(randomBytes(16)),
  };
}

/** Each party's statistics: integers at scale 8 (value = units / 256), below MPC_PROGRAM_INPUT_MAX. */
function randomValues(): number[] {
  return PROGRAM.inputNames.map(() => {
    const [a, b] = [randomBytes(4), randomBytes(4)].map((x) => new DataView(x.buffer).getUint32(0) / 2 ** 32) as [number, number];
    return Math.floor(2 ** (30 * a) * b * 256) / 256;
  });
}

async function sealBundle(
  party: Party,
  sessionId: string,
  nodeKeys: ReadonlyMap<number, Uint8Array>,
  tweak: { sessionId?: string; keyOf?: (i: number) => Uint8Array; signWith?: SecretBytes; program?: MpcProgram } = {},
): Promise<MpcShareBundle> {
  const bodySession = tweak.sessionId ?? sessionId;
  const program = tweak.program ?? PROGRAM;
  const nodes = [];
  for (let i = 1; i <= N; i++) {
    const key = tweak.keyOf?.(i) ?? nodeKeys.get(i)!;
    const plaintext = {
      type: MPC_SHARE_TYPE,
      sessionId: bodySession,
      partyId: party.partyId,
      programId: program.id,
      index: i,
      length: program.inputNames.length,
      share: toBase64Url(fieldVectorToBytes(party.shares[i - 1]!.vector)),
    };
    const envelope = await sealEnvelope(nodeKeys.get(i)!, canonicalBytes(plaintext), { info: MPC_SHARE_INFO });
    nodes.push({ index: i, publicKey: toBase64Url(key), envelope: toBase64Url(envelope) });
  }
  return signMpcShareBundle(tweak.signWith ?? party.signingKey, {
    type: MPC_SHARE_BUNDLE_TYPE,
    sessionId: bodySession,
    partyId: party.partyId,
    programId: program.id,
    dataSchema: 'transaction_records_v1',
    recordCount: 100,
    nodes,
  });
}

async function control(node: CoordinatedNode, method: string, path: string, body?: unknown, token: string | null = node.controlToken): Promise<{ status: number; body: { code?: string; message?: string } & Record<string, unknown> }> {
  const response = await fetch(`${node.url}${path}`, {
    method,
    headers: { ...(token === null ? {} : { authorization: `Bearer ${token}` }), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text ? (JSON.parse(text) as { code?: string }) : {} };
}

describe('mpc runs across compute node processes', () => {
  let dir: string;
  let fleet: LocalFleet;
  let root: string;
  let enclave: SimulatedNsm;
  let sessionId: string;
  let terms: SessionTerms;
  const parties: Party[] = [];
  const nodeKeys = new Map<number, Uint8Array>();
  const nodeSigningKeys = new Map<number, Uint8Array>();
  let sessionKey: { publicKey: string; attestation: string };
  let sessionPrivateKey: SecretBytes;
  let bundles: MpcShareBundle[];
  let reference: ReturnType<typeof runMpcProgramInMemory>;
  let prepCounter = 0;
  const extraArgs = new Map<number, string[]>();
  const nextPrep = () => `prep-${++prepCounter}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'tenzro-mpc-sessions-'));
    const caDir = join(dir, 'enclave');
    enclave = await SimulatedNsm.loadOrCreate({ stateDir: caDir, measurement: ENCLAVE_MEASUREMENT }); // creates the CA
    root = enclave.rootPem;
    fleet = await startLocalFleet({ total: N, baseDir: join(dir, 'nodes'), caDir, enclaveMeasurements: [ENCLAVE_MEASUREMENT], nodeArgs: (i) => extraArgs.get(i) ?? [] });

    for (const name of ['alice', 'bob', 'carol']) {
      const keys = generateSigningKeyPair();
      parties.push({ partyId: `party::bank${name}::${name}`, signingKey: keys.privateKey, signingPublicKey: keys.publicKey, shares: shareVector(codec.encode(randomValues()), { threshold: T, parties: N }) });
    }
    terms = makeTerms(parties);
    sessionId = sessionIdOf(terms);

    const attested = await fetchNodeAttestations(fleet.nodes, { nonce: randomBytes(16) });
    expect(attested.map((a) => a.index)).toEqual([1, 2, 3, 4, 5]);
    for (const a of attested) {
      const verified = await verifyMpcNodeAttestation(a.attestation, { roots: [root], expectedMeasurements: [fleet.measurement], index: a.index, total: N, statement: a.statement });
      nodeKeys.set(a.index, verified.publicKey);
      nodeSigningKeys.set(a.index, verified.signingKey);
    }
    const keyPair = await generateEncryptionKeyPair();
    sessionPrivateKey = keyPair.privateKey;
    const document = await enclave.issue({ publicKey: keyPair.publicKey, userData: sessionKeyUserData(sessionId) });
    sessionKey = { publicKey: toBase64Url(keyPair.publicKey), attestation: toBase64Url(document) };
    bundles = await Promise.all(parties.map((p) => sealBundle(p, sessionId, nodeKeys)));
    reference = runMpcProgramInMemory({ threshold: T, totalParties: N, inputs: parties.map((p) => p.shares) });
  }, 60_000);

  afterAll(async () => {
    await fleet?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const runInput = (prepId: string, runTag: string) => ({ nodes: fleet.nodes, sessionId, runTag, programId: PROGRAM.id, terms, prepId, sessionKey, bundles, threshold: T, totalParties: N, stepTimeoutMs: 10_000 });

  async function openOutputs(outputs: readonly MpcNodeOutput[], runTag: string): Promise<ReturnType<typeof reconstructMpcProgramOutputs>> {
    const shares: ShareVector[] = [];
    for (const output of outputs) {
      expect(output.statement).toMatchObject({ sessionId, runTag, programId: PROGRAM.id, index: output.index, sessionKey: sessionKey.publicKey });
      expect(output.statement.inputs.map((i) => i.partyId)).toEqual(parties.map((p) => p.partyId).sort());
      expect(output.nodeStatement.index).toBe(output.index);
      expect(verifyMpcNodeOutputSignature(output, nodeSigningKeys.get(output.index)!)).toBe(true);
      const sealed = fromBase64Url(output.sealed, 'sealed');
      expect(output.statement.outputHash).toBe(`sha256:${sha256Hex(sealed)}`);
      const plaintext = MpcOutputSharePlaintext.parse(parseStrictJson(utf8Decode(await openEnvelope(sessionPrivateKey, sealed, { info: MPC_OUTPUT_INFO }))));
      expect(plaintext).toMatchObject({ sessionId, runTag, index: output.index, length: PROGRAM.outputs.length });
      shares.push({ x: output.index, vector: fieldVectorFromBytes(MPC_FIELD, fromBase64Url(plaintext.share, 'share'), plaintext.length) });
    }
    return reconstructMpcProgramOutputs(PROGRAM, { threshold: T, field: MPC_FIELD, shares });
  }

  function expectNearReference(outputs: ReturnType<typeof reconstructMpcProgramOutputs>): void {
    const bound = 2n * BigInt(riskAnalyzerOutputErrorBound(T)); // each run within the bound of the exact value
    expect([...outputs.keys()]).toEqual(PROGRAM.outputs);
    for (const [name, out] of outputs) {
      const ref = reference.outputs.get(name)!.integer;
      const diff = out.integer > ref ? out.integer - ref : ref - out.integer;
      expect(diff <= bound, `${name}: |${out.integer} − ${ref}|`).toBe(true);
    }
  }

  it('preprocesses with every node up, runs with 2 nodes down, and the session key opens ≥ t outputs that reconstruct the program', async () => {
    const [prepA, prepB] = [nextPrep(), nextPrep()];
    expect(await preprocessAcrossNodes({ nodes: fleet.nodes, sessionId, prepId: prepA, programId: PROGRAM.id, threshold: T, totalParties: N })).toEqual({ holders: [1, 2, 3, 4, 5] });
    expect(await preprocessAcrossNodes({ nodes: fleet.nodes, sessionId, prepId: prepB, programId: PROGRAM.id, threshold: T, totalParties: N })).toEqual({ holders: [1, 2, 3, 4, 5] });
    expect(await listPreprocessed(fleet.nodes, sessionId)).toEqual(new Map([[prepA, [1, 2, 3, 4, 5]], [prepB, [1, 2, 3, 4, 5]]]));

    fleet.kill(4);
    fleet.kill(5);
    await Promise.all([fleet.exited(4), fleet.exited(5)]);
    const result = await runMpcAcrossNodes(runInput(prepA, 'run-1.1'));
    expect(result.outputs.map((o) => o.index)).toEqual([1, 2, 3]);
    expect(result.down).toEqual([4, 5]);
    expect(result.rounds).toBeGreaterThan(1);
    expectNearReference(await openOutputs(result.outputs, 'run-1.1'));
    // the run consumed its preprocessing, and every node dropped the run once its output was out
    expect([...(await listPreprocessed(fleet.nodes, sessionId)).keys()]).toEqual([prepB]);
    expect(await control(fleet.nodes[0]!, 'POST', '/control/steps', { sessionId, tag: 'run-1.1', round: result.rounds, senders: [1, 2, 3] })).toMatchObject({ status: 409, body: { code: 'unknown_run' } });

    // a third node down: a new preprocessing needs 5, a run 3
    fleet.kill(3);
    await fleet.exited(3);
    const prepError = await preprocessAcrossNodes({ nodes: fleet.nodes, sessionId, prepId: nextPrep(), programId: PROGRAM.id, threshold: T, totalParties: N }).catch((e: unknown) => e);
    expect(prepError).toBeInstanceOf(MpcCoordinatorError);
    expect(prepError).toMatchObject({ code: 'mpc_nodes_unavailable', retryable: true, message: expect.stringContaining('only 2 of 5 compute nodes answered; preprocessing needs 5') });
    const runError = await runMpcAcrossNodes(runInput(prepB, 'run-1.2')).catch((e: unknown) => e);
    expect(runError).toMatchObject({
      code: 'mpc_nodes_unavailable',
      retryable: true,
      message: 'only 2 of 5 compute nodes answered; the program needs 3 (threshold); start the missing nodes and run again',
    });
    // the failed run was dropped where it had started (nodes 1 and 2): its round 0 is unknown there
    for (const node of fleet.nodes.slice(0, 2)) {
      expect(await control(node, 'POST', '/control/steps', { sessionId, tag: 'run-1.2', round: 0, senders: [1, 2] })).toMatchObject({ status: 409, body: { code: 'unknown_run' } });
    }

    // restarted nodes keep their keys (the bundles still open there) and have lost their triples
    expect((await fleet.restartExited()).sort()).toEqual([3, 4, 5]);
    const prepC = nextPrep();
    expect((await preprocessAcrossNodes({ nodes: fleet.nodes, sessionId, prepId: prepC, programId: PROGRAM.id, threshold: T, totalParties: N })).holders).toEqual([1, 2, 3, 4, 5]);
    const again = await runMpcAcrossNodes(runInput(prepC, 'run-1.3'));
    expect(again.outputs.map((o) => o.index)).toEqual([1, 2, 3, 4, 5]);
    expect(again.down).toEqual([]);
    expectNearReference(await openOutputs(again.outputs, 'run-1.3'));
  }, 60_000);

  it("a use-case model's sum program: preprocessing with only t nodes up (no triples), a one-round run, the exact integer sums", async () => {
    const modelId = 'supply-chain-optimizer-v1';
    const SUM = mpcProgramForModel(modelId)!;
    const sumTerms = makeTerms(parties, T, N, modelId);
    const sumSessionId = sessionIdOf(sumTerms);
    const keyPair = await generateEncryptionKeyPair();
    const sumKey = { publicKey: toBase64Url(keyPair.publicKey), attestation: toBase64Url(await enclave.issue({ publicKey: keyPair.publicKey, userData: sessionKeyUserData(sumSessionId) })) };
    const sumCodec = createMpcCodec({ scale: 0, min: 0, max: 2 ** 40 });
    const values = parties.map((_, k) => SUM.inputNames.map((__, i) => (i === 0 ? 2 ** 40 : (k + 1) * 1_000_003 * (i + 1))));
    const sumBundles = await Promise.all(
      parties.map((p, k) => sealBundle({ ...p, shares: shareVector(sumCodec.encode(values[k]!), { threshold: T, parties: N }) }, sumSessionId, nodeKeys, { program: SUM })),
    );
    const check = { sessionId: sumSessionId, programId: SUM.id, terms: sumTerms, bundle: sumBundles[0]! };
    expect(await checkBundleOnNodes(fleet.nodes, check)).toEqual({ checked: [1, 2, 3, 4, 5], unreachable: [] });
    // the programs are not interchangeable: risk-analyzer-v2's program under this model's terms is refused
    await expect(checkBundleOnNodes(fleet.nodes, { ...check, programId: PROGRAM.id })).rejects.toMatchObject({ code: 'mpc_share_refused', nodeCode: 'invalid_terms' });

    fleet.kill(4);
    fleet.kill(5);
    await Promise.all([fleet.exited(4), fleet.exited(5)]);
    try {
      const prepId = nextPrep();
      expect(await preprocessAcrossNodes({ nodes: fleet.nodes, sessionId: sumSessionId, prepId, programId: SUM.id, threshold: T, totalParties: N })).toEqual({ holders: [1, 2, 3] });
      const result = await runMpcAcrossNodes({ nodes: fleet.nodes, sessionId: sumSessionId, runTag: 'sum-1.1', programId: SUM.id, terms: sumTerms, prepId, sessionKey: sumKey, bundles: sumBundles, threshold: T, totalParties: N, stepTimeoutMs: 10_000 });
      expect(result.outputs.map((o) => o.index)).toEqual([1, 2, 3]);
      expect(result.down).toEqual([4, 5]);
      expect(result.rounds).toBe(1);
      const shares: ShareVector[] = [];
      for (const output of result.outputs) {
        expect(output.statement).toMatchObject({ sessionId: sumSessionId, runTag: 'sum-1.1', programId: SUM.id, index: output.index });
        expect(verifyMpcNodeOutputSignature(output, nodeSigningKeys.get(output.index)!)).toBe(true);
        const plaintext = MpcOutputSharePlaintext.parse(parseStrictJson(utf8Decode(await openEnvelope(keyPair.privateKey, fromBase64Url(output.sealed, 'sealed'), { info: MPC_OUTPUT_INFO }))));
        expect(plaintext.length).toBe(SUM.outputs.length);
        shares.push({ x: output.index, vector: fieldVectorFromBytes(MPC_FIELD, fromBase64Url(plaintext.share, 'share'), plaintext.length) });
      }
      const revealed = reconstructMpcProgramOutputs(SUM, { threshold: T, field: MPC_FIELD, shares });
      const exact = SUM.inputNames.map((_, i) => values.reduce((sum, v) => sum + BigInt(v[i]!), 0n));
      expect([...revealed.values()].map((o) => o.integer)).toEqual(exact);
    } finally {
      await fleet.restartExited();
      await forgetSession(fleet.nodes, sumSessionId);
    }
  }, 60_000);

  it('refuses bad bundles and session keys at POST /control/runs, each with its code, keeping nothing', async () => {
    const prepId = nextPrep();
    await preprocessAcrossNodes({ nodes: fleet.nodes, sessionId, prepId, programId: PROGRAM.id, threshold: T, totalParties: N });
    const [alice] = parties as [Party];
    const stranger = generateSigningKeyPair();
    const otherTerms = makeTerms(parties);
    const otherKey = await generateEncryptionKeyPair();
    const body = (runTag: string, patch: Record<string, unknown>) => ({ sessionId, runTag, programId: PROGRAM.id, terms, prepId, sessionKey, bundles, ...patch });
    const withAlice = (bundle: MpcShareBundle) => [bundle, ...bundles.slice(1)];
    const fresh = await generateEncryptionKeyPair();
    // another enclave build over the same CA: a different measurement
    const otherEnclave = await SimulatedNsm.loadOrCreate({ stateDir: join(dir, 'enclave'), measurement: OTHER_MEASUREMENT });
    const cases: Array<{ node: number; patch: () => Promise<Record<string, unknown>>; status: number; code: string; names?: string }> = [
      { node: 1, patch: async () => ({ bundles: withAlice(await sealBundle(alice, sessionId, nodeKeys, { signWith: stranger.privateKey })) }), status: 422, code: 'invalid_share', names: alice.partyId },
      { node: 2, patch: async () => ({ bundles: withAlice(await sealBundle(alice, sessionIdOf(otherTerms), nodeKeys)) }), status: 422, code: 'invalid_share', names: alice.partyId },
      { node: 3, patch: async () => ({ bundles: withAlice(await sealBundle(alice, sessionId, nodeKeys, { keyOf: (i) => (i === 3 ? otherKey.publicKey : nodeKeys.get(i)!) })) }), status: 422, code: 'invalid_share', names: alice.partyId },
      {
        node: 4,
        patch: async () => ({ sessionKey: { publicKey: toBase64Url(fresh.publicKey), attestation: toBase64Url(await otherEnclave.issue({ publicKey: fresh.publicKey, userData: sessionKeyUserData(sessionId) })) } }),
        status: 403,
        code: 'session_key_unverified',
      },
      {
        node: 5,
        patch: async () => ({ sessionKey: { publicKey: toBase64Url(fresh.publicKey), attestation: toBase64Url(await enclave.issue({ publicKey: fresh.publicKey, userData: sessionKeyUserData(sessionIdOf(otherTerms)) })) } }),
        status: 403,
        code: 'session_key_unverified',
      },
    ];
    for (const c of cases) {
      const node = fleet.nodes[c.node - 1]!;
      const runTag = `refused-${c.node}`;
      const answer = await control(node, 'POST', '/control/runs', body(runTag, await c.patch()));
      expect(answer, `node ${c.node}`).toMatchObject({ status: c.status, body: { code: c.code } });
      if (c.names) expect(answer.body.message).toContain(c.names);
      expect(answer.body.message).not.toMatch(/share":|[A-Za-z0-9_-]{40,}/); // no values, no envelopes
      // nothing kept: no run, and the preprocessing is consumed
      expect(await control(node, 'POST', '/control/steps', { sessionId, tag: runTag, round: 0, senders: [c.node] })).toMatchObject({ status: 409, body: { code: 'unknown_run' } });
      expect((await control(node, 'GET', `/control/preprocessed?sessionId=${sessionId}`)).body).toEqual({ prepIds: [] });
    }

    // the same prep again, on node 1 (consumed): unknown_prep; other terms: invalid_terms; a party twice: duplicate_party
    const node1 = fleet.nodes[0]!;
    expect(await control(node1, 'POST', '/control/runs', body('refused-again', {}))).toMatchObject({ status: 409, body: { code: 'unknown_prep' } });
    const prep2 = nextPrep();
    await preprocessAcrossNodes({ nodes: fleet.nodes, sessionId, prepId: prep2, programId: PROGRAM.id, threshold: T, totalParties: N });
    expect(await control(fleet.nodes[0]!, 'POST', '/control/runs', body('t-1', { prepId: prep2, terms: otherTerms }))).toMatchObject({ status: 422, body: { code: 'invalid_terms' } });
    expect(await control(fleet.nodes[1]!, 'POST', '/control/runs', body('t-2', { prepId: prep2, bundles: [bundles[0], bundles[0]] }))).toMatchObject({ status: 422, body: { code: 'duplicate_party' } });
    expect(await control(fleet.nodes[2]!, 'POST', '/control/runs', body('t-3', { prepId: prep2 }), null)).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
    expect(await control(fleet.nodes[2]!, 'POST', '/control/runs', body('t-3', { prepId: prep2 }), 'wrong')).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
    // node 3 still holds prep2 (unauthenticated calls change nothing)
    expect((await control(fleet.nodes[2]!, 'GET', `/control/preprocessed?sessionId=${sessionId}`)).body).toEqual({ prepIds: [prep2] });
  }, 60_000);

  it('refuses steps out of order and forgets a session on DELETE', async () => {
    const node = fleet.nodes[0]!;
    const prepId = nextPrep();
    const started = await control(node, 'POST', '/control/preprocess', { sessionId, prepId, programId: PROGRAM.id, threshold: T, totalParties: N });
    expect(started).toMatchObject({ status: 200, body: { ok: true } });
    expect(await control(node, 'POST', '/control/steps', { sessionId, tag: prepId, round: 1, senders: [1] })).toMatchObject({ status: 409, body: { code: 'round_out_of_order' } });
    expect(await control(node, 'POST', '/control/steps', { sessionId, tag: prepId, round: 0, senders: [1] })).toMatchObject({ status: 200, body: { phase: 'offline', delivered: [1] } });
    expect(await control(node, 'POST', '/control/steps', { sessionId, tag: prepId, round: 0, senders: [1] })).toMatchObject({ status: 409, body: { code: 'round_out_of_order' } });
    expect(await control(node, 'POST', '/control/preprocess', { sessionId, prepId, programId: PROGRAM.id, threshold: T, totalParties: N })).toMatchObject({ status: 409, body: { code: 'tag_in_use' } });
    expect(await control(node, 'POST', '/control/steps', { sessionId, tag: prepId, round: 1, senders: [1] }, null)).toMatchObject({ status: 401, body: { code: 'unauthorized' } });
    await forgetSession(fleet.nodes, sessionId);
    expect(await control(node, 'POST', '/control/steps', { sessionId, tag: prepId, round: 1, senders: [1] })).toMatchObject({ status: 409, body: { code: 'unknown_run' } });
    expect((await control(node, 'GET', `/control/preprocessed?sessionId=${sessionId}`)).body).toEqual({ prepIds: [] });
    expect((await control(node, 'DELETE', `/control/sessions/${sessionId}`)).status).toBe(204);
    // a node refusing a round fails the run with mpc_run_failed naming it (here: a prep id of another program)
    const error = await preprocessAcrossNodes({ nodes: fleet.nodes, sessionId, prepId: 'x', programId: 'no-such-program', threshold: T, totalParties: N }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'mpc_run_failed', message: expect.stringMatching(/compute node \d refused preprocessing x: \[invalid_terms\]/) });
  }, 30_000);

  it('checks a bundle at upload on every node (POST /control/check-bundle), keeping nothing; raw routes are not served', async () => {
    const [alice] = parties as [Party];
    const before = await listPreprocessed(fleet.nodes, sessionId);
    const request = { sessionId, programId: PROGRAM.id, terms, bundle: bundles[0]! };
    expect(await checkBundleOnNodes(fleet.nodes, request)).toEqual({ checked: [1, 2, 3, 4, 5], unreachable: [] });
    const stranger = generateSigningKeyPair();
    const forged = await sealBundle(alice, sessionId, nodeKeys, { signWith: stranger.privateKey });
    const error = await checkBundleOnNodes(fleet.nodes, { ...request, bundle: forged }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MpcCoordinatorError);
    expect(error).toMatchObject({ code: 'mpc_share_refused', node: 1, nodeCode: 'invalid_share', retryable: false, message: expect.stringContaining(alice.partyId) });
    // an envelope sealed to another key for node 3 only: node 3 refuses
    const otherKey = await generateEncryptionKeyPair();
    const misSealed = await sealBundle(alice, sessionId, nodeKeys, { keyOf: (i) => (i === 3 ? otherKey.publicKey : nodeKeys.get(i)!) });
    await expect(checkBundleOnNodes(fleet.nodes, { ...request, bundle: misSealed })).rejects.toMatchObject({ code: 'mpc_share_refused', node: 3, nodeCode: 'invalid_share' });
    await expect(checkBundleOnNodes(fleet.nodes, { ...request, terms: makeTerms(parties) })).rejects.toMatchObject({ code: 'mpc_share_refused', nodeCode: 'invalid_terms' });
    expect(await listPreprocessed(fleet.nodes, sessionId)).toEqual(before);
    // a node without --allow-raw-multiply serves no raw multiplication
    const node = fleet.nodes[0]!;
    expect(await control(node, 'POST', '/control/sessions', { sessionId, threshold: T })).toMatchObject({ status: 404, body: { code: 'not_found' } });
    expect(await control(node, 'POST', '/control/multiply', { sealed: 'AAAA' })).toMatchObject({ status: 404, body: { code: 'not_found' } });
    expect(await control(node, 'GET', `/control/mailbox?sessionId=${sessionId}&op=mul/0`)).toMatchObject({ status: 404, body: { code: 'not_found' } });
  }, 30_000);

  it('a run no node could start drops its preprocessing everywhere (a prep is never left for a second run)', async () => {
    const prepId = nextPrep();
    await preprocessAcrossNodes({ nodes: fleet.nodes, sessionId, prepId, programId: PROGRAM.id, threshold: T, totalParties: N });
    // a body every node refuses before reading it (not a share bundle): nobody starts, nobody consumes
    const broken = [{ ...bundles[0]!, extra: true }] as unknown as MpcShareBundle[];
    await expect(runMpcAcrossNodes({ ...runInput(prepId, 'run-broken'), bundles: broken })).rejects.toMatchObject({ code: 'mpc_run_failed', nodeCode: 'invalid_request' });
    expect((await listPreprocessed(fleet.nodes, sessionId)).has(prepId)).toBe(false);
    // and so a retry with it finds no holder
    await expect(runMpcAcrossNodes(runInput(prepId, 'run-broken.2'))).rejects.toMatchObject({ code: 'mpc_nodes_unavailable' });
  }, 30_000);

  it('a node whose mailbox refuses messages is the one marked down; a run body over its limit says so', async () => {
    extraArgs.set(5, ['--max-body-bytes', '1024']); // round messages and run bodies are larger
    try {
      fleet.kill(5);
      await fleet.exited(5);
      expect(await fleet.restartExited()).toEqual([5]);
      const error = await preprocessAcrossNodes({ nodes: fleet.nodes, sessionId, prepId: nextPrep(), programId: PROGRAM.id, threshold: T, totalParties: N }).catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'mpc_nodes_unavailable', down: [5], message: expect.stringContaining('only 4 of 5 compute nodes answered; preprocessing needs 5') });
      const runError = await runMpcAcrossNodes(runInput('no-such-prep', 'run-too-big')).catch((e: unknown) => e);
      expect(runError).toMatchObject({ code: 'mpc_run_failed', node: 5, nodeCode: 'body_too_large', message: expect.stringContaining("the run request exceeds node 5's body limit (--max-body-bytes)") });
    } finally {
      extraArgs.delete(5);
      fleet.kill(5);
      await fleet.exited(5);
      await fleet.restartExited();
    }
  }, 60_000);

  it('a node restarted mid-run (unknown_run) is marked down and the run completes without it', async () => {
    const prepId = nextPrep();
    await preprocessAcrossNodes({ nodes: fleet.nodes, sessionId, prepId, programId: PROGRAM.id, threshold: T, totalParties: N });
    const result = await runMpcAcrossNodes({
      ...runInput(prepId, 'run-restart'),
      onRound: async (round) => {
        if (round !== 1) return;
        fleet.kill(5);
        await fleet.exited(5);
        await fleet.restartExited();
      },
    });
    expect(result.outputs.map((o) => o.index)).toEqual([1, 2, 3, 4]);
    expect(result.down).toEqual([5]);
    expectNearReference(await openOutputs(result.outputs, 'run-restart'));
  }, 60_000);

  it('a node hung mid-run (SIGSTOP) is marked down and the run completes in bounded time', async () => {
    const prepId = nextPrep();
    await preprocessAcrossNodes({ nodes: fleet.nodes, sessionId, prepId, programId: PROGRAM.id, threshold: T, totalParties: N });
    const started = Date.now();
    try {
      const result = await runMpcAcrossNodes({
        ...runInput(prepId, 'run-hung'),
        stepTimeoutMs: 6000, // the nodes give up on node 5 after 3 s, inside the coordinator's 6 s
        onRound: (round) => {
          if (round === 1) fleet.kill(5, 'SIGSTOP');
        },
      });
      expect(result.outputs.map((o) => o.index)).toEqual([1, 2, 3, 4]);
      expect(result.down).toEqual([5]);
      expectNearReference(await openOutputs(result.outputs, 'run-hung'));
      expect(Date.now() - started).toBeLessThan(25_000);
    } finally {
      fleet.kill(5, 'SIGCONT');
    }
  }, 60_000);
});
