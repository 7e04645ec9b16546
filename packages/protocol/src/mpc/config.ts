// The `mpc` method's parameters (DESIGN §7, dataPolicy.mpcConfig): threshold t of totalParties n compute
// nodes. Never clamped: t < 2, t > n and — when the computation multiplies — 2t − 1 > n are refused with
// their own code, because GRR degree reduction (Gennaro, Rabin & Rabin 1998) interpolates the degree
// 2(t − 1) product polynomial from 2t − 1 nodes. A multiplication therefore tolerates n − (2t − 1) nodes
// down; a sum or an opening n − t.

import { MPC_MAX_PARTIES, MPC_FIELD, type MpcField } from '@tenzro/crypto';
import { MpcError } from './errors.js';

/** Statistical security of the truncation mask (Catrina & Saxena 2010): distance ≤ 2^-40 per element. */
export const MPC_STATISTICAL_SECURITY = 40;

export interface MpcSharingConfig {
  /** Nodes needed to reconstruct; fewer learn nothing. */
  threshold: number;
  /** Compute nodes (Shamir x = 1..totalParties). */
  totalParties: number;
  /** As in dataPolicy.mpcConfig; when present it must be 'shamir_secret_sharing'. */
  protocol?: 'shamir_secret_sharing';
}

export interface ValidateMpcConfigOptions {
  /** Whether the computation multiplies shared values (default true): then 2t − 1 ≤ n is required. */
  multiplication?: boolean;
}

function invalid(message: string): never {
  throw new MpcError('invalid_config', 'config', message);
}

/** Checks a configuration; throws MpcError (stage 'config') with the code of the first problem. */
export function validateMpcConfig(config: MpcSharingConfig, options: ValidateMpcConfigOptions = {}): { threshold: number; totalParties: number } {
  if (typeof config !== 'object' || config === null) invalid('config must be an object');
  if (typeof options !== 'object' || options === null) invalid('options must be an object');
  const { threshold, totalParties, protocol } = config;
  if (protocol !== undefined && protocol !== 'shamir_secret_sharing') invalid(`config.protocol must be 'shamir_secret_sharing', got ${String(protocol)}`);
  if (typeof totalParties !== 'number' || !Number.isInteger(totalParties) || totalParties < 2 || totalParties > MPC_MAX_PARTIES) {
    invalid(`config.totalParties must be an integer from 2 to ${MPC_MAX_PARTIES}, got ${String(totalParties)}`);
  }
  if (typeof threshold !== 'number' || !Number.isInteger(threshold)) invalid(`config.threshold must be an integer, got ${String(threshold)}`);
  if (threshold < 2) throw new MpcError('threshold_too_small', 'config', `config.threshold must be at least 2, got ${threshold}`);
  if (threshold > totalParties) {
    throw new MpcError('threshold_above_parties', 'config', `config.threshold (${threshold}) is above config.totalParties (${totalParties})`);
  }
  const multiplication = options.multiplication ?? true;
  if (typeof multiplication !== 'boolean') invalid('options.multiplication must be a boolean');
  if (multiplication && 2 * threshold - 1 > totalParties) {
    throw new MpcError(
      'degree_reduction_impossible',
      'config',
      `multiplication needs 2·threshold − 1 ≤ totalParties (degree reduction over 2t − 1 nodes), got threshold ${threshold} and totalParties ${totalParties}`,
    );
  }
  return { threshold, totalParties };
}

/** Nodes that may be down during a multiplication: n − (2t − 1). */
export function multiplicationTolerance(config: MpcSharingConfig): number {
  const { threshold, totalParties } = validateMpcConfig(config);
  return totalParties - (2 * threshold - 1);
}

/**
 * The largest k for which the truncation of any value |a| < 2^(k − 1) cannot wrap around M with up to
 * `contributors` random pairs: (contributors + 1) · 2^(k + κ) ≤ M, κ = MPC_STATISTICAL_SECURITY.
 */
export function maxTruncationValueBits(contributors: number, field: MpcField = MPC_FIELD): number {
  if (typeof contributors !== 'number' || !Number.isInteger(contributors) || contributors < 1) invalid('contributors must be a positive integer');
  let k = field.bits - MPC_STATISTICAL_SECURITY;
  while (k > 0 && BigInt(contributors + 1) << BigInt(k + MPC_STATISTICAL_SECURITY) > field.modulus) k--;
  return k;
}
