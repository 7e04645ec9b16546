// risk-analyzer-v2 under `mpc` on in-memory nodes: the program's outputs against the exact plaintext
// computation (within the Catrina–Saxena truncation bound), on random inputs and on the demo data; nodes
// down up to the multiplication's tolerance; below it the core's typed error; and every value any
// opening reveals, recorded by the runner, is a declared output or a masked intermediate.
import { createMpcCodec, shareVector, type ShareVector } from '@tenzro/crypto';
import { generateDemoData } from '@tenzro/models';
import { describe, expect, it } from 'vitest';
import { MPC_STATISTIC_NAMES, mpcStatisticValues, mpcStatisticVector } from '@tenzro/models';
import { MpcError } from '../errors.js';
import { seededRandomFor } from '../mpc-harness.fixture.js';
import { RISK_ANALYZER_MPC_PROGRAM as PROGRAM, RISK_SCORE_WEIGHTS, riskAnalyzerOutputErrorBound } from './risk-analyzer-v2.js';
import { runMpcProgramInMemory, type MpcProgramRun } from './run-in-memory.js';

const codec = createMpcCodec({ scale: 8, min: 0, max: 2 ** 32 });
const S = PROGRAM.inputNames.length;
const idx = (name: string): number => PROGRAM.inputNames.indexOf(name);

/** Test-only PRNG (mulberry32) for input values. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** Each party's statistics in integer units of 2^−8, below 2^40 (spread over magnitudes). */
function randomUnits(parties: number, seed: number): bigint[][] {
  const r = prng(seed);
  return Array.from({ length: parties }, () => Array.from({ length: S }, () => BigInt(Math.floor(2 ** (40 * r()) * r()))));
}

function share(units: readonly bigint[], threshold: number, totalParties: number, random?: (n: number) => Uint8Array): ShareVector[] {
  return shareVector(codec.encode(units.map((u) => Number(u) / 256)), { threshold, parties: totalParties }, random);
}

const FEATURES = PROGRAM.outputs.filter((o) => o.startsWith('variance_numerator:')).map((o) => o.slice('variance_numerator:'.length));

/** The exact expected outputs, each as an integer at scale 2^(8 + extra) with its extra bits. */
function expected(sum: readonly bigint[]): Map<string, { value: bigint; extraBits: bigint }> {
  const g = (name: string): bigint => (idx(name) < 0 ? 0n : sum[idx(name)]!);
  const single = (f: string, prefix = ''): bigint => (idx(`count:${prefix}${f}`) >= 0 ? g(`count:${prefix}${f}`) : g(`sum:${prefix}${f}`));
  const n = g('count:records');
  const out = new Map<string, { value: bigint; extraBits: bigint }>();
  FEATURES.forEach((a, i) => {
    for (const b of FEATURES.slice(i)) {
      const second = a === b ? (idx(`sum_squares:${a}`) >= 0 ? g(`sum_squares:${a}`) : single(a)) : g(`cross_product:${a}*${b}`);
      const name = a === b ? `variance_numerator:${a}` : `covariance_numerator:${a}*${b}`;
      out.set(name, { value: n * second - single(a) * single(b), extraBits: 8n });
    }
  });
  const L = g('count:labelled');
  const Y = g('count:fraud');
  out.set('denominator:records_squared', { value: n * n, extraBits: 8n });
  out.set('denominator:labelled_squared', { value: L * L, extraBits: 8n });
  let score = 0n;
  for (const [f, w] of RISK_SCORE_WEIGHTS) score += BigInt(Math.round(w * 256)) * (L * single(f, 'fraud*') - Y * single(f, 'labelled*'));
  out.set('risk_score_numerator', { value: score, extraBits: 16n });
  return out;
}

function checkAgainstPlaintext(run: MpcProgramRun, sum: readonly bigint[], threshold: number): void {
  const bound = BigInt(riskAnalyzerOutputErrorBound(threshold));
  const exp = expected(sum);
  expect([...run.outputs.keys()]).toEqual(PROGRAM.outputs);
  expect(exp.size).toBe(PROGRAM.outputs.length);
  for (const [name, { value, extraBits }] of exp) {
    const got = run.outputs.get(name)!.integer << extraBits;
    const diff = got > value ? got - value : value - got;
    expect(diff <= bound << extraBits, `${name}: |${got} − ${value}| > ${bound} ulp`).toBe(true);
  }
}

