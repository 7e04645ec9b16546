/**
 * `run` for an mpc session (DESIGN §7, docs/mpc.md): the compute nodes ran the model's program on Shamir
 * shares of the included parties' statistic vectors and each sealed its share of the declared outputs to
 * this session's key. The enclave reconstructs those outputs only, from ≥ threshold nodes it can verify.
 * After the common checks (run-common.ts):
 *
 *   2. consent  — as for every run.
 *   3. bundles  — each consented submission's blob is its share bundle, checked again (mpc-submission.ts);
 *                 one that fails is left out. Two included with one commitment or blob bytes:
 *                 `duplicate_submission`; fewer than minParticipants: `session_not_ready`.
 *   4. outputs  — each node output must pass, else it is set aside (logged, no values):
 *                 verifyMpcNodeAttestation (index, total n, this provider's root, accepted node measurements);
 *                 the statement's signature by the attested signing key; statement sessionId, runTag,
 *                 programId and index; sessionKey = this session's public key; outputHash = SHA-256 of the
 *                 sealed bytes; inputs = exactly the included parties' (partyId, commitment) sorted by
 *                 partyId; the attested HPKE key = nodes[index − 1].publicKey of every included bundle.
 *                 Two passing outputs with one index: `mpc_rejected`. Each is opened with the session key
 *                 (MPC_OUTPUT_INFO) into an MpcOutputSharePlaintext whose fields match.
 *   5. reveal   — fewer than threshold left: `mpc_below_threshold`; reconstructMpcProgramOutputs over all of
 *                 them (shares off one polynomial: `mpc_rejected`). A sum program's outputs are the summed
 *                 statistic vector: exact integers, each in [0, parties × 2^40] (else `mpc_rejected`: a party
 *                 shared a value outside the range; revealMpcSum).
 *   6. model    — risk-analyzer-v2: models' analyzeMpcOutputs on the revealed outputs (node indices, error
 *                 bound); a sum program: model.run({ method: 'mpc', aggregate: { layoutId, values, parties,
 *                 noise: null }, mpc: { threshold, totalNodes, nodesUsed }, … }).
 *   7. release  — release policy, report (method mpc, includedParties, aggregatedDataHash over the bundle
 *                 commitments), attestation, one sealed body per included party and observer.
 */
import {
  MPC_FIELD,
  encryptionPublicKeyFromPrivate,
  equalBytes,
  fieldVectorFromBytes,
  fromBase64Url,
  openEnvelope,
  parseStrictJson,
  sha256Hex,
  utf8Decode,
  type SecretBytes,
  type ShareVector,
} from '@tenzro/crypto';
import { analyzeMpcOutputs, cryptoRng } from '@tenzro/models';
import {
  MPC_OUTPUT_INFO,
  MpcError,
  MpcNodeAttestationError,
  MpcOutputSharePlaintext,
  TenzroError,
  mpcSumValues,
  reconstructMpcProgramOutputs,
  riskAnalyzerOutputErrorBound,
  verifyMpcNodeAttestation,
  verifyMpcNodeOutputSignature,
  type MpcNodeOutput,
  type MpcProgram,
  type MpcProgramOutput,
} from '@tenzro/protocol';
import type { EnclaveContext } from '../context.js';
import { refuse } from '../errors.js';
import { logEvent } from '../log.js';
import { mpcSessionOf, openShareBundle, type MpcSession, type OpenedShareBundle } from '../mpc-submission.js';
import { comparePartyIds, type EnclaveModelImpl } from '../session.js';
import {
  assertDistinct,
  assertMinParticipants,
  consentedParties,
  elapsed,
  openEach,
  releaseChecked,
  runModel,
  type RunModelOutput,
  type RunReply,
  type RunRequest,
} from './run-common.js';

type MpcInputs = NonNullable<RunRequest['mpc']>;

/** A node output that passed every check: its index and its share of the outputs. */
interface PassedOutput {
  index: number;
  share: ShareVector;
}

/** Why an output was set aside (a fixed reason code, logged; never a value). */
class SetAside extends Error {
  constructor(readonly reason: string) {
    super(reason);
    this.name = 'SetAside';
  }
}

function aside(reason: string): never {
  throw new SetAside(reason);
}

function bytesOf(text: string): Uint8Array {
  try {
    return fromBase64Url(text, 'value');
  } catch {
    return aside('invalid_encoding');
  }
}

interface OutputCheck {
  request: RunRequest;
  mpc: MpcInputs;
  session: MpcSession;
  included: readonly OpenedShareBundle[];
  sessionPublicKey: Uint8Array;
  roots: readonly string[];
  measurements: readonly string[];
}

/** How old a node's document may be when the run checks it (the host fetches them as the nodes finish). */
const NODE_ATTESTATION_MAX_AGE_MS = 10 * 60_000;

