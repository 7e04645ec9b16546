/**
 * The HTTP API's wire schemas, shared by the server (which parses every body, param and reply with them)
 * and the SDK (which parses every reply with them). Field names and status values follow the product doc.
 *
 * Routes (all under /v1, `Authorization: Bearer <apiKey>` and `X-Tenant-Id: <tenantId>`; a tenant with
 * several parties in a session names the acting one in `X-Tenzro-Party-Id`):
 *   POST /v1/parties                              register a party of the caller's tenant
 *   GET  /v1/parties/:partyId                     a registered party's public keys
 *   POST /v1/sessions                             createMultiPartySession
 *   GET  /v1/sessions                             listMultiPartySessions
 *   GET  /v1/sessions/:sessionId                  getMultiPartySession
 *   GET  /v1/sessions/:sessionId/status           getSessionStatus
 *   GET  /v1/sessions/:sessionId/key              getSessionKey
 *   POST /v1/sessions/:sessionId/data             submitSessionData (body: the envelope, octet-stream)
 *   POST /v1/sessions/:sessionId/consents         submitSessionConsent
 *   DELETE /v1/sessions/:sessionId/consents       revokeSessionConsent (before the run; deletes the party's data)
 *   POST /v1/sessions/:sessionId/runs             runMultiPartyInference (202, a job)
 *   GET  /v1/sessions/:sessionId/runs/:runId      run status
 *   GET  /v1/sessions/:sessionId/result           the sealed result for the acting party
 *   POST /v1/sessions/:sessionId/cancel           cancelSession
 *   GET  /v1/sessions/:sessionId/mpc/nodes?nonce= the compute nodes of an mpc session, freshly attested (MpcNodesResponse)
 *   POST /v1/sessions/:sessionId/mpc/shares       the acting participant's share bundle (body: MpcShareBundle, JSON)
 *   GET  /v1/join/:joinCode                       find a session you are on the roster of by join code
 *   GET  /v1/enclave                              the enclave's provider, measurement and simulated root
 *   GET  /v1/sessions/:sessionId/trail            the session's audit events with inclusion proofs (audit.ts)
 *   GET  /v1/log/tree-head                        the current signed tree head
 *   GET  /v1/log/consistency?from=&to=            a consistency proof between two tree sizes
 *   GET  /v1/log/key, /.well-known/tenzro-log-key the log's Ed25519 public key (no auth)
 */
import { z } from 'zod';
import { ConsentFlags } from './consent.js';
import { CommitmentScheme } from './channel.js';
import { ERROR_STATUS } from './errors.js';
import { Base64Url, Commitment, PartyId, SessionId, TenantId } from './primitives.js';
import { InferenceParameters, ResultReport } from './report.js';
import { SESSION_STATUSES } from './session-state.js';
import { DataPolicy, DataPolicyInput, SessionTerms } from './terms.js';

export const HEADER_TENANT = 'x-tenant-id';
export const HEADER_PARTY = 'x-tenzro-party-id';
export const HEADER_DATA_SCHEMA = 'x-tenzro-data-schema';
export const HEADER_COMMITMENT = 'x-tenzro-commitment';
export const HEADER_COMMITMENT_SCHEME = 'x-tenzro-commitment-scheme';

export const SessionStatusValue = z.enum(SESSION_STATUSES);

export const ErrorResponse = z.strictObject({
  error: z.strictObject({
    code: z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS, ...(keyof typeof ERROR_STATUS)[]]),
    message: z.string(),
    details: z
      .array(z.strictObject({ index: z.number().int().optional(), field: z.string().optional(), message: z.string() }))
      .optional(),
  }),
});
export type ErrorResponse = z.infer<typeof ErrorResponse>;

export const RegisterPartyRequest = z.strictObject({
  partyId: PartyId,
  signingKey: Base64Url,
  encryptionKey: Base64Url,
});
export type RegisterPartyRequest = z.infer<typeof RegisterPartyRequest>;

export const PartyResponse = z.strictObject({
  partyId: PartyId,
  tenantId: TenantId,
  signingKey: Base64Url,
  encryptionKey: Base64Url,
  createdAt: z.string(),
});
export type PartyResponse = z.infer<typeof PartyResponse>;

export const CreateSessionRequest = z.strictObject({
  name: z.string().min(1).max(200),
  description: z.string().max(2000).optional(),
  modelId: z.string().min(1).max(100),
  participants: z.array(PartyId).min(1).max(100),
  observers: z.array(PartyId).max(100).optional(),
  dataPolicy: DataPolicyInput.optional(),
  expiresAt: z.iso.datetime({ offset: true }).optional(),
});
export type CreateSessionRequest = z.infer<typeof CreateSessionRequest>;

export const SessionRole = z.enum(['creator', 'participant', 'observer']);
export type SessionRole = z.infer<typeof SessionRole>;

export const MultiPartySession = z.strictObject({
  id: SessionId,
  name: z.string(),
  description: z.string(),
  modelId: z.string(),
  status: SessionStatusValue,
  joinCode: z.string(),
  participants: z.array(PartyId),
  observers: z.array(PartyId),
  dataPolicy: DataPolicy,
  expiresAt: z.string(),
  createdAt: z.string(),
  createdBy: TenantId,
  dataSubmittedBy: z.array(PartyId),
  consentedBy: z.array(PartyId),
  yourRoles: z.array(SessionRole),
  terms: SessionTerms,
});
export type MultiPartySession = z.infer<typeof MultiPartySession>;

export const SessionList = z.strictObject({ sessions: z.array(MultiPartySession) });

export const RunStatusValue = z.enum(['queued', 'running', 'completed', 'failed']);
export type RunStatusValue = z.infer<typeof RunStatusValue>;

