// Where the checkout's pieces are, found from this file's location (apps/cli/dist/paths.js).
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const enclaveEntry = join(repoRoot, 'packages', 'enclave', 'dist', 'main.js');
