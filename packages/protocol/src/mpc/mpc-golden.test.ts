// Golden vectors of the `mpc` protocols (test/golden/mpc/*.json), with fixed randomness: inputs,
// encodings, input shares, the sum, local products, GRR subshares, product shares, the product, random
// truncation pairs and their shares, masked shares, the opened value, truncated shares and the output,
// plus one wire message of each type. Regenerated only with UPDATE_GOLDEN=1; the test replays it byte for
// byte, and checks it with an independent BigInt implementation (what a second implementation would do).
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  MPC_FIELD,
  addShareVectors,
  createMpcCodec,
  fieldVectorToBigInts,
  multiplyShareVectorsLocally,
  reconstructVector,
  shareVector,
  type FieldVector,
  type ShareVector,
} from '@tenzro/crypto';
import { describe, expect, it } from 'vitest';
import { MPC_STATISTICAL_SECURITY } from './config.js';
import { encodeMpcMessage } from './messages.js';
import { SESSION, byNode, makeNodes, runMultiply, runTruncate, seededRandomFor } from './mpc-harness.fixture.js';
import { truncationErrorBound } from './truncate.js';

const GOLDEN_DIR = fileURLToPath(new URL('../../../../test/golden/mpc/', import.meta.url));
const F = 16;
const codec = createMpcCodec({ scale: F, min: -(2 ** 30), max: 2 ** 30 });
const M = MPC_FIELD.modulus;

const dec = (v: FieldVector) => fieldVectorToBigInts(v).map(String);
const byX = (shares: Iterable<ShareVector>) => [...shares].sort((a, b) => a.x - b.x).map((s) => ({ node: s.x, values: dec(s.vector) }));

interface Case {
  file: string;
  n: number;
  t: number;
  x: number[];
  y: number[];
  /** Nodes down during the truncation (the multiplication of these cases tolerates none). */
  truncationDown: number[];
}

const CASES: Case[] = [
  { file: 'three-nodes.json', n: 3, t: 2, x: [1.5, -2.25, 123456.789, -1e9], y: [4, 0.1, -3.5, 0.75], truncationDown: [] },
  { file: 'five-nodes.json', n: 5, t: 3, x: [1e9, -0.001, 31.4159], y: [-1e9, 1000, 2.71828], truncationDown: [4] },
];

