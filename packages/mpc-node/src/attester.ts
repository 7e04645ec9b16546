// The node's attestation provider and measurement. The provider is the enclave's simulated Nitro module
// (SimulatedNsm from @tenzro/enclave: the same document format and CA state as the enclave's).
// The measurement (pcrs[0]) is SHA-384 of the manifest of the code a node runs (packages/{crypto,protocol,
// enclave,mpc-node}/dist/**/*.js, their package.json, the lockfile), computed by @tenzro/enclave's
// measureMpcNodeBundle, so the enclave and the nodes agree on it.
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MPC_NODE_MEASURED_PACKAGES, SimulatedNsm, measureMpcNodeBundle, type AttestationIssuer } from '@tenzro/enclave';

/** The packages whose dist/ the node measurement covers (@tenzro/enclave's MPC_NODE_MEASURED_PACKAGES). */
export const NODE_MEASURED_PACKAGES = MPC_NODE_MEASURED_PACKAGES;

/** The enclave's simulated Nitro provider, its CA kept in `caDir` (shared with other nodes or the enclave, or not). */
export async function loadSimulatedIssuer(caDir: string, measurement: string): Promise<AttestationIssuer> {
  return SimulatedNsm.loadOrCreate({ stateDir: caDir, measurement });
}

/** The repository root: this file is packages/mpc-node/{dist,src}/attester.{js,ts}. */
export function nodeRepoRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

/**
 * Lowercase hex SHA-384 of the node bundle's manifest (96 characters): @tenzro/enclave's
 * measureMpcNodeBundle (the same value the enclave accepts for node documents).
 */
export async function measureNodeBundle(repoRoot: string = nodeRepoRoot()): Promise<string> {
  return measureMpcNodeBundle(repoRoot);
}
