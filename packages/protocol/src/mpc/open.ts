// Opening a shared vector to every node: each node sends its share to all (round 1), each node
// reconstructs from the shares that arrived (round 2) — at least t, and when more arrived every one of
// them must lie on the same polynomials (MpcError inconsistent_shares otherwise). Tolerates n − t nodes
// down. Used by the truncation (truncate.ts) for its masked value; a plain opening reveals the value to
// every node, so only ever open values that are masked or meant to be public.

import { MpcCombineError, reconstructVector, type FieldVector, type ShareVector } from '@tenzro/crypto';
import { MpcError, type MpcStage } from './errors.js';
import { MPC_TYPES, type OpenMessage } from './messages.js';
import { assertLocalVector, assertOp, chooseSenders, collectIncoming, type MpcNode } from './node.js';

export interface OpenRound1Input {
  op: string;
  /** This node's share of the value to open (x = node.party). */
  share: ShareVector;
}

export interface OpenRound2Input {
  op: string;
  /** The open messages that arrived (this node's own included). */
  incoming: readonly OpenMessage[];
  /** Expected vector length (checked when given). */
  length?: number;
  /** The openers to use (≥ t, all present); default: every message that arrived. */
  openers?: readonly number[];
}

export function openMessageOf(node: MpcNode, stage: MpcStage, op: string, share: unknown): OpenMessage {
  assertOp(op, stage);
  if (typeof share !== 'object' || share === null) throw new MpcError('invalid_config', stage, 'share must be a ShareVector');
  const { x, vector } = share as ShareVector;
  assertLocalVector(node, vector, 'share.vector', stage);
  if (x !== node.party) throw new MpcError('invalid_config', stage, `share is the share of node ${String(x)}, not of this node (${node.party})`);
  return Object.freeze({ type: MPC_TYPES.open, sessionId: node.sessionId, op, from: node.party, share: vector });
}

export function openValueOf(node: MpcNode, stage: MpcStage, op: string, incoming: readonly OpenMessage[], length: number | undefined, openers: readonly number[] | undefined): FieldVector {
  assertOp(op, stage);
  const { bySender } = collectIncoming(node, stage, MPC_TYPES.open, op, incoming, length, (m) => [m.share]);
  const available = new Set(bySender.keys());
  const used = chooseSenders(stage, available, node.threshold, openers ?? [...available], openers === undefined ? 'the openers that answered' : 'input.openers');
  try {
    return reconstructVector(used.map((x) => ({ x, vector: bySender.get(x)!.share })), node.threshold);
  } catch (cause) {
    if (cause instanceof MpcCombineError) throw new MpcError('inconsistent_shares', stage, 'the opened shares do not lie on one polynomial of degree t − 1', { cause });
    throw cause;
  }
}

/** Round 1: this node's open message (the same for every recipient). */
export function openRound1(node: MpcNode, input: OpenRound1Input): OpenMessage {
  if (typeof input !== 'object' || input === null) throw new MpcError('invalid_config', 'open', 'input must be an object');
  return openMessageOf(node, 'open', input.op, input.share);
}

/** Round 2: the opened vector, from at least t consistent shares. */
export function openRound2(node: MpcNode, input: OpenRound2Input): FieldVector {
  if (typeof input !== 'object' || input === null) throw new MpcError('invalid_config', 'open', 'input must be an object');
  return openValueOf(node, 'open', input.op, input.incoming, input.length, input.openers);
}
