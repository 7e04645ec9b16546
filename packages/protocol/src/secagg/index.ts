// Secure aggregation (Bonawitz et al. CCS 2017): pure stage functions for client and server roles.
export { SecAggError, type SecAggErrorCode, type SecAggStage, type RejectedMessage } from './errors.js';
export { SECAGG_MAX_PARTIES, validateSecAggConfig, type SecAggConfig, type SecAggParty } from './config.js';
export {
  SECAGG_TYPES,
  AdvertiseBody,
  ShareKeysBody,
  MaskedInputBody,
  UnmaskBody,
  UnmaskRequest,
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
  type SecAggServerState,
  type ServerStep,
} from './server.js';
export { neighbours } from './neighbours.js';
