// Secure multiplication by degree reduction (Gennaro, Rabin & Rabin, PODC 1998) over the pure round
// functions: sums and products of random reals against the plaintext, nodes down up to n − (2t − 1),
// every refusal of a bad message, the wire form, and what a wrong subshare does.
import {
  MPC_FIELD,
  MpcCombineError,
  addShareVectors,
  createMpcCodec,
  createMpcField,
  equalFieldVectors,
  fieldVectorFromIntegers,
  fieldVectorToBigInts,
  multiplyFieldVectors,
  randomFieldVector,
  reconstructVector,
  shareVector,
  type ShareVector,
} from '@tenzro/crypto';
import { describe, expect, it } from 'vitest';
import { MpcError } from './errors.js';
import { MPC_TYPES, decodeMpcMessage, encodeMpcMessage, type MulReshareMessage } from './messages.js';
import { OTHER_SESSION, byNode, makeNodes, runMultiply, seededRandomFor, seededReals } from './mpc-harness.fixture.js';
import { mulRound1, mulRound2 } from './multiply.js';
import { createMpcNode } from './node.js';

const codec = createMpcCodec({ scale: 16, min: -(2 ** 30), max: 2 ** 30 });
const ULP = 2 ** -16;

function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items;
  return [...subsets(rest, k - 1).map((s) => [first!, ...s]), ...subsets(rest, k)];
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof MpcError)) throw error;
    return error.code;
  }
  return undefined;
}

