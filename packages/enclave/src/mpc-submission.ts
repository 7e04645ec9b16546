/**
 * A share-bundle submission of an `mpc` session (docs/mpc.md): the blob is the party's JSON MpcShareBundle
 * itself (no envelope to the session key: its n envelopes are sealed to the compute nodes' attested keys,
 * and the enclave never opens them). Checking one, in order:
 *
 *   schema      — a masked input: `submission_rejected`; a data schema the model does not declare:
 *                 `unknown_schema`; a salted commitment: `commitment_mismatch` (bundles are committed plain)
 *   document    — at most MAX_SHARE_BUNDLE_BYTES (`payload_too_large`), strict JSON (`invalid_json`),
 *                 MpcShareBundle (`schema_validation_failed`, naming fields, never values)
 *   commitment  — mpcShareBundleCommitment(bundle) = the submission's (`commitment_mismatch`)
 *   body        — sessionId = the session, partyId = the submission's, signature by that party's roster
 *                 signing key, nodes = index 1..totalParties in order with distinct public keys, programId =
 *                 the model's mpc program, dataSchema = the submission's (`submission_rejected`)
 *
 * The model's program (mpcModelProgramOf): risk-analyzer-v2's own, or a use-case model's sum program, which
 * is refused (`method_not_available`) unless its length is the model's aggregate layout's statistic count.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { JsonInputError, fromBase64Url, parseStrictJson, utf8Decode } from '@tenzro/crypto';
import { aggregateLayoutOf, type AggregateLayout } from '@tenzro/models';
import {
  MpcShareBundle,
  isMpcSumProgram,
  mpcProgramForModel,
  mpcShareBundleCommitment,
  verifyMpcShareBundleSignature,
  type ChannelSubmission,
  type MpcProgram,
  type SessionTerms,
} from '@tenzro/protocol';
import { refuse } from './errors.js';
import { assertMaskedInputSubmission } from './secagg-submission.js';
import { participantOf, type EnclaveModelImpl } from './session.js';
import { assertSchemaDeclared } from './submission.js';

/** Largest share bundle read (255 nodes × one sealed share vector each fit well below it). */
export const MAX_SHARE_BUNDLE_BYTES = 16 * 1024 * 1024;
const JSON_MAX_DEPTH = 16;

/**
 * What the nodes run for a model and how the enclave reads its outputs: risk-analyzer-v2's own program
 * (models analyzeMpcOutputs), or a use-case model's sum program whose outputs are the summed statistic
 * vector of the model's aggregate layout (model.run with method 'mpc').
 */
export type MpcModelProgram = { kind: 'risk_analyzer'; program: MpcProgram } | { kind: 'sum'; program: MpcProgram; layout: AggregateLayout };

/**
 * The model's mpc program in this enclave, or undefined: none, or a sum program whose length is not the
 * model's layout's statistic count (never run: the parties would share another vector than the nodes sum).
 */
export function mpcModelProgramOf(modelId: string): MpcModelProgram | undefined {
  const program = mpcProgramForModel(modelId);
  if (program === undefined) return undefined;
  if (!isMpcSumProgram(program)) return { kind: 'risk_analyzer', program };
  const layout = aggregateLayoutOf(modelId);
  if (layout === undefined || layout.statisticCount !== program.inputNames.length) return undefined;
  return { kind: 'sum', program, layout };
}

/** The parameters of an mpc session: its program, node threshold t and number of nodes n. */
export interface MpcSession {
  program: MpcProgram;
  /** How the revealed outputs are read (the program's kind, and a sum program's layout). */
  model: MpcModelProgram;
  threshold: number;
  totalParties: number;
}

/** The session's program and node configuration; `method_not_available` when the model has no mpc program. */
export function mpcSessionOf(terms: SessionTerms): MpcSession {
  const policy = terms.dataPolicy;
  if (policy.aggregationMethod !== 'mpc') throw refuse('invalid_request', 'the session does not use mpc');
  const config = policy.mpcConfig;
  if (config === undefined) throw refuse('invalid_data_policy', 'an mpc session must carry its mpcConfig');
  const model = mpcModelProgramOf(terms.modelId);
  if (model === undefined) throw refuse('method_not_available', 'the session model has no mpc program in this enclave');
  return { program: model.program, model, threshold: config.threshold, totalParties: config.totalParties };
}

