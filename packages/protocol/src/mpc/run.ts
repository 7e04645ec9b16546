// The `mpc` method's session-level messages (docs/mpc.md): what a party sends (a signed share bundle), what
// a compute node proves at the end of a run (a signed output statement and its output share, sealed to the
// enclave's session key), what the host and a node say to each other (the control API, bearer token), and
// what the host hands the enclave. Parsed with zod at every boundary.
//
//   party ──bundle (n HPKE envelopes, one per node's attested key; signed)──▶ host (stores it as the
//   party's submission; commitment = hashCommitment(bundle)) ──bundle──▶ every node (opens its envelope)
//   nodes ⇄ nodes (round messages, mpc-node transport) ── each node: output share sealed to the session
//   key + signed statement ──▶ host ──▶ enclave (reconstructs the declared outputs from ≥ t of them).
import { MPC_MAX_PARTIES, canonicalBytes, sha256, signStatement, toHex, verifyStatement, fromBase64Url, toBase64Url, type SecretBytes } from '@tenzro/crypto';
import { z } from 'zod';
import { Base64Url, Commitment, PartyId, SessionId } from '../primitives.js';
import { MpcNodeStatement } from './node-attestation.js';
import type { MpcProgram } from './program/program.js';
import { RISK_ANALYZER_MPC_PROGRAM } from './program/risk-analyzer-v2.js';
import { mpcSumProgramForModel, mpcSumPrograms } from './program/sum.js';

/** HPKE info of a party's share envelope (sealed to one node's attested key). */
export const MPC_SHARE_INFO = 'tenzro/mpi/v1/mpc-share';
/** HPKE info of a node's output share envelope (sealed to the enclave's session key). */
export const MPC_OUTPUT_INFO = 'tenzro/mpi/v1/mpc-output';

export const MPC_SHARE_BUNDLE_TYPE = 'tenzro.mpc.share-bundle/v1';
export const MPC_SHARE_TYPE = 'tenzro.mpc.share/v1';
export const MPC_NODE_OUTPUT_TYPE = 'tenzro.mpc.node-output/v1';
export const MPC_OUTPUT_SHARE_TYPE = 'tenzro.mpc.output-share/v1';

/**
 * The program the nodes run for a model under `mpc` (undefined: the model has none): risk-analyzer-v2's
 * own (RISK_ANALYZER_MPC_PROGRAM), or a use-case model's sum program (MPC_SUM_PROGRAM_MODELS).
 */
export function mpcProgramForModel(modelId: string): MpcProgram | undefined {
  return modelId === 'risk-analyzer-v2' ? RISK_ANALYZER_MPC_PROGRAM : mpcSumProgramForModel(modelId);
}

/** A program by id (what a node is asked to run). */
export function mpcProgramById(programId: string): MpcProgram | undefined {
  if (programId === RISK_ANALYZER_MPC_PROGRAM.id) return RISK_ANALYZER_MPC_PROGRAM;
  return mpcSumPrograms().find((program) => program.id === programId);
}

/** Op-prefix-safe run tag: `<runId>.<attempt>` (a retried run never reuses an op id). */
export const MpcRunTag = z.string().regex(/^[A-Za-z0-9._-]{1,72}$/);

// ── party → host → nodes ────────────────────────────────────────────────────────────────────────────────

/** What node `index`'s envelope holds (HPKE, MPC_SHARE_INFO, sealed to that node's attested key). */
export const MpcSharePlaintext = z.strictObject({
  type: z.literal(MPC_SHARE_TYPE),
  sessionId: SessionId,
  partyId: PartyId,
  programId: z.string().min(1).max(80),
  index: z.number().int().min(1).max(MPC_MAX_PARTIES),
  /** Elements of the share vector (= program.inputNames.length). */
  length: z.number().int().min(1).max(1_000_000),
  /** fieldVectorToBytes of the share vector (x = index). */
  share: Base64Url,
});
export type MpcSharePlaintext = z.infer<typeof MpcSharePlaintext>;

export const MpcShareBundleBody = z.strictObject({
  type: z.literal(MPC_SHARE_BUNDLE_TYPE),
  sessionId: SessionId,
  partyId: PartyId,
  programId: z.string().min(1).max(80),
  /** The record schema the statistics were computed from (e.g. transaction_records_v1). */
  dataSchema: z.string().min(1).max(200),
  /** The records the statistics summarise (declared by the party; the statistics include the count too). */
  recordCount: z.number().int().min(0),
  /** One envelope per node, index 1..totalParties in order; `publicKey` is the attested key it is sealed to. */
  nodes: z
    .array(z.strictObject({ index: z.number().int().min(1).max(MPC_MAX_PARTIES), publicKey: Base64Url, envelope: Base64Url }))
    .min(2)
    .max(MPC_MAX_PARTIES),
});
export type MpcShareBundleBody = z.infer<typeof MpcShareBundleBody>;

