/**
 * mpc test helpers: an mpc session over the demo parties, the compute nodes as a party verifies them, and a
 * party's real share bundle (its statistic vector of demo records, Shamir-shared and sealed to each node's
 * attested key, signed with its roster key) — what the SDK's contribute sends (docs/mpc.md, "Party").
 */
import {
  canonicalize,
  fieldVectorToBytes,
  fromBase64Url,
  generateEncryptionKeyPair,
  randomBytes,
  sealEnvelope,
  toBase64Url,
  utf8Encode,
} from '@tenzro/crypto';
import { getDataSchema, mpcStatisticVector } from '@tenzro/models';
import {
  MPC_SHARE_INFO,
  MPC_SHARE_BUNDLE_TYPE,
  MPC_SHARE_TYPE,
  MpcNodesResponse,
  RISK_ANALYZER_MPC_PROGRAM,
  signMpcShareBundle,
  verifyMpcNodeAttestation,
  type MpcShareBundle,
  type VerifiedMpcNode,
} from '@tenzro/protocol';
import type { LightMyRequestResponse } from 'fastify';
import { createTestSession, demoData, type CreateOptions, type DemoName, type TestServer, PARTY } from './harness.fixture.js';

export function mpcPolicy(threshold = 2, totalParties = 3): Record<string, unknown> {
  return { aggregationMethod: 'mpc', minParticipants: 2, mpcConfig: { protocol: 'shamir_secret_sharing', threshold, totalParties } };
}

export async function createMpcSession(t: TestServer, options: CreateOptions & { threshold?: number; totalParties?: number } = {}): Promise<any> {
  const { threshold, totalParties, ...rest } = options;
  return createTestSession(t, { ...rest, dataPolicy: mpcPolicy(threshold, totalParties) });
}

/** GET /mpc/nodes with `nonce` (default: a fresh 32-byte one; null: none). */
export async function getNodes(t: TestServer, who: DemoName, sessionId: string, nonce: string | null = toBase64Url(randomBytes(32))): Promise<LightMyRequestResponse> {
  const query = nonce === null ? '' : `?nonce=${nonce}`;
  return t.inject(who, { method: 'GET', url: `/v1/sessions/${sessionId}/mpc/nodes${query}` });
}

/** The nodes as a party takes them: every attestation verified (roots, node measurement, index, nonce). */
export async function verifiedNodes(t: TestServer, who: DemoName, sessionId: string): Promise<VerifiedMpcNode[]> {
  const nonce = randomBytes(32);
  const response = await getNodes(t, who, sessionId, toBase64Url(nonce));
  if (response.statusCode !== 200) throw new Error(`mpc/nodes: ${response.statusCode} ${response.body}`);
  const listed = MpcNodesResponse.parse(JSON.parse(response.body));
  const { rootPem, mpcNodeMeasurement } = t.credentials.attestation;
  return Promise.all(
    listed.nodes.map((node) =>
      verifyMpcNodeAttestation(node.attestation, {
        roots: [rootPem!],
        ...(mpcNodeMeasurement ? { expectedMeasurements: [mpcNodeMeasurement] } : {}),
        index: node.index,
        total: listed.totalParties,
        statement: node.statement,
        expectedNonce: nonce,
      }),
    ),
  );
}

/** `who`'s signed share bundle of `count` demo records for the session's nodes. */
export async function shareBundle(
  t: TestServer,
  who: DemoName,
  sessionId: string,
  nodes: readonly VerifiedMpcNode[],
  options: { threshold?: number; count?: number; partyId?: string; sealedToWrongKeyFor?: number } = {},
): Promise<MpcShareBundle> {
  const validated = getDataSchema('transaction_records_v1')!.validate(demoData(who, options.count ?? 30));
  if (!validated.ok) throw new Error('demo data does not validate');
  const program = RISK_ANALYZER_MPC_PROGRAM;
  const shares = mpcStatisticVector(validated.records as Parameters<typeof mpcStatisticVector>[0], {
    threshold: options.threshold ?? 2,
    totalParties: nodes.length,
  });
  const partyId = options.partyId ?? PARTY[who];
  const sealed = [];
  for (const node of nodes) {
    const share = shares[node.index - 1]!;
    const plaintext = {
      type: MPC_SHARE_TYPE,
      sessionId,
      partyId,
      programId: program.id,
      index: node.index,
      length: program.inputNames.length,
      share: toBase64Url(fieldVectorToBytes(share.vector)),
    };
    // sealedToWrongKeyFor: that node's envelope is sealed to another key (the bundle still names the node's).
    const sealTo = node.index === options.sealedToWrongKeyFor ? (await generateEncryptionKeyPair()).publicKey : node.publicKey;
    const envelope = await sealEnvelope(sealTo, utf8Encode(canonicalize(plaintext)), { info: MPC_SHARE_INFO });
    sealed.push({ index: node.index, publicKey: toBase64Url(node.publicKey), envelope: toBase64Url(envelope) });
  }
  const signer = t.credentials.parties.find((p) => p.tenantId === who)!;
  return signMpcShareBundle(fromBase64Url(signer.signingKey.privateKey), {
    type: MPC_SHARE_BUNDLE_TYPE,
    sessionId,
    partyId,
    programId: program.id,
    dataSchema: 'transaction_records_v1',
    recordCount: validated.records.length,
    nodes: sealed,
  });
}

/** A bundle that parses but whose envelopes are sealed to random keys (for refusals before the enclave). */
export function fakeBundle(t: TestServer, who: DemoName, sessionId: string, partyId = PARTY[who], total = 3): MpcShareBundle {
  const signer = t.credentials.parties.find((p) => p.tenantId === who)!;
  return signMpcShareBundle(fromBase64Url(signer.signingKey.privateKey), {
    type: MPC_SHARE_BUNDLE_TYPE,
    sessionId,
    partyId,
    programId: RISK_ANALYZER_MPC_PROGRAM.id,
    dataSchema: 'transaction_records_v1',
    recordCount: 30,
    nodes: Array.from({ length: total }, (_, i) => ({ index: i + 1, publicKey: toBase64Url(randomBytes(32)), envelope: toBase64Url(randomBytes(64)) })),
  });
}

export async function postShares(
  t: TestServer,
  who: DemoName,
  sessionId: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return t.inject(who, {
    method: 'POST',
    url: `/v1/sessions/${sessionId}/mpc/shares`,
    headers: { 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });
}

export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