export interface OpenedShareBundle {
  partyId: string;
  commitment: string;
  /** Hex SHA-256 of the blob bytes. */
  ciphertextHash: string;
  bundle: MpcShareBundle;
  recordCount: number;
}

async function readBundle(blobPath: string): Promise<Uint8Array> {
  let size: number;
  try {
    const info = await stat(blobPath);
    if (!info.isFile()) throw new Error('not a file');
    size = info.size;
  } catch {
    throw refuse('invalid_request', 'the submission blob cannot be read');
  }
  if (size > MAX_SHARE_BUNDLE_BYTES) throw refuse('payload_too_large', `a share bundle must not exceed ${MAX_SHARE_BUNDLE_BYTES} bytes`);
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(blobPath));
  } catch {
    throw refuse('invalid_request', 'the submission blob cannot be read');
  }
  if (bytes.length > MAX_SHARE_BUNDLE_BYTES) throw refuse('payload_too_large', `a share bundle must not exceed ${MAX_SHARE_BUNDLE_BYTES} bytes`);
  return bytes;
}

function parseBundle(bytes: Uint8Array): MpcShareBundle {
  let value: unknown;
  try {
    value = parseStrictJson(utf8Decode(bytes), { maxDepth: JSON_MAX_DEPTH });
  } catch (error) {
    if (error instanceof JsonInputError || error instanceof TypeError) {
      throw refuse('invalid_json', 'the share bundle is not valid strict JSON (UTF-8, no duplicate keys, safe integers)');
    }
    throw error;
  }
  const parsed = MpcShareBundle.safeParse(value);
  if (!parsed.success) {
    const details = parsed.error.issues.slice(0, 20).map((issue) => ({ field: issue.path.join('.') || '(root)', message: issue.code }));
    throw refuse('schema_validation_failed', 'the submission is not an MpcShareBundle', details);
  }
  return parsed.data;
}

/** Opens and checks one share-bundle submission (see the module header); nothing of the shares is opened. */
export async function openShareBundle(
  sessionId: string,
  terms: SessionTerms,
  model: EnclaveModelImpl,
  session: MpcSession,
  submission: ChannelSubmission,
): Promise<OpenedShareBundle> {
  assertMaskedInputSubmission(terms, submission);
  assertSchemaDeclared(model, submission.dataSchema);
  if (submission.commitmentScheme !== 'plain') throw refuse('commitment_mismatch', "a share bundle is committed with scheme 'plain'");
  const participant = participantOf(terms, submission.partyId);
  const bytes = await readBundle(submission.blobPath);
  const ciphertextHash = createHash('sha256').update(bytes).digest('hex');
  const bundle = parseBundle(bytes);
  if (mpcShareBundleCommitment(bundle) !== submission.commitment) {
    throw refuse('commitment_mismatch', 'the share bundle does not match the submitted commitment');
  }
  const { body } = bundle;
  const reject = (message: string): never => {
    throw refuse('submission_rejected', message);
  };
  if (body.sessionId !== sessionId) reject('the share bundle names another session');
  if (body.partyId !== submission.partyId) reject("the share bundle names another party than the submission's");
  if (!verifyMpcShareBundleSignature(bundle, fromBase64Url(participant.signingKey, 'signingKey'))) {
    reject("the share bundle's signature does not verify against the party's roster signing key");
  }
  if (body.programId !== session.program.id) reject(`the share bundle is for another program than the session's (${session.program.id})`);
  if (body.dataSchema !== submission.dataSchema) reject("the share bundle's data schema differs from the submission's");
  if (body.nodes.length !== session.totalParties) reject(`the share bundle must hold one envelope for each of the ${session.totalParties} compute nodes`);
  const keys = new Set<string>();
  body.nodes.forEach((node, i) => {
    if (node.index !== i + 1) reject('the share bundle must list the compute nodes by index 1..n, in order');
    let key: Uint8Array;
    try {
      key = fromBase64Url(node.publicKey, 'publicKey');
    } catch {
      return reject(`the share bundle's key of node ${i + 1} is not base64url`);
    }
    if (key.length !== 32) reject(`the share bundle's key of node ${i + 1} is not an X25519 public key`);
    const hex = Buffer.from(key).toString('hex');
    if (keys.has(hex)) reject('the share bundle seals two envelopes to one node key');
    keys.add(hex);
  });
  return { partyId: submission.partyId, commitment: submission.commitment, ciphertextHash, bundle, recordCount: body.recordCount };
}