/** Steps 4a: attestation, signature and statement of one output (SetAside on failure). */
async function checkStatement(check: OutputCheck, output: MpcNodeOutput): Promise<void> {
  const { request, mpc, session, included } = check;
  let node;
  try {
    node = await verifyMpcNodeAttestation(output.attestation, {
      index: output.index,
      total: session.totalParties,
      statement: output.nodeStatement,
      roots: check.roots,
      expectedMeasurements: check.measurements,
      // The host fetches the documents when the nodes finish; an old one is a replay.
      maxAgeMs: NODE_ATTESTATION_MAX_AGE_MS,
    });
  } catch (error) {
    if (error instanceof MpcNodeAttestationError) aside(`attestation_${error.code}`);
    if (error instanceof RangeError || error instanceof TypeError) aside('attestation_invalid');
    throw error;
  }
  if (!verifyMpcNodeOutputSignature(output, node.signingKey)) aside('signature_invalid');
  const s = output.statement;
  if (s.sessionId !== request.sessionId) aside('wrong_session');
  if (s.runTag !== mpc.runTag) aside('wrong_run_tag');
  if (s.programId !== session.program.id) aside('wrong_program');
  if (s.index !== output.index) aside('wrong_index');
  if (!equalBytes(bytesOf(s.sessionKey), check.sessionPublicKey)) aside('wrong_session_key');
  if (s.outputHash !== 'sha256:' + sha256Hex(bytesOf(output.sealed))) aside('output_hash_mismatch');
  const expected = included.map((b) => ({ partyId: b.partyId, commitment: b.commitment }));
  if (s.inputs.length !== expected.length || s.inputs.some((x, i) => x.partyId !== expected[i]!.partyId || x.commitment !== expected[i]!.commitment)) {
    aside('inputs_mismatch');
  }
  for (const bundle of included) {
    const entry = bundle.bundle.body.nodes[output.index - 1];
    if (entry === undefined || !equalBytes(bytesOf(entry.publicKey), node.publicKey)) aside('node_key_mismatch');
  }
}

/** Step 4b: opens the output share sealed to the session key (SetAside on failure). */
async function openOutput(privateKey: SecretBytes, check: OutputCheck, output: MpcNodeOutput): Promise<PassedOutput> {
  const { request, mpc, session } = check;
  let plaintext: Uint8Array;
  try {
    plaintext = await openEnvelope(privateKey, bytesOf(output.sealed), { info: MPC_OUTPUT_INFO });
  } catch {
    return aside('decryption_failed');
  }
  let value: unknown;
  try {
    value = parseStrictJson(utf8Decode(plaintext), { maxDepth: 8 });
  } catch {
    return aside('invalid_json');
  }
  const parsed = MpcOutputSharePlaintext.safeParse(value);
  if (!parsed.success) aside('invalid_output_share');
  const p = parsed.data;
  const length = session.program.outputs.length;
  if (p.sessionId !== request.sessionId || p.runTag !== mpc.runTag || p.programId !== session.program.id || p.index !== output.index || p.length !== length) {
    aside('output_share_mismatch');
  }
  try {
    return { index: output.index, share: Object.freeze({ x: output.index, vector: fieldVectorFromBytes(MPC_FIELD, bytesOf(p.share), length) }) };
  } catch (error) {
    if (error instanceof RangeError || error instanceof TypeError) return aside('invalid_output_share');
    throw error;
  }
}

/** Runs `fn`; a SetAside becomes undefined (logged with the node index and the reason). */
async function unlessSetAside<T>(index: number, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (error) {
    if (error instanceof SetAside) {
      logEvent('mpc_output_set_aside', { index, reason: error.reason });
      return undefined;
    }
    throw error;
  }
}

/** Step 5: the program's declared outputs from the passing output shares (`mpc_rejected` when they disagree). */
function revealOutputs(program: MpcProgram, threshold: number, shares: readonly ShareVector[]): ReadonlyMap<string, MpcProgramOutput> {
  try {
    return reconstructMpcProgramOutputs(program, { threshold, field: MPC_FIELD, shares });
  } catch (error) {
    if (error instanceof MpcError) throw refuse('mpc_rejected', `${error.code}: the node output shares do not reconstruct one set of outputs`);
    throw error;
  }
}

/**
 * Step 5 for a sum program: the summed statistic vector (program order, exact integers) from ≥ threshold
 * node output shares. Refused with `mpc_rejected` when the shares do not reconstruct one vector, or when a
 * sum lies outside [0, parties × 2^40] (some party shared a value outside the declared range; the message
 * names the statistic's index, never a value).
 */
export function revealMpcSum(program: MpcProgram, options: { threshold: number; shares: readonly ShareVector[]; parties: number }): number[] {
  const revealed = revealOutputs(program, options.threshold, options.shares);
  try {
    return mpcSumValues(program, revealed, options.parties);
  } catch (error) {
    if (error instanceof MpcError) throw refuse('mpc_rejected', `${error.code}: ${error.message}`);
    throw error;
  }
}

