// The session's secure-aggregation parameters: roster (party ids with their roster signing keys; the
// position in the roster + 1 is the party's index, its Shamir x and its mask-sign order), threshold t and
// vector length. t is never clamped: 2 ≤ t ≤ n and t > n/2 (so no two disjoint sets of t parties exist
// to which a server could tell different stories), else invalid_config. The optional `graph` selects
// SecAgg+ (Bell et al. CCS 2020, see neighbours.ts): shares and pairwise masks only between neighbours of a
// Harary graph H(k, n); absent means the complete graph of Bonawitz et al.

import { MAX_MASK_LENGTH, isValidSigningPublicKey } from '@tenzro/crypto';
import { PARTY_ID_PATTERN, SESSION_ID_PATTERN } from '../ids.js';
import { SecAggError } from './errors.js';
import { hararyDegreeProblem } from './neighbours.js';

export interface SecAggParty {
  partyId: string;
  /** Ed25519 roster signing key of the party (DESIGN §4). */
  signingPublicKey: Uint8Array;
}

/** The communication graph: all-to-all, or a k-regular Harary graph over a permutation drawn from `seed`. */
export type SecAggGraphSpec = { kind: 'complete' } | { kind: 'harary'; k: number; seed: Uint8Array };

export interface SecAggConfig {
  sessionId: string;
  /** Shares needed to unmask; also the fewest parties allowed at every stage. */
  threshold: number;
  /** Length of every input vector over Z_{2^32}. */
  vectorLength: number;
  parties: readonly SecAggParty[];
  /** Absent: the complete graph. Set by secAggConfigOf from the terms (secAggGraphFor); tests may force one. */
  graph?: SecAggGraphSpec;
}

/** Most parties in one session (Shamir x runs over 1..n). */
export const SECAGG_MAX_PARTIES = 10_000;

function invalid(message: string): never {
  throw new SecAggError('invalid_config', 'config', message);
}

/** Checks a configuration; throws SecAggError invalid_config (duplicate_party / duplicate_key) otherwise. */
export function validateSecAggConfig(config: SecAggConfig): SecAggConfig {
  if (typeof config !== 'object' || config === null) invalid('config must be an object');
  const { sessionId, threshold, vectorLength, parties } = config;
  if (typeof sessionId !== 'string' || !SESSION_ID_PATTERN.test(sessionId)) invalid('config.sessionId must be a session id (mps_…)');
  if (!Array.isArray(parties) || parties.length < 2 || parties.length > SECAGG_MAX_PARTIES) {
    invalid(`config.parties must list 2 to ${SECAGG_MAX_PARTIES} parties`);
  }
  const n = parties.length;
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > n || threshold <= n / 2) {
    invalid(`config.threshold must be an integer with n/2 < threshold ≤ n and threshold ≥ 2 (n = ${n}), got ${String(threshold)}`);
  }
  if (!Number.isInteger(vectorLength) || vectorLength < 1 || vectorLength > MAX_MASK_LENGTH) {
    invalid(`config.vectorLength must be an integer from 1 to ${MAX_MASK_LENGTH}`);
  }
  const ids = new Set<string>();
  const keys = new Set<string>();
  parties.forEach((party, i) => {
    if (typeof party?.partyId !== 'string' || !PARTY_ID_PATTERN.test(party.partyId)) invalid(`config.parties[${i}].partyId must be a party id`);
    if (!isValidSigningPublicKey(party.signingPublicKey)) invalid(`config.parties[${i}].signingPublicKey must be a valid Ed25519 public key`);
    if (ids.has(party.partyId)) throw new SecAggError('duplicate_party', 'config', `config.parties[${i}] repeats party ${party.partyId}`);
    const key = party.signingPublicKey.join(',');
    if (keys.has(key)) throw new SecAggError('duplicate_key', 'config', `config.parties[${i}] repeats another party's signing key`);
    ids.add(party.partyId);
    keys.add(key);
  });
  validateGraph(config.graph, n, threshold);
  return config;
}

function validateGraph(graph: unknown, n: number, threshold: number): void {
  if (graph === undefined) return;
  if (typeof graph !== 'object' || graph === null) invalid('config.graph must be an object');
  const { kind } = graph as { kind?: unknown };
  const keys = Object.keys(graph).sort().join(',');
  if (kind === 'complete') {
    if (keys !== 'kind') invalid('config.graph { kind: "complete" } takes no other field');
    return;
  }
  if (kind !== 'harary') invalid('config.graph.kind must be "complete" or "harary"');
  if (keys !== 'k,kind,seed') invalid('config.graph { kind: "harary" } must have exactly k and seed');
  const { k, seed } = graph as { k: unknown; seed: unknown };
  if (n < 3) invalid('config.graph: a Harary graph needs at least 3 parties');
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 2 || k >= n || k % 2 !== 0) invalid(`config.graph.k must be an even integer from 2 to n − 1 (n = ${n}), got ${String(k)}`);
  if (!(seed instanceof Uint8Array) || seed.length !== 32) invalid('config.graph.seed must be 32 bytes');
  const problem = hararyDegreeProblem(n, k, threshold);
  if (problem !== undefined) invalid(`config.graph: ${problem}`);
}

/** The 1-based index of a party in the roster, or undefined. */
export function partyIndex(config: SecAggConfig, partyId: string): number | undefined {
  const i = config.parties.findIndex((p) => p.partyId === partyId);
  return i < 0 ? undefined : i + 1;
}

export function signingKeyOf(config: SecAggConfig, partyId: string): Uint8Array | undefined {
  return config.parties.find((p) => p.partyId === partyId)?.signingPublicKey;
}
