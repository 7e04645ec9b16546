// Incoming round messages of the sessions a node serves, per (session, op) and sender. A sender's message
// for one (session, op) is accepted once: a second is a replay. `collect` waits for the senders a step
// needs, so an orchestrator can run mulRound1 → send → collect → mulRound2 across processes.
import type { MpcMessage } from '@tenzro/protocol';
import { NodeTransportError } from './errors.js';

export interface CollectOptions {
  /** The senders awaited; the promise resolves as soon as all of them have arrived. */
  senders: readonly number[];
  /** At the timeout, resolve with what arrived if at least this many did (default: all of `senders`). */
  min?: number;
  timeoutMs: number;
}

interface Slot {
  readonly messages: Map<number, MpcMessage>;
  readonly reserved: Set<number>;
  readonly waiters: Set<() => void>;
}

export class NodeMailbox {
  readonly #sessions = new Set<string>();
  readonly #slots = new Map<string, Slot>();

  openSession(sessionId: string): void {
    this.#sessions.add(sessionId);
  }

  hasSession(sessionId: string): boolean {
    return this.#sessions.has(sessionId);
  }

  /** Forgets a session and everything received for it. */
  closeSession(sessionId: string): void {
    this.#sessions.delete(sessionId);
    for (const key of [...this.#slots.keys()]) if (key.startsWith(`${sessionId}\n`)) this.#slots.delete(key);
  }

  #slot(sessionId: string, op: string): Slot {
    const key = `${sessionId}\n${op}`;
    let slot = this.#slots.get(key);
    if (!slot) {
      slot = { messages: new Map(), reserved: new Set(), waiters: new Set() };
      this.#slots.set(key, slot);
    }
    return slot;
  }

  /**
   * Claims (session, op, from) before the message is opened: NodeTransportError unknown_session or replay.
   * Returns a release function for when the message turns out unusable.
   */
  reserve(sessionId: string, op: string, from: number): () => void {
    if (!this.#sessions.has(sessionId)) throw new NodeTransportError('unknown_session', 'this node serves no such session');
    const slot = this.#slot(sessionId, op);
    if (slot.reserved.has(from)) throw new NodeTransportError('replay', `node ${from} already sent a message for operation ${JSON.stringify(op)}`);
    slot.reserved.add(from);
    return () => {
      if (!slot.messages.has(from)) slot.reserved.delete(from);
    };
  }

  /** Records a message (reserving it if not yet reserved) and wakes the collectors. */
  record(message: MpcMessage): void {
    const slot = this.#slot(message.sessionId, message.op);
    if (!slot.reserved.has(message.from)) this.reserve(message.sessionId, message.op, message.from);
    if (slot.messages.has(message.from)) throw new NodeTransportError('replay', `node ${message.from} already sent a message for this operation`);
    slot.messages.set(message.from, message);
    for (const wake of [...slot.waiters]) wake();
  }

  /** The senders whose message for (session, op) was recorded. */
  senders(sessionId: string, op: string): number[] {
    const slot = this.#slots.get(`${sessionId}\n${op}`);
    return slot ? [...slot.messages.keys()].sort((a, b) => a - b) : [];
  }

  received(sessionId: string, op: string): MpcMessage[] {
    const slot = this.#slots.get(`${sessionId}\n${op}`);
    return slot ? [...slot.messages.values()] : [];
  }

  /** The awaited senders' messages; NodeTransportError timeout if fewer than `min` arrived in time. */
  collect(sessionId: string, op: string, options: CollectOptions): Promise<MpcMessage[]> {
    const { senders, timeoutMs } = options;
    const min = options.min ?? senders.length;
    if (!Array.isArray(senders) || senders.length === 0) throw new TypeError('options.senders must list the awaited senders');
    if (!Number.isInteger(min) || min < 1 || min > senders.length) throw new RangeError('options.min must be from 1 to senders.length');
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new RangeError('options.timeoutMs must be a non-negative number');
    const slot = this.#slot(sessionId, op);
    const have = () => senders.filter((x) => slot.messages.has(x));
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        slot.waiters.delete(check);
        resolve(have().map((x) => slot.messages.get(x)!));
      };
      const check = () => {
        if (have().length === senders.length) finish();
      };
      const timer = setTimeout(() => {
        if (have().length >= min) return finish();
        slot.waiters.delete(check);
        reject(new NodeTransportError('timeout', `operation ${JSON.stringify(op)}: ${have().length} of ${senders.length} awaited messages arrived in ${timeoutMs} ms, ${min} needed`));
      }, timeoutMs);
      slot.waiters.add(check);
      check();
    });
  }
}