export async function runMpc(ctx: EnclaveContext, request: RunRequest, model: EnclaveModelImpl): Promise<RunReply> {
  const { terms } = request;
  const session = mpcSessionOf(terms);
  if (request.secagg !== undefined) throw refuse('invalid_request', 'secagg inputs belong to secure_aggregation sessions only');
  const mpc = request.mpc;
  if (mpc === undefined) throw refuse('invalid_request', 'an mpc run needs its mpc inputs (the compute nodes’ signed, sealed output shares)');
  if (mpc.programId !== session.program.id) throw refuse('mpc_rejected', `the run names another program than the session's (${session.program.id})`);
  // The nodes sign the run tag: binding it to this run keeps an earlier run's outputs (same data, another
  // prompt) from being replayed into this one.
  if (!mpc.runTag.startsWith(`${request.runId}.`)) throw refuse('mpc_rejected', 'the run tag does not belong to this run (expected <runId>.<attempt>)');

  // 2. consent, 3. bundles
  const started = performance.now();
  const consented = consentedParties(request);
  const candidates = request.submissions.filter((s) => consented.has(s.partyId));
  const privateKey = await ctx.keys.unsealSessionKey(request.sessionId, request.sealedKey);
  const included = (
    await openEach(
      candidates,
      (submission) => openShareBundle(request.sessionId, terms, model, session, submission),
      (error) => (error instanceof TenzroError ? error.code : undefined),
    )
  ).sort((a, b) => comparePartyIds(a.partyId, b.partyId));
  assertDistinct(included, (b) => b.commitment, 'commitment');
  assertDistinct(included, (b) => b.ciphertextHash, 'ciphertext');
  assertMinParticipants(request, included.length);
  const decryptVerifyMs = elapsed(started);

  // 4. node outputs
  const outputsStarted = performance.now();
  const check: OutputCheck = {
    request,
    mpc,
    session,
    included,
    sessionPublicKey: await encryptionPublicKeyFromPrivate(privateKey),
    roots: [ctx.nsm.rootPem],
    measurements: ctx.mpcNodeMeasurements ?? [],
  };
  const checked: MpcNodeOutput[] = [];
  for (const output of mpc.outputs) {
    const ok = await unlessSetAside(output.index, async () => {
      await checkStatement(check, output);
      return true;
    });
    if (ok === true) checked.push(output);
  }
  const indices = new Set<number>();
  for (const output of checked) {
    if (indices.has(output.index)) throw refuse('mpc_rejected', `two node outputs passed the checks for node ${output.index}; the run is refused`);
    indices.add(output.index);
  }
  const passed: PassedOutput[] = [];
  for (const output of checked) {
    const opened = await unlessSetAside(output.index, () => openOutput(privateKey, check, output));
    if (opened !== undefined) passed.push(opened);
  }
  passed.sort((a, b) => a.index - b.index);
  if (passed.length < session.threshold) {
    throw refuse(
      'mpc_below_threshold',
      `${passed.length} of ${mpc.outputs.length} node outputs passed the checks; the program needs ${session.threshold} (threshold) to reveal its outputs`,
    );
  }

  // 5. reveal
  const shares = passed.map((p) => p.share);
  const nodesUsed = passed.map((p) => p.index);
  const mpcModel = session.model;
  let output: RunModelOutput;
  let mpcVerifyMs: number;
  let trainStarted: number;
  if (mpcModel.kind === 'sum') {
    const values = revealMpcSum(mpcModel.program, { threshold: session.threshold, shares, parties: included.length });
    mpcVerifyMs = elapsed(outputsStarted);

    // 6. the model on the summed statistics
    trainStarted = performance.now();
    output = await runModel(() =>
      model.run({
        method: 'mpc',
        aggregate: { layoutId: mpcModel.layout.id, values, parties: included.map((b) => b.partyId), noise: null },
        mpc: { threshold: session.threshold, totalNodes: session.totalParties, nodesUsed },
        prompt: request.prompt,
        parameters: request.parameters,
        rng: cryptoRng(),
      }),
    );
  } else {
    const revealed = revealOutputs(mpcModel.program, session.threshold, shares);
    mpcVerifyMs = elapsed(outputsStarted);

    // 6. model on the revealed outputs
    trainStarted = performance.now();
    output = await runModel(async () =>
      analyzeMpcOutputs(revealed, {
        parties: included.length,
        threshold: session.threshold,
        totalNodes: session.totalParties,
        nodesUsed,
        errorBound: riskAnalyzerOutputErrorBound(session.threshold),
        modelId: model.id,
        version: model.version,
        prompt: request.prompt,
        ...(request.parameters.maxTokens !== undefined ? { maxTokens: request.parameters.maxTokens } : {}),
        ...(request.parameters.temperature !== undefined ? { temperature: request.parameters.temperature } : {}),
      }),
    );
  }
  const trainMs = elapsed(trainStarted);

  // 7. release, report, attest, seal
  const reportStarted = performance.now();
  const partitions = included.map((b) => ({ partyId: b.partyId, records: [] }));
  const released = await releaseChecked(ctx, request, model, included, output, partitions);
  const reportMs = elapsed(reportStarted);
  return { ...released, timings: { decryptVerifyMs, mpcVerifyMs, trainMs, reportMs } };
}
