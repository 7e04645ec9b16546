export { MpcContributionError, type MpcContributionErrorCode, type NodeFailure } from './errors.js';
export {
  MPC_NODE_NONCE_BYTES,
  contributeShares,
  mpcSharesRequired,
  mpcSharingOf,
  verifyMpcNodes,
  type ContributeSharesInput,
  type MpcContribution,
  type MpcContributionInfo,
  type MpcNodeExpectations,
  type MpcPartyContext,
  type MpcStatisticSource,
} from './party.js';
