/**
 * The party's side of the `mpc` method (docs/mpc.md, "Party: contribute"; DESIGN §7). The records never
 * leave the party: their statistic vector does, Shamir-shared so that fewer than `threshold` compute nodes
 * learn nothing, each share sealed to one node's attested key.
 *
 *   1. GET /mpc/nodes?nonce=<fresh 32 bytes>: every node's document must verify (trusted roots, an
 *      accepted node measurement, role mpc-node, index i of n, this nonce) — else `node_unverified`;
 *   2. validate the records (the model's data schema), then the statistic vector: risk-analyzer-v2's program
 *      `mpcStatisticValues` encoded with MPC_STATISTIC_CODEC; a use-case model's sum program
 *      `computeStatistics(aggregateLayoutOf(modelId), records)` encoded with mpcSumCodec (integers, scale 0);
 *      either in MPC_FIELD, `shareVector(values, { threshold, parties: n })`;
 *   3. per node i: JCS(MpcSharePlaintext) sealed to node i's attested HPKE key (info MPC_SHARE_INFO);
 *   4. the bundle signed with the party's roster signing key, POST /mpc/shares.
 *
 * Plaintext buffers (the encoded vector, the shares, each JCS plaintext) are zeroed once sealed.
 */
import {
  MPC_FIELD,
  canonicalize,
  fieldVectorToBytes,
  randomBytes,
  sealEnvelope,
  shareVector,
  toBase64Url,
  utf8Encode,
  type ShareVector,
} from '@tenzro/crypto';
import {
  MPC_STATISTIC_CODEC,
  MPC_STATISTIC_NAMES,
  aggregateLayoutOf,
  computeStatistics,
  mpcStatisticValues,
  mpcSumVector,
  type AggregateLayout,
  type TransactionRecord,
} from '@tenzro/models';
import {
  AttestationError,
  MPC_SHARE_BUNDLE_TYPE,
  MPC_SHARE_INFO,
  MPC_SHARE_TYPE,
  MpcNodeAttestationError,
  MpcNodesResponse,
  SubmissionResponse,
  isMpcSumProgram,
  mpcProgramForModel,
  mpcShareBundleCommitment,
  signMpcShareBundle,
  verifyMpcNodeAttestation,
  type MpcProgram,
  type MpcShareBundleBody,
  type MultiPartySession,
  type SubmissionResponse as SubmissionResponseType,
  type VerifiedMpcNode,
} from '@tenzro/protocol';
import { TenzroApiError } from '../errors.js';
import type { HttpClient } from '../http.js';
import type { PartyKeys } from '../identity.js';
import { checkRecords } from '../records.js';
import { noExpectedMpcNodeMeasurement, type TrustSettings } from '../trust.js';
import { MpcContributionError } from './errors.js';

/** Bytes of the nonce each node must bind into its fresh document (the route takes 16–64). */
export const MPC_NODE_NONCE_BYTES = 32;

/** What `contribute` reports about an mpc contribution. */
export interface MpcContributionInfo {
  /** The program the nodes run (e.g. `risk-analyzer-v2.mpc.v1`). */
  programId: string;
  /** Compute nodes the vector was shared among (totalParties). */
  nodes: number;
  /** Nodes needed to reconstruct; fewer learn nothing. */
  threshold: number;
}

/** The host's receipt for the share bundle, with the bundle's commitment and the sharing. */
export type MpcContribution = SubmissionResponseType & { commitment: string; mpc: MpcContributionInfo };

export interface MpcPartyContext {
  http: HttpClient;
  trust: TrustSettings;
  recordCommitment?: ((sessionId: string, partyId: string, commitment: string) => Promise<void>) | undefined;
}

export interface ContributeSharesInput {
  dataSchema: string;
  data: unknown;
  signal?: AbortSignal | undefined;
}

/** The expectations a node list is checked against: the session's terms, never the host's word. */
export interface MpcNodeExpectations {
  sessionId: string;
  threshold: number;
  totalParties: number;
  programId: string;
  nonce: Uint8Array;
}

