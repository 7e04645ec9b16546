// docs/mpc.md "Party: contribute (SDK)" against an in-memory host (mpc-host.fixture.ts): node attestations
// verified (roots, node measurement, index of n, nonce) before anything is sent; the statistic vector
// Shamir-shared threshold-of-n, one share sealed to each node; the signed bundle posted; plain uploads refused.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  MPC_FIELD,
  equalFieldVectors,
  fieldVectorFromBytes,
  fromBase64Url,
  interpolateShareVectors,
  openEnvelope,
  parseStrictJson,
  reconstructVector,
  toBase64Url,
  utf8Decode,
  type SecretBytes,
  type ShareVector,
} from '@tenzro/crypto';
import { MPC_STATISTIC_CODEC, generateDemoData, mpcStatisticValues, type TransactionRecord } from '@tenzro/models';
import { MPC_SHARE_INFO, MpcSharePlaintext, mpcNodeUserData, mpcShareBundleCommitment, verifyMpcShareBundleSignature } from '@tenzro/protocol';
import { describe, expect, it } from 'vitest';
import { MEASUREMENT } from './fake-host.fixture.js';
import { NODE_MEASUREMENT, OTHER_MEASUREMENT, impostorCa, makeMpcHost, nodeCa, type MpcHost } from './mpc-host.fixture.js';
import { encryptWithSessionKey, hashCommitment } from './helpers.js';
import type { PartyIdentity } from './identity.js';
import { TenzroPlatform, type TenzroPlatformOptions } from './platform.js';

const SCHEMA = 'transaction_records_v1';
const records = generateDemoData({ banks: ['bankA'], recordsPerBank: 100, seed: 3 }).partitions.bankA!.slice(0, 60) as TransactionRecord[];

async function platformFor(host: MpcHost, party: PartyIdentity = host.fixture.bankA, extra: Partial<TenzroPlatformOptions> = {}): Promise<TenzroPlatform> {
  return new TenzroPlatform({
    apiKey: 'k',
    tenantId: party.partyId.split('::')[1]!,
    baseUrl: 'http://host.test',
    party,
    trustedRoots: [host.fixture.enclave.rootPem, (await nodeCa()).rootPem],
    expectedMeasurements: [MEASUREMENT],
    expectedMpcNodeMeasurements: [NODE_MEASUREMENT],
    fetch: host.fixture.fetch,
    ...extra,
  });
}

async function openShare(key: SecretBytes, envelope: string): Promise<MpcSharePlaintext> {
  const plaintext = await openEnvelope(key, fromBase64Url(envelope), { info: MPC_SHARE_INFO });
  return MpcSharePlaintext.parse(parseStrictJson(utf8Decode(plaintext)));
}

async function sharesOf(host: MpcHost, which = 0): Promise<ShareVector[]> {
  const { bundle } = host.bundles[which]!;
  return Promise.all(
    bundle.body.nodes.map(async (entry) => {
      const opened = await openShare(host.nodes[entry.index - 1]!.hpke.privateKey, entry.envelope);
      return { x: opened.index, vector: fieldVectorFromBytes(MPC_FIELD, fromBase64Url(opened.share), opened.length) };
    }),
  );
}

function subsets<T>(items: T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [first!, ...s]), ...subsets(rest, k)];
}

const posts = (host: MpcHost) => host.fixture.requests.filter((r) => r.method === 'POST');

