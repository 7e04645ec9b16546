// The `mpc` method over the real enclave process (docs/mpc.md, Enclave): 3 banks' statistic vectors are
// Shamir-shared to 3 in-memory compute nodes (t = 2) that run risk-analyzer-v2's program with reveal
// 'recipient'; the enclave checks every node output (attestation, measurement, signature, statement, keys),
// reconstructs the declared outputs and analyses them. Each refusal releases nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULT_INFO, fromBase64Url, generateEncryptionKeyPair, generateSigningKeyPair, openEnvelope, parseStrictJson, toBase64Url, utf8Decode } from '@tenzro/crypto';
import { aggregateLayoutOf } from '@tenzro/models';
import { HelloResult, ResultBody, RunResult, aggregatedDataHash, reportDigest, riskAnalyzerOutputErrorBound, verifyAttestation } from '@tenzro/protocol';
import { EnclaveProcess, tempDir, type Reply } from '../test/enclave-process.js';
import {
  OTHER_MEASUREMENT,
  PROGRAM,
  contribute,
  makeNodes,
  mpcParties,
  mpcRunParams,
  nodeOutput,
  plainPooled,
  runNodes,
  setupMpcSession,
  type MpcSessionSetup,
  type OutputOptions,
  type PartyContribution,
  type TestNode,
} from '../test/mpc-fixture.js';
import { NODE_MEASUREMENT } from '../test/mpc-fixture.js';
import type { Party } from '../test/session-fixture.js';

const FEATURES = aggregateLayoutOf('risk-analyzer-v2')!.features;
const EXCLUSIVE = new Set(['channel_cash*channel_wire', 'channel_cash*channel_card', 'channel_wire*channel_card']);

