// Test support for mpc sessions over the real enclave process (docs/mpc.md), without node processes:
// compute nodes are in-memory program machines (createMpcTripleMachine + createMpcProgramMachine with reveal
// 'recipient') over the Shamir shares of 3 banks' real statistic vectors (@tenzro/models mpcStatisticVector
// on demo data); node keys are fresh; node documents are issued by the enclave's own SimulatedNsm state (the
// nodes share its CA dir, as in development) with user_data = mpcNodeUserData(statement) and the node
// measurement; bundles are signed by the parties' roster keys; output shares are sealed to the session key.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  canonicalize,
  fieldVectorToBytes,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  randomBytes,
  sealEnvelope,
  sha256Hex,
  toBase64Url,
  fromBase64Url,
  utf8Encode,
  type SecretBytes,
  type ShareVector,
} from '@tenzro/crypto';
import { generateDemoData, mpcStatisticValues, mpcStatisticVector, type TransactionRecord } from '@tenzro/models';
import {
  MPC_NODE_OUTPUT_TYPE,
  MPC_OUTPUT_INFO,
  MPC_OUTPUT_SHARE_TYPE,
  MPC_SHARE_BUNDLE_TYPE,
  MPC_SHARE_INFO,
  MPC_SHARE_TYPE,
  RISK_ANALYZER_MPC_PROGRAM,
  createMpcNode,
  createMpcProgramMachine,
  createMpcTripleMachine,
  mpcNodeStatement,
  mpcNodeUserData,
  mpcProgramTripleLength,
  mpcShareBundleCommitment,
  signMpcNodeOutputStatement,
  signMpcShareBundle,
  type MpcMessage,
  type MpcNodeOutput,
  type MpcNodeOutputStatement,
  type MpcShareBundle,
  type MpcShareBundleBody,
  type SessionTerms,
} from '@tenzro/protocol';
import { SimulatedNsm } from '../src/attestation/simulated-nsm.js';
import type { EnclaveProcess } from './enclave-process.js';
import { consentOf, makeParty, makeTerms, type Party, type WrittenSubmission } from './session-fixture.js';

export const MODEL_ID = 'risk-analyzer-v2';
export const SCHEMA = 'transaction_records_v1';
export const PROGRAM = RISK_ANALYZER_MPC_PROGRAM;
/** The node measurement the test enclave accepts (TENZRO_MPC_NODE_MEASUREMENTS). */
export const NODE_MEASUREMENT = 'ab'.repeat(48);
export const OTHER_MEASUREMENT = 'cd'.repeat(48);

export interface TestNode {
  index: number;
  encryptionPublicKey: Uint8Array;
  encryptionPrivateKey: SecretBytes;
  signingPublicKey: Uint8Array;
  signingPrivateKey: SecretBytes;
  nodeStatement: ReturnType<typeof mpcNodeStatement>;
  /** base64url document. */
  attestation: string;
}

/** n nodes with fresh keys and documents issued from `caDir` (the enclave's state dir) with `measurement`. */
export async function makeNodes(caDir: string, n: number, measurement = NODE_MEASUREMENT): Promise<TestNode[]> {
  const nsm = await SimulatedNsm.loadOrCreate({ stateDir: caDir, measurement });
  const nodes: TestNode[] = [];
  for (let index = 1; index <= n; index++) nodes.push(await makeNode(nsm, index, n));
  return nodes;
}

export async function makeNode(nsm: SimulatedNsm, index: number, n: number): Promise<TestNode> {
  const enc = await generateEncryptionKeyPair();
  const sign = generateSigningKeyPair();
  const nodeStatement = mpcNodeStatement({ index, total: n, signingKey: sign.publicKey });
  const doc = await nsm.issue({ publicKey: enc.publicKey, userData: mpcNodeUserData(nodeStatement) });
  return {
    index,
    encryptionPublicKey: enc.publicKey,
    encryptionPrivateKey: enc.privateKey,
    signingPublicKey: sign.publicKey,
    signingPrivateKey: sign.privateKey,
    nodeStatement,
    attestation: toBase64Url(doc),
  };
}

export interface MpcSessionSetup {
  parties: Party[];
  records: Record<string, TransactionRecord[]>;
  terms: SessionTerms;
  sessionId: string;
  key: { publicKey: string; sealedKey: string };
  threshold: number;
  n: number;
}