const sumUnits = (units: bigint[][]): bigint[] => units[0]!.map((_, i) => units.reduce((s, u) => s + u[i]!, 0n));

describe('risk-analyzer-v2 program under mpc (in memory)', () => {
  it('declares its inputs as models\' mpcStatisticVector shares them', () => {
    expect(PROGRAM.inputNames).toEqual(MPC_STATISTIC_NAMES);
    expect(PROGRAM.outputs.filter((o) => o.startsWith('variance_numerator:'))).toHaveLength(15);
    expect(PROGRAM.outputs).toHaveLength(120 + 3);
  });

  it.each([
    { threshold: 2, totalParties: 3, multiplication: 'beaver' as const },
    { threshold: 3, totalParties: 5, multiplication: 'beaver' as const },
    { threshold: 3, totalParties: 5, multiplication: 'grr' as const },
    { threshold: 2, totalParties: 5, multiplication: 'grr' as const },
  ])('matches the exact plaintext within ⌊t/2⌋ + 1 ulp on random inputs ($threshold of $totalParties, $multiplication)', ({ threshold, totalParties, multiplication }) => {
    for (let seed = 1; seed <= 4; seed++) {
      const parties = 1 + (seed % 4);
      const units = randomUnits(parties, seed * 7919 + threshold);
      const inputs = units.map((u) => share(u, threshold, totalParties));
      const run = runMpcProgramInMemory({ threshold, totalParties, inputs, multiplication });
      checkAgainstPlaintext(run, sumUnits(units), threshold);
    }
  });

  it('reproduces the pooled variances and covariances of the demo data (3 banks, 3 of 5 nodes)', () => {
    const data = generateDemoData({ banks: ['bankA', 'bankB', 'bankC'], recordsPerBank: 400, seed: 20251125 });
    const banks = Object.values(data.partitions);
    const inputs = banks.map((records) => mpcStatisticVector(records, { threshold: 3, totalParties: 5 }));
    const run = runMpcProgramInMemory({ threshold: 3, totalParties: 5, inputs, down: [2] });
    const pooled = banks.map(mpcStatisticValues).reduce((a, b) => a.map((v, i) => v + b[i]!));
    checkAgainstPlaintext(run, pooled.map((v) => BigInt(Math.round(v * 256))), 3);
    // As reals: variance = numerator / n², against the plaintext pooled variance.
    const n = pooled[idx('count:records')]!;
    // n² passes through the truncation too: exact up to the program's error bound.
    expect(Math.abs(run.outputs.get('denominator:records_squared')!.value - n * n)).toBeLessThanOrEqual(riskAnalyzerOutputErrorBound(3) / 256);
    const bound = riskAnalyzerOutputErrorBound(3) / 256 / (n * n);
    const get = (name: string) => (idx(name) < 0 ? 0 : pooled[idx(name)]!);
    for (const f of FEATURES) {
      const s = idx(`count:${f}`) >= 0 ? get(`count:${f}`) : get(`sum:${f}`);
      const q = idx(`sum_squares:${f}`) >= 0 ? get(`sum_squares:${f}`) : s;
      const plain = q / n - (s / n) ** 2;
      const mpc = run.outputs.get(`variance_numerator:${f}`)!.value / run.outputs.get('denominator:records_squared')!.value;
      expect(Math.abs(mpc - plain)).toBeLessThanOrEqual(bound + 1e-12 * Math.max(1, Math.abs(plain)));
    }
    const [a, b] = ['near_reporting_threshold', 'channel_cash'];
    const plainCov = get(`cross_product:${a}*${b}`) / n - (get(`count:${a}`) / n) * (get(`count:${b}`) / n);
    const mpcCov = run.outputs.get(`covariance_numerator:${a}*${b}`)!.value / (n * n);
    expect(Math.abs(mpcCov - plainCov)).toBeLessThanOrEqual(bound + 1e-12);
  });

  it('tolerates totalParties − threshold nodes down with Beaver multiplication; one more is too_few_parties', () => {
    const units = randomUnits(3, 99);
    const inputs = units.map((u) => share(u, 3, 5));
    for (const down of [[4, 5], [1, 3], [2]]) checkAgainstPlaintext(runMpcProgramInMemory({ threshold: 3, totalParties: 5, inputs, down }), sumUnits(units), 3);
    for (const down of [[1, 2, 3], [3, 4, 5], [1, 2, 3, 4, 5]]) {
      expect(() => runMpcProgramInMemory({ threshold: 3, totalParties: 5, inputs, down })).toThrow(expect.objectContaining({ name: 'MpcError', code: 'too_few_parties' }));
    }
  });

  it('with GRR multiplication tolerates totalParties − (2·threshold − 1) nodes down; refuses 2t − 1 > n', () => {
    const units = randomUnits(2, 5);
    const inputs5 = units.map((u) => share(u, 2, 5));
    checkAgainstPlaintext(runMpcProgramInMemory({ threshold: 2, totalParties: 5, inputs: inputs5, down: [1, 5], multiplication: 'grr' }), sumUnits(units), 2);
    expect(() => runMpcProgramInMemory({ threshold: 2, totalParties: 5, inputs: inputs5, down: [1, 2, 5], multiplication: 'grr' })).toThrow(
      expect.objectContaining({ code: 'too_few_parties' }),
    );
    const inputs4 = units.map((u) => share(u, 3, 4));
    let error: unknown;
    try {
      runMpcProgramInMemory({ threshold: 3, totalParties: 4, inputs: inputs4 });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(MpcError);
    expect((error as MpcError).code).toBe('degree_reduction_impossible');
    expect(() => runMpcProgramInMemory({ threshold: 1, totalParties: 3, inputs: inputs4 })).toThrow(expect.objectContaining({ code: 'threshold_too_small' }));
  });

  it('opens only the declared outputs in the clear; every other opening is a masked intermediate', () => {
    const units = randomUnits(3, 4242).map((u) => u.map((v) => v + 1n)); // no zero moment
    const inputs = units.map((u, p) => share(u, 3, 5, seededRandomFor(1000 + p)(1)));
    for (const multiplication of ['beaver', 'grr'] as const) {
      const run = runMpcProgramInMemory({ threshold: 3, totalParties: 5, inputs, multiplication, down: multiplication === 'beaver' ? [5] : [] });
      const outputs = run.opened.filter((o) => o.kind === 'output');
      expect(outputs).toHaveLength(1);
      expect(outputs[0]!.values).toEqual(PROGRAM.outputs.map((name) => run.outputs.get(name)!.integer));
      expect(run.opened.map((o) => o.kind).sort()).toEqual(multiplication === 'beaver' ? ['beaver_mask', 'output', 'truncation_mask'] : ['output', 'truncation_mask']);
      // No summed moment (nor any single party's statistic) appears among the masked openings.
      const secrets = new Set([...sumUnits(units), ...units.flat()]);
      for (const o of run.opened.filter((x) => x.kind !== 'output')) for (const v of o.values) expect(secrets.has(v)).toBe(false);
    }
  });
});

describe('program and runner refusals', () => {
  const inputs = [share(randomUnits(1, 3)[0]!, 2, 3)];
  it('refuses a program whose outputs are not exactly its open steps', () => {
    const bad = { ...PROGRAM, outputs: PROGRAM.outputs.slice(1) };
    expect(() => runMpcProgramInMemory({ threshold: 2, totalParties: 3, inputs, program: bad })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
  });
  it('refuses inputs of the wrong length or without a share for every node', () => {
    const short = [shareVector(codec.encode([1, 2]), { threshold: 2, parties: 3 })];
    expect(() => runMpcProgramInMemory({ threshold: 2, totalParties: 3, inputs: short })).toThrow(expect.objectContaining({ code: 'length_mismatch' }));
    expect(() => runMpcProgramInMemory({ threshold: 2, totalParties: 3, inputs: [inputs[0]!.slice(0, 2)] })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
    expect(() => runMpcProgramInMemory({ threshold: 2, totalParties: 3, inputs, down: [7] })).toThrow(expect.objectContaining({ code: 'invalid_config' }));
  });
});
