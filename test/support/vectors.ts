// Locates the published test vectors (../shared/vectors next to the checkout, or TENZRO_VECTORS_DIR).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

export function vectorsDir(): string {
  const candidates = [process.env.TENZRO_VECTORS_DIR, join(repoRoot, 'vectors'), join(repoRoot, '..', 'shared', 'vectors')];
  for (const candidate of candidates) if (candidate && existsSync(candidate)) return candidate;
  throw new Error(`test vectors not found; set TENZRO_VECTORS_DIR (looked in ${candidates.filter(Boolean).join(', ')})`);
}

export function vectorPath(relative: string): string {
  return join(vectorsDir(), relative);
}

export function readVectorJson<T = unknown>(relative: string): T {
  return JSON.parse(readFileSync(vectorPath(relative), 'utf8')) as T;
}

export function readVectorBytes(relative: string): Uint8Array {
  return new Uint8Array(readFileSync(vectorPath(relative)));
}