function golden({ n, t, x, y, truncationDown }: Case) {
  const nodes = makeNodes(n, t);
  const client = seededRandomFor(0xc11e47)(0);
  const nodeRandom = seededRandomFor(0x40de);
  const ex = codec.encode(x);
  const ey = codec.encode(y);
  const xs = byNode(shareVector(ex, { threshold: t, parties: n }, client));
  const ys = byNode(shareVector(ey, { threshold: t, parties: n }, client));
  const sums = nodes.map((node) => addShareVectors(xs.get(node.party)!, ys.get(node.party)!));
  const mul = runMultiply(nodes, 'mul/0', xs, ys, { randomFor: nodeRandom });
  const spec = { bits: F, valueBits: codec.productValueBits };
  const trunc = runTruncate(nodes, 'trunc/0', mul.products, spec, { randomFor: nodeRandom, down: truncationDown });
  const pending = trunc.pending.values().next().value!;
  const contributors = pending.contributors;
  const pairShares = trunc.pairs.filter((m) => contributors.includes(m.from) && !truncationDown.includes(m.to));
  const pairs = contributors.map((c) => {
    const mine = trunc.pairs.filter((m) => m.from === c);
    return {
      from: c,
      r: dec(reconstructVector(mine.map((m) => ({ x: m.to, vector: m.r })), t)),
      rHigh: dec(reconstructVector(mine.map((m) => ({ x: m.to, vector: m.rHigh })), t)),
    };
  });
  const product = reconstructVector([...mul.products.values()], t);
  const opened = reconstructVector(trunc.opens.map((m) => ({ x: m.from, vector: m.share })), t);
  const output = reconstructVector([...trunc.outputs.values()], t);
  const sum = reconstructVector(sums, t);
  return {
    description:
      'Known-answer data for the mpc method (@tenzro/protocol mpc). Field: Z_M, M = product of `field.moduli` (six primes below 2^26); element values are decimal canonical representatives in [0, M); the upper half is negative. ' +
      'Fixed point: round(v * 2^scale). Shares: Shamir over Z_M, degree t - 1, node x holds f(x). Sum: local addition. ' +
      'Multiplication (Gennaro-Rabin-Rabin 1998): node i reshares localProduct_i = x_i * y_i with a fresh degree t - 1 polynomial (subshares[from=i][to=j]); productShare_j = sum over the senders S of lambda_i^S(0) * subshare(i -> j). ' +
      'Truncation (Catrina-Saxena 2010, dealer-free): contributor i draws rHigh_i < 2^(valueBits + kappa - bits), rLow_i < 2^bits, r_i = rHigh_i * 2^bits + rLow_i, shares r_i and rHigh_i; maskedShare_j = productShare_j + 2^(valueBits - 1) + sum over contributors of r shares; opened c = interpolation; delta = 2^(bits - 1) if the number N of contributors is even, else 0; ' +
      'outputShare_j = floor((c + delta) / 2^bits) - sum of rHigh shares - 2^(valueBits - 1 - bits) - floor(N / 2) mod M; output = interpolation; |output - product / 2^bits| <= floor(N/2) + 1. ' +
      'Randomness: deterministicRng (ChaCha20, call i uses nonce i) with 32-byte seeds: uint32le(label) || uint32le(x) || zeros; client label 0xc11e47 x 0 (shares of x, then of y); node label 0x40de x = node (mulRound1, then truncRound1). Draw order is documented in @tenzro/crypto mpc/field.ts and sharing.ts.',
    sessionId: SESSION,
    field: { id: MPC_FIELD.id, moduli: MPC_FIELD.moduli, modulus: String(M) },
    codec: { scale: F, min: codec.min, max: codec.max, valueBits: codec.valueBits, productValueBits: codec.productValueBits },
    threshold: t,
    totalParties: n,
    inputs: { x, y },
    encoded: { x: dec(ex), y: dec(ey) },
    shares: { x: byX(xs.values()), y: byX(ys.values()) },
    sum: { shares: byX(sums), output: dec(sum), decoded: Array.from(codec.decode(sum)) },
    multiply: {
      op: 'mul/0',
      senders: Array.from({ length: 2 * t - 1 }, (_, i) => i + 1),
      localProducts: byX(nodes.map((node) => multiplyShareVectorsLocally(xs.get(node.party)!, ys.get(node.party)!))),
      subshares: mul.messages.map((m) => ({ from: m.from, to: m.to, values: dec(m.subshare) })),
      productShares: byX(mul.products.values()),
      product: dec(product),
      decodedAtScale32: Array.from(codec.decode(product, 2 * F)),
    },
    truncate: {
      op: 'trunc/0',
      bits: spec.bits,
      valueBits: spec.valueBits,
      statisticalSecurity: MPC_STATISTICAL_SECURITY,
      down: truncationDown,
      contributors,
      pairs,
      pairShares: pairShares.map((m) => ({ from: m.from, to: m.to, r: dec(m.r), rHigh: dec(m.rHigh) })),
      maskedShares: trunc.opens.map((m) => ({ node: m.from, values: dec(m.share) })),
      opened: dec(opened),
      outputShares: byX(trunc.outputs.values()),
      output: fieldVectorToBigInts(output, { signed: true }).map(String),
      decoded: Array.from(codec.decode(output)),
      errorBoundUlps: truncationErrorBound(contributors.length),
    },
    wire: {
      mulReshare: encodeMpcMessage(mul.messages.find((m) => m.from === 1 && m.to === 2)!),
      truncPair: encodeMpcMessage(trunc.pairs.find((m) => m.from === contributors[0] && m.to === 2)!),
      open: encodeMpcMessage(trunc.opens[0]!),
    },
  };
}

// --- an independent BigInt replay (no RNS code) -------------------------------------------------------

const mod = (v: bigint) => ((v % M) + M) % M;
function inv(a: bigint): bigint {
  let [r0, r1, s0, s1] = [mod(a), M, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0);
}
function lagrangeAt0(points: readonly [bigint, bigint][]): bigint {
  let acc = 0n;
  for (const [xi, yi] of points) {
    let num = 1n;
    let den = 1n;
    for (const [xj] of points) {
      if (xj === xi) continue;
      num = mod(num * -xj);
      den = mod(den * (xi - xj));
    }
    acc = mod(acc + yi * num * inv(den));
  }
  return acc;
}

type Golden = ReturnType<typeof golden>;
type NodeValues = { node: number; values: string[] };

