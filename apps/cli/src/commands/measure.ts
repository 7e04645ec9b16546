// `tenzro measure`: the enclave measurement (pcrs[0]) computed from this checkout's enclave bundle, by the
// enclave's own measuring code, so it matches what the running enclave attests.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { enclaveEntry, repoRoot } from '../paths.js';

export function measure(): string {
  return execFileSync(process.execPath, [enclaveEntry, 'measure'], { encoding: 'utf8' }).trim();
}

/** The mpc compute nodes' measurement computed from this checkout (`tenzro mpc-node measure`). */
export function measureMpcNode(): string {
  return execFileSync(process.execPath, [join(repoRoot, 'packages', 'mpc-node', 'dist', 'main.js'), 'measure'], { encoding: 'utf8' }).trim();
}
