/**
 * Test fixture (not built, not shipped): an in-memory host of the mpc party routes (docs/mpc.md) on top of
 * fake-host.fixture.ts — an mpc session (threshold 3 of 5 by default), five compute nodes with their own
 * HPKE and signing keys attested by a simulated NSM at NODE_MEASUREMENT (a CA of their own), the
 * `GET /mpc/nodes?nonce=` route answering fresh, nonce-bound documents, and `POST /mpc/shares` storing the
 * bundle it received. Tests replace `attest` to make a node (or the host) lie.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBase64Url, generateEncryptionKeyPair, generateSigningKeyPair, parseStrictJson, toBase64Url, utf8Decode, type EncryptionKeyPair, type SigningKeyPair } from '@tenzro/crypto';
import { MpcShareBundle, mpcNodeStatement, mpcNodeUserData, mpcShareBundleCommitment, mpcProgramForModel, type MpcNodeStatement, type MpcNodesResponse } from '@tenzro/protocol';
import { SimulatedNsm } from '../../enclave/src/attestation/index.js';
import { apiError, json, makeFixture, type Fixture, type RecordedRequest } from './fake-host.fixture.js';

export const NODE_MEASUREMENT = 'cd'.repeat(48);
export const OTHER_MEASUREMENT = 'ef'.repeat(48);

let caDir: string | undefined;
let nodeNsm: Promise<SimulatedNsm> | undefined;
let impostorNsm: Promise<SimulatedNsm> | undefined;

/** The compute nodes' simulated CA (one per test process), at NODE_MEASUREMENT. */
export function nodeCa(): Promise<SimulatedNsm> {
  caDir ??= mkdtempSync(join(tmpdir(), 'tenzro-sdk-nodes-'));
  nodeNsm ??= SimulatedNsm.loadOrCreate({ stateDir: caDir, measurement: NODE_MEASUREMENT });
  return nodeNsm;
}

/** The same CA (same root) at OTHER_MEASUREMENT: node code nobody pinned. */
export async function impostorCa(): Promise<SimulatedNsm> {
  await nodeCa();
  impostorNsm ??= SimulatedNsm.loadOrCreate({ stateDir: caDir!, measurement: OTHER_MEASUREMENT });
  return impostorNsm;
}

export interface FakeNode {
  index: number;
  hpke: EncryptionKeyPair;
  signing: SigningKeyPair;
  statement: MpcNodeStatement;
}

export interface MpcHost {
  fixture: Fixture;
  threshold: number;
  totalParties: number;
  programId: string;
  nodes: FakeNode[];
  /** Every bundle POSTed, as parsed, with the party header it came with. */
  bundles: { partyId: string; bundle: MpcShareBundle }[];
  /** Answers one node entry of GET /mpc/nodes (default: a fresh document binding `nonce`). */
  attest: (node: FakeNode, nonce: Uint8Array | undefined) => Promise<MpcNodesResponse['nodes'][number]>;
  /** Edits the whole GET /mpc/nodes reply (default: unchanged). */
  editNodes: (reply: MpcNodesResponse) => MpcNodesResponse;
}

export async function makeMpcHost(options: { threshold?: number; totalParties?: number } = {}): Promise<MpcHost> {
  const threshold = options.threshold ?? 3;
  const totalParties = options.totalParties ?? 5;
  const fixture = await makeFixture(
    { minParticipants: 2, aggregationMethod: 'mpc', mpcConfig: { protocol: 'shamir_secret_sharing', threshold, totalParties } },
    { bankC: true },
  );
  const ca = await nodeCa();
  const nodes: FakeNode[] = [];
  for (let index = 1; index <= totalParties; index++) {
    const hpke = await generateEncryptionKeyPair();
    const signing = generateSigningKeyPair();
    nodes.push({ index, hpke, signing, statement: mpcNodeStatement({ index, total: totalParties, signingKey: signing.publicKey }) });
  }
  const programId = mpcProgramForModel(fixture.terms.modelId)!.id;
  const base = `/v1/sessions/${fixture.sessionId}`;
  const host: MpcHost = {
    fixture,
    threshold,
    totalParties,
    programId,
    nodes,
    bundles: [],
    attest: async (node, nonce) => ({
      index: node.index,
      statement: node.statement,
      attestation: toBase64Url(await ca.issue({ publicKey: node.hpke.publicKey, userData: mpcNodeUserData(node.statement), ...(nonce ? { nonce } : {}) })),
    }),
    editNodes: (reply) => reply,
  };
  fixture.routes.set(`GET ${base}/mpc/nodes`, async (request: RecordedRequest) => {
    const text = new URL(request.url).searchParams.get('nonce');
    const nonce = text ? fromBase64Url(text) : undefined;
    const reply: MpcNodesResponse = {
      sessionId: fixture.sessionId,
      threshold,
      totalParties,
      programId,
      nodes: await Promise.all(nodes.map((node) => host.attest(node, nonce))),
    };
    return json(200, host.editNodes(reply));
  });
  fixture.routes.set(`POST ${base}/mpc/shares`, (request: RecordedRequest) => {
    if (request.headers['content-type'] !== 'application/json') return apiError(415, 'unsupported_media_type', 'JSON only');
    const parsed = MpcShareBundle.safeParse(parseStrictJson(typeof request.body === 'string' ? request.body : utf8Decode(request.body as Uint8Array)));
    if (!parsed.success) return apiError(400, 'invalid_request', 'not a share bundle');
    const partyId = request.headers['x-tenzro-party-id'] ?? '';
    host.bundles.push({ partyId, bundle: parsed.data });
    return json(201, {
      submissionId: `sub_${host.bundles.length}`,
      sessionId: fixture.sessionId,
      partyId,
      dataSchema: parsed.data.body.dataSchema,
      commitment: mpcShareBundleCommitment(parsed.data),
      commitmentScheme: 'plain',
      ciphertextHash: `sha256:${'3'.repeat(64)}`,
      size: request.body === undefined ? 0 : typeof request.body === 'string' ? request.body.length : request.body.length,
      recordCount: parsed.data.body.recordCount,
      receivedAt: new Date().toISOString(),
      status: 'collecting',
    });
  });
  return host;
}