/**
 * What a party computes and shares for the session's program: risk-analyzer-v2's own statistic vector
 * (MPC_STATISTIC_NAMES), or for a sum program the model's aggregate layout (one integer per statistic).
 */
export type MpcStatisticSource = { kind: 'risk_analyzer' } | { kind: 'sum'; layout: AggregateLayout };

/** The session's mpc sharing and program, from its verified terms. */
export function mpcSharingOf(session: MultiPartySession): { threshold: number; totalParties: number; program: MpcProgram; source: MpcStatisticSource } {
  const config = session.terms.dataPolicy.mpcConfig;
  if (session.terms.dataPolicy.aggregationMethod !== 'mpc' || config === undefined) {
    throw new MpcContributionError('not_applicable', `session ${session.id} does not use mpc`);
  }
  const { modelId } = session.terms;
  const program = mpcProgramForModel(modelId);
  if (program === undefined) {
    throw new MpcContributionError('unsupported_model', `this SDK knows no mpc program for the model ${modelId}`);
  }
  let source: MpcStatisticSource;
  if (isMpcSumProgram(program)) {
    const layout = aggregateLayoutOf(modelId);
    if (layout === undefined) throw new MpcContributionError('unsupported_model', `this SDK knows no statistic layout for the model ${modelId}`);
    if (layout.statisticCount !== program.inputNames.length) {
      throw new MpcContributionError('unsupported_model', `the program ${program.id} takes ${program.inputNames.length} inputs, the layout ${layout.id} has ${layout.statisticCount} statistics`);
    }
    source = { kind: 'sum', layout };
  } else {
    if (program.inputNames.length !== MPC_STATISTIC_NAMES.length) {
      throw new MpcContributionError('unsupported_model', `the program ${program.id} takes ${program.inputNames.length} inputs, the statistics have ${MPC_STATISTIC_NAMES.length}`);
    }
    source = { kind: 'risk_analyzer' };
  }
  return { threshold: config.threshold, totalParties: config.totalParties, program, source };
}

/**
 * Checks the host's node list against the session and verifies every node's fresh document: trusted
 * roots, an accepted node measurement (`trust.expectedMpcNodeMeasurements`, required even in the local
 * insecure mode: shares of party data are never sealed to an unverified node), role mpc-node, index i of n,
 * the nonce asked for, at most `attestationMaxAgeMs` old. Distinct HPKE keys.
 * @throws MpcContributionError `node_unverified` / `nodes_mismatch`, ConfigurationError `no_expected_measurement`.
 */
