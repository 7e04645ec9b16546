// One compute node of the `mpc` method as data: its session, its Shamir x (`party`), the threshold, the
// number of nodes and the field. Every round function takes it first and checks each incoming message
// against it (session, operation, recipient, roster, duplicates, length) before using it.

import { MPC_FIELD, assertFieldVector, assertMpcField, type FieldVector, type MpcField } from '@tenzro/crypto';
import { SESSION_ID_PATTERN } from '../ids.js';
import { validateMpcConfig } from './config.js';
import { MpcError, type MpcStage } from './errors.js';
import { MPC_OP_PATTERN, type MpcMessage } from './messages.js';

export interface MpcNode {
  readonly sessionId: string;
  /** This node's Shamir x, 1..totalParties. */
  readonly party: number;
  readonly threshold: number;
  readonly totalParties: number;
  readonly field: MpcField;
}

export interface CreateMpcNodeOptions {
  sessionId: string;
  party: number;
  threshold: number;
  totalParties: number;
  /** Defaults to MPC_FIELD. */
  field?: MpcField;
}

/** A node; MpcError (stage 'config') for a bad session id, party or configuration. */
export function createMpcNode(options: CreateMpcNodeOptions): MpcNode {
  if (typeof options !== 'object' || options === null) throw new MpcError('invalid_config', 'config', 'options must be an object');
  const { sessionId, party } = options;
  if (typeof sessionId !== 'string' || !SESSION_ID_PATTERN.test(sessionId)) {
    throw new MpcError('invalid_config', 'config', 'options.sessionId must be a session id (mps_…)');
  }
  const { threshold, totalParties } = validateMpcConfig(options, { multiplication: false });
  if (typeof party !== 'number' || !Number.isInteger(party) || party < 1 || party > totalParties) {
    throw new MpcError('invalid_config', 'config', `options.party must be an integer from 1 to totalParties (${totalParties}), got ${String(party)}`);
  }
  const field = options.field ?? MPC_FIELD;
  try {
    assertMpcField(field, 'options.field');
  } catch (cause) {
    throw new MpcError('invalid_config', 'config', 'options.field must be an MpcField made by createMpcField', { cause });
  }
  if (Math.min(...field.moduli) <= totalParties) {
    throw new MpcError('invalid_config', 'config', `options.field: every modulus must exceed totalParties (${totalParties})`);
  }
  return Object.freeze({ sessionId, party, threshold, totalParties, field });
}

export function assertOp(op: unknown, stage: MpcStage): asserts op is string {
  if (typeof op !== 'string' || !MPC_OP_PATTERN.test(op)) throw new MpcError('invalid_config', stage, 'op must be 1–128 characters of A–Z a–z 0–9 . _ : / -');
}

export function assertLocalVector(node: MpcNode, vector: unknown, name: string, stage: MpcStage): asserts vector is FieldVector {
  try {
    assertFieldVector(vector, name);
  } catch (cause) {
    throw new MpcError('invalid_config', stage, `${name} must be a FieldVector`, { cause });
  }
  if (vector.field !== node.field) throw new MpcError('invalid_config', stage, `${name} belongs to another field than the node's`);
}

/**
 * The incoming messages of one step, keyed by sender: each must have the expected type, this node's
 * session and `op`, be addressed to this node (when it has a recipient), come from a node of the roster,
 * be the only one from its sender, and carry vectors of `length` elements over the node's field.
 */
export function collectIncoming<M extends MpcMessage>(
  node: MpcNode,
  stage: MpcStage,
  type: M['type'],
  op: string,
  incoming: readonly M[],
  length: number | undefined,
  vectorsOf: (message: M) => readonly FieldVector[],
): { bySender: Map<number, M>; length: number } {
  if (!Array.isArray(incoming)) throw new MpcError('invalid_config', stage, 'incoming must be an array of messages');
  const bySender = new Map<number, M>();
  let expected = length;
  incoming.forEach((message: M, i) => {
    if (typeof message !== 'object' || message === null || message.type !== type) {
      throw new MpcError('invalid_message', stage, `incoming[${i}] is not a ${type} message`);
    }
    if (message.sessionId !== node.sessionId) throw new MpcError('wrong_session', stage, `incoming[${i}] belongs to another session`);
    if (message.op !== op) throw new MpcError('wrong_operation', stage, `incoming[${i}] belongs to operation ${JSON.stringify(message.op)}, not ${JSON.stringify(op)}`);
    if ('to' in message && message.to !== node.party) {
      throw new MpcError('misdirected_message', stage, `incoming[${i}] is addressed to node ${String(message.to)}, not ${node.party}`);
    }
    const { from } = message;
    if (typeof from !== 'number' || !Number.isInteger(from) || from < 1 || from > node.totalParties) {
      throw new MpcError('unknown_party', stage, `incoming[${i}] comes from ${String(from)}, not a node of 1..${node.totalParties}`);
    }
    if (bySender.has(from)) throw new MpcError('duplicate_message', stage, `incoming[${i}] repeats a message from node ${from}`);
    for (const vector of vectorsOf(message)) {
      try {
        assertFieldVector(vector, `incoming[${i}]`);
      } catch (cause) {
        throw new MpcError('invalid_message', stage, `incoming[${i}] carries a malformed vector`, { cause });
      }
      if (vector.field !== node.field) throw new MpcError('invalid_message', stage, `incoming[${i}] carries a vector of another field`);
      expected ??= vector.length;
      if (vector.length !== expected) {
        throw new MpcError('length_mismatch', stage, `incoming[${i}] carries ${vector.length} elements, expected ${expected}`);
      }
    }
    bySender.set(from, message);
  });
  return { bySender, length: expected ?? 0 };
}

/**
 * The senders a step uses: `chosen` (all must have sent) or the `needed` lowest x that did. Every node of
 * one step must use the same set (the coordinator's list, or the same incoming set).
 */
export function chooseSenders(stage: MpcStage, available: ReadonlySet<number>, needed: number, chosen: readonly number[] | undefined, what: string): number[] {
  if (chosen !== undefined) {
    if (!Array.isArray(chosen)) throw new MpcError('invalid_config', stage, `${what} must be an array of node indices`);
    const set = new Set<number>();
    for (const x of chosen) {
      if (set.has(x)) throw new MpcError('invalid_config', stage, `${what} repeats node ${String(x)}`);
      if (!available.has(x)) throw new MpcError('too_few_parties', stage, `${what} lists node ${String(x)}, whose message did not arrive`);
      set.add(x);
    }
    if (set.size < needed) throw new MpcError('too_few_parties', stage, `${what} lists ${set.size} nodes, at least ${needed} are needed`);
    return [...set].sort((a, b) => a - b);
  }
  const sorted = [...available].sort((a, b) => a - b);
  if (sorted.length < needed) throw new MpcError('too_few_parties', stage, `${sorted.length} nodes answered, at least ${needed} are needed`);
  return sorted.slice(0, needed);
}