/** The party's upload: the body signed (signStatement) with its roster signing key. */
export const MpcShareBundle = z.strictObject({ body: MpcShareBundleBody, signature: Base64Url });
export type MpcShareBundle = z.infer<typeof MpcShareBundle>;

/** The bundle's commitment (the submission's, scheme 'plain'): `sha256:` hex of SHA-256(JCS(bundle)). */
export function mpcShareBundleCommitment(bundle: MpcShareBundle): string {
  return 'sha256:' + toHex(sha256(canonicalBytes(bundle)));
}

export function signMpcShareBundle(signingKey: SecretBytes | Uint8Array, body: MpcShareBundleBody): MpcShareBundle {
  return { body, signature: toBase64Url(signStatement(signingKey, body)) };
}

/** True when `bundle.signature` is `partySigningKey`'s signature of `bundle.body`. */
export function verifyMpcShareBundleSignature(bundle: MpcShareBundle, partySigningKey: Uint8Array): boolean {
  try {
    return verifyStatement(partySigningKey, bundle.body, fromBase64Url(bundle.signature, 'signature'));
  } catch {
    return false;
  }
}

// ── node → host → enclave ───────────────────────────────────────────────────────────────────────────────

/** What a node signs at the end of a run: which inputs it summed, and which output envelope it made. */
export const MpcNodeOutputStatement = z.strictObject({
  type: z.literal(MPC_NODE_OUTPUT_TYPE),
  sessionId: SessionId,
  /** `<runId>.<attempt>`. */
  runTag: MpcRunTag,
  programId: z.string().min(1).max(80),
  index: z.number().int().min(1).max(MPC_MAX_PARTIES),
  /** The bundles whose share this node summed: partyId and bundle commitment, sorted by partyId. */
  inputs: z.array(z.strictObject({ partyId: PartyId, commitment: Commitment })).max(10_000),
  /** The session key the output share is sealed to (base64url). */
  sessionKey: Base64Url,
  /** `sha256:` of the sealed output envelope bytes. */
  outputHash: Commitment,
});
export type MpcNodeOutputStatement = z.infer<typeof MpcNodeOutputStatement>;

/** What the output envelope holds (HPKE, MPC_OUTPUT_INFO, sealed to the session key). */
export const MpcOutputSharePlaintext = z.strictObject({
  type: z.literal(MPC_OUTPUT_SHARE_TYPE),
  sessionId: SessionId,
  runTag: MpcRunTag,
  programId: z.string().min(1).max(80),
  index: z.number().int().min(1).max(MPC_MAX_PARTIES),
  length: z.number().int().min(0).max(1_000_000),
  /** fieldVectorToBytes of the node's output share (program.outputs order). */
  share: Base64Url,
});
export type MpcOutputSharePlaintext = z.infer<typeof MpcOutputSharePlaintext>;

/** One node's finished run, as the host relays it. */
export const MpcNodeOutput = z.strictObject({
  index: z.number().int().min(1).max(MPC_MAX_PARTIES),
  /** The node's attestation document (base64url) and the statement it binds (node-attestation.ts). */
  attestation: Base64Url,
  nodeStatement: MpcNodeStatement,
  statement: MpcNodeOutputStatement,
  /** The node's Ed25519 signature (signStatement) of `statement`. */
  signature: Base64Url,
  /** The output envelope (base64url). */
  sealed: Base64Url,
});
export type MpcNodeOutput = z.infer<typeof MpcNodeOutput>;

export function signMpcNodeOutputStatement(signingKey: SecretBytes | Uint8Array, statement: MpcNodeOutputStatement): string {
  return toBase64Url(signStatement(signingKey, statement));
}

export function verifyMpcNodeOutputSignature(output: Pick<MpcNodeOutput, 'statement' | 'signature'>, nodeSigningKey: Uint8Array): boolean {
  try {
    return verifyStatement(nodeSigningKey, output.statement, fromBase64Url(output.signature, 'signature'));
  } catch {
    return false;
  }
}

/** The host's `run` request field for an mpc session (channel.ts). */
export const MpcRunInputs = z.strictObject({
  runTag: MpcRunTag,
  programId: z.string().min(1).max(80),
  outputs: z.array(MpcNodeOutput).max(MPC_MAX_PARTIES),
});
export type MpcRunInputs = z.infer<typeof MpcRunInputs>;

// ── host ⇄ node control API (bearer token; docs/mpc.md) ───────────────────────────────────────────────