describe('secure sum and product of random reals (property)', () => {
  for (const [n, t, seed] of [
    [3, 2, 11],
    [5, 3, 12],
  ] as const) {
    it(`(n, t) = (${n}, ${t}): exact on the encodings, within the encoding error on the reals, from every t-subset`, () => {
      const length = 400;
      const xs = seededReals(length, 1e9, seed);
      const ys = seededReals(length, 1e9, seed + 100);
      const ex = codec.encode(xs);
      const ey = codec.encode(ys);
      const nodes = makeNodes(n, t);
      const a = byNode(shareVector(ex, { threshold: t, parties: n }));
      const b = byNode(shareVector(ey, { threshold: t, parties: n }));

      const sums = nodes.map((node) => addShareVectors(a.get(node.party)!, b.get(node.party)!));
      const sum = codec.decode(reconstructVector(sums, t));
      xs.forEach((x, i) => expect(Math.abs(sum[i]! - (x + ys[i]!))).toBeLessThanOrEqual(ULP));

      const { products } = runMultiply(nodes, 'mul/0', a, b);
      const exact = fieldVectorToBigInts(multiplyFieldVectors(ex, ey));
      for (const subset of subsets([...products.values()], t)) {
        expect(fieldVectorToBigInts(reconstructVector(subset, t))).toEqual(exact);
      }
      const product = codec.decode(reconstructVector([...products.values()], t), 32); // all n: consistent
      xs.forEach((x, i) => {
        const y = ys[i]!;
        // |x̃ỹ − xy| ≤ (|x| + |y|) · ulp/2 + ulp²/4, plus double rounding of a product up to 2^60.
        const bound = (Math.abs(x) + Math.abs(y)) * (ULP / 2) + ULP * ULP + Math.abs(x * y) * 2 ** -50;
        expect(Math.abs(product[i]! - x * y)).toBeLessThanOrEqual(bound);
      });
    });
  }

  for (const [n, t, down] of [
    [5, 2, [2, 4]],
    [7, 3, [1, 5]],
    [3, 2, []],
    [5, 3, []],
  ] as const) {
    it(`(n, t) = (${n}, ${t}) with node(s) [${down.join(', ')}] down (n − (2t − 1) = ${n - 2 * t + 1}): exact; one more down is refused`, () => {
      const nodes = makeNodes(n, t);
      const ex = codec.encode(seededReals(50, 1e9, n + t));
      const ey = codec.encode(seededReals(50, 1e9, n + t + 1));
      const a = byNode(shareVector(ex, { threshold: t, parties: n }));
      const b = byNode(shareVector(ey, { threshold: t, parties: n }));
      const { products } = runMultiply(nodes, 'mul/drop', a, b, { down });
      expect([...products.keys()].sort()).toEqual(nodes.map((x) => x.party).filter((x) => !down.includes(x as never)));
      expect(equalFieldVectors(reconstructVector([...products.values()], t), multiplyFieldVectors(ex, ey))).toBe(true);
      const tooMany = [...down, nodes.find((x) => !down.includes(x.party as never))!.party];
      let error: unknown;
      try {
        runMultiply(nodes, 'mul/drop2', a, b, { down: tooMany });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(MpcError);
      expect((error as MpcError).code).toBe('too_few_parties');
      expect((error as MpcError).message).toBe(`mpc multiply: ${n - tooMany.length} nodes answered, at least ${2 * t - 1} are needed`);
    });
  }

  it('any 2t − 1 senders give the same product when every node uses the same set', () => {
    const [n, t] = [5, 2];
    const nodes = makeNodes(n, t);
    const ex = randomFieldVector(MPC_FIELD, 20);
    const ey = randomFieldVector(MPC_FIELD, 20);
    const a = byNode(shareVector(ex, { threshold: t, parties: n }));
    const b = byNode(shareVector(ey, { threshold: t, parties: n }));
    const messages = nodes.flatMap((node) => mulRound1(node, { op: 'mul/s', a: a.get(node.party)!, b: b.get(node.party)! }));
    for (const senders of [[1, 2, 3], [3, 4, 5], [1, 3, 5], [1, 2, 3, 4, 5]]) {
      const outputs = nodes.map((node) => mulRound2(node, { op: 'mul/s', incoming: messages.filter((m) => m.to === node.party), senders }));
      expect(equalFieldVectors(reconstructVector(outputs, t), multiplyFieldVectors(ex, ey))).toBe(true);
    }
  });

  it('runs over the generic engine: GF(1613), n = 6, t = 3, the textbook secret 1234 times 5', () => {
    const gf = createMpcField([1613]);
    const nodes = makeNodes(6, 3, gf);
    const random = seededRandomFor(1)(0);
    const a = byNode(shareVector(fieldVectorFromIntegers(gf, [1234]), { threshold: 3, parties: 6 }, random));
    const b = byNode(shareVector(fieldVectorFromIntegers(gf, [5]), { threshold: 3, parties: 6 }, random));
    const { products } = runMultiply(nodes, 'mul/gf1613', a, b, { randomFor: seededRandomFor(2) });
    expect(fieldVectorToBigInts(reconstructVector([...products.values()], 3))).toEqual([(1234n * 5n) % 1613n]);
  });
});

describe('a wrong subshare (semi-honest model: not prevented, but visible with more than t outputs)', () => {
  it('makes the n output shares inconsistent', () => {
    const [n, t] = [5, 2];
    const nodes = makeNodes(n, t);
    const a = byNode(shareVector(randomFieldVector(MPC_FIELD, 8), { threshold: t, parties: n }));
    const b = byNode(shareVector(randomFieldVector(MPC_FIELD, 8), { threshold: t, parties: n }));
    const messages = nodes.flatMap((node) => mulRound1(node, { op: 'mul/x', a: a.get(node.party)!, b: b.get(node.party)! }));
    const forged = messages.map((m) => (m.from === 1 ? { ...m, subshare: randomFieldVector(MPC_FIELD, 8) } : m));
    const outputs = nodes.map((node) => mulRound2(node, { op: 'mul/x', incoming: forged.filter((m) => m.to === node.party) }));
    expect(() => reconstructVector(outputs, t)).toThrow(MpcCombineError);
  });
});

describe('refusals', () => {
  const [n, t] = [3, 2];
  const nodes = makeNodes(n, t);
  const a = byNode(shareVector(randomFieldVector(MPC_FIELD, 4), { threshold: t, parties: n }));
  const b = byNode(shareVector(randomFieldVector(MPC_FIELD, 4), { threshold: t, parties: n }));
  const messages = nodes.flatMap((node) => mulRound1(node, { op: 'mul/r', a: a.get(node.party)!, b: b.get(node.party)! }));
  const toOne = messages.filter((m) => m.to === 1);
  const round2 = (incoming: readonly MulReshareMessage[], senders?: number[]) =>
    codeOf(() => mulRound2(nodes[0]!, { op: 'mul/r', incoming, ...(senders ? { senders } : {}) }));

  it('refuses a message of another session, operation or recipient, or from outside the roster', () => {
    expect(round2([{ ...toOne[0]!, sessionId: OTHER_SESSION }, ...toOne.slice(1)])).toBe('wrong_session');
    expect(round2([...toOne.slice(1), { ...toOne[0]!, op: 'mul/other' }])).toBe('wrong_operation');
    expect(round2([...toOne.slice(1), messages.find((m) => m.to === 2)!])).toBe('misdirected_message');
    expect(round2([...toOne, { ...toOne[0]!, from: 9 }])).toBe('unknown_party');
    expect(round2([...toOne, toOne[0]!])).toBe('duplicate_message');
    expect(() => mulRound2(nodes[0]!, { op: 'mul/r', incoming: [{ ...toOne[0]!, sessionId: OTHER_SESSION }] })).toThrow(
      'mpc multiply: incoming[0] belongs to another session',
    );
  });

  it('refuses malformed messages and lengths that disagree', () => {
    const short = shareVector(randomFieldVector(MPC_FIELD, 3), { threshold: t, parties: n })[0]!.vector;
    expect(round2([...toOne.slice(1), { ...toOne[0]!, subshare: short }])).toBe('length_mismatch');
    expect(round2([{ ...toOne[0]!, type: MPC_TYPES.open } as never, ...toOne.slice(1)])).toBe('invalid_message');
    const foreign = fieldVectorFromIntegers(createMpcField([1613]), [1, 2, 3, 4]);
    expect(round2([...toOne.slice(1), { ...toOne[0]!, subshare: foreign }])).toBe('invalid_message');
    expect(round2('x' as never)).toBe('invalid_config');
  });

  it('refuses too few senders or a sender list naming an absent node', () => {
    expect(round2(toOne.slice(1))).toBe('too_few_parties');
    expect(round2(toOne.slice(1), [1, 2, 3])).toBe('too_few_parties');
    expect(round2(toOne, [1, 2])).toBe('too_few_parties');
    expect(round2(toOne, [1, 2, 2])).toBe('invalid_config');
  });

  it('refuses another node’s share, lengths that disagree, a bad op, and a node whose config cannot multiply', () => {
    const node = nodes[0]!;
    expect(codeOf(() => mulRound1(node, { op: 'mul/r', a: a.get(2)!, b: b.get(1)! }))).toBe('invalid_config');
    const short: ShareVector = shareVector(randomFieldVector(MPC_FIELD, 3), { threshold: t, parties: n })[0]!;
    expect(codeOf(() => mulRound1(node, { op: 'mul/r', a: a.get(1)!, b: short }))).toBe('length_mismatch');
    expect(codeOf(() => mulRound1(node, { op: 'bad op!', a: a.get(1)!, b: b.get(1)! }))).toBe('invalid_config');
    const weak = createMpcNode({ sessionId: node.sessionId, party: 1, threshold: 3, totalParties: 4 });
    expect(codeOf(() => mulRound1(weak, { op: 'mul/r', a: a.get(1)!, b: b.get(1)! }))).toBe('degree_reduction_impossible');
    expect(codeOf(() => mulRound2(weak, { op: 'mul/r', incoming: [] }))).toBe('degree_reduction_impossible');
  });
});

describe('wire form', () => {
  const [n, t] = [3, 2];
  const nodes = makeNodes(n, t);
  const a = byNode(shareVector(randomFieldVector(MPC_FIELD, 5), { threshold: t, parties: n }));
  const message = mulRound1(nodes[1]!, { op: 'mul/w', a: a.get(2)!, b: a.get(2)! })[0]!;

  it('round-trips through JSON', () => {
    const wire = JSON.parse(JSON.stringify(encodeMpcMessage(message))) as unknown;
    expect(wire).toMatchObject({ type: 'tenzro.mpc.mul-reshare/v1', sessionId: message.sessionId, op: 'mul/w', from: 2, to: 1, length: 5 });
    const back = decodeMpcMessage(wire) as MulReshareMessage;
    expect(back.type).toBe(MPC_TYPES.mulReshare);
    expect(equalFieldVectors(back.subshare, message.subshare)).toBe(true);
  });

  it('refuses malformed wire messages as invalid_message', () => {
    const wire = encodeMpcMessage(message) as Record<string, unknown>;
    const bad = (patch: Record<string, unknown>) => codeOf(() => decodeMpcMessage({ ...wire, ...patch }));
    expect(bad({ extra: 1 })).toBe('invalid_message');
    expect(bad({ from: 0 })).toBe('invalid_message');
    expect(bad({ sessionId: 'nope' })).toBe('invalid_message');
    expect(bad({ subshare: 'a+b=' })).toBe('invalid_message');
    expect(bad({ length: 4 })).toBe('invalid_message');
    expect(bad({ type: 'tenzro.mpc.other/v1' })).toBe('invalid_message');
    const bytes = Buffer.from(wire.subshare as string, 'base64url');
    bytes.writeUInt32LE(MPC_FIELD.moduli[0]!, 0);
    expect(bad({ subshare: bytes.toString('base64url') })).toBe('invalid_message');
    expect(() => decodeMpcMessage({ ...wire, from: 0 })).toThrow(/^mpc message: from: /);
  });
});
