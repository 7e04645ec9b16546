// Incoming round messages of the sessions a node serves, per (session, op) and sender. A sender's message
// of one type for one (session, op) is accepted once: a second is a replay. (The type is part of the key:
// a truncation sends its trunc-pair and then its open share under one op.) `collect` waits for the senders a step
// needs, so an orchestrator can run mulRound1 → send → collect → mulRound2 across processes.
import type { MpcMessage } from '@tenzro/protocol';
import { NodeTransportError } from './errors.js';

export interface CollectOptions {
  /** The senders awaited; the promise resolves as soon as all of them have arrived. */
  senders: readonly number[];
  /** At the timeout, resolve with what arrived if at least this many did (default: all of `senders`). */
  min?: number;
  timeoutMs: number;
  /** Only messages of this type (default: any). */
  type?: string;
}

interface Slot {
  /** Per message type, per sender. */
  readonly messages: Map<string, Map<number, MpcMessage>>;
  /** `${type}\n${from}` claimed (kept after `take`, so a replay stays refused). */
  readonly reserved: Set<string>;
  readonly waiters: Set<() => void>;
}

/** Every message of the slot per sender (the first type's when a sender sent several). */
function bySender(slot: Slot, type?: string): Map<number, MpcMessage> {
  if (type !== undefined) return slot.messages.get(type) ?? new Map();
  const out = new Map<number, MpcMessage>();
  for (const map of slot.messages.values()) for (const [from, m] of map) if (!out.has(from)) out.set(from, m);
  return out;
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
   * Claims (session, op, type, from): NodeTransportError unknown_session or replay. Returns a release
   * function for when the message turns out unusable.
   */
  reserve(sessionId: string, op: string, from: number, type: string): () => void {
    if (!this.#sessions.has(sessionId)) throw new NodeTransportError('unknown_session', 'this node serves no such session');
    const slot = this.#slot(sessionId, op);
    const key = `${type}\n${from}`;
    if (slot.reserved.has(key)) throw new NodeTransportError('replay', `node ${from} already sent a message for operation ${JSON.stringify(op)}`);
    slot.reserved.add(key);
    return () => {
      if (!slot.messages.get(type)?.has(from)) slot.reserved.delete(key);
    };
  }

  /** Records a message (claiming it first: unknown_session, replay) and wakes the collectors. */
  record(message: MpcMessage): void {
    this.reserve(message.sessionId, message.op, message.from, message.type);
    const slot = this.#slot(message.sessionId, message.op);
    let map = slot.messages.get(message.type);
    if (!map) slot.messages.set(message.type, (map = new Map()));
    map.set(message.from, message);
    for (const wake of [...slot.waiters]) wake();
  }

  /** The senders whose message for (session, op) (of `type`, or any) was recorded. */
  senders(sessionId: string, op: string, type?: string): number[] {
    const slot = this.#slots.get(`${sessionId}\n${op}`);
    return slot ? [...bySender(slot, type).keys()].sort((a, b) => a - b) : [];
  }

  received(sessionId: string, op: string, type?: string): MpcMessage[] {
    const slot = this.#slots.get(`${sessionId}\n${op}`);
    return slot ? [...bySender(slot, type).values()] : [];
  }

  /**
   * Removes and returns the messages of (session, op, type) from `senders` (sender order); every other
   * sender's message of that type is dropped too. The claims stay: a late replay is still refused.
   */
  take(sessionId: string, op: string, type: string, senders: readonly number[]): MpcMessage[] {
    const slot = this.#slots.get(`${sessionId}\n${op}`);
    const map = slot?.messages.get(type);
    if (!slot || !map) return [];
    const out = [...new Set(senders)].sort((a, b) => a - b).flatMap((x) => (map.has(x) ? [map.get(x)!] : []));
    slot.messages.delete(type);
    return out;
  }

  /** The awaited senders' messages; NodeTransportError timeout if fewer than `min` arrived in time. */
  collect(sessionId: string, op: string, options: CollectOptions): Promise<MpcMessage[]> {
    const { senders, timeoutMs } = options;
    const min = options.min ?? senders.length;
    if (!Array.isArray(senders) || senders.length === 0) throw new TypeError('options.senders must list the awaited senders');
    if (!Number.isInteger(min) || min < 1 || min > senders.length) throw new RangeError('options.min must be from 1 to senders.length');
    if (!Number.isFinite(timeoutMs) || timeoutMs < 0) throw new RangeError('options.timeoutMs must be a non-negative number');
    const slot = this.#slot(sessionId, op);
    const have = () => senders.filter((x) => bySender(slot, options.type).has(x));
    return new Promise((resolve, reject) => {
      const finish = () => {
        clearTimeout(timer);
        slot.waiters.delete(check);
        const map = bySender(slot, options.type);
        resolve(have().map((x) => map.get(x)!));
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
