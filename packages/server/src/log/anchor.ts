/**
 * Ledger anchoring (issue 3): besides serving its signed tree heads, the host may publish each one to an
 * external ledger the parties also read (docs/ledger-anchoring.md maps this onto a Canton ledger). The
 * built-in log is the default: with no anchor configured nothing is published anywhere else.
 *
 * Publishing never blocks the API and never fails a request. Each anchor is handed the newest head: while
 * one publish is in flight, later heads wait and only the newest is sent next; a failed publish is logged
 * and not retried on its own — the next head, which covers it (it is consistent with it), goes instead.
 */
import type { SignedTreeHead } from '@tenzro/protocol';
import type { Logger } from '../logger.js';

/** An external ledger that records signed tree heads. */
export interface LedgerAnchor {
  /** A short name for logs ('canton', …). */
  readonly name: string;
  /** Records the head on the ledger; resolves once the ledger accepted it. */
  publish(sth: SignedTreeHead): Promise<void>;
}

interface AnchorState {
  anchor: LedgerAnchor;
  /** The newest head not yet handed to the anchor. */
  pending: SignedTreeHead | undefined;
  running: Promise<void> | undefined;
  /** The largest tree size the anchor accepted. */
  publishedSize: number;
}

export class AnchorPublisher {
  readonly #states: AnchorState[];
  readonly #logger: Logger;

  constructor(anchors: readonly LedgerAnchor[], logger: Logger) {
    if (!Array.isArray(anchors)) throw new TypeError('anchors must be an array of LedgerAnchor');
    for (const [index, anchor] of anchors.entries()) {
      if (typeof anchor?.name !== 'string' || typeof anchor.publish !== 'function') {
        throw new TypeError(`anchors[${index}] must be a LedgerAnchor ({ name, publish(sth) })`);
      }
    }
    this.#states = anchors.map((anchor) => ({ anchor, pending: undefined, running: undefined, publishedSize: -1 }));
    this.#logger = logger;
  }

  get names(): string[] {
    return this.#states.map((s) => s.anchor.name);
  }

  /** Hands a newly signed head to every anchor in the background. Never throws. */
  offer(sth: SignedTreeHead): void {
    for (const state of this.#states) {
      if (sth.treeHead.treeSize <= state.publishedSize) continue;
      if (!state.pending || state.pending.treeHead.treeSize < sth.treeHead.treeSize) state.pending = sth;
      if (!state.running) {
        state.running = this.#pump(state).finally(() => {
          state.running = undefined;
        });
      }
    }
  }

  /** Resolves when no publish is in flight (tests, shutdown). */
  async idle(): Promise<void> {
    for (const state of this.#states) while (state.running) await state.running;
  }

  async #pump(state: AnchorState): Promise<void> {
    while (state.pending) {
      const sth = state.pending;
      state.pending = undefined;
      try {
        await state.anchor.publish(sth);
        state.publishedSize = Math.max(state.publishedSize, sth.treeHead.treeSize);
        this.#logger.info({ anchor: state.anchor.name, treeSize: sth.treeHead.treeSize }, 'tree head anchored');
      } catch (error) {
        this.#logger.warn(
          { err: error, anchor: state.anchor.name, treeSize: sth.treeHead.treeSize },
          'anchoring a tree head failed; the next head will be published instead',
        );
      }
    }
  }
}
