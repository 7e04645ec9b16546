/**
 * Test fixture (not built; used by the mpc tests): n compute nodes in memory, run
 * through the pure round functions with every message delivered as a process layer would, and nodes
 * down for a step. Captures every message so tests can build views and golden vectors.
 */
import { randomBytes, type MpcField, type RandomSource, type ShareVector } from '@tenzro/crypto';
import { deterministicRng } from '../../../crypto/src/mask-prg.js';
import { beaverRound1, beaverRound2, tripleRound1, tripleRound2, tripleRound3, type BeaverTriple } from './beaver.js';
import type { MulReshareMessage, OpenMessage, RandomShareMessage, TruncPairMessage } from './messages.js';
import { mulRound1, mulRound2 } from './multiply.js';
import { createMpcNode, type MpcNode } from './node.js';
import { truncRound1, truncRound2, truncRound3, type TruncationSpec, type TruncPending } from './truncate.js';

export const SESSION = 'mps_aaaaaaaaaaaaaaaaaaaaaaaaaa';
export const OTHER_SESSION = 'mps_bbbbbbbbbbbbbbbbbbbbbbbbbb';

export function makeNodes(totalParties: number, threshold: number, field?: MpcField): MpcNode[] {
  return Array.from({ length: totalParties }, (_, i) =>
    createMpcNode({ sessionId: SESSION, party: i + 1, threshold, totalParties, ...(field ? { field } : {}) }),
  );
}

export interface StepOptions {
  /** Nodes (x) that take no part in this step. */
  down?: readonly number[];
  /** The randomness of node x (default: the platform CSPRNG). */
  randomFor?: (x: number) => RandomSource;
}

/** Shares keyed by x, as the nodes hold them. */
export type SharesByNode = ReadonlyMap<number, ShareVector>;

export function byNode(shares: readonly ShareVector[]): Map<number, ShareVector> {
  return new Map(shares.map((s) => [s.x, s]));
}

function alive(nodes: readonly MpcNode[], down: readonly number[] = []): MpcNode[] {
  return nodes.filter((node) => !down.includes(node.party));
}

export interface MultiplyRun {
  products: Map<number, ShareVector>;
  /** Every mul-reshare message sent. */
  messages: MulReshareMessage[];
}

export function runMultiply(nodes: readonly MpcNode[], op: string, a: SharesByNode, b: SharesByNode, options: StepOptions = {}): MultiplyRun {
  const up = alive(nodes, options.down);
  const randomFor = options.randomFor ?? (() => randomBytes);
  const messages = up.flatMap((node) => mulRound1(node, { op, a: a.get(node.party)!, b: b.get(node.party)! }, randomFor(node.party)));
  const products = new Map<number, ShareVector>();
  for (const node of up) {
    products.set(node.party, mulRound2(node, { op, incoming: messages.filter((m) => m.to === node.party) }));
  }
  return { products, messages };
}

export interface TruncateRun {
  outputs: Map<number, ShareVector>;
  pairs: TruncPairMessage[];
  opens: OpenMessage[];
  pending: Map<number, TruncPending>;
}

export function runTruncate(nodes: readonly MpcNode[], op: string, shares: SharesByNode, spec: TruncationSpec, options: StepOptions = {}): TruncateRun {
  const up = alive(nodes, options.down);
  const randomFor = options.randomFor ?? (() => randomBytes);
  const length = shares.get(up[0]!.party)!.vector.length;
  const pairs = up.flatMap((node) => truncRound1(node, { op, length, ...spec }, randomFor(node.party)));
  const pending = new Map<number, TruncPending>();
  const opens: OpenMessage[] = [];
  for (const node of up) {
    const step = truncRound2(node, { op, share: shares.get(node.party)!, incoming: pairs.filter((m) => m.to === node.party), ...spec });
    pending.set(node.party, step.pending);
    opens.push(step.message);
  }
  const outputs = new Map<number, ShareVector>();
  for (const node of up) outputs.set(node.party, truncRound3(node, { pending: pending.get(node.party)!, incoming: opens }));
  return { outputs, pairs, opens, pending };
}

export interface TripleRun {
  triples: Map<number, BeaverTriple>;
  randomShares: RandomShareMessage[];
  reshares: MulReshareMessage[];
}

/** The offline phase: `length` Beaver triples made by GRR (needs 2t − 1 nodes up). */
export function runTriples(nodes: readonly MpcNode[], op: string, length: number, options: StepOptions = {}): TripleRun {
  const up = alive(nodes, options.down);
  const randomFor = options.randomFor ?? (() => randomBytes);
  const randomShares = up.flatMap((node) => tripleRound1(node, { op, length }, randomFor(node.party)));
  const steps = up.map((node) => tripleRound2(node, { op, incoming: randomShares.filter((m) => m.to === node.party) }, randomFor(node.party)));
  const reshares = steps.flatMap((s) => s.messages);
  const triples = new Map<number, BeaverTriple>();
  up.forEach((node, i) => triples.set(node.party, tripleRound3(node, { pending: steps[i]!.pending, incoming: reshares.filter((m) => m.to === node.party) })));
  return { triples, randomShares, reshares };
}

export interface BeaverRun {
  products: Map<number, ShareVector>;
  opens: OpenMessage[];
}

/** The online Beaver multiplication (needs t nodes up). */
export function runBeaver(nodes: readonly MpcNode[], op: string, a: SharesByNode, b: SharesByNode, triples: ReadonlyMap<number, BeaverTriple>, options: StepOptions = {}): BeaverRun {
  const up = alive(nodes, options.down);
  const steps = up.map((node) => beaverRound1(node, { op, a: a.get(node.party)!, b: b.get(node.party)!, triple: triples.get(node.party)! }));
  const opens = steps.map((s) => s.message);
  const products = new Map<number, ShareVector>();
  up.forEach((node, i) => products.set(node.party, beaverRound2(node, { pending: steps[i]!.pending, incoming: opens })));
  return { products, opens };
}

/** Seeded reals in [−maxAbs, maxAbs], magnitudes spread over 10^-3 … maxAbs (not for keys). */
export function seededReals(count: number, maxAbs: number, seed: number): number[] {
  const key = new Uint8Array(32);
  new DataView(key.buffer).setUint32(0, seed, true);
  key[31] = 0x52; // domain: reals
  const bytes = deterministicRng(key)(count * 8);
  const view = new DataView(bytes.buffer);
  return Array.from({ length: count }, (_, i) => {
    const u = view.getUint32(i * 8, true) / 2 ** 32;
    const w = view.getUint32(i * 8 + 4, true) / 2 ** 32;
    const sign = w < 0.5 ? -1 : 1;
    const magnitude = Math.min(maxAbs, 10 ** (-3 + (Math.log10(maxAbs) + 3) * u));
    return sign * magnitude * (0.5 + (w < 0.5 ? w : w - 0.5));
  });
}

/** A per-node deterministic rng: ChaCha20 keyed with (label, x) as two little-endian uint32. */
export function seededRandomFor(label: number): (x: number) => RandomSource {
  const sources = new Map<number, RandomSource>();
  return (x: number) => {
    let source = sources.get(x);
    if (!source) {
      const seed = new Uint8Array(32);
      const view = new DataView(seed.buffer);
      view.setUint32(0, label, true);
      view.setUint32(4, x, true);
      source = deterministicRng(seed);
      sources.set(x, source);
    }
    return source;
  };
}
