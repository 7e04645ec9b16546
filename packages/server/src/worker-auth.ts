/**
 * Mutual authentication of a host and an enclave worker that share TENZRO_ENCLAVE_WORKER_TOKEN, without
 * the token ever crossing the wire:
 *
 *   worker → host   { type: 'challenge', nonce: Nw }
 *   host → worker   { type: 'auth', nonce: Nh, proof: HMAC(token, "tenzro/enclave-worker-auth/v1|host|" Nw "|" Nh) }
 *   worker → host   { type: 'welcome', hello, proof: HMAC(token, "…|worker|" Nw "|" Nh "|" SHA-256(JCS(hello))) }
 *
 * HMAC-SHA-256 (node:crypto), nonces of 32 random bytes, base64url. The worker learns the host knows the
 * token; the host learns the worker does, and that this very hello (measurement, root, pid) comes from it
 * and from this connection — a recorded greeting replayed on another connection fails. Someone answering at
 * a worker's address learns nothing it could replay.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { canonicalize } from '@tenzro/crypto';
import { z } from 'zod';

const CONTEXT = 'tenzro/enclave-worker-auth/v1';
const NONCE_BYTES = 32;

/** 32 bytes, base64url without padding. */
export const AuthNonce = z.string().regex(/^[A-Za-z0-9_-]{43}$/, 'a 32-byte base64url nonce');
/** An HMAC-SHA-256, base64url without padding. */
export const AuthProof = AuthNonce;

export function newNonce(): string {
  return randomBytes(NONCE_BYTES).toString('base64url');
}

function mac(token: string, parts: string[]): string {
  return createHmac('sha256', token).update([CONTEXT, ...parts].join('|')).digest('base64url');
}

/** The host's proof that it knows the token, for the worker's nonce and its own. */
export function hostProof(token: string, workerNonce: string, hostNonce: string): string {
  return mac(token, ['host', workerNonce, hostNonce]);
}

/** The worker's proof that it knows the token, bound to both nonces and to the hello it sends. */
export function workerProof(token: string, workerNonce: string, hostNonce: string, hello: unknown): string {
  const helloDigest = createHash('sha256').update(canonicalize(hello)).digest('base64url');
  return mac(token, ['worker', workerNonce, hostNonce, helloDigest]);
}

/** Constant-time comparison of two proofs (false for malformed input). */
export function proofsMatch(given: string, expected: string): boolean {
  const a = Buffer.from(given, 'base64url');
  const b = Buffer.from(expected, 'base64url');
  return a.length === b.length && a.length === 32 && timingSafeEqual(a, b);
}
