// Privacy of the `mpc` protocols (DESIGN §7: "fewer than threshold nodes learn nothing"), tested
// statistically. For (n, t) = (3, 2) and (5, 3), many runs of share → GRR multiplication → truncation, and
// of share → Beaver triples (by GRR) → online Beaver multiplication, are made with two different fixed
// inputs. The complete view of a coalition (its input shares and every message its members received:
// subshares, random-pair and random-share shares, opened values; and the outputs they computed from them)
// is projected to small ranges, and the two inputs' projections are compared with a two-sample chi-square
// test (and a Kolmogorov–Smirnov test on the opened truncation value's magnitude, the one part hidden
// statistically — within 2^−40 — rather than perfectly).
//
// The projections are the attacks a coalition would try: Lagrange-interpolate at 0 whatever it holds of
// one sharing (inputs, each sender's subshares then GRR-combined, the random pairs, triples, its outputs),
// plus raw marginals and the low bits and magnitude of opened values. With t − 1 nodes every test must
// pass (p > 1e-4 each, about 40 tests); as a control, the same projections of t pooled views must tell
// the inputs apart (p < 1e-12). Runs use fixed seeds, so the outcome is deterministic.
import {
  addFieldVectors,
  createMpcCodec,
  fieldVectorToBigInts,
  interpolateShareVectors,
  lowBits,
  shareVector,
  sliceFieldVector,
  type FieldVector,
} from '@tenzro/crypto';
import { describe, expect, it } from 'vitest';
import { MPC_STATISTICAL_SECURITY } from './config.js';
import {
  byNode,
  makeNodes,
  runBeaver,
  runMultiply,
  runTriples,
  runTruncate,
  seededRandomFor,
  type BeaverRun,
  type MultiplyRun,
  type TripleRun,
  type TruncateRun,
} from './mpc-harness.fixture.js';

const F = 16;
const codec = createMpcCodec({ scale: F, min: -(2 ** 30), max: 2 ** 30 });
const K = codec.productValueBits;
const BINS = 16;
const LENGTH = 400;
const RUNS = 25; // 10,000 samples per input and projection

// --- statistics ---------------------------------------------------------------------------------------