export async function setupMpcSession(
  enclave: EnclaveProcess,
  digest: string,
  options: { n: number; threshold: number; parties: Party[]; observers?: Party[]; minParticipants?: number; recordsPerBank?: number; seed?: number },
): Promise<MpcSessionSetup> {
  const { n, threshold, parties } = options;
  const { terms, sessionId } = makeTerms({
    participants: parties,
    observers: options.observers ?? [],
    modelId: MODEL_ID,
    modelDigest: digest,
    dataPolicy: {
      minParticipants: options.minParticipants ?? parties.length,
      aggregationMethod: 'mpc',
      mpcConfig: { protocol: 'shamir_secret_sharing', threshold, totalParties: n },
    },
  });
  const key = await enclave.call('createSessionKey', { sessionId });
  const banks = parties.map((_, i) => `bank${String.fromCharCode(65 + i)}`);
  const data = generateDemoData({ banks, recordsPerBank: options.recordsPerBank ?? 150, seed: options.seed ?? 5 });
  const records = Object.fromEntries(parties.map((p, i) => [p.partyId, data.partitions[banks[i]!]!]));
  return { parties, records, terms, sessionId, key, threshold, n };
}

export interface PartyContribution {
  party: Party;
  /** The party's share vectors, x = 1..n. */
  shares: ShareVector[];
  bundle: MpcShareBundle;
  submission: WrittenSubmission;
}

export interface BundleOptions {
  /** Node keys the bundle seals to (default the nodes' own). */
  nodeKeys?: Uint8Array[];
  /** Edit the body before signing. */
  editBody?: (body: MpcShareBundleBody) => MpcShareBundleBody;
  /** Sign with this key instead of the party's. */
  signWith?: SecretBytes;
}

/** The party's share bundle (real statistics, sealed to the node keys, signed) written as a plain JSON blob. */
export async function contribute(setup: MpcSessionSetup, nodes: readonly TestNode[], party: Party, blobDir: string, options: BundleOptions = {}): Promise<PartyContribution> {
  const shares = mpcStatisticVector(setup.records[party.partyId]!, { threshold: setup.threshold, totalParties: setup.n });
  const keys = options.nodeKeys ?? nodes.map((x) => x.encryptionPublicKey);
  const entries = [];
  for (let i = 1; i <= setup.n; i++) {
    const plaintext = {
      type: MPC_SHARE_TYPE,
      sessionId: setup.sessionId,
      partyId: party.partyId,
      programId: PROGRAM.id,
      index: i,
      length: PROGRAM.inputNames.length,
      share: toBase64Url(fieldVectorToBytes(shares[i - 1]!.vector)),
    };
    const envelope = await sealEnvelope(keys[i - 1]!, utf8Encode(canonicalize(plaintext)), { info: MPC_SHARE_INFO });
    entries.push({ index: i, publicKey: toBase64Url(keys[i - 1]!), envelope: toBase64Url(envelope) });
  }
  let body: MpcShareBundleBody = {
    type: MPC_SHARE_BUNDLE_TYPE,
    sessionId: setup.sessionId,
    partyId: party.partyId,
    programId: PROGRAM.id,
    dataSchema: SCHEMA,
    recordCount: setup.records[party.partyId]!.length,
    nodes: entries,
  };
  if (options.editBody) body = options.editBody(body);
  const bundle = signMpcShareBundle(options.signWith ?? party.signingPrivateKey, body);
  const submission = await writeBundle(blobDir, party.partyId, bundle);
  return { party, shares, bundle, submission };
}

/** Writes a bundle (or any JSON) as a plain blob and returns the submission row the host would file. */
export async function writeBundle(blobDir: string, partyId: string, bundle: MpcShareBundle, raw?: string): Promise<WrittenSubmission> {
  const blobPath = join(blobDir, `${partyId.replace(/[^a-zA-Z0-9]/g, '_')}-${toBase64Url(randomBytes(6))}.json`);
  await writeFile(blobPath, raw ?? JSON.stringify(bundle));
  return { partyId, blobPath, commitment: mpcShareBundleCommitment(bundle), commitmentScheme: 'plain', dataSchema: SCHEMA };
}

/**
 * The program on in-memory nodes: Beaver triples with every node up, then the online phase on `live`
 * nodes only; each live node's share of the declared outputs (reveal 'recipient').
 */
