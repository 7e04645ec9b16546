/**
 * Messages between the host (server) and the enclave process, over the framed channel of `framing.ts`.
 * Every request carries an `id`; the reply echoes it. The host never learns more than the replies say:
 * public keys, attestation documents, sealed blobs, counts, and refusals whose messages carry no data.
 *
 * Ciphertexts are named by `blobPath`, a file in the host's read-only blob store: in this simulated
 * deployment the enclave reads them from disk, where a Nitro deployment would stream them over vsock.
 */
import { z } from 'zod';
import { DeletionReason, DeletionStatement } from './audit.js';
import { ConsentFlags } from './consent.js';
import { Base64Url, Commitment, PartyId, SessionId } from './primitives.js';
import { MpcRunInputs } from './mpc/run.js';
import { InferenceParameters, ResultReport } from './report.js';
import { SessionTerms } from './terms.js';

export const CommitmentScheme = z.enum(['plain', 'salted']);

/** The plaintext of a salted submission (DESIGN §5.4): `{ type, salt, data }`, committed as a whole. */
export const CONTRIBUTION_TYPE = 'tenzro.contribution/v1';
export type CommitmentScheme = z.infer<typeof CommitmentScheme>;

export const ChannelSubmission = z.strictObject({
  partyId: PartyId,
  blobPath: z.string().min(1),
  commitment: Commitment,
  commitmentScheme: CommitmentScheme,
  dataSchema: z.string(),
});
export type ChannelSubmission = z.infer<typeof ChannelSubmission>;

export const ChannelConsent = z.strictObject({
  partyId: PartyId,
  consent: ConsentFlags,
  signature: Base64Url,
});
export type ChannelConsent = z.infer<typeof ChannelConsent>;

export const EnclaveRequest = z.discriminatedUnion('op', [
  z.strictObject({ id: z.number().int(), op: z.literal('hello') }),
  z.strictObject({ id: z.number().int(), op: z.literal('createSessionKey'), sessionId: SessionId }),
  z.strictObject({
    id: z.number().int(),
    op: z.literal('verifySubmission'),
    sessionId: SessionId,
    sealedKey: Base64Url,
    terms: SessionTerms,
    submission: ChannelSubmission,
  }),
  z.strictObject({
    id: z.number().int(),
    op: z.literal('run'),
    runId: z.string().min(1).max(64),
    sessionId: SessionId,
    sealedKey: Base64Url,
    terms: SessionTerms,
    submissions: z.array(ChannelSubmission),
    consents: z.array(ChannelConsent),
    prompt: z.string().max(20_000),
    parameters: InferenceParameters,
    /**
     * secure_aggregation sessions only (docs/secure-aggregation.md): `submissions` are the included parties'
     * masked inputs; these are the relayed stage messages, checked again by the enclave, and the survivors'
     * unmask envelopes (sealed to the session key), from which it removes the masks.
     */
    secagg: z
      .strictObject({
        advertisements: z.array(z.unknown()).max(10_000),
        shareKeys: z.array(z.unknown()).max(10_000),
        unmask: z.array(z.strictObject({ partyId: PartyId, blobPath: z.string().min(1) })).max(10_000),
      })
      .optional(),
    /**
     * mpc sessions only (docs/mpc.md): `submissions` are the included parties' share bundles; these are the
     * nodes' signed output statements and output shares sealed to the session key, from which the enclave
     * reconstructs the program's declared outputs (≥ threshold nodes).
     */
    mpc: MpcRunInputs.optional(),
  }),
  /**
   * Crypto-shreds the session key and attests it (issue 3): the reply carries a DeletionStatement and an
   * attestation document whose `user_data` is `deletionStatementDigest(statement)`. `ciphertexts` are the
   * `sha256:` hashes of the session's deleted blobs, which the destroyed key made unreadable.
   */
  z.strictObject({
    id: z.number().int(),
    op: z.literal('destroySessionKey'),
    sessionId: SessionId,
    reason: DeletionReason,
    ciphertexts: z.array(Commitment).max(10_000),
  }),
  /**
   * A fresh attestation of the session's key (DESIGN §5.2): the enclave unseals the key, derives its public
   * half and has the provider issue a NEW document (`public_key` = the session key, `user_data` =
   * `sessionKeyUserData(sessionId)`), so a verifier can check it at the current time. `terms` lets the
   * enclave refuse an expired session.
   */
  z.strictObject({
    id: z.number().int(),
    op: z.literal('attestSessionKey'),
    sessionId: SessionId,
    sealedKey: Base64Url,
    terms: SessionTerms,
  }),
]);
export type EnclaveRequest = z.infer<typeof EnclaveRequest>;
export type EnclaveOp = EnclaveRequest['op'];
export type EnclaveRequestOf<Op extends EnclaveOp> = Extract<EnclaveRequest, { op: Op }>;

