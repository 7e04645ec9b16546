// Multiplication with Beaver triples (D. Beaver, "Efficient multiparty protocols using circuit
// randomization", CRYPTO 1991), the triples made without a dealer in an offline phase by GRR (multiply.ts).
// GRR needs 2t − 1 nodes at every multiplication; with triples made while all nodes are up (before the
// data arrives), the online multiplication is one opening and needs only t: it tolerates n − t nodes down.
//
// Offline (one triple vector of `length` elements per multiplication to come):
//   tripleRound1: node i shares uniform u_i, v_i with degree t − 1 (random-share messages).
//   tripleRound2: every node uses the same contributor set C (≥ t, so one is outside any coalition of
//                 t − 1): [u] = Σ_C [u_i], [v] = Σ_C [v_i], uniform and unknown to t − 1 nodes; then
//                 mulRound1 on ([u], [v]) (mul-reshare messages, op `<op>/uv`).
//   tripleRound3: mulRound2 gives [w], w = u · v. The triple is ([u], [v], [w]).
// Online:
//   beaverRound1: each node opens its share of d ‖ e = (a − u) ‖ (b − v) (one open message).
//   beaverRound2: from ≥ t consistent shares, d and e are public and
//                 [a · b] = [w] + d · [v] + e · [u] + d · e   (since (d + u)(e + v) = a · b).
// Privacy: d and e are a and b masked by uniform u and v (perfectly); everything else is a Shamir share.
// A triple must be used for ONE multiplication only: two openings with the same (u, v) reveal a − a′ and
// b − b′. The pending state of beaverRound1 carries the triple; callers must delete it after use.

import {
  addFieldVectors,
  addPublicVector,
  addShareVectors,
  concatFieldVectors,
  multiplyByPublicVector,
  multiplyFieldVectors,
  randomBytes,
  randomFieldVector,
  shareVector,
  sliceFieldVector,
  subtractShareVectors,
  type RandomSource,
  type ShareVector,
} from '@tenzro/crypto';
import { validateMpcConfig } from './config.js';
import { MpcError } from './errors.js';
import { MPC_TYPES, type MulReshareMessage, type OpenMessage, type RandomShareMessage } from './messages.js';
import { mulRound1, mulRound2 } from './multiply.js';
import { assertLocalVector, assertOp, chooseSenders, collectIncoming, type MpcNode } from './node.js';
import { openMessageOf, openValueOf } from './open.js';

/** One node's shares of a Beaver triple vector: w = u ⊙ v element-wise. */
export interface BeaverTriple {
  readonly u: ShareVector;
  readonly v: ShareVector;
  readonly w: ShareVector;
}

export interface TripleRound1Input {
  op: string;
  length: number;
}

export interface TripleRound2Input {
  op: string;
  /** The random-share messages addressed to this node (its own included). */
  incoming: readonly RandomShareMessage[];
  /** The contributors to use (≥ t, all present; the same at every node); default: the t lowest x present. */
  contributors?: readonly number[];
}

/** What a node keeps between tripleRound2 and tripleRound3. */
export interface TriplePending {
  readonly op: string;
  readonly u: ShareVector;
  readonly v: ShareVector;
}

export interface TripleRound3Input {
  pending: TriplePending;
  /** The mul-reshare messages of op `<op>/uv` addressed to this node. */
  incoming: readonly MulReshareMessage[];
  /** As in mulRound2. */
  senders?: readonly number[];
}

export interface BeaverRound1Input {
  op: string;
  a: ShareVector;
  b: ShareVector;
  /** An unused triple of the same length. */
  triple: BeaverTriple;
}

/** What a node keeps between beaverRound1 and beaverRound2 (holds the triple: delete after use). */
export interface BeaverPending {
  readonly op: string;
  readonly length: number;
  readonly triple: BeaverTriple;
}

export interface BeaverRound2Input {
  pending: BeaverPending;
  /** The open messages of this operation that arrived (this node's own included). */
  incoming: readonly OpenMessage[];
  /** The openers to use (≥ t, all present); default: every message that arrived. */
  openers?: readonly number[];
}

const tripleOp = (op: string) => `${op}/uv`;

function object(input: unknown, stage: 'multiply'): void {
  if (typeof input !== 'object' || input === null) throw new MpcError('invalid_config', stage, 'input must be an object');
}

/** Offline round 1: shares of this node's uniform (u_i, v_i), one message per node (own included). */
export function tripleRound1(node: MpcNode, input: TripleRound1Input, random: RandomSource = randomBytes): RandomShareMessage[] {
  validateMpcConfig(node);
  object(input, 'multiply');
  const { op, length } = input;
  assertOp(op, 'multiply');
  if (typeof length !== 'number' || !Number.isInteger(length) || length < 0) throw new MpcError('invalid_config', 'multiply', 'length must be a non-negative integer');
  const options = { threshold: node.threshold, parties: node.totalParties };
  const u = randomFieldVector(node.field, length, random);
  const v = randomFieldVector(node.field, length, random);
  const uShares = shareVector(u, options, random);
  const vShares = shareVector(v, options, random);
  u.residues.fill(0);
  v.residues.fill(0);
  return uShares.map((s, j) =>
    Object.freeze({ type: MPC_TYPES.randomShare, sessionId: node.sessionId, op, from: node.party, to: s.x, u: s.vector, v: vShares[j]!.vector }),
  );
}

