/**
 * Pointing an existing deployment at a new TENZRO_SHARED_DIR must not silently start over: a fresh log
 * key would fork the transparency log's identity (pinned by every verifier), a fresh simulated enclave
 * root would leave every sealed session key unreadable, and the blobs would be missing. When the data
 * directory holds such state and the shared directory does not, the server refuses to start and says what
 * to move.
 */
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type ServerConfig } from './config.js';

const STATE = [join('log', 'log-key.json'), join('enclave', 'simulated-ca.json'), 'blobs'] as const;

function present(dir: string, entry: string): boolean {
  const path = join(dir, entry);
  if (!existsSync(path)) return false;
  return entry !== 'blobs' || readdirSync(path).length > 0;
}

export function assertSharedStateInPlace(config: Pick<ServerConfig, 'dataDir' | 'sharedDir'>): void {
  if (config.sharedDir === config.dataDir) return;
  const stranded = STATE.filter((entry) => present(config.dataDir, entry) && !present(config.sharedDir, entry));
  if (stranded.length === 0) return;
  throw new ConfigError(
    `TENZRO_SHARED_DIR (${config.sharedDir}) lacks ${stranded.join(', ')}, which TENZRO_DATA_DIR (${config.dataDir}) holds: ` +
      'move log/, enclave/ and blobs/ into the shared directory before starting, or the log key, the enclave root and the blobs would start over',
  );
}