export const RunError = z.strictObject({ code: z.string(), message: z.string(), retryable: z.boolean() });

export const RunResponse = z.strictObject({
  runId: z.string(),
  sessionId: SessionId,
  status: RunStatusValue,
  attempts: z.number().int(),
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  error: RunError.nullable(),
  /** Where the enclave spent the run's time (ms): decrypt + verify, train, report. The host sees timing anyway. */
  timings: z.record(z.string(), z.number()).optional(),
});
export type RunResponse = z.infer<typeof RunResponse>;

export const SessionStatusResponse = z.strictObject({
  sessionId: SessionId,
  status: SessionStatusValue,
  participants: z.array(PartyId),
  observers: z.array(PartyId),
  minParticipants: z.number().int(),
  dataSubmittedBy: z.array(PartyId),
  consentedParticipants: z.array(PartyId),
  pendingData: z.array(PartyId),
  pendingConsent: z.array(PartyId),
  readyToRun: z.boolean(),
  expiresAt: z.string(),
  lastRun: RunResponse.nullable(),
});
export type SessionStatusResponse = z.infer<typeof SessionStatusResponse>;

export const SessionKeyResponse = z.strictObject({
  sessionId: SessionId,
  publicKey: Base64Url,
  suite: z.string(),
  /** Issued by the enclave for this request (fresh; verify it with a maximum age). */
  attestation: Base64Url,
  expiresAt: z.string(),
});
export type SessionKeyResponse = z.infer<typeof SessionKeyResponse>;

/** Metadata of a submission; the ciphertext itself is never returned to anyone. */
export const SubmissionResponse = z.strictObject({
  submissionId: z.string(),
  sessionId: SessionId,
  partyId: PartyId,
  dataSchema: z.string(),
  commitment: Commitment,
  commitmentScheme: CommitmentScheme,
  ciphertextHash: z.string(),
  size: z.number().int(),
  recordCount: z.number().int(),
  receivedAt: z.string(),
  status: SessionStatusValue,
});
export type SubmissionResponse = z.infer<typeof SubmissionResponse>;

export const SubmitConsentRequest = z.strictObject({
  consent: ConsentFlags,
  signature: Base64Url,
});
export type SubmitConsentRequest = z.infer<typeof SubmitConsentRequest>;

export const ConsentResponse = z.strictObject({
  sessionId: SessionId,
  partyId: PartyId,
  consent: ConsentFlags,
  signature: Base64Url,
  receivedAt: z.string(),
  status: SessionStatusValue,
});
export type ConsentResponse = z.infer<typeof ConsentResponse>;

/** A revoked consent: the party is excluded and its submission (if any) deleted; `status` is re-derived. */
export const ConsentRevocationResponse = z.strictObject({
  sessionId: SessionId,
  partyId: PartyId,
  revokedAt: z.string(),
  submissionDeleted: z.boolean(),
  status: SessionStatusValue,
});
export type ConsentRevocationResponse = z.infer<typeof ConsentRevocationResponse>;

export const RunRequest = z.strictObject({
  prompt: z.string().max(20_000),
  parameters: InferenceParameters.optional(),
});
export type RunRequest = z.infer<typeof RunRequest>;

export const SealedResultResponse = z.strictObject({
  sessionId: SessionId,
  runId: z.string(),
  recipient: PartyId,
  report: ResultReport,
  attestation: Base64Url,
  sealedResult: Base64Url,
});
export type SealedResultResponse = z.infer<typeof SealedResultResponse>;

export const CancelSessionRequest = z.strictObject({ reason: z.string().max(500).optional() });

export const JoinLookupResponse = z.strictObject({ session: MultiPartySession });

export const EnclaveInfoResponse = z.strictObject({
  provider: z.enum(['simulated', 'nitro']),
  moduleId: z.string(),
  measurement: z.string(),
  rootPem: z.string().nullable(),
  ready: z.boolean(),
});
export type EnclaveInfoResponse = z.infer<typeof EnclaveInfoResponse>;

export const SessionIdParams = z.strictObject({ sessionId: SessionId });
export const RunParams = z.strictObject({ sessionId: SessionId, runId: z.string().min(1).max(64) });
export const JoinParams = z.strictObject({ joinCode: z.string().min(1).max(20) });
export const PartyParams = z.strictObject({ partyId: PartyId });
/** GET /v1/sessions/:sessionId/mpc/nodes: `nonce` (required) = base64url of 16–64 bytes, bound into every node's document. */
export const MpcNodesQuery = z.strictObject({ nonce: Base64Url });

/**
 * GET /v1/models: the model registry as the running enclave reports it (hello) — each model's id, version
 * and digest, its data schemas (with their JSON Schema documents), the aggregation methods this enclave runs
 * for it, and the language-model backends it offers for `content` (`deterministic` always).
 */
export const ModelDataSchema = z.strictObject({
  id: z.string(),
  /** The JSON Schema document of one record array, or null where the registry has none. */
  jsonSchema: z.record(z.string(), z.unknown()).nullable(),
});
export type ModelDataSchema = z.infer<typeof ModelDataSchema>;

export const ModelInfo = z.strictObject({
  id: z.string(),
  version: z.string().nullable(),
  digest: z.string(),
  /** One paragraph on what the model computes (use-case models). */
  description: z.string().optional(),
  /** The use case the model serves (`tenzro demo --use-case`), for use-case models. */
  useCase: z.string().optional(),
  dataSchemas: z.array(ModelDataSchema),
  methods: z.array(z.enum(['federated', 'secure_aggregation', 'mpc'])),
  backends: z.array(z.string()),
});
export type ModelInfo = z.infer<typeof ModelInfo>;

export const ModelsResponse = z.strictObject({ models: z.array(ModelInfo) });
export type ModelsResponse = z.infer<typeof ModelsResponse>;