export async function verifyMpcNodes(response: MpcNodesResponse, expect: MpcNodeExpectations, trust: TrustSettings): Promise<VerifiedMpcNode[]> {
  const measurements = trust.expectedMpcNodeMeasurements;
  if (measurements === undefined) throw noExpectedMpcNodeMeasurement();
  const mismatch = (what: string): never => {
    throw new MpcContributionError('nodes_mismatch', `the compute nodes the host lists for ${expect.sessionId}: ${what}`);
  };
  if (response.sessionId !== expect.sessionId) mismatch('they are listed for another session');
  if (response.threshold !== expect.threshold || response.totalParties !== expect.totalParties) {
    mismatch(`threshold ${response.threshold} of ${response.totalParties}, the terms say ${expect.threshold} of ${expect.totalParties}`);
  }
  if (response.programId !== expect.programId) mismatch(`program ${response.programId}, the model's is ${expect.programId}`);
  if (response.nodes.length !== expect.totalParties) mismatch(`${response.nodes.length} nodes, the terms say ${expect.totalParties}`);
  const verified: VerifiedMpcNode[] = [];
  for (const [position, node] of response.nodes.entries()) {
    const index = position + 1;
    if (node.index !== index) mismatch(`node ${position + 1} of the list says it is node ${node.index}`);
    try {
      verified.push(
        await verifyMpcNodeAttestation(node.attestation, {
          roots: trust.roots,
          now: trust.now(),
          expectedMeasurements: measurements,
          index,
          total: expect.totalParties,
          statement: node.statement,
          maxAgeMs: trust.attestationMaxAgeMs,
          expectedNonce: expect.nonce,
        }),
      );
    } catch (cause) {
      if (!(cause instanceof MpcNodeAttestationError) && !(cause instanceof AttestationError)) throw cause;
      // The node-level code (statement_mismatch, index_mismatch, …), or for a document that failed
      // verifyAttestation the document's own code (measurement_mismatch, nonce_mismatch, untrusted_root, …).
      const inner = cause instanceof MpcNodeAttestationError && cause.code === 'attestation_invalid' && cause.cause instanceof AttestationError ? cause.cause : cause;
      const attestationCode = inner.code;
      throw new MpcContributionError(
        'node_unverified',
        `compute node ${index} of ${expect.totalParties} of ${expect.sessionId} is not verified (${attestationCode}): ${inner.message}; nothing was sent`,
        { node: { nodeIndex: index, attestationCode }, cause },
      );
    }
  }
  const keys = new Set(verified.map((node) => toBase64Url(node.publicKey)));
  if (keys.size !== verified.length) mismatch('two nodes attest the same HPKE key');
  return verified;
}

/** The records' statistic vector, encoded into MPC_FIELD and Shamir-shared (x = 1..totalParties). */
function shareStatistics(source: MpcStatisticSource, records: unknown[], threshold: number, totalParties: number): ShareVector[] {
  return source.kind === 'sum' ? shareSumStatistics(source.layout, records, threshold, totalParties) : shareRiskStatistics(records as TransactionRecord[], threshold, totalParties);
}

/** A sum program's input: the layout's integer statistics (computeStatistics), encoded with mpcSumCodec. */
function shareSumStatistics(layout: AggregateLayout, records: unknown[], threshold: number, totalParties: number): ShareVector[] {
  let values: number[];
  try {
    // the model's statistics of its own schema's records (validated above); RangeError when out of bounds
    values = computeStatistics(layout, records as TransactionRecord[]);
  } catch (cause) {
    throw new MpcContributionError('statistic_out_of_range', `the statistics of these records cannot be computed (nothing was sent): ${(cause as Error).message}`, { cause });
  }
  try {
    return mpcSumVector(layout, values, { threshold, totalParties });
  } catch (cause) {
    if (!(cause instanceof RangeError)) throw cause;
    throw new MpcContributionError('statistic_out_of_range', `the statistics of these records exceed the mpc codec's range (nothing was sent): ${cause.message}`, { cause });
  } finally {
    values.fill(0);
  }
}

function shareRiskStatistics(records: TransactionRecord[], threshold: number, totalParties: number): ShareVector[] {
  let values: number[];
  try {
    values = mpcStatisticValues(records);
  } catch (cause) {
    throw new MpcContributionError('statistic_out_of_range', `the statistics of these records cannot be computed (nothing was sent): ${(cause as Error).message}`, { cause });
  }
  let encoded;
  try {
    encoded = MPC_STATISTIC_CODEC.encode(values);
  } catch (cause) {
    throw new MpcContributionError('statistic_out_of_range', `the statistics of these records exceed the mpc codec's range (nothing was sent): ${(cause as Error).message}`, { cause });
  } finally {
    values.fill(0);
  }
  try {
    if (encoded.field.id !== MPC_FIELD.id) throw new TypeError('MPC_STATISTIC_CODEC does not encode into MPC_FIELD');
    return shareVector(encoded, { threshold, parties: totalParties });
  } finally {
    encoded.residues.fill(0);
  }
}

