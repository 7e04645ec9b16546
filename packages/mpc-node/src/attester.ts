// The node's attestation provider and measurement. The provider is the enclave's simulated Nitro module
// (SimulatedNsm from @tenzro/enclave: the same document format and CA state as the enclave's).
// The measurement (pcrs[0]) is SHA-384 of the manifest (the enclave's manifestText format) of the code a
// node runs: packages/{crypto,protocol,enclave,mpc-node}/dist/**/*.js, their package.json, and the lockfile.
import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SimulatedNsm, manifestText, measureMpcNodeBundle, type AttestationIssuer, type ManifestEntry } from '@tenzro/enclave';

export const NODE_MEASURED_PACKAGES = ['crypto', 'protocol', 'enclave', 'mpc-node'] as const;

/** The enclave's simulated Nitro provider, its CA kept in `caDir` (shared with other nodes or the enclave, or not). */
export async function loadSimulatedIssuer(caDir: string, measurement: string): Promise<AttestationIssuer> {
  return SimulatedNsm.loadOrCreate({ stateDir: caDir, measurement });
}

/** The repository root: this file is packages/mpc-node/{dist,src}/attester.{js,ts}. */
export function nodeRepoRoot(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
}

async function listJs(dir: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const out: string[] = [];
  for (const entry of entries) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listJs(full)));
    else if (entry.isFile() && entry.name.endsWith('.js')) out.push(full);
  }
  return out;
}

/**
 * Lowercase hex SHA-384 of the node bundle's manifest (96 characters): @tenzro/enclave's
 * measureMpcNodeBundle (the same value the enclave accepts for node documents).
 */
export async function measureNodeBundle(repoRoot: string = nodeRepoRoot()): Promise<string> {
  return measureMpcNodeBundle(repoRoot);
}