describe('run (mpc)', () => {
  let enclave: EnclaveProcess;
  let stateDir: string;
  let hello: ReturnType<typeof HelloResult.parse>;
  let blobDir: string;
  let digest: string;
  let parties: Party[];
  let nodes: TestNode[];
  let setup: MpcSessionSetup;
  let contributions: PartyContribution[];
  let shares: Map<number, import('@tenzro/crypto').ShareVector>;
  const runTag = 'run_1.1';

  beforeAll(async () => {
    stateDir = await tempDir('tenzro-enclave-mpc-');
    const previous = process.env.TENZRO_MPC_NODE_MEASUREMENTS;
    process.env.TENZRO_MPC_NODE_MEASUREMENTS = NODE_MEASUREMENT;
    try {
      enclave = EnclaveProcess.start(stateDir);
    } finally {
      if (previous === undefined) delete process.env.TENZRO_MPC_NODE_MEASUREMENTS;
      else process.env.TENZRO_MPC_NODE_MEASUREMENTS = previous;
    }
    hello = HelloResult.parse(await enclave.call('hello'));
    digest = hello.models.find((m) => m.modelId === 'risk-analyzer-v2')!.modelDigest;
    blobDir = await tempDir('tenzro-enclave-mpc-blobs-');
    parties = await mpcParties(3);
    nodes = await makeNodes(stateDir, 3);
    setup = await setupMpcSession(enclave, digest, { n: 3, threshold: 2, parties });
    contributions = [];
    for (const party of parties) contributions.push(await contribute(setup, nodes, party, blobDir));
    shares = runNodes(setup, contributions, runTag);
  });
  afterAll(async () => {
    await enclave.stop();
  });

  const outputs = (list: readonly TestNode[], options: Partial<OutputOptions> = {}, included = contributions) =>
    Promise.all(list.map((node) => nodeOutput(setup, node, shares.get(node.index)!, included, { runTag, ...options })));

  function refused(reply: Reply, code: string): void {
    expect(reply.ok).toBe(false);
    expect(reply.error?.code).toBe(code);
    expect(reply.result).toBeUndefined();
  }

  it('hello announces mpc for risk-analyzer-v2', () => {
    expect(hello.models.find((m) => m.modelId === 'risk-analyzer-v2')!.methods).toEqual(['federated', 'secure_aggregation', 'mpc']);
  });

  it('reconstructs the declared outputs and releases the analysis within the fixed-point bound', async () => {
    const reply = await enclave.request('run', mpcRunParams(setup, contributions, { runTag, outputs: await outputs(nodes) }));
    expect(reply.error).toBeUndefined();
    const result = RunResult.parse(reply.result);
    const { report } = result;
    const ids = parties.map((p) => p.partyId).sort();
    expect(report).toMatchObject({ sessionId: setup.sessionId, modelId: 'risk-analyzer-v2', participantCount: 3, includedParties: ids });
    expect(report.aggregatedDataHash).toBe(aggregatedDataHash(contributions.map((c) => ({ partyId: c.party.partyId, commitment: c.submission.commitment }))));
    expect(Object.keys(result.timings).sort()).toEqual(['decryptVerifyMs', 'mpcVerifyMs', 'reportMs', 'trainMs']);
    await verifyAttestation(result.attestation, { roots: [hello.rootPem], expectedMeasurements: [hello.measurement], expectedUserData: reportDigest(report) });

    const sealed = result.sealedResults.find((s) => s.partyId === parties[0]!.partyId)!;
    const body = ResultBody.parse(parseStrictJson(utf8Decode(await openEnvelope(parties[0]!.encryptionPrivateKey, fromBase64Url(sealed.sealed), { info: RESULT_INFO }))));
    const findings = body.shared.findings as any;
    expect(findings.method).toBe('mpc');
    expect(findings.computeNodes).toEqual({ total: 3, threshold: 2, used: [1, 2, 3] });
    expect(findings.fixedPoint.outputErrorUnits).toBe(riskAnalyzerOutputErrorBound(2));
    expect(body.privateFindings).toBeUndefined();

    // plaintext pooled statistics from the summed statistic vectors
    const { at } = plainPooled(setup, PROGRAM.inputNames);
    const n = at('count:records');
    expect(findings.records.count).toBe(n);
    expect(findings.labels.labelled.count).toBe(at('count:labelled'));
    const single = (f: (typeof FEATURES)[number], prefix = '') => at(`${f.binary ? 'count' : 'sum'}:${prefix}${f.name}`);
    const second = (a: number, b: number): number => {
      const fa = FEATURES[a]!;
      const fb = FEATURES[b]!;
      if (a === b) return fa.binary ? single(fa) : at(`sum_squares:${fa.name}`);
      const key = `${fa.name}*${fb.name}`;
      return EXCLUSIVE.has(key) ? 0 : at(`cross_product:${key}`);
    };
    const cov = (a: number, b: number) => second(a, b) / n - (single(FEATURES[a]!) / n) * (single(FEATURES[b]!) / n);
    const stats = findings.featureStatistics.stats;
    FEATURES.forEach((_, j) => expect(Math.abs(stats.features[j].variance - cov(j, j))).toBeLessThanOrEqual(findings.fixedPoint.varianceErrorBound + 1e-6 + 1e-12));
    for (let a = 0; a < FEATURES.length; a++) {
      for (let b = a + 1; b < FEATURES.length; b++) {
        const r = stats.correlation.matrix[a][b];
        if (r === null) continue;
        // the statistics round each record's products to 2^-8, so a plaintext r of a near-collinear pair may
        // exceed 1 slightly: the analysis clamps it (and says so)
        const plain = Math.max(-1, Math.min(1, cov(a, b) / Math.sqrt(cov(a, a) * cov(b, b))));
        expect(Math.abs(r - plain)).toBeLessThanOrEqual(findings.fixedPoint.correlationErrorBound + 5e-5 + 1e-9);
      }
    }
    const L = at('count:labelled');
    const Y = at('count:fraud');
    const score = [
      ['near_reporting_threshold', 1],
      ['structuring_evidence', 1],
      ['foreign_country', 0.5],
    ].reduce((s, [name, w]) => {
      const f = FEATURES.find((x) => x.name === name)!;
      return s + (w as number) * (single(f, 'fraud*') / L - (Y / L) * (single(f, 'labelled*') / L));
    }, 0);
    expect(Math.abs(findings.riskScore.score - score)).toBeLessThanOrEqual(findings.riskScore.errorBound + 5e-9);
  });

  it('runs with a node down (2 of 3 outputs) and names the nodes used', async () => {
    const live = runNodes(setup, contributions, 'run_2.1', [1, 3]);
    const list = await Promise.all([nodes[0]!, nodes[2]!].map((node) => nodeOutput(setup, node, live.get(node.index)!, contributions, { runTag: 'run_2.1' })));
    const reply = await enclave.request('run', mpcRunParams(setup, contributions, { runTag: 'run_2.1', outputs: list }, 'run_2'));
    expect(reply.error).toBeUndefined();
    const sealed = reply.result.sealedResults[0];
    const party = parties.find((p) => p.partyId === sealed.partyId)!;
    const body = ResultBody.parse(parseStrictJson(utf8Decode(await openEnvelope(party.encryptionPrivateKey, fromBase64Url(sealed.sealed), { info: RESULT_INFO }))));
    expect((body.shared.findings as any).computeNodes.used).toEqual([1, 3]);
  });

  it('a node document with another measurement is set aside → mpc_below_threshold', async () => {
    const foreign = await makeNodes(stateDir, 3, OTHER_MEASUREMENT);
    // same keys as the real nodes, documents of another measurement
    const swapped = nodes.map((node, i) => (i === 0 ? node : { ...node, attestation: foreign[i]!.attestation }));
    const reply = await enclave.request('run', mpcRunParams(setup, contributions, { runTag, outputs: await outputs(swapped) }));
    refused(reply, 'mpc_below_threshold');
    expect(reply.error!.message).toMatch(/^1 of 3 node outputs passed the checks/);
  });

  it('a forged statement signature → mpc_below_threshold', async () => {
    const forger = generateSigningKeyPair();
    const list = await outputs(nodes);
    const forged = await Promise.all(nodes.slice(1).map((node) => nodeOutput(setup, node, shares.get(node.index)!, contributions, { runTag, signWith: forger.privateKey })));
    refused(await enclave.request('run', mpcRunParams(setup, contributions, { runTag, outputs: [list[0]!, ...forged] })), 'mpc_below_threshold');
  });

  it('a statement for another run tag → mpc_below_threshold', async () => {
    refused(await enclave.request('run', mpcRunParams(setup, contributions, { runTag, outputs: await outputs(nodes, { editStatement: (s) => ({ ...s, runTag: 'run_9.1' }) }) })), 'mpc_below_threshold');
    // and the request's run tag differs from what every node signed (same run, another attempt)
    refused(await enclave.request('run', mpcRunParams(setup, contributions, { runTag: 'run_1.9', outputs: await outputs(nodes) })), 'mpc_below_threshold');
  });

  it('outputs of another run (a run tag not of this run id) → mpc_rejected before anything is opened', async () => {
    const other = await outputs(nodes, { editStatement: (s) => ({ ...s, runTag: 'run_9.1' }) });
    refused(await enclave.request('run', mpcRunParams(setup, contributions, { runTag: 'run_9.1', outputs: other })), 'mpc_rejected');
  });

  it('an output sealed to another session key → mpc_below_threshold', async () => {
    const other = await generateEncryptionKeyPair();
    const list = await outputs(nodes.slice(1), { sealTo: other.publicKey, editStatement: (s) => ({ ...s, sessionKey: toBase64Url(other.publicKey) }) });
    const good = await outputs(nodes.slice(0, 1));
    refused(await enclave.request('run', mpcRunParams(setup, contributions, { runTag, outputs: [...good, ...list] })), 'mpc_below_threshold');
  });

  it('statement inputs missing an included party → mpc_below_threshold', async () => {
    const list = await outputs(nodes, { editStatement: (s) => ({ ...s, inputs: s.inputs.slice(1) }) });
    refused(await enclave.request('run', mpcRunParams(setup, contributions, { runTag, outputs: list })), 'mpc_below_threshold');
  });

  it("a node whose attested key is not the key a bundle sealed to → mpc_below_threshold", async () => {
    const stranger = await generateEncryptionKeyPair();
    const other = await generateEncryptionKeyPair();
    const keys = [nodes[0]!.encryptionPublicKey, stranger.publicKey, other.publicKey];
    // party A's bundle (valid, signed) sealed its shares for nodes 2 and 3 to keys those nodes do not attest
    const odd = await contribute(setup, nodes, parties[0]!, blobDir, { nodeKeys: keys });
    const included = [odd, ...contributions.slice(1)];
    const list = await Promise.all(nodes.map((node) => nodeOutput(setup, node, shares.get(node.index)!, included, { runTag })));
    refused(await enclave.request('run', mpcRunParams(setup, included, { runTag, outputs: list })), 'mpc_below_threshold');
  });

  it('two passing outputs for one node index → mpc_rejected', async () => {
    const list = await outputs(nodes);
    const again = await outputs(nodes.slice(0, 1));
    refused(await enclave.request('run', mpcRunParams(setup, contributions, { runTag, outputs: [...list, ...again] })), 'mpc_rejected');
  });

  it('below threshold: one output → mpc_below_threshold', async () => {
    refused(await enclave.request('run', mpcRunParams(setup, contributions, { runTag, outputs: await outputs(nodes.slice(0, 1)) })), 'mpc_below_threshold');
  });

  it('output shares off one polynomial (a node lied about its share) → mpc_rejected', async () => {
    const list = await outputs(nodes.slice(0, 2));
    const lie = await nodeOutput(setup, nodes[2]!, shares.get(1)!, contributions, { runTag, editPlaintext: (p) => ({ ...p, index: 3 }) });
    refused(await enclave.request('run', mpcRunParams(setup, contributions, { runTag, outputs: [...list, lie] })), 'mpc_rejected');
  });

  it('mpc inputs are required on an mpc session and refused elsewhere', async () => {
    const params = mpcRunParams(setup, contributions, { runTag, outputs: [] });
    const { mpc: _, ...withoutMpc } = params;
    refused(await enclave.request('run', withoutMpc), 'invalid_request');
    refused(await enclave.request('run', { ...params, mpc: { ...params.mpc, programId: 'other.mpc.v1' } }), 'mpc_rejected');
  });
});
