// @tenzro/mpc-node — a compute node of the `mpc` method (DESIGN §7): its attested keys, its HTTP transport
// for sealed, signed round messages, the mailbox an orchestrator awaits, and the clients to drive it.
export { NodeTransportError, NODE_ERROR_STATUS, type NodeTransportErrorCode } from './errors.js';
export { loadOrCreateIdentity, NodeIdentityError, NODE_KEY_FILE, type NodeIdentity } from './identity.js';
export { loadSimulatedIssuer, measureNodeBundle, nodeRepoRoot, NODE_MEASURED_PACKAGES } from './attester.js';
export {
  MPC_NODE_INFO,
  MPC_NODE_CONTROL_INFO,
  MPC_NODE_ENVELOPE_TYPE,
  MPC_NODE_MESSAGE_STATEMENT,
  NodeEnvelope,
  sealNodeMessage,
  verifyNodeEnvelopeSignature,
  openNodeMessage,
  type SealNodeMessageInput,
} from './wire.js';
export { NodeMailbox, type CollectOptions } from './mailbox.js';
export { PeerDirectory, attestPeer, parsePeerList, type Peer, type PeerAddress, type PeerDirectoryOptions, type AttestationResponse } from './peers.js';
export { NodeClient, NodeControlClient, postNodeEnvelope, type NodeClientOptions, type MultiplyRequest } from './client.js';
export { createMpcNodeServer, DEFAULT_MAX_BODY_BYTES, RUN_BODY_FACTOR, RAW_MULTIPLY_OP_PREFIX, type MpcNodeServer, type MpcNodeServerOptions } from './server.js';
export { MpcSessionRuntime, MpcControlError, DEFAULT_SESSION_TTL_MS, MAX_PREPROCESSING_KEEP_MS, type MpcControlErrorCode, type MpcSessionRuntimeOptions } from './sessions.js';
export {
  MpcCoordinatorError,
  fetchNodeAttestations,
  listPreprocessed,
  preprocessAcrossNodes,
  runMpcAcrossNodes,
  checkBundleOnNodes,
  forgetSession,
  forgetRun,
  forgetPrep,
  survivorsOfRound,
  type CoordinatedNode,
  type MpcCoordinatorErrorCode,
} from './coordinator.js';
export { startLocalFleet, FleetStartError, type StartLocalFleetOptions, type LocalFleet, type FleetNode } from './fleet.js';