describe('contribute on an mpc session', () => {
  it('sends a signed bundle of n envelopes; any t shares reconstruct the encoded statistic vector', async () => {
    const host = await makeMpcHost();
    const platform = await platformFor(host);
    const receipt = await platform.ai.contribute({ sessionId: host.fixture.sessionId, data: records, dataSchema: SCHEMA });
    expect(receipt.mpc).toEqual({ programId: 'risk-analyzer-v2.mpc.v1', nodes: 5, threshold: 3 });
    expect(receipt.salt).toBeUndefined();
    expect(host.bundles).toHaveLength(1);
    const { bundle, partyId } = host.bundles[0]!;
    expect(partyId).toBe(host.fixture.bankA.partyId);
    expect(receipt.commitment).toBe(mpcShareBundleCommitment(bundle));
    expect(bundle.body).toMatchObject({ type: 'tenzro.mpc.share-bundle/v1', sessionId: host.fixture.sessionId, partyId, programId: host.programId, dataSchema: SCHEMA, recordCount: records.length });
    expect(verifyMpcShareBundleSignature(bundle, fromBase64Url(host.fixture.bankA.signingKey.publicKey))).toBe(true);
    expect(bundle.body.nodes.map((n) => n.index)).toEqual([1, 2, 3, 4, 5]);
    bundle.body.nodes.forEach((n, i) => expect(fromBase64Url(n.publicKey)).toEqual(host.nodes[i]!.hpke.publicKey));
    // The nonce was fresh and the nodes were asked before the bundle was posted.
    const nodesRequest = host.fixture.requests.find((r) => r.path.endsWith('/mpc/nodes'))!;
    expect(new URL(nodesRequest.url).searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(host.fixture.requests.indexOf(nodesRequest)).toBeLessThan(host.fixture.requests.indexOf(posts(host)[0]!));
    expect(posts(host)[0]!.headers['content-type']).toBe('application/json');

    const secret = MPC_STATISTIC_CODEC.encode(mpcStatisticValues(records));
    const shares = await sharesOf(host);
    for (const [i, share] of shares.entries()) {
      expect(share.x).toBe(i + 1);
      expect(share.vector.length).toBe(secret.length);
    }
    for (const subset of subsets(shares, 3)) expect(equalFieldVectors(reconstructVector(subset, 3), secret)).toBe(true);
    // All five lie on one polynomial of degree threshold − 1 (reconstructVector checks the extra points).
    expect(equalFieldVectors(reconstructVector(shares, 3), secret)).toBe(true);
  });

  it('each envelope opens only with its own node key (not another node, not the session key)', async () => {
    const host = await makeMpcHost();
    await (await platformFor(host)).ai.contribute({ sessionId: host.fixture.sessionId, data: records, dataSchema: SCHEMA });
    const { bundle } = host.bundles[0]!;
    for (const entry of bundle.body.nodes) {
      for (const node of host.nodes) {
        const opening = openShare(node.hpke.privateKey, entry.envelope);
        if (node.index === entry.index) expect((await opening).index).toBe(entry.index);
        else await expect(opening).rejects.toMatchObject({ code: 'decryption_failed' });
      }
      await expect(openShare(host.fixture.sessionKey.privateKey, entry.envelope)).rejects.toMatchObject({ code: 'decryption_failed' });
    }
  });

  it('t − 1 shares are not the secret: fresh coefficients per contribution, and two points do not pin f(0)', async () => {
    const host = await makeMpcHost();
    const platform = await platformFor(host);
    await platform.ai.contribute({ sessionId: host.fixture.sessionId, data: records, dataSchema: SCHEMA });
    await platform.ai.contribute({ sessionId: host.fixture.sessionId, data: records, dataSchema: SCHEMA });
    const secret = MPC_STATISTIC_CODEC.encode(mpcStatisticValues(records));
    const [first, second] = [await sharesOf(host, 0), await sharesOf(host, 1)];
    const differing = (a: Uint32Array, b: Uint32Array) => a.filter((v, i) => v !== b[i]).length;
    for (let i = 0; i < 5; i++) {
      // The same records, shared twice: every node's share differs in (nearly) every residue.
      expect(differing(first[i]!.vector.residues, second[i]!.vector.residues)).toBeGreaterThan(first[i]!.vector.residues.length * 0.99);
      // No share is the secret itself.
      expect(differing(first[i]!.vector.residues, secret.residues)).toBeGreaterThan(secret.residues.length * 0.99);
    }
    // Any two shares (t − 1 = 2): the line through them misses f(0) almost everywhere.
    for (const pair of subsets(first, 2)) {
      expect(differing(interpolateShareVectors(pair, 0).residues, secret.residues)).toBeGreaterThan(secret.residues.length * 0.99);
    }
    // The plaintext fields carry no statistic beyond the share (index, length, ids).
    const opened = await openShare(host.nodes[0]!.hpke.privateKey, host.bundles[0]!.bundle.body.nodes[0]!.envelope);
    expect(Object.keys(opened).sort()).toEqual(['index', 'length', 'partyId', 'programId', 'sessionId', 'share', 'type']);
  });

  describe('refuses before sending anything', () => {
    async function refusal(host: MpcHost, extra: Partial<TenzroPlatformOptions> = {}, data: unknown = records): Promise<any> {
      const error = await (await platformFor(host, host.fixture.bankA, extra)).ai
        .contribute({ sessionId: host.fixture.sessionId, data, dataSchema: SCHEMA })
        .catch((e: unknown) => e);
      expect(posts(host)).toHaveLength(0);
      expect(host.bundles).toHaveLength(0);
      return error;
    }

    it('a node running unpinned code: node_unverified naming the node and measurement_mismatch', async () => {
      const host = await makeMpcHost();
      const impostor = await impostorCa();
      const honest = host.attest;
      host.attest = async (node, nonce) =>
        node.index === 3
          ? { index: 3, statement: node.statement, attestation: toBase64Url(await impostor.issue({ publicKey: node.hpke.publicKey, userData: mpcNodeUserData(node.statement), ...(nonce ? { nonce } : {}) })) }
          : honest(node, nonce);
      const error = await refusal(host);
      expect(error).toMatchObject({ name: 'MpcContributionError', code: 'node_unverified', nodeIndex: 3, attestationCode: 'measurement_mismatch', status: 422 });
      expect(error.message).toMatch(/node 3 of 5/);
    });

    it('a wrong expectedMpcNodeMeasurements: node 1 is refused', async () => {
      const host = await makeMpcHost();
      const error = await refusal(host, { expectedMpcNodeMeasurements: [OTHER_MEASUREMENT] });
      expect(error).toMatchObject({ code: 'node_unverified', nodeIndex: 1, attestationCode: 'measurement_mismatch' });
    });

    it('the enclave measurement does not stand in for a node measurement (and vice versa)', async () => {
      const host = await makeMpcHost();
      const error = await refusal(host, { expectedMpcNodeMeasurements: [MEASUREMENT] });
      expect(error).toMatchObject({ code: 'node_unverified', attestationCode: 'measurement_mismatch' });
    });

    it('a replayed document (another nonce): nonce_mismatch', async () => {
      const host = await makeMpcHost();
      const honest = host.attest;
      host.attest = (node, nonce) => honest(node, node.index === 4 ? new Uint8Array(32).fill(1) : nonce);
      expect(await refusal(host)).toMatchObject({ code: 'node_unverified', nodeIndex: 4, attestationCode: 'nonce_mismatch' });
      const host2 = await makeMpcHost();
      const honest2 = host2.attest;
      host2.attest = (node) => honest2(node, undefined);
      expect(await refusal(host2)).toMatchObject({ code: 'node_unverified', nodeIndex: 1, attestationCode: 'nonce_mismatch' });
    });

    it('a node posing as another (swapped statements or documents)', async () => {
      const host = await makeMpcHost();
      host.editNodes = (reply) => ({ ...reply, nodes: reply.nodes.map((n, i) => (i === 1 ? { ...n, statement: reply.nodes[0]!.statement } : n)) });
      expect(await refusal(host)).toMatchObject({ code: 'node_unverified', nodeIndex: 2, attestationCode: 'index_mismatch' });
      const host2 = await makeMpcHost();
      host2.editNodes = (reply) => ({ ...reply, nodes: reply.nodes.map((n, i) => (i === 1 ? { ...n, attestation: reply.nodes[0]!.attestation } : n)) });
      expect(await refusal(host2)).toMatchObject({ code: 'node_unverified', nodeIndex: 2, attestationCode: 'statement_mismatch' });
    });

    it('a node list that differs from the terms: nodes_mismatch', async () => {
      for (const edit of [
        (r: any) => ({ ...r, nodes: r.nodes.slice(0, 4) }),
        (r: any) => ({ ...r, threshold: 2 }),
        (r: any) => ({ ...r, programId: 'other.mpc.v1' }),
        (r: any) => ({ ...r, nodes: [...r.nodes].reverse() }),
      ]) {
        const host = await makeMpcHost();
        host.editNodes = edit;
        expect(await refusal(host)).toMatchObject({ code: 'nodes_mismatch' });
      }
    });

    it('no node measurement pinned: ConfigurationError, even in the insecure local mode', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'tenzro-sdk-cred-'));
      const previous = process.env.TENZRO_CREDENTIALS;
      process.env.TENZRO_CREDENTIALS = join(dir, 'none.json');
      writeFileSync(process.env.TENZRO_CREDENTIALS, JSON.stringify({ attestation: { rootPem: null, measurement: null } }));
      try {
        const host = await makeMpcHost();
        const without = { expectedMpcNodeMeasurements: undefined };
        expect(await refusal(host, without)).toMatchObject({ name: 'ConfigurationError', code: 'no_expected_measurement' });
        expect(await refusal(host, { ...without, insecureAcceptUnverifiedAttestation: true })).toMatchObject({ code: 'no_expected_measurement' });
        expect((await refusal(host, without)).message).toMatch(/expectedMpcNodeMeasurements/);
      } finally {
        if (previous === undefined) delete process.env.TENZRO_CREDENTIALS;
        else process.env.TENZRO_CREDENTIALS = previous;
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('records that break the schema: schema_validation_failed, before the nodes are even asked', async () => {
      const host = await makeMpcHost();
      const error = await refusal(host, {}, [{ transactionId: 'x' }]);
      expect(error).toMatchObject({ code: 'schema_validation_failed' });
      expect(error.details.length).toBeGreaterThan(0);
      expect(host.fixture.requests.some((r) => r.path.endsWith('/mpc/nodes'))).toBe(false);
    });

    it('a party not on the roster as participant', async () => {
      const host = await makeMpcHost();
      const error = await (await platformFor(host, host.fixture.regulator)).ai
        .contribute({ sessionId: host.fixture.sessionId, data: records, dataSchema: SCHEMA })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'not_applicable' });
      expect(posts(host)).toHaveLength(0);
    });
  });

  it('takes the node measurement from the development credentials by default', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'tenzro-sdk-cred-'));
    const previous = process.env.TENZRO_CREDENTIALS;
    process.env.TENZRO_CREDENTIALS = join(dir, 'credentials.json');
    writeFileSync(process.env.TENZRO_CREDENTIALS, JSON.stringify({ attestation: { rootPem: null, measurement: null, mpcNodeMeasurement: NODE_MEASUREMENT.toUpperCase() } }));
    try {
      const host = await makeMpcHost();
      const receipt = await (await platformFor(host, host.fixture.bankA, { expectedMpcNodeMeasurements: undefined })).ai.contribute({ sessionId: host.fixture.sessionId, data: records, dataSchema: SCHEMA });
      expect(receipt.mpc?.nodes).toBe(5);
    } finally {
      if (previous === undefined) delete process.env.TENZRO_CREDENTIALS;
      else process.env.TENZRO_CREDENTIALS = previous;
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('checks expectedMpcNodeMeasurements', async () => {
    const host = await makeMpcHost();
    await expect(platformFor(host, host.fixture.bankA, { expectedMpcNodeMeasurements: [] })).rejects.toThrow(/options.expectedMpcNodeMeasurements must be a non-empty array/);
    await expect(platformFor(host, host.fixture.bankA, { expectedMpcNodeMeasurements: ['zz'] })).rejects.toThrow(/options.expectedMpcNodeMeasurements\[0\]/);
  });
});

describe('submitSessionData on an mpc session', () => {
  it('is refused before sending with mpc_shares_required (the server\'s message)', async () => {
    const host = await makeMpcHost();
    const platform = await platformFor(host);
    const key = await platform.ai.getSessionKey(host.fixture.sessionId);
    const error = await platform.ai
      .submitSessionData({ sessionId: host.fixture.sessionId, data: await encryptWithSessionKey(JSON.stringify(records), key.publicKey), dataSchema: SCHEMA, commitment: await hashCommitment(records) })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'TenzroApiError', code: 'mpc_shares_required', status: 422 });
    expect((error as Error).message).toBe(
      'this session uses mpc: records are not uploaded; use platform.ai.contribute, which sends Shamir shares sealed to the compute nodes',
    );
    expect(posts(host)).toHaveLength(0);
  });
});
