// Secure aggregation (Bonawitz et al. CCS 2017; SecAgg+, Bell et al. CCS 2020): pure stage functions for
// client and server roles.
export { SecAggError, type SecAggErrorCode, type SecAggStage, type RejectedMessage } from './errors.js';
export { SECAGG_MAX_PARTIES, validateSecAggConfig, type SecAggConfig, type SecAggGraphSpec, type SecAggParty } from './config.js';
export {
  SECAGG_TYPES,
  AdvertiseBody,
  ShareKeysBody,
  MaskedInputBody,
  UnmaskBody,
  UnmaskRequest,
  parseSigned,
  decodeBytes,
  type Signed,
  type SignedAdvertise,
  type SignedShareKeys,
  type SignedMaskedInput,
  type SignedUnmask,
} from './messages.js';
export {
  advertiseKeys,
  shareKeys,
  maskInput,
  unmask,
  type AdvertiseKeysOptions,
  type AdvertisedKeys,
  type ClientStep,
  type HeldShares,
  type SecAggClientState,
} from './client.js';
export {
  createSecAggServer,
  collectAdvertisements,
  collectSharedKeys,
  collectMaskedInputs,
  aggregate,
  assertNeighbourhoods,
  type SecAggServerState,
  type ServerStep,
} from './server.js';
export {
  SECAGG_PLUS_MIN_PARTIES,
  SECAGG_PLUS_CORRECTNESS_BITS,
  SECAGG_GRAPH_SEED_DOMAIN,
  neighbours,
  secAggGraphFor,
  secAggGraphSeed,
  secAggPlusColluders,
  hararyShareThreshold,
} from './neighbours.js';
export {
  SECAGG_MASKED_INPUT_SCHEMA,
  SECAGG_MASKED_CONTRIBUTION_TYPE,
  SECAGG_UNMASK_ENVELOPE_TYPE,
  SECAGG_ROUND_STAGES,
  SecAggMaskedContribution,
  SecAggUnmaskEnvelope,
  SecAggRoundStage,
  SecAggGraph,
  SecAggRoundResponse,
  secAggConfigOf,
  buildUnmaskRequest,
  secAggNoiseShare,
  secAggProtectingVariance,
} from './session.js';
export { verifyAdvertisements, verifyShareKeys } from './client.js';
