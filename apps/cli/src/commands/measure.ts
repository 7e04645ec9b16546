// `tenzro measure`: the enclave measurement (pcrs[0]) computed from this checkout's enclave bundle, by the
// enclave's own measuring code, so it matches what the running enclave attests.
import { execFileSync } from 'node:child_process';
import { enclaveEntry } from '../paths.js';

export function measure(): string {
  return execFileSync(process.execPath, [enclaveEntry, 'measure'], { encoding: 'utf8' }).trim();
}