export function runNodes(setup: MpcSessionSetup, contributions: readonly PartyContribution[], runTag: string, live?: readonly number[]): Map<number, ShareVector> {
  const { n, threshold, sessionId } = setup;
  const all = Array.from({ length: n }, (_, i) => i + 1);
  const up = new Set(live ?? all);
  const nodes = all.map((x) => createMpcNode({ sessionId, party: x, threshold, totalParties: n }));
  const tripleMachines = nodes.map((node) => createMpcTripleMachine({ node, op: `prep-${runTag}:triples`, length: mpcProgramTripleLength(PROGRAM) }));
  const deliver = (parties: readonly number[], sent: readonly MpcMessage[]): Map<number, MpcMessage[]> => {
    const inbox = new Map<number, MpcMessage[]>(parties.map((x) => [x, []]));
    for (const message of sent) {
      if ('to' in message) inbox.get(message.to)?.push(message);
      else for (const list of inbox.values()) list.push(message);
    }
    return inbox;
  };
  let inbox = deliver(all, []);
  while (tripleMachines.some((m) => m.phase === 'offline')) {
    const sent = tripleMachines.flatMap((m) => m.advance(inbox.get(m.party) ?? []));
    inbox = deliver(all, sent);
  }
  const liveList = all.filter((x) => up.has(x));
  const machines = liveList.map((x) =>
    createMpcProgramMachine({
      node: nodes[x - 1]!,
      program: PROGRAM,
      inputs: contributions.map((c) => c.shares[x - 1]!),
      triples: tripleMachines[x - 1]!.takeTriples(),
      reveal: 'recipient',
      opPrefix: runTag,
    }),
  );
  inbox = deliver(liveList, []);
  while (machines.some((m) => m.phase !== 'done')) {
    const sent = machines.flatMap((m) => m.advance(inbox.get(m.party) ?? []));
    inbox = deliver(liveList, sent);
  }
  return new Map(machines.map((m) => [m.party, m.outputShare()]));
}

export interface OutputOptions {
  runTag: string;
  /** Default the session's public key. */
  sealTo?: Uint8Array;
  /** Statement edits (signed after). */
  editStatement?: (s: MpcNodeOutputStatement) => MpcNodeOutputStatement;
  /** Sign with this key instead of the node's. */
  signWith?: SecretBytes;
  /** Plaintext edits (before sealing). */
  editPlaintext?: (p: Record<string, unknown>) => Record<string, unknown>;
}

/** One node's output as the host relays it: the share sealed to the session key, the signed statement. */
export async function nodeOutput(setup: MpcSessionSetup, node: TestNode, share: ShareVector, included: readonly PartyContribution[], options: OutputOptions): Promise<MpcNodeOutput> {
  let plaintext: Record<string, unknown> = {
    type: MPC_OUTPUT_SHARE_TYPE,
    sessionId: setup.sessionId,
    runTag: options.runTag,
    programId: PROGRAM.id,
    index: node.index,
    length: PROGRAM.outputs.length,
    share: toBase64Url(fieldVectorToBytes(share.vector)),
  };
  if (options.editPlaintext) plaintext = options.editPlaintext(plaintext);
  const sessionKey = fromBase64Url(setup.key.publicKey);
  const sealed = await sealEnvelope(options.sealTo ?? sessionKey, utf8Encode(canonicalize(plaintext)), { info: MPC_OUTPUT_INFO });
  let statement: MpcNodeOutputStatement = {
    type: MPC_NODE_OUTPUT_TYPE,
    sessionId: setup.sessionId,
    runTag: options.runTag,
    programId: PROGRAM.id,
    index: node.index,
    inputs: included.map((c) => ({ partyId: c.party.partyId, commitment: c.submission.commitment })).sort((a, b) => (a.partyId < b.partyId ? -1 : a.partyId > b.partyId ? 1 : 0)),
    sessionKey: setup.key.publicKey,
    outputHash: 'sha256:' + sha256Hex(sealed),
  };
  if (options.editStatement) statement = options.editStatement(statement);
  return {
    index: node.index,
    attestation: node.attestation,
    nodeStatement: node.nodeStatement,
    statement,
    signature: signMpcNodeOutputStatement(options.signWith ?? node.signingPrivateKey, statement),
    sealed: toBase64Url(sealed),
  };
}

/** The run request parameters of an mpc run. */
export function mpcRunParams(setup: MpcSessionSetup, contributions: readonly PartyContribution[], mpc: { runTag: string; outputs: MpcNodeOutput[] }, runId = 'run_1') {
  return {
    runId,
    sessionId: setup.sessionId,
    sealedKey: setup.key.sealedKey,
    terms: setup.terms,
    submissions: contributions.map((c) => c.submission),
    consents: contributions.map((c) => consentOf(c.party, setup.sessionId)),
    prompt: 'Which features go with amounts just below the reporting threshold?',
    parameters: {},
    mpc: { runTag: mpc.runTag, programId: PROGRAM.id, outputs: mpc.outputs },
  };
}

/** The plaintext pooled statistics, from the summed statistic vectors (what the program computes on). */
export function plainPooled(setup: MpcSessionSetup, names: readonly string[]) {
  const summed = setup.parties
    .map((p) => mpcStatisticValues(setup.records[p.partyId]!))
    .reduce((s, v) => s.map((x, i) => x + v[i]!));
  const at = (name: string): number => summed[names.indexOf(name)]!;
  return { summed, at };
}

export async function mpcParties(count: number): Promise<Party[]> {
  const parties: Party[] = [];
  for (let i = 0; i < count; i++) parties.push(await makeParty(`party::bank${String.fromCharCode(65 + i)}::analyst`));
  return parties;
}