/** POST /control/preprocess: make Beaver triples for a session's program (needs 2t − 1 nodes; none to make, t: a program without multiplications). */
export const MpcPreprocessRequest = z.strictObject({
  sessionId: SessionId,
  /** Names this preprocessing; `[A-Za-z0-9._-]`, unique per session. */
  prepId: MpcRunTag,
  programId: z.string().min(1).max(80),
  threshold: z.number().int().min(2).max(MPC_MAX_PARTIES),
  totalParties: z.number().int().min(2).max(MPC_MAX_PARTIES),
  /** The session's expiry (ISO 8601): the node keeps the unused preprocessing until then (capped by its own limit). */
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});
export type MpcPreprocessRequest = z.infer<typeof MpcPreprocessRequest>;

/** POST /control/runs: start a run on this node (opens its shares; the program waits for steps). */
export const MpcStartRunRequest = z.strictObject({
  sessionId: SessionId,
  runTag: MpcRunTag,
  programId: z.string().min(1).max(80),
  /** The session terms (the node checks sessionIdOf(terms) = sessionId and reads the roster's keys). */
  terms: z.unknown(),
  /** A preprocessing this node holds (from POST /control/preprocess); the run consumes it. */
  prepId: MpcRunTag,
  /** The enclave's session key and its attestation document (base64url); the node verifies it before sealing. */
  sessionKey: z.strictObject({ publicKey: Base64Url, attestation: Base64Url }),
  /** The included parties' bundles. */
  bundles: z.array(MpcShareBundle).min(1).max(10_000),
});
export type MpcStartRunRequest = z.infer<typeof MpcStartRunRequest>;

/** POST /control/steps: one lock-step round of a preprocessing or a run. */
export const MpcStepRequest = z.strictObject({
  sessionId: SessionId,
  /** The prepId (preprocessing) or runTag (run) being stepped. */
  tag: MpcRunTag,
  /** 0, 1, 2, …: the coordinator's round counter (the node refuses a repeated or skipped round). */
  round: z.number().int().min(0).max(100_000),
  /** The nodes whose previous-round messages count (those that finished it); the node ignores others. */
  senders: z.array(z.number().int().min(1).max(MPC_MAX_PARTIES)).max(MPC_MAX_PARTIES),
  /**
   * Milliseconds the coordinator waits for this call: the node bounds its sends (retries included) to about
   * half of it and reports what was delivered by then, so one hung peer cannot time every node out.
   */
  deadlineMs: z.number().int().min(100).max(600_000).optional(),
});
export type MpcStepRequest = z.infer<typeof MpcStepRequest>;

export const MpcStepResponse = z.strictObject({
  phase: z.enum(['offline', 'online', 'done']),
  /** The nodes this round's messages reached (itself included). */
  delivered: z.array(z.number().int().min(1).max(MPC_MAX_PARTIES)),
  /** Set once a run is done (reveal 'recipient'): the signed statement and the sealed output. */
  output: z.strictObject({ statement: MpcNodeOutputStatement, signature: Base64Url, sealed: Base64Url }).optional(),
});
export type MpcStepResponse = z.infer<typeof MpcStepResponse>;

/**
 * POST /control/check-bundle: at upload, each node opens its own envelope of a party's bundle and checks it
 * exactly as a run would (signature, key binding, plaintext fields, share decoding) — so a bundle that
 * one node cannot use is refused while the party is still there, not at run time. Reply `{ ok: true }` or
 * the refusal `invalid_share` / `invalid_terms`. Nothing is kept.
 */
export const MpcCheckBundleRequest = z.strictObject({
  sessionId: SessionId,
  programId: z.string().min(1).max(80),
  terms: z.unknown(),
  bundle: MpcShareBundle,
});
export type MpcCheckBundleRequest = z.infer<typeof MpcCheckBundleRequest>;

/** GET /control/preprocessed?sessionId=: the preprocessings this node holds for the session, unused. */
export const MpcPreprocessedResponse = z.strictObject({ prepIds: z.array(MpcRunTag) });

// ── HTTP API for parties ──────────────────────────────────────────────────────────────────────────────

/** GET /v1/sessions/:id/mpc/nodes?nonce=: the session's compute nodes, freshly attested. */
export const MpcNodesResponse = z.strictObject({
  sessionId: SessionId,
  threshold: z.number().int(),
  totalParties: z.number().int(),
  programId: z.string(),
  /** Every node, index order; `attestation` binds `statement` (and the nonce when one was asked). */
  nodes: z.array(z.strictObject({ index: z.number().int(), attestation: Base64Url, statement: MpcNodeStatement })),
});
export type MpcNodesResponse = z.infer<typeof MpcNodesResponse>;
