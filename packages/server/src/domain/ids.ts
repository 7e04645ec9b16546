/** Random identifiers for host-side rows (runs, submissions, API keys). Session ids come from the terms. */
import { randomBytes } from 'node:crypto';
import { base32 } from '@tenzro/protocol';

export function newId(prefix: string): string {
  return `${prefix}_${base32(new Uint8Array(randomBytes(15)))}`;
}