function replayWithBigInt(g: Golden): void {
  const t = g.threshold;
  const at = (list: NodeValues[], i: number, nodes?: number[]) =>
    lagrangeAt0(list.filter((s) => !nodes || nodes.includes(s.node)).slice(0, t).map((s) => [BigInt(s.node), BigInt(s.values[i]!)]));
  const len = g.inputs.x.length;
  for (let i = 0; i < len; i++) {
    const ex = BigInt(g.encoded.x[i]!);
    const ey = BigInt(g.encoded.y[i]!);
    expect(ex).toBe(mod(BigInt(Math.round(g.inputs.x[i]! * 2 ** F))));
    expect(at(g.shares.x, i)).toBe(ex);
    expect(at(g.shares.y, i)).toBe(ey);
    expect(BigInt(g.sum.output[i]!)).toBe(mod(ex + ey));
    // GRR: local products, subshares interpolate to them, product shares are the λ-combination.
    for (const lp of g.multiply.localProducts) {
      const xi = BigInt(g.shares.x.find((s) => s.node === lp.node)!.values[i]!);
      const yi = BigInt(g.shares.y.find((s) => s.node === lp.node)!.values[i]!);
      expect(BigInt(lp.values[i]!)).toBe(mod(xi * yi));
      const mine = g.multiply.subshares.filter((s) => s.from === lp.node).map((s) => ({ node: s.to, values: s.values }));
      expect(at(mine, i)).toBe(BigInt(lp.values[i]!));
    }
    const S = g.multiply.senders.map(BigInt);
    for (const ps of g.multiply.productShares) {
      const points = S.map((s) => [s, BigInt(g.multiply.subshares.find((m) => BigInt(m.from) === s && m.to === ps.node)!.values[i]!)] as [bigint, bigint]);
      expect(BigInt(ps.values[i]!)).toBe(lagrangeAt0(points));
    }
    const product = BigInt(g.multiply.product[i]!);
    expect(product).toBe(mod(ex * ey));
    expect(at(g.multiply.productShares, i)).toBe(product);
    // Truncation.
    const tr = g.truncate;
    const f = BigInt(tr.bits);
    const k = BigInt(tr.valueBits);
    const N = tr.contributors.length;
    for (const pair of tr.pairs) {
      const r = BigInt(pair.r[i]!);
      const rHigh = BigInt(pair.rHigh[i]!);
      expect(r >> f).toBe(rHigh);
      expect(r < 1n << (k + BigInt(tr.statisticalSecurity))).toBe(true);
    }
    for (const ms of tr.maskedShares) {
      const own = tr.pairShares.filter((p) => p.to === ms.node);
      const rSum = own.reduce((s, p) => s + BigInt(p.r[i]!), 0n);
      const p = BigInt(g.multiply.productShares.find((s) => s.node === ms.node)!.values[i]!);
      expect(BigInt(ms.values[i]!)).toBe(mod(p + (1n << (k - 1n)) + rSum));
    }
    const c = BigInt(tr.opened[i]!);
    expect(at(tr.maskedShares, i)).toBe(c);
    const delta = N % 2 === 0 ? 1n << (f - 1n) : 0n;
    for (const os of tr.outputShares) {
      const hSum = tr.pairShares.filter((p) => p.to === os.node).reduce((s, p) => s + BigInt(p.rHigh[i]!), 0n);
      expect(BigInt(os.values[i]!)).toBe(mod(((c + delta) >> f) - hSum - (1n << (k - 1n - f)) - BigInt(Math.floor(N / 2))));
    }
    const out = at(tr.outputShares, i);
    const signedOut = out > (M - 1n) / 2n ? out - M : out;
    expect(BigInt(tr.output[i]!)).toBe(signedOut);
    const signedProduct = product > (M - 1n) / 2n ? product - M : product;
    const err = (signedOut << f) - signedProduct;
    expect(err <= BigInt(tr.errorBoundUlps) << f && err >= -(BigInt(tr.errorBoundUlps) << f)).toBe(true);
  }
}

describe('golden vectors (test/golden/mpc)', () => {
  for (const c of CASES) {
    it(`${c.file} replays byte for byte`, () => {
      const text = `${JSON.stringify(golden(c), null, 2)}\n`;
      const path = `${GOLDEN_DIR}${c.file}`;
      if (process.env.UPDATE_GOLDEN === '1') {
        mkdirSync(GOLDEN_DIR, { recursive: true });
        writeFileSync(path, text);
      }
      expect(existsSync(path)).toBe(true);
      expect(text).toBe(readFileSync(path, 'utf8'));
    });

    it(`${c.file} checks out with an independent BigInt implementation`, () => {
      const g = JSON.parse(readFileSync(`${GOLDEN_DIR}${c.file}`, 'utf8')) as Golden;
      replayWithBigInt(g);
      expect(g.field.modulus).toBe(String(g.field.moduli.reduce((m, p) => m * BigInt(p), 1n)));
    });
  }
});
