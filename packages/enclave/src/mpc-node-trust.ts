/**
 * Which compute nodes the enclave trusts for mpc sessions (docs/mpc.md, "Pieces and who trusts whom"):
 * documents chained to the enclave provider's own root (the nodes share its CA dir in development) whose
 * measurement is the node bundle of this checkout (measureMpcNodeBundle, when packages/mpc-node/dist
 * exists) or one listed in TENZRO_MPC_NODE_MEASUREMENTS (comma-separated lower-case hex, 96 characters).
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultRepoRoot, measureMpcNodeBundle } from './measure.js';

export const MPC_NODE_MEASUREMENTS_ENV = 'TENZRO_MPC_NODE_MEASUREMENTS';
const MEASUREMENT = /^[0-9a-f]{96}$/;

export class MpcNodeTrustError extends Error {
  readonly code = 'invalid_node_measurements' as const;
  constructor(message: string) {
    super(message);
    this.name = 'MpcNodeTrustError';
  }
}

/** The measurements listed in `text` (comma-separated hex; blanks ignored). @throws MpcNodeTrustError. */
export function parseMpcNodeMeasurements(text: string | undefined): string[] {
  if (text === undefined) return [];
  if (typeof text !== 'string') throw new TypeError('text must be a string');
  const out: string[] = [];
  for (const part of text.split(',')) {
    const item = part.trim().toLowerCase();
    if (item.length === 0) continue;
    if (!MEASUREMENT.test(item)) throw new MpcNodeTrustError(`${MPC_NODE_MEASUREMENTS_ENV} must list 96-character hex measurements, separated by commas`);
    if (!out.includes(item)) out.push(item);
  }
  return out;
}

/** The accepted node measurements: this checkout's node bundle (when built) and the environment's. */
export async function acceptedMpcNodeMeasurements(env: NodeJS.ProcessEnv, repoRoot: string = defaultRepoRoot()): Promise<string[]> {
  const listed = parseMpcNodeMeasurements(env[MPC_NODE_MEASUREMENTS_ENV]);
  let built = false;
  try {
    built = (await stat(join(repoRoot, 'packages', 'mpc-node', 'dist'))).isDirectory();
  } catch {
    built = false;
  }
  if (!built) return listed;
  const own = await measureMpcNodeBundle(repoRoot);
  return [own, ...listed.filter((m) => m !== own)];
}
