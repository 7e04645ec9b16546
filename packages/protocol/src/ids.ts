/**
 * Identifiers: party ids (`party::<tenantId>::<name>`), tenant ids, session ids (`mps_` + base32 of the
 * terms hash, DESIGN §5.1) and join codes.
 */
import { canonicalBytes, randomBytes, sha256 } from '@tenzro/crypto';

export const TENANT_ID_PATTERN = /^[a-zA-Z][a-zA-Z0-9_-]{0,62}$/;
export const PARTY_ID_PATTERN = /^party::([a-zA-Z][a-zA-Z0-9_-]{0,62})::([a-zA-Z0-9][a-zA-Z0-9_.-]{0,62})$/;
export const SESSION_ID_PATTERN = /^mps_[a-z2-7]{26}$/;
export const JOIN_CODE_PATTERN = /^[A-Z2-7]{4}-[A-Z2-7]{4}$/;

/** The tenant that owns a party: the middle segment of its id (DESIGN §4). */
export function tenantOfParty(partyId: string): string {
  const match = PARTY_ID_PATTERN.exec(partyId);
  if (!match) throw new TypeError(`partyId: not of the form party::<tenantId>::<name>`);
  return match[1]!;
}

const BASE32_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';

/** RFC 4648 §6 base32, lower case, no padding. */
export function base32(bytes: Uint8Array): string {
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += BASE32_ALPHABET[(buffer >>> (bits - 5)) & 31];
      bits -= 5;
    }
    buffer &= (1 << bits) - 1;
  }
  if (bits > 0) out += BASE32_ALPHABET[(buffer << (5 - bits)) & 31];
  return out;
}

/** `sessionId = "mps_" + base32(SHA-256(JCS(terms)))` truncated to 26 characters (DESIGN §5.1). */
export function computeSessionId(terms: object): string {
  return 'mps_' + base32(sha256(canonicalBytes(terms))).slice(0, 26);
}

/** A short, human-typeable lookup handle; it grants nothing by itself. */
export function generateJoinCode(): string {
  const text = base32(randomBytes(5)).toUpperCase();
  return `${text.slice(0, 4)}-${text.slice(4, 8)}`;
}
