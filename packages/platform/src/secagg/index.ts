// The client role of secure aggregation (docs/secure-aggregation.md): statistics, masking, the state store.
export { SecureAggregationError, type SecureAggregationErrorCode } from './errors.js';
export {
  MemorySecAggStateStore,
  SECAGG_CLIENT_RECORD_TYPE,
  SECAGG_STATE_STORE_METHODS,
  parseSecAggStateKey,
  secAggStateKey,
  type SecAggStateStore,
} from './state.js';
export {
  SecAggParty,
  type ParticipationEvent,
  type ParticipationOutcome,
  type ParticipationStatus,
  type SecAggContribution,
  type SecAggContributionInfo,
} from './party.js';
export { noiseShareOf, prepareSecAggInput, type SecAggInput } from './statistics.js';
export { TRANSIENT_RETRY, isTransientError, type RetryPolicy } from './retry.js';
