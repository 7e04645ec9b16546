// Beaver multiplication (CRYPTO 1991) with dealer-free triples made by GRR: triples are correct, the
// online multiplication (and the truncation after it) tolerates n − t nodes down, and refusals.
import {
  MPC_FIELD,
  createMpcCodec,
  equalFieldVectors,
  fieldVectorToBigInts,
  multiplyFieldVectors,
  randomFieldVector,
  reconstructVector,
  shareVector,
} from '@tenzro/crypto';
import { describe, expect, it } from 'vitest';
import { beaverRound1, beaverRound2 } from './beaver.js';
import { MpcError } from './errors.js';
import { decodeMpcMessage, encodeMpcMessage, MPC_TYPES, type RandomShareMessage } from './messages.js';
import { byNode, makeNodes, runBeaver, runTriples, runTruncate, seededReals } from './mpc-harness.fixture.js';
import { truncationErrorBound } from './truncate.js';

const codec = createMpcCodec({ scale: 16, min: -(2 ** 30), max: 2 ** 30 });

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof MpcError)) throw error;
    return error.code;
  }
  return undefined;
}

describe('dealer-free triples', () => {
  it('w = u · v, and every node holds consistent shares of u, v, w', () => {
    const nodes = makeNodes(5, 3);
    const { triples } = runTriples(nodes, 'triple/0', 64);
    const all = [...triples.values()];
    const u = reconstructVector(all.map((t) => t.u), 3); // all 5: checks consistency
    const v = reconstructVector(all.map((t) => t.v), 3);
    const w = reconstructVector(all.map((t) => t.w), 3);
    expect(equalFieldVectors(w, multiplyFieldVectors(u, v))).toBe(true);
  });

  it('needs 2t − 1 nodes up (GRR), and at least t contributors', () => {
    const nodes = makeNodes(5, 3);
    expect(codeOf(() => runTriples(nodes, 'triple/1', 4, { down: [5] }))).toBe('too_few_parties');
  });

  it('random-share messages round-trip through the wire form', () => {
    const nodes = makeNodes(3, 2);
    const { randomShares } = runTriples(nodes, 'triple/w', 3);
    const m = randomShares[1]!;
    const back = decodeMpcMessage(JSON.parse(JSON.stringify(encodeMpcMessage(m)))) as RandomShareMessage;
    expect(back.type).toBe(MPC_TYPES.randomShare);
    expect(equalFieldVectors(back.u, m.u) && equalFieldVectors(back.v, m.v)).toBe(true);
  });
});

describe('online multiplication tolerates n − t nodes down', () => {
  for (const [n, t, down] of [
    [3, 2, [1]],
    [5, 3, [2, 5]],
    [5, 3, []],
  ] as const) {
    it(`(n, t) = (${n}, ${t}), down [${down.join(', ')}]: exact product; truncation after it within the bound`, () => {
      const nodes = makeNodes(n, t);
      const ex = codec.encode(seededReals(500, 1e9, 70 + n));
      const ey = codec.encode(seededReals(500, 1e9, 80 + n));
      const a = byNode(shareVector(ex, { threshold: t, parties: n }));
      const b = byNode(shareVector(ey, { threshold: t, parties: n }));
      const { triples } = runTriples(nodes, 'triple/0', 500); // offline, all nodes up
      const { products } = runBeaver(nodes, 'beaver/0', a, b, triples, { down });
      expect(products.size).toBe(n - down.length);
      const exact = multiplyFieldVectors(ex, ey);
      expect(equalFieldVectors(reconstructVector([...products.values()], t), exact)).toBe(true);
      const { outputs, pending } = runTruncate(nodes, 'trunc/0', products, { bits: 16, valueBits: codec.productValueBits }, { down });
      const N = pending.values().next().value!.contributors.length;
      const truncated = fieldVectorToBigInts(reconstructVector([...outputs.values()], t), { signed: true });
      const reference = fieldVectorToBigInts(exact, { signed: true });
      truncated.forEach((d, i) => {
        const err = Number((d << 16n) - reference[i]!) / 2 ** 16;
        expect(Math.abs(err)).toBeLessThanOrEqual(truncationErrorBound(N));
      });
    });
  }

  it('one more node down is refused (too_few_parties)', () => {
    const nodes = makeNodes(5, 3);
    const a = byNode(shareVector(randomFieldVector(MPC_FIELD, 4), { threshold: 3, parties: 5 }));
    const { triples } = runTriples(nodes, 'triple/0', 4);
    expect(codeOf(() => runBeaver(nodes, 'beaver/1', a, a, triples, { down: [1, 2, 3] }))).toBe('too_few_parties');
  });
});

describe('refusals', () => {
  const nodes = makeNodes(3, 2);
  const a = byNode(shareVector(randomFieldVector(MPC_FIELD, 4), { threshold: 2, parties: 3 }));
  const { triples } = runTriples(nodes, 'triple/r', 4);
  const short = runTriples(nodes, 'triple/s', 3).triples;

  it('refuses another node’s shares or triple and lengths that disagree', () => {
    const node = nodes[0]!;
    expect(codeOf(() => beaverRound1(node, { op: 'b', a: a.get(2)!, b: a.get(1)!, triple: triples.get(1)! }))).toBe('invalid_config');
    expect(codeOf(() => beaverRound1(node, { op: 'b', a: a.get(1)!, b: a.get(1)!, triple: triples.get(2)! }))).toBe('invalid_config');
    expect(codeOf(() => beaverRound1(node, { op: 'b', a: a.get(1)!, b: a.get(1)!, triple: short.get(1)! }))).toBe('length_mismatch');
    expect(codeOf(() => beaverRound1(node, { op: 'b', a: a.get(1)!, b: a.get(1)!, triple: undefined as never }))).toBe('invalid_config');
  });

  it('refuses inconsistent openings and a pending state of another node', () => {
    const steps = nodes.map((node) => beaverRound1(node, { op: 'b', a: a.get(node.party)!, b: a.get(node.party)!, triple: triples.get(node.party)! }));
    const opens = steps.map((s) => s.message);
    const tampered = [opens[0]!, opens[1]!, { ...opens[2]!, share: opens[0]!.share }];
    expect(codeOf(() => beaverRound2(nodes[0]!, { pending: steps[0]!.pending, incoming: tampered }))).toBe('inconsistent_shares');
    expect(codeOf(() => beaverRound2(nodes[1]!, { pending: steps[0]!.pending, incoming: opens }))).toBe('invalid_config');
    expect(codeOf(() => beaverRound2(nodes[0]!, { pending: steps[0]!.pending, incoming: opens }))).toBeUndefined();
  });
});
