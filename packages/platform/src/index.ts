// @tenzro/platform — the SDK each party runs. Runs in Node and in browsers: no `node:` imports.
export { TenzroPlatform, DEFAULT_BASE_URL } from './platform.js';
export type { TenzroPlatformOptions } from './platform.js';
export { MultiPartyAi, DEFAULT_RUN_TIMEOUT_MS, verifySessionRecord } from './ai.js';
export {
  AuditClient,
  AuditLogError,
  AUDIT_STORE_METHODS,
  AuditStoreError,
  DELETION_GRACE_MS,
  FileAuditStore,
  MemoryAuditStore,
  compareTreeHeads,
  termsHash,
  verifySessionEvidence,
  verifyTreeHeadSignature,
} from './audit/index.js';
export type {
  AuditLogErrorCode,
  AuditStore,
  EvidenceTrust,
  SessionMemory,
  SessionEvidence,
  TreeHeadComparison,
  VerifySessionOptions,
} from './audit/index.js';
export { VERIFICATION_CHECKS } from '@tenzro/protocol';
export type {
  CheckOutcome,
  SessionEvent,
  ConsistencyResponse,
  LogKeyResponse,
  SessionTrailResponse,
  SessionVerdict,
  SignedTreeHead,
  TreeHead,
  VerificationCheck,
} from '@tenzro/protocol';
export { CONTRIBUTION_TYPE } from '@tenzro/protocol';
export {
  MemorySecAggStateStore,
  SECAGG_CLIENT_RECORD_TYPE,
  SECAGG_STATE_STORE_METHODS,
  SecureAggregationError,
  isTransientError,
  parseSecAggStateKey,
  secAggStateKey,
} from './secagg/index.js';
export type {
  ParticipationEvent,
  ParticipationOutcome,
  ParticipationStatus,
  SecAggContribution,
  SecAggContributionInfo,
  SecAggStateStore,
  SecureAggregationErrorCode,
} from './secagg/index.js';
export { SecAggError } from '@tenzro/protocol';
export { MPC_NODE_NONCE_BYTES, MpcContributionError, verifyMpcNodes } from './mpc/index.js';
export type { MpcContribution, MpcContributionErrorCode, MpcContributionInfo, MpcNodeExpectations, NodeFailure } from './mpc/index.js';
export type { SecAggErrorCode, SecAggRoundResponse, SecAggRoundStage } from '@tenzro/protocol';
export type {
  Contribution,
  ContributeInput,
  ParticipateOptions,
  CreateMultiPartySessionInput,
  InferenceResult,
  RunMultiPartyInferenceInput,
  SessionKey,
  SubmitSessionConsentInput,
  SubmitSessionDataInput,
  TeeAttestation,
} from './ai.js';
export { encryptWithSessionKey, hashCommitment, saltedCommitment, signConsent } from './helpers.js';
export type { ConsentSigningKey } from './helpers.js';
export { generatePartyIdentity, loadPartyIdentity, PartyIdentityError, PartyKeyFile } from './identity.js';
export type { PartyIdentity } from './identity.js';
export { verifyAttestation, trustedRoots, DEFAULT_ATTESTATION_MAX_AGE_MS } from './trust.js';
export type { AttestationCheck, AttestationUnverified, AttestationVerified, UnverifiedCode, VerifyAttestationInput } from './trust.js';
export { AWS_NITRO_ROOT_G1_PEM } from './nitro-root.js';
export { ConfigurationError } from './defaults.js';
export type { ConfigurationErrorCode } from './defaults.js';
export { ResultVerificationError, SessionVerificationError, TenzroApiError } from './errors.js';
export type { ClientErrorCode, TenzroApiErrorCode } from './errors.js';
export { AttestationError, FULL_CONSENT } from '@tenzro/protocol';
export type {
  AttestationErrorCode,
  ConsentFlags,
  ConsentResponse,
  DataPolicy,
  DataPolicyInput,
  InferenceParameters,
  MultiPartySession,
  PrivateFindings,
  ResultReport,
  RunResponse,
  SessionStatus,
  SessionStatusResponse,
  SubmissionResponse,
  VerifiedAttestation,
} from '@tenzro/protocol';