/** Seals share x = node.index to the node's attested key; zeroes the share and the plaintext after. */
async function sealShare(
  node: VerifiedMpcNode,
  share: ShareVector,
  fields: { sessionId: string; partyId: string; programId: string; length: number },
): Promise<{ index: number; publicKey: string; envelope: string }> {
  if (share.x !== node.index) throw new TypeError(`share x = ${share.x} is not node ${node.index}'s`);
  const shareBytes = fieldVectorToBytes(share.vector);
  const plaintext = utf8Encode(
    canonicalize({ type: MPC_SHARE_TYPE, sessionId: fields.sessionId, partyId: fields.partyId, programId: fields.programId, index: node.index, length: fields.length, share: toBase64Url(shareBytes) }),
  );
  try {
    const envelope = await sealEnvelope(node.publicKey, plaintext, { info: MPC_SHARE_INFO });
    return { index: node.index, publicKey: toBase64Url(node.publicKey), envelope: toBase64Url(envelope) };
  } finally {
    plaintext.fill(0);
    shareBytes.fill(0);
    share.vector.residues.fill(0);
  }
}

/**
 * Steps 1–4 for `party` on a verified mpc `session`. Everything that can fail locally (the records, the
 * nodes) fails before the bundle is sent.
 */
export async function contributeShares(context: MpcPartyContext, party: PartyKeys, session: MultiPartySession, input: ContributeSharesInput): Promise<MpcContribution> {
  const sessionId = session.id;
  if (!session.terms.participants.some((p) => p.partyId === party.partyId)) {
    throw new MpcContributionError('not_applicable', `${party.partyId} is not a participant of ${sessionId}: only participants contribute`);
  }
  const { threshold, totalParties, program, source } = mpcSharingOf(session);
  const checked = checkRecords(session.terms, input.dataSchema, input.data);
  if (!checked.ok) {
    throw new MpcContributionError(checked.code, checked.message, checked.code === 'schema_validation_failed' ? { details: checked.details } : {});
  }
  const records = checked.records;

  const nonce = randomBytes(MPC_NODE_NONCE_BYTES);
  const listed = await context.http.request('GET', `/v1/sessions/${sessionId}/mpc/nodes?nonce=${toBase64Url(nonce)}`, MpcNodesResponse, { signal: input.signal });
  const nodes = await verifyMpcNodes(listed, { sessionId, threshold, totalParties, programId: program.id, nonce }, context.trust);

  const shares = shareStatistics(source, records, threshold, totalParties);
  const fields = { sessionId, partyId: party.partyId, programId: program.id, length: program.inputNames.length };
  let sealed: MpcShareBundleBody['nodes'];
  try {
    sealed = [];
    for (const node of nodes) sealed.push(await sealShare(node, shares[node.index - 1]!, fields));
  } finally {
    for (const share of shares) share.vector.residues.fill(0);
  }
  const bundle = signMpcShareBundle(party.signingPrivateKey, {
    type: MPC_SHARE_BUNDLE_TYPE,
    sessionId,
    partyId: party.partyId,
    programId: program.id,
    dataSchema: input.dataSchema,
    recordCount: records.length,
    nodes: sealed,
  });
  const commitment = mpcShareBundleCommitment(bundle);
  const receipt = await context.http.request('POST', `/v1/sessions/${sessionId}/mpc/shares`, SubmissionResponse, { json: bundle, signal: input.signal });
  if (receipt.sessionId !== sessionId || receipt.commitment !== commitment) {
    throw new TenzroApiError('invalid_response', 'the submission receipt does not match the share bundle sent', { status: 200 });
  }
  await context.recordCommitment?.(sessionId, party.partyId, commitment);
  return { ...receipt, commitment, mpc: { programId: program.id, nodes: totalParties, threshold } };
}

/** A plain upload on an mpc session: the API's refusal (same code and message), raised before sending. */
export function mpcSharesRequired(): TenzroApiError {
  return new TenzroApiError(
    'mpc_shares_required',
    'this session uses mpc: records are not uploaded; use platform.ai.contribute, which sends Shamir shares sealed to the compute nodes',
  );
}

