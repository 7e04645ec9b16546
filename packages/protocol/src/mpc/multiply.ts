// Secure multiplication of two shared vectors by degree reduction: R. Gennaro, M. O. Rabin, T. Rabin,
// "Simplified VSS and fast-track multiparty computations with applications to threshold cryptography",
// PODC 1998, §3 (the semi-honest core of the BGW multiplication, Ben-Or, Goldwasser & Wigderson 1988).
//
// Node i holds a_i = f_a(i), b_i = f_b(i) with deg f_a = deg f_b = t − 1. Then z_i = a_i · b_i is the
// point at i of f_a · f_b, of degree 2t − 2, whose value at 0 is a · b.
//   Round 1 (mulRound1): node i shares z_i with a fresh polynomial h_i of degree t − 1 and sends h_i(j) to
//            every node j (including itself).
//   Round 2 (mulRound2): node j takes a set S of ≥ 2t − 1 senders (the coordinator's, or the 2t − 1
//            lowest x it heard from) and outputs c_j = Σ_{i∈S} λ_i^S · h_i(j), λ^S the Lagrange weights at
//            0 for S. H = Σ λ_i^S h_i has degree t − 1 and H(0) = Σ λ_i^S z_i = (f_a · f_b)(0) = a · b.
// Needs 2t − 1 ≤ n (validateMpcConfig); tolerates n − (2t − 1) senders down. Every node of one
// multiplication must use the same S. Semi-honest: a node that sends a wrong subshare changes the result
// undetected (no verifiable secret sharing); the reconstruction's consistency check (more than t output
// shares) catches inconsistent outputs, not a consistent wrong product.
//
// Privacy: a coalition of t − 1 nodes sees, from each honest sender, t − 1 points of a fresh degree t − 1
// polynomial, which are uniform and independent of z_i (Shamir), and nothing else.

import { multiplyShareVectorsLocally, randomBytes, shareVector, interpolateShareVectors, type RandomSource, type ShareVector } from '@tenzro/crypto';
import { validateMpcConfig } from './config.js';
import { MpcError } from './errors.js';
import { MPC_TYPES, type MulReshareMessage } from './messages.js';
import { assertLocalVector, assertOp, chooseSenders, collectIncoming, type MpcNode } from './node.js';

export interface MulRound1Input {
  /** The operation id (unique within the session; the same at every node). */
  op: string;
  /** This node's share of a (x = node.party). */
  a: ShareVector;
  /** This node's share of b, same length. */
  b: ShareVector;
}

export interface MulRound2Input {
  op: string;
  /** The mul-reshare messages addressed to this node (its own included). */
  incoming: readonly MulReshareMessage[];
  /** The senders to interpolate over (≥ 2t − 1, all present); default: the 2t − 1 lowest x present. */
  senders?: readonly number[];
}

function assertOwnShare(node: MpcNode, share: unknown, name: string): asserts share is ShareVector {
  if (typeof share !== 'object' || share === null) throw new MpcError('invalid_config', 'multiply', `${name} must be a ShareVector`);
  const { x, vector } = share as ShareVector;
  assertLocalVector(node, vector, `${name}.vector`, 'multiply');
  if (x !== node.party) throw new MpcError('invalid_config', 'multiply', `${name} is the share of node ${String(x)}, not of this node (${node.party})`);
}

/** Round 1: this node's subshares of a_i · b_i, one message per node (x = 1..n, own included). */
export function mulRound1(node: MpcNode, input: MulRound1Input, random: RandomSource = randomBytes): MulReshareMessage[] {
  validateMpcConfig(node); // degree_reduction_impossible when 2t − 1 > n
  if (typeof input !== 'object' || input === null) throw new MpcError('invalid_config', 'multiply', 'input must be an object');
  const { op, a, b } = input;
  assertOp(op, 'multiply');
  assertOwnShare(node, a, 'input.a');
  assertOwnShare(node, b, 'input.b');
  if (a.vector.length !== b.vector.length) {
    throw new MpcError('length_mismatch', 'multiply', `input.a has ${a.vector.length} elements, input.b ${b.vector.length}`);
  }
  const z = multiplyShareVectorsLocally(a, b);
  const subshares = shareVector(z.vector, { threshold: node.threshold, parties: node.totalParties }, random);
  z.vector.residues.fill(0);
  return subshares.map((s) =>
    Object.freeze({ type: MPC_TYPES.mulReshare, sessionId: node.sessionId, op, from: node.party, to: s.x, subshare: s.vector }),
  );
}

/** Round 2: this node's share (degree t − 1) of a · b from the subshares it received. */
export function mulRound2(node: MpcNode, input: MulRound2Input): ShareVector {
  validateMpcConfig(node);
  if (typeof input !== 'object' || input === null) throw new MpcError('invalid_config', 'multiply', 'input must be an object');
  const { op, incoming, senders } = input;
  assertOp(op, 'multiply');
  const { bySender } = collectIncoming(node, 'multiply', MPC_TYPES.mulReshare, op, incoming, undefined, (m) => [m.subshare]);
  const used = chooseSenders('multiply', new Set(bySender.keys()), 2 * node.threshold - 1, senders, 'input.senders');
  const points = used.map((x) => ({ x, vector: bySender.get(x)!.subshare }));
  return Object.freeze({ x: node.party, vector: interpolateShareVectors(points, 0) });
}
