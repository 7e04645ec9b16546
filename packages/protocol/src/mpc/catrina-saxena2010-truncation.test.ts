// Probabilistic truncation (Catrina & Saxena, FC 2010, TruncPR) with dealer-free random pairs: the
// deterministic error bound ⌊N/2⌋ + 1 ulp and the (near) absence of bias, fixed-point products of random
// reals against the plaintext, nodes down, and every refusal.
import {
  MPC_FIELD,
  createMpcCodec,
  fieldVectorFromBigInts,
  fieldVectorToBigInts,
  multiplyFieldVectors,
  reconstructVector,
  shareVector,
  type ShareVector,
} from '@tenzro/crypto';
import { describe, expect, it } from 'vitest';
import { maxTruncationValueBits } from './config.js';
import { MpcError } from './errors.js';
import { OTHER_SESSION, byNode, makeNodes, runMultiply, runTruncate, seededRandomFor, seededReals } from './mpc-harness.fixture.js';
import { truncRound1, truncRound2, truncRound3, truncationErrorBound } from './truncate.js';

const F = 16;
const codec = createMpcCodec({ scale: F, min: -(2 ** 30), max: 2 ** 30 });
const ULP = 2 ** -F;

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    if (!(error instanceof MpcError)) throw error;
    return error.code;
  }
  return undefined;
}

/** Errors d − a/2^f in ulps, as exact rationals turned into doubles. */
function errorsInUlps(truncated: bigint[], exact: bigint[]): number[] {
  return truncated.map((d, i) => Number((d << BigInt(F)) - exact[i]!) / 2 ** F);
}

describe('truncation error bound (|d − a/2^f| ≤ ⌊N/2⌋ + 1 ulp) and bias', () => {
  for (const [n, t, down] of [
    [3, 2, []],
    [5, 3, []],
    [5, 3, [2, 5]],
    [7, 3, [3, 6]],
  ] as const) {
    it(`(n, t) = (${n}, ${t}), down [${down.join(', ')}]: products of random reals truncated by 2^16`, () => {
      const length = 3000;
      const xs = seededReals(length, 1e9, 40 + n + t + down.length);
      const ys = seededReals(length, 1e9, 50 + n + t + down.length);
      const ex = codec.encode(xs);
      const ey = codec.encode(ys);
      const nodes = makeNodes(n, t);
      const a = byNode(shareVector(ex, { threshold: t, parties: n }));
      const b = byNode(shareVector(ey, { threshold: t, parties: n }));
      const { products } = runMultiply(nodes, 'mul/1', a, b); // 2t − 1 = n for (3,2), (5,3): nobody down here
      const run = runTruncate(nodes, 'trunc/1', products, { bits: F, valueBits: codec.productValueBits }, { down });
      const N = run.pending.values().next().value!.contributors.length;
      expect(N).toBe(t);
      const truncated = fieldVectorToBigInts(reconstructVector([...run.outputs.values()], t), { signed: true });
      const exact = fieldVectorToBigInts(multiplyFieldVectors(ex, ey), { signed: true });
      const errors = errorsInUlps(truncated, exact);
      const bound = truncationErrorBound(N);
      expect(Math.max(...errors.map(Math.abs))).toBeLessThanOrEqual(bound);
      // Mean error −(N − 1)/2^(f+1) ≈ 0; the spread of one error is below 1 ulp, so 3000 samples pin the
      // mean to ±0.06 with a wide margin.
      const mean = errors.reduce((s, e) => s + e, 0) / errors.length;
      expect(Math.abs(mean)).toBeLessThan(0.06);
      // Against the reals: truncation error plus the encoding error of the inputs.
      const decoded = codec.decode(reconstructVector([...run.outputs.values()], t));
      xs.forEach((x, i) => {
        const y = ys[i]!;
        const limit = bound * ULP + (Math.abs(x) + Math.abs(y)) * (ULP / 2) + ULP * ULP + Math.abs(x * y) * 2 ** -50;
        expect(Math.abs(decoded[i]! - x * y)).toBeLessThanOrEqual(limit);
      });
    });
  }

  it('even N: the rounding offset keeps the mean at 0 (N = 4 of 5 contributors, bound 3)', () => {
    const nodes = makeNodes(5, 3);
    const values = Array.from({ length: 4000 }, (_, i) => BigInt(i * 7919 - 12_000_000) * 1234567n);
    const shares = byNode(shareVector(fieldVectorFromBigInts(MPC_FIELD, values), { threshold: 3, parties: 5 }));
    const pairs = nodes.flatMap((node) => truncRound1(node, { op: 't/even', length: values.length, bits: F, valueBits: 60 }));
    const steps = nodes.map((node) =>
      truncRound2(node, { op: 't/even', share: shares.get(node.party)!, incoming: pairs.filter((m) => m.to === node.party), bits: F, valueBits: 60, contributors: [1, 2, 4, 5] }),
    );
    const outputs = nodes.map((node, i) => truncRound3(node, { pending: steps[i]!.pending, incoming: steps.map((s) => s.message) }));
    const errors = errorsInUlps(fieldVectorToBigInts(reconstructVector(outputs, 3), { signed: true }), values);
    expect(Math.max(...errors.map(Math.abs))).toBeLessThanOrEqual(truncationErrorBound(4));
    expect(truncationErrorBound(4)).toBe(3);
    expect(Math.abs(errors.reduce((s, e) => s + e, 0) / errors.length)).toBeLessThan(0.06);
  });

  it('handles the edges of the declared range: ±(2^(k−1) − 1), 0, −1, exact multiples of 2^f', () => {
    const k = 94;
    const edge = (1n << BigInt(k - 1)) - 1n;
    const values = [edge, -edge, 0n, -1n, 1n, 5n << 16n, -(5n << 16n), -(1n << 16n) + 1n];
    const nodes = makeNodes(3, 2);
    const shares = byNode(shareVector(fieldVectorFromBigInts(MPC_FIELD, values), { threshold: 2, parties: 3 }));
    for (let run = 0; run < 20; run++) {
      const out = runTruncate(nodes, `t/edge/${run}`, shares, { bits: F, valueBits: k });
      const errors = errorsInUlps(fieldVectorToBigInts(reconstructVector([...out.outputs.values()], 2), { signed: true }), values);
      expect(Math.max(...errors.map(Math.abs))).toBeLessThanOrEqual(truncationErrorBound(2));
    }
  });
});

