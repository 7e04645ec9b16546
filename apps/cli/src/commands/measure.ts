// `tenzro measure`: the enclave measurement (pcrs[0]) computed from this checkout's enclave bundle, by the
// enclave's own measuring code, so it matches what the running enclave attests. An enclave that runs a local
// language model measures its GGUF file too: pass it with `gguf` (or set TENZRO_LLM_GGUF, as the enclave reads it).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { enclaveEntry, repoRoot } from '../paths.js';

export interface MeasureOptions {
  /** The enclave's local language model file (TENZRO_LLM_GGUF); default: TENZRO_LLM_GGUF from the environment. */
  gguf?: string;
}

export function measure(options: MeasureOptions = {}): string {
  if (options.gguf !== undefined && (typeof options.gguf !== 'string' || options.gguf === '')) throw new TypeError('gguf must be a non-empty file path');
  const args = options.gguf === undefined ? ['measure'] : ['measure', '--gguf', options.gguf];
  return execFileSync(process.execPath, [enclaveEntry, ...args], { encoding: 'utf8' }).trim();
}

/** The mpc compute nodes' measurement computed from this checkout (`tenzro mpc-node measure`). */
export function measureMpcNode(): string {
  return execFileSync(process.execPath, [join(repoRoot, 'packages', 'mpc-node', 'dist', 'main.js'), 'measure'], { encoding: 'utf8' }).trim();
}