/** A model the measured enclave carries: the host learns the catalogue from the enclave, never the reverse. */
export const EnclaveModel = z.strictObject({
  modelId: z.string(),
  modelDigest: z.string().regex(/^sha256:[0-9a-f]{64}$/),
  dataSchemas: z.array(z.string()),
  /** Aggregation methods this enclave build can run for the model. */
  methods: z.array(z.enum(['federated', 'secure_aggregation', 'mpc'])),
  /** Language-model backends this enclave offers for the model's `content` (absent: deterministic only). */
  backends: z.array(z.string()).optional(),
});
export type EnclaveModel = z.infer<typeof EnclaveModel>;

export const HelloResult = z.strictObject({
  models: z.array(EnclaveModel),
  provider: z.enum(['simulated', 'nitro']),
  moduleId: z.string(),
  measurement: z.string().regex(/^[0-9a-f]{96}$/),
  rootPem: z.string(),
  pid: z.number().int(),
});

export const CreateSessionKeyResult = z.strictObject({
  publicKey: Base64Url,
  suite: z.string(),
  attestation: Base64Url,
  sealedKey: Base64Url,
});

export const VerifySubmissionResult = z.strictObject({ recordCount: z.number().int().min(0) });

export const SealedResult = z.strictObject({ partyId: PartyId, sealed: Base64Url });

export const RunResult = z.strictObject({
  report: ResultReport,
  attestation: Base64Url,
  sealedResults: z.array(SealedResult),
  timings: z.record(z.string(), z.number()),
});
export type RunResult = z.infer<typeof RunResult>;

export const DestroySessionKeyResult = z.strictObject({
  destroyedAt: z.string(),
  statement: DeletionStatement,
  /** base64url attestation document: `user_data` = deletionStatementDigest(statement). */
  attestation: Base64Url,
});

export const AttestSessionKeyResult = z.strictObject({
  publicKey: Base64Url,
  attestation: Base64Url,
});

export const ENCLAVE_RESULT_SCHEMAS = {
  hello: HelloResult,
  createSessionKey: CreateSessionKeyResult,
  verifySubmission: VerifySubmissionResult,
  run: RunResult,
  destroySessionKey: DestroySessionKeyResult,
  attestSessionKey: AttestSessionKeyResult,
} as const satisfies Record<EnclaveOp, z.ZodType>;

export type EnclaveResultOf<Op extends EnclaveOp> = z.infer<(typeof ENCLAVE_RESULT_SCHEMAS)[Op]>;

export const EnclaveReply = z.union([
  z.strictObject({ id: z.number().int(), ok: z.literal(true), result: z.unknown() }),
  z.strictObject({
    id: z.number().int(),
    ok: z.literal(false),
    error: z.strictObject({
      code: z.string(),
      message: z.string(),
      details: z.array(z.strictObject({ index: z.number().optional(), field: z.string().optional(), message: z.string() })).optional(),
    }),
  }),
]);
export type EnclaveReply = z.infer<typeof EnclaveReply>;