describe('refusals', () => {
  const nodes = makeNodes(3, 2);
  const shares = byNode(shareVector(codec.encode([1, 2, 3]), { threshold: 2, parties: 3 }));
  const spec = { bits: F, valueBits: 48 };
  const pairs = nodes.flatMap((node) => truncRound1(node, { op: 't/r', length: 3, ...spec }, seededRandomFor(3)(node.party)));
  const toOne = pairs.filter((m) => m.to === 1);

  it('refuses bits, valueBits and a field without room for the 40-bit mask', () => {
    const node = nodes[0]!;
    expect(codeOf(() => truncRound1(node, { op: 't', length: 3, bits: 0, valueBits: 48 }))).toBe('invalid_config');
    expect(codeOf(() => truncRound1(node, { op: 't', length: 3, bits: 27, valueBits: 48 }))).toBe('invalid_config');
    expect(codeOf(() => truncRound1(node, { op: 't', length: 3, bits: 16, valueBits: 16 }))).toBe('invalid_config');
    const limit = maxTruncationValueBits(3);
    expect(codeOf(() => truncRound1(node, { op: 't', length: 3, bits: 16, valueBits: limit }))).toBeUndefined();
    expect(codeOf(() => truncRound1(node, { op: 't', length: 3, bits: 16, valueBits: limit + 1 }))).toBe('truncation_range_exceeded');
    expect(() => truncRound1(node, { op: 't', length: 3, bits: 16, valueBits: limit + 1 })).toThrow(
      `mpc truncate: valueBits ${limit + 1} leaves no room for a 40-bit mask from 3 contributors in the field; at most ${limit}`,
    );
    expect(codeOf(() => truncRound1(node, { op: 't', length: -1, ...spec }))).toBe('invalid_config');
  });

  it('refuses fewer than t contributors, foreign pairs, and another node’s share', () => {
    const node = nodes[0]!;
    const share = shares.get(1)!;
    expect(codeOf(() => truncRound2(node, { op: 't/r', share, incoming: toOne.slice(0, 1), ...spec }))).toBe('too_few_parties');
    expect(codeOf(() => truncRound2(node, { op: 't/r', share, incoming: toOne, ...spec, contributors: [1] }))).toBe('too_few_parties');
    expect(codeOf(() => truncRound2(node, { op: 't/r', share, incoming: [{ ...toOne[0]!, sessionId: OTHER_SESSION }], ...spec }))).toBe('wrong_session');
    expect(codeOf(() => truncRound2(node, { op: 't/other', share, incoming: toOne, ...spec }))).toBe('wrong_operation');
    expect(codeOf(() => truncRound2(node, { op: 't/r', share: shares.get(2)!, incoming: toOne, ...spec }))).toBe('invalid_config');
    const long: ShareVector = byNode(shareVector(codec.encode([1, 2, 3, 4]), { threshold: 2, parties: 3 })).get(1)!;
    expect(codeOf(() => truncRound2(node, { op: 't/r', share: long, incoming: toOne, ...spec }))).toBe('length_mismatch');
  });

  it('refuses fewer than t openers, inconsistent opened shares, and a pending state of another session', () => {
    const steps = nodes.map((node) => truncRound2(node, { op: 't/r2', share: shares.get(node.party)!, incoming: pairs.filter((m) => m.to === node.party).map((m) => ({ ...m, op: 't/r2' })), ...spec }));
    const opens = steps.map((s) => s.message);
    const node = nodes[0]!;
    const pending = steps[0]!.pending;
    expect(codeOf(() => truncRound3(node, { pending, incoming: opens.slice(0, 1) }))).toBe('too_few_parties');
    const tampered = [opens[0]!, opens[1]!, { ...opens[2]!, share: opens[1]!.share }];
    expect(codeOf(() => truncRound3(node, { pending, incoming: tampered }))).toBe('inconsistent_shares');
    expect(codeOf(() => truncRound3(node, { pending: { ...pending, sessionId: OTHER_SESSION }, incoming: opens }))).toBe('wrong_session');
    expect(codeOf(() => truncRound3(nodes[1]!, { pending, incoming: opens }))).toBe('invalid_config');
    // What did not happen: a consistent subset still works after the refusals.
    expect(codeOf(() => truncRound3(node, { pending, incoming: opens, openers: [1, 2] }))).toBeUndefined();
  });
});