/** ln Γ(x) (Lanczos, g = 7, n = 9). */
function logGamma(x: number): number {
  const c = [0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059, 12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const y = x - 1;
  let a = c[0]!;
  const t = y + 7.5;
  for (let i = 1; i < 9; i++) a += c[i]! / (y + i);
  return 0.5 * Math.log(2 * Math.PI) + (y + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Q(s, x) = Γ(s, x)/Γ(s), the chi-square survival function at 2x for 2s degrees of freedom. */
function upperGammaQ(s: number, x: number): number {
  if (x <= 0) return 1;
  if (x < s + 1) {
    let sum = 1 / s;
    let term = sum;
    for (let n = 1; n < 1000; n++) {
      term *= x / (s + n);
      sum += term;
      if (term < sum * 1e-15) break;
    }
    return 1 - sum * Math.exp(-x + s * Math.log(x) - logGamma(s));
  }
  // Continued fraction (modified Lentz).
  let b = x + 1 - s;
  let c = 1 / 1e-300;
  let d = 1 / b;
  let h = d;
  for (let i = 1; i < 1000; i++) {
    const an = -i * (i - s);
    b += 2;
    d = an * d + b;
    if (Math.abs(d) < 1e-300) d = 1e-300;
    c = b + an / c;
    if (Math.abs(c) < 1e-300) c = 1e-300;
    d = 1 / d;
    const delta = d * c;
    h *= delta;
    if (Math.abs(delta - 1) < 1e-15) break;
  }
  return Math.exp(-x + s * Math.log(x) - logGamma(s)) * h;
}

/** Two-sample chi-square test of homogeneity over bins (equal sample sizes); returns the p-value. */
function chiSquareTwoSample(first: Uint8Array, second: Uint8Array): number {
  const c1 = new Array<number>(BINS).fill(0);
  const c2 = new Array<number>(BINS).fill(0);
  for (const v of first) c1[v]!++;
  for (const v of second) c2[v]!++;
  let stat = 0;
  let used = 0;
  for (let b = 0; b < BINS; b++) {
    const total = c1[b]! + c2[b]!;
    if (total === 0) continue;
    used++;
    stat += (c1[b]! - c2[b]!) ** 2 / total;
  }
  if (used < 2) return c1.every((c, b) => c === c2[b]) ? 1 : 0;
  return upperGammaQ((used - 1) / 2, stat / 2);
}

/** Two-sample Kolmogorov–Smirnov test (asymptotic p-value). */
function ksTwoSample(first: Float64Array, second: Float64Array): number {
  const a = Float64Array.from(first).sort();
  const b = Float64Array.from(second).sort();
  let i = 0;
  let j = 0;
  let d = 0;
  while (i < a.length && j < b.length) {
    const x = Math.min(a[i]!, b[j]!);
    while (i < a.length && a[i]! <= x) i++;
    while (j < b.length && b[j]! <= x) j++;
    d = Math.max(d, Math.abs(i / a.length - j / b.length));
  }
  const lambda = Math.sqrt((a.length * b.length) / (a.length + b.length)) * d;
  let p = 0;
  for (let k = 1; k <= 100; k++) p += 2 * (-1) ** (k - 1) * Math.exp(-2 * k * k * lambda * lambda);
  return Math.min(1, Math.max(0, p));
}

// --- views --------------------------------------------------------------------------------------------

interface RunRecord {
  a: Map<number, FieldVector>;
  b: Map<number, FieldVector>;
  mul: MultiplyRun;
  trunc: TruncateRun;
}

function runOnce(n: number, t: number, input: { x: number; y: number }, seed: number): RunRecord {
  const nodes = makeNodes(n, t);
  const client = seededRandomFor(seed)(0);
  const ex = codec.encode(new Array<number>(LENGTH).fill(input.x));
  const ey = codec.encode(new Array<number>(LENGTH).fill(input.y));
  const a = byNode(shareVector(ex, { threshold: t, parties: n }, client));
  const b = byNode(shareVector(ey, { threshold: t, parties: n }, client));
  const mul = runMultiply(nodes, 'mul/p', a, b, { randomFor: seededRandomFor(seed + 1) });
  const trunc = runTruncate(nodes, 'trunc/p', mul.products, { bits: F, valueBits: K }, { randomFor: seededRandomFor(seed + 2) });
  return { a: new Map([...a].map(([x, s]) => [x, s.vector])), b: new Map([...b].map(([x, s]) => [x, s.vector])), mul, trunc };
}

/** 16 bins: the low 4 bits of the residue modulo the first prime (uniform within 2^−22 for a uniform element). */
const bin = (v: FieldVector): Uint8Array => Uint8Array.from(v.residues.subarray(0, v.length), (r) => r & (BINS - 1));
const attempt = (coalition: readonly number[], vectorOf: (x: number) => FieldVector): FieldVector =>
  interpolateShareVectors(coalition.map((x) => ({ x, vector: vectorOf(x) })), 0);

/** The named projections of a coalition's view of one run, each one bin per element. */
function project(run: RunRecord, coalition: readonly number[], n: number, t: number): { bins: Map<string, Uint8Array>; magnitude: Float64Array } {
  const bins = new Map<string, Uint8Array>();
  bins.set('input a: interpolation of held shares', bin(attempt(coalition, (x) => run.a.get(x)!)));
  bins.set('input b: interpolation of held shares', bin(attempt(coalition, (x) => run.b.get(x)!)));
  bins.set('input a: raw share of the first member', bin(run.a.get(coalition[0]!)!));
  const received = (from: number, to: number) => run.mul.messages.find((m) => m.from === from && m.to === to)!.subshare;
  const senders = Array.from({ length: 2 * t - 1 }, (_, i) => i + 1);
  const perSender = senders.map((s) => ({ x: s, vector: attempt(coalition, (x) => received(s, x)) }));
  bins.set('multiply: GRR combination of interpolated subshares', bin(interpolateShareVectors(perSender, 0)));
  for (let s = 1; s <= n; s++) bins.set(`multiply: raw subshare from node ${s}`, bin(received(s, coalition[0]!)));
  const contributors = run.trunc.pending.get(1)!.contributors;
  const pair = (from: number, to: number) => run.trunc.pairs.find((m) => m.from === from && m.to === to)!;
  let rGuess: FieldVector | undefined;
  let hGuess: FieldVector | undefined;
  for (const c of contributors) {
    const r = attempt(coalition, (x) => pair(c, x).r);
    const h = attempt(coalition, (x) => pair(c, x).rHigh);
    rGuess = rGuess ? addFieldVectors(rGuess, r) : r;
    hGuess = hGuess ? addFieldVectors(hGuess, h) : h;
  }
  bins.set('truncate: interpolated sum of random r', bin(rGuess!));
  bins.set('truncate: interpolated sum of random r high', bin(hGuess!));
  const opened = interpolateShareVectors(run.trunc.opens.slice(0, t).map((m) => ({ x: m.from, vector: m.share })), 0);
  bins.set('truncate: low bits of the opened masked value', Uint8Array.from(lowBits(opened, 4)));
  const span = BigInt(contributors.length + 1) << BigInt(K + MPC_STATISTICAL_SECURITY);
  const magnitudes = fieldVectorToBigInts(opened).map((c) => Number((c << 20n) / span) / 2 ** 20);
  bins.set('truncate: magnitude of the opened masked value (16 bins)', Uint8Array.from(magnitudes, (m) => Math.min(BINS - 1, Math.floor(m * BINS))));
  bins.set('output: interpolation of held product shares', bin(attempt(coalition, (x) => run.mul.products.get(x)!.vector)));
  bins.set('output: interpolation of held truncated shares', bin(attempt(coalition, (x) => run.trunc.outputs.get(x)!.vector)));
  return { bins, magnitude: Float64Array.from(magnitudes) };
}

function collect(n: number, t: number, coalition: readonly number[], input: { x: number; y: number }, seedBase: number) {
  const bins = new Map<string, Uint8Array[]>();
  const magnitudes: Float64Array[] = [];
  for (let r = 0; r < RUNS; r++) {
    const projected = project(runOnce(n, t, input, seedBase + 3 * r), coalition, n, t);
    for (const [name, values] of projected.bins) bins.set(name, [...(bins.get(name) ?? []), values]);
    magnitudes.push(projected.magnitude);
  }
  const flat = (parts: readonly Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
    let o = 0;
    for (const p of parts) {
      out.set(p, o);
      o += p.length;
    }
    return out;
  };
  const allMagnitudes = new Float64Array(RUNS * LENGTH);
  magnitudes.forEach((m, i) => allMagnitudes.set(m, i * LENGTH));
  return { bins: new Map([...bins].map(([name, parts]) => [name, flat(parts)])), magnitudes: allMagnitudes };
}

const INPUT_ONE = { x: 3.14159, y: -1.41421 };
const INPUT_TWO = { x: -1_234_567.891, y: 7.77 };

describe('views of t − 1 nodes are independent of the inputs; t pooled views are not (control)', () => {
  for (const { n, t, coalition, control } of [
    { n: 3, t: 2, coalition: [2], control: [2, 3] },
    { n: 5, t: 3, coalition: [1, 4], control: [1, 3, 4] },
  ]) {
    it(`(n, t) = (${n}, ${t}): coalition [${coalition.join(', ')}] passes every test; [${control.join(', ')}] is detected`, () => {
      // The same runs (same seeds) feed the coalition and the control: only the projection differs.
      const one = { coalition: collect(n, t, coalition, INPUT_ONE, 1000 * n), control: collect(n, t, control, INPUT_ONE, 1000 * n) };
      const two = { coalition: collect(n, t, coalition, INPUT_TWO, 1000 * n + 500), control: collect(n, t, control, INPUT_TWO, 1000 * n + 500) };
      const pValues: Record<string, number> = {};
      for (const [name, first] of one.coalition.bins) pValues[name] = chiSquareTwoSample(first, two.coalition.bins.get(name)!);
      pValues['truncate: opened magnitude, Kolmogorov–Smirnov'] = ksTwoSample(one.coalition.magnitudes, two.coalition.magnitudes);
      for (const [name, p] of Object.entries(pValues)) expect({ name, pass: p > 1e-4, p }).toMatchObject({ name, pass: true });

      const controlP: Record<string, number> = {};
      for (const [name, first] of one.control.bins) controlP[name] = chiSquareTwoSample(first, two.control.bins.get(name)!);
      for (const name of [
        'input a: interpolation of held shares',
        'input b: interpolation of held shares',
        'multiply: GRR combination of interpolated subshares',
        'output: interpolation of held product shares',
        'output: interpolation of held truncated shares',
      ]) {
        expect({ name, detected: controlP[name]! < 1e-12 }).toEqual({ name, detected: true });
      }
    });
  }
});

// --- the Beaver path (offline triples by GRR, online opening of a − u ‖ b − v) ---------------------------

interface BeaverRecord {
  a: Map<number, FieldVector>;
  triples: TripleRun;
  beaver: BeaverRun;
}

function runBeaverOnce(n: number, t: number, input: { x: number; y: number }, seed: number): BeaverRecord {
  const nodes = makeNodes(n, t);
  const client = seededRandomFor(seed)(0);
  const a = byNode(shareVector(codec.encode(new Array<number>(LENGTH).fill(input.x)), { threshold: t, parties: n }, client));
  const b = byNode(shareVector(codec.encode(new Array<number>(LENGTH).fill(input.y)), { threshold: t, parties: n }, client));
  const triples = runTriples(nodes, 'triple/p', LENGTH, { randomFor: seededRandomFor(seed + 1) });
  const beaver = runBeaver(nodes, 'beaver/p', a, b, triples.triples);
  return { a: new Map([...a].map(([x, sh]) => [x, sh.vector])), triples, beaver };
}

function projectBeaver(run: BeaverRecord, coalition: readonly number[], t: number): Map<string, Uint8Array> {
  const bins = new Map<string, Uint8Array>();
  bins.set('input a: interpolation of held shares', bin(attempt(coalition, (x) => run.a.get(x)!)));
  const opened = interpolateShareVectors(run.beaver.opens.slice(0, t).map((m) => ({ x: m.from, vector: m.share })), 0);
  bins.set('online: opened d = a − u', bin(sliceFieldVector(opened, 0, LENGTH)));
  bins.set('online: opened e = b − v', bin(sliceFieldVector(opened, LENGTH, 2 * LENGTH)));
  const contributors = Array.from({ length: t }, (_, i) => i + 1);
  const share = (from: number, to: number) => run.triples.randomShares.find((m) => m.from === from && m.to === to)!;
  let uGuess: FieldVector | undefined;
  for (const c of contributors) {
    const u = attempt(coalition, (x) => share(c, x).u);
    uGuess = uGuess ? addFieldVectors(uGuess, u) : u;
  }
  bins.set('offline: interpolated sum of random u', bin(uGuess!));
  bins.set('offline: interpolation of held u', bin(attempt(coalition, (x) => run.triples.triples.get(x)!.u.vector)));
  bins.set('offline: interpolation of held w', bin(attempt(coalition, (x) => run.triples.triples.get(x)!.w.vector)));
  bins.set('output: interpolation of held product shares', bin(attempt(coalition, (x) => run.beaver.products.get(x)!.vector)));
  return bins;
}

describe('Beaver path: views of t − 1 nodes are independent of the inputs; t pooled views are not (control)', () => {
  for (const { n, t, coalition, control } of [
    { n: 3, t: 2, coalition: [3], control: [1, 3] },
    { n: 5, t: 3, coalition: [2, 5], control: [2, 3, 5] },
  ]) {
    it(`(n, t) = (${n}, ${t}): coalition [${coalition.join(', ')}] passes every test; [${control.join(', ')}] is detected`, () => {
      const gather = (input: { x: number; y: number }, seedBase: number) => {
        const forCoalition = new Map<string, Uint8Array[]>();
        const forControl = new Map<string, Uint8Array[]>();
        for (let r = 0; r < RUNS; r++) {
          const run = runBeaverOnce(n, t, input, seedBase + 2 * r);
          for (const [name, v] of projectBeaver(run, coalition, t)) forCoalition.set(name, [...(forCoalition.get(name) ?? []), v]);
          for (const [name, v] of projectBeaver(run, control, t)) forControl.set(name, [...(forControl.get(name) ?? []), v]);
        }
        const flat = (m: Map<string, Uint8Array[]>) => new Map([...m].map(([name, parts]) => [name, Uint8Array.from(parts.flatMap((p) => Array.from(p)))]));
        return { coalition: flat(forCoalition), control: flat(forControl) };
      };
      const one = gather(INPUT_ONE, 7000 * n);
      const two = gather(INPUT_TWO, 7000 * n + 3000);
      for (const [name, first] of one.coalition) {
        const p = chiSquareTwoSample(first, two.coalition.get(name)!);
        expect({ name, pass: p > 1e-4, p }).toMatchObject({ name, pass: true });
      }
      for (const name of ['input a: interpolation of held shares', 'output: interpolation of held product shares']) {
        expect({ name, detected: chiSquareTwoSample(one.control.get(name)!, two.control.get(name)!) < 1e-12 }).toEqual({ name, detected: true });
      }
    });
  }
});

describe('the statistics helpers', () => {
  it('chi-square survival matches known quantiles', () => {
    expect(upperGammaQ(15 / 2, 30.578 / 2)).toBeCloseTo(0.01, 4); // χ²(15) 99th percentile
    expect(upperGammaQ(15 / 2, 8.547 / 2)).toBeCloseTo(0.9, 3);
    expect(upperGammaQ(1 / 2, 3.841 / 2)).toBeCloseTo(0.05, 4);
  });

  it('KS gives a large p for one distribution and a tiny one for shifted data', () => {
    const u = Float64Array.from({ length: 2000 }, (_, i) => ((i * 7919) % 2000) / 2000);
    const v = Float64Array.from({ length: 2000 }, (_, i) => ((i * 104729) % 2000) / 2000 + 0.0001);
    expect(ksTwoSample(u, v)).toBeGreaterThan(0.5);
    expect(ksTwoSample(u, Float64Array.from(u, (x) => x * 0.9))).toBeLessThan(1e-6);
  });
});