/** Offline round 2: this node's shares of u and v, and its GRR messages for w = u · v. */
export function tripleRound2(
  node: MpcNode,
  input: TripleRound2Input,
  random: RandomSource = randomBytes,
): { pending: TriplePending; messages: MulReshareMessage[] } {
  validateMpcConfig(node);
  object(input, 'multiply');
  const { op, incoming, contributors } = input;
  assertOp(op, 'multiply');
  const { bySender } = collectIncoming(node, 'multiply', MPC_TYPES.randomShare, op, incoming, undefined, (m) => [m.u, m.v]);
  const used = chooseSenders('multiply', new Set(bySender.keys()), node.threshold, contributors, 'input.contributors');
  let u = bySender.get(used[0]!)!.u;
  let v = bySender.get(used[0]!)!.v;
  for (const x of used.slice(1)) {
    u = addFieldVectors(u, bySender.get(x)!.u);
    v = addFieldVectors(v, bySender.get(x)!.v);
  }
  const pending: TriplePending = Object.freeze({ op, u: { x: node.party, vector: u }, v: { x: node.party, vector: v } });
  return { pending, messages: mulRound1(node, { op: tripleOp(op), a: pending.u, b: pending.v }, random) };
}

/** Offline round 3: this node's shares of the triple (u, v, w = u · v). */
export function tripleRound3(node: MpcNode, input: TripleRound3Input): BeaverTriple {
  object(input, 'multiply');
  const { pending, incoming, senders } = input;
  if (typeof pending !== 'object' || pending === null || pending.u?.x !== node.party) {
    throw new MpcError('invalid_config', 'multiply', 'input.pending must be this node’s TriplePending');
  }
  const w = mulRound2(node, { op: tripleOp(pending.op), incoming, ...(senders ? { senders } : {}) });
  if (w.vector.length !== pending.u.vector.length) throw new MpcError('length_mismatch', 'multiply', 'the product shares do not match the triple length');
  return Object.freeze({ u: pending.u, v: pending.v, w });
}

/** Online round 1: this node's open message for d ‖ e = (a − u) ‖ (b − v). */
export function beaverRound1(node: MpcNode, input: BeaverRound1Input): { pending: BeaverPending; message: OpenMessage } {
  object(input, 'multiply');
  const { op, a, b, triple } = input;
  assertOp(op, 'multiply');
  for (const [name, share] of [
    ['input.a', a],
    ['input.b', b],
    ['input.triple.u', triple?.u],
    ['input.triple.v', triple?.v],
    ['input.triple.w', triple?.w],
  ] as const) {
    if (typeof share !== 'object' || share === null) throw new MpcError('invalid_config', 'multiply', `${name} must be a ShareVector`);
    assertLocalVector(node, share.vector, `${name}.vector`, 'multiply');
    if (share.x !== node.party) throw new MpcError('invalid_config', 'multiply', `${name} is the share of node ${String(share.x)}, not of this node (${node.party})`);
    if (share.vector.length !== a.vector.length) {
      throw new MpcError('length_mismatch', 'multiply', `${name} has ${share.vector.length} elements, input.a ${a.vector.length}`);
    }
  }
  const d = subtractShareVectors(a, triple.u);
  const e = subtractShareVectors(b, triple.v);
  const masked = { x: node.party, vector: concatFieldVectors([d.vector, e.vector]) };
  return { pending: Object.freeze({ op, length: a.vector.length, triple }), message: openMessageOf(node, 'multiply', op, masked) };
}

/** Online round 2: this node's share of a · b, from ≥ t openers (tolerates n − t nodes down). */
export function beaverRound2(node: MpcNode, input: BeaverRound2Input): ShareVector {
  object(input, 'multiply');
  const { pending, incoming, openers } = input;
  if (typeof pending !== 'object' || pending === null || pending.triple?.w?.x !== node.party) {
    throw new MpcError('invalid_config', 'multiply', 'input.pending must be this node’s BeaverPending');
  }
  const { length, triple } = pending;
  const opened = openValueOf(node, 'multiply', pending.op, incoming, 2 * length, openers);
  const d = sliceFieldVector(opened, 0, length);
  const e = sliceFieldVector(opened, length, 2 * length);
  const dv = multiplyByPublicVector(triple.v, d);
  const eu = multiplyByPublicVector(triple.u, e);
  return addPublicVector(addShareVectors(addShareVectors(triple.w, dv), eu), multiplyFieldVectors(d, e));
}
