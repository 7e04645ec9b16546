// @tenzro/enclave — the trusted process. Its public face is the process (`dist/main.js`) and its framed
// channel; these exports are for the CLI (`tenzro measure`) and for embedding the channel in tests.
export {
  measureBundle,
  bundleManifest,
  manifestText,
  defaultRepoRoot,
  MEASURED_PACKAGES,
  MODEL_ASSETS_DIR,
  LOCKFILE,
  GGUF_RUNTIME_PACKAGE,
  GGUF_MANIFEST_PATH,
  MeasureError,
  MPC_NODE_MEASURED_PACKAGES,
  packagesManifest,
  measurePackages,
  measureMpcNodeBundle,
} from './measure.js';
export type { BundleOptions, ManifestEntry } from './measure.js';
export { KeyStore, KeyStoreError, SESSION_KEY_SEALING_INFO, sealedKeyAad } from './key-store.js';
export type { AttestedSessionKey, CreatedSessionKey, KeyStoreErrorCode } from './key-store.js';
export type { AttestationIssuer } from './attestation/issuer.js';
export { SimulatedNsm } from './attestation/simulated-nsm.js';
export { createHandler, replyIdOf } from './dispatch.js';
export type { RequestHandler } from './dispatch.js';
export { serveChannel, ChannelError } from './channel.js';
export type { EnclaveContext } from './context.js';
