// Pins the Skellam mechanism of Agarwal, Kairouz, Liu, "The Skellam Mechanism for Differentially Private
// Federated Learning" (NeurIPS 2021): the RDP bound (Corollary 3.6) against hand-computed values, against
// the exact Rényi divergence of shifted Skellam pmfs computed here by brute force, and against the Gaussian
// RDP of the package's accountant; the calibration; and the Poisson/Skellam sampler (Hörmann 1993 PTRS and
// inversion) against exact pmfs computed independently (summed log tables, not the sampler's Loader form).
import { describe, expect, it } from 'vitest';
import { deterministicRng } from '../mask-prg.js';
import {
  MAX_SKELLAM_VARIANCE,
  NoiseCalibrationError,
  SKELLAM_RDP_ORDERS,
  calibrateSkellam,
  computeRdp,
  rdpToEpsilon,
  sampleSkellam,
  skellamEpsilon,
  skellamRdp,
} from './index.js';
import { samplePoisson } from './skellam.js';

function seed(byte: number): Uint8Array {
  return new Uint8Array(32).fill(byte);
}

/** log(n!) for n = 0..max, by summing logs: independent of the sampler's Stirling/bd0 evaluation. */
function logFactorials(max: number): Float64Array {
  const table = new Float64Array(max + 1);
  for (let n = 1; n <= max; n++) table[n] = table[n - 1]! + Math.log(n);
  return table;
}
const LOG_FACT = logFactorials(1_100_000);

function logPois(k: number, lambda: number): number {
  return k * Math.log(lambda) - lambda - LOG_FACT[k]!;
}

function logSumExp(values: readonly number[]): number {
  const m = Math.max(...values);
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (const v of values) s += Math.exp(v - m);
  return m + Math.log(s);
}

/** log P(X = k), X = Poisson(mu/2) − Poisson(mu/2) (variance mu), by direct convolution. */
function logSkellamPmf(k: number, mu: number): number {
  const lambda = mu / 2;
  const a = Math.abs(k);
  const jMax = Math.ceil(lambda + 40 * Math.sqrt(lambda) + 60);
  const terms: number[] = [];
  for (let j = 0; j <= jMax; j++) terms.push(logPois(j + a, lambda) + logPois(j, lambda));
  return logSumExp(terms);
}

/** Exact D_alpha(Sk_{0,mu} || Sk_{shift,mu}) for integer alpha > 1, summed over a wide window. */
function exactSkellamRenyi(alpha: number, mu: number, shift: number): number {
  const half = Math.ceil(60 + 25 * Math.sqrt(mu) + 10 * alpha * Math.abs(shift));
  const logPmf = new Map<number, number>();
  const lp = (k: number): number => {
    let v = logPmf.get(k);
    if (v === undefined) {
      v = logSkellamPmf(k, mu);
      logPmf.set(k, v);
    }
    return v;
  };
  const terms: number[] = [];
  for (let k = -half; k <= half + shift; k++) terms.push(alpha * lp(k) + (1 - alpha) * lp(k - shift));
  return logSumExp(terms) / (alpha - 1);
}

/** Upper chi-square quantile by Wilson–Hilferty, z the standard normal quantile. */
function chiSquareCritical(df: number, z: number): number {
  const c = 2 / (9 * df);
  return df * (1 - c + z * Math.sqrt(c)) ** 3;
}
const Z_1E4 = 3.719; // P(Z > 3.719) = 1e-4

/**
 * Pearson chi-square of integer samples against a pmf over consecutive bins of `width` values, the two
 * tails merged into the outer bins so that every expected count is >= 5.
 */
function chiSquare(samples: ArrayLike<number>, logPmf: (k: number) => number, lo: number, hi: number, width = 1): { stat: number; df: number } {
  const n = samples.length;
  const edges: number[] = [];
  for (let e = lo; e <= hi; e += width) edges.push(e);
  const expected: number[] = [];
  const observed: number[] = new Array<number>(edges.length + 1).fill(0);
  // Bin 0: k < lo; bin i (1..): edges[i-1] <= k < edges[i]; last: k >= last edge.
  let mass = 0;
  for (let i = 1; i < edges.length; i++) {
    let p = 0;
    for (let k = edges[i - 1]!; k < edges[i]!; k++) p += Math.exp(logPmf(k));
    expected[i] = p * n;
    mass += p;
  }
  // Tails by complement, split by the pmf just outside the window (both are tiny by construction).
  let left = 0;
  for (let k = lo - 1; k >= lo - 50 * width - 200; k--) left += Math.exp(logPmf(k));
  expected[0] = left * n;
  expected[edges.length] = Math.max(0, 1 - mass - left) * n;
  for (let i = 0; i < n; i++) {
    const k = samples[i]!;
    let bin: number;
    if (k < lo) bin = 0;
    else if (k >= edges[edges.length - 1]!) bin = edges.length;
    else bin = 1 + Math.floor((k - lo) / width);
    observed[bin]!++;
  }
  // Merge bins from both ends until every expected count is >= 5.
  const e: number[] = [];
  const o: number[] = [];
  let accE = 0;
  let accO = 0;
  for (let i = 0; i <= edges.length; i++) {
    accE += expected[i]!;
    accO += observed[i]!;
    if (accE >= 5) {
      e.push(accE);
      o.push(accO);
      accE = 0;
      accO = 0;
    }
  }
  e[e.length - 1]! += accE;
  o[o.length - 1]! += accO;
  let stat = 0;
  for (let i = 0; i < e.length; i++) stat += (o[i]! - e[i]!) ** 2 / e[i]!;
  return { stat, df: e.length - 1 };
}

function meanVariance(xs: ArrayLike<number>): { mean: number; variance: number } {
  let mean = 0;
  for (let i = 0; i < xs.length; i++) mean += xs[i]!;
  mean /= xs.length;
  let v = 0;
  for (let i = 0; i < xs.length; i++) v += (xs[i]! - mean) ** 2;
  return { mean, variance: v / (xs.length - 1) };
}

describe('Agarwal, Kairouz, Liu 2021: RDP of the multi-dimensional Skellam mechanism', () => {
  it('matches the formula alpha*D2^2/(2mu) + min(((2alpha-1)D2^2 + 6D1)/(4mu^2), 3D1/(2mu)) by hand', () => {
    // mu = 10, D1 = 3, D2 = 2, alpha = 2: 8/20 + min((3*4 + 18)/400, 9/20) = 0.4 + 0.075.
    // mu = 1,  D1 = 1, D2 = 1, alpha = 2: 2/2 + min((3 + 6)/4, 3/2) = 1 + 1.5 (the 3D1/(2mu) branch).
    // alpha = 3 at mu = 10, D1 = 3, D2 = 2: 12/20 + min((5*4 + 18)/400, 0.45) = 0.6 + 0.095.
    expect(skellamRdp({ variance: 10, l1: 3, l2: 2, orders: [2, 3] })).toEqual([0.4 + 0.075, 0.6 + 0.095]);
    expect(skellamRdp({ variance: 1, l1: 1, l2: 1, orders: [2] })[0]).toBeCloseTo(2.5, 15);
  });

  it('answers fractional orders with the next integer, order 1 with order 2, and infinity with infinity', () => {
    const [r1, r2, r25, r3, rInf] = skellamRdp({ variance: 10, l1: 3, l2: 2, orders: [1, 2, 2.5, 3, Infinity] });
    expect(r1).toBe(r2);
    expect(r25).toBe(r3);
    expect(rInf).toBe(Infinity);
    expect(skellamRdp({ variance: 0, l1: 1, l2: 1, orders: [2] })).toEqual([Infinity]);
  });

  it('is decreasing in the variance, nondecreasing in the order and increasing in both sensitivities', () => {
    const orders = [2, 3, 5, 8, 13, 21, 64, 256];
    let previous = skellamRdp({ variance: 0.5, l1: 4, l2: 2, orders });
    for (const mu of [1, 2, 5, 10, 100, 1e4, 1e8]) {
      const current = skellamRdp({ variance: mu, l1: 4, l2: 2, orders });
      current.forEach((r, i) => expect(r).toBeLessThan(previous[i]!));
      previous = current;
    }
    const curve = skellamRdp({ variance: 7, l1: 4, l2: 2 });
    for (let i = 1; i < curve.length; i++) expect(curve[i]).toBeGreaterThanOrEqual(curve[i - 1]!);
    const base = skellamRdp({ variance: 7, l1: 4, l2: 2, orders })!;
    skellamRdp({ variance: 7, l1: 5, l2: 2, orders }).forEach((r, i) => expect(r).toBeGreaterThan(base[i]!));
    skellamRdp({ variance: 7, l1: 4, l2: 3, orders }).forEach((r, i) => expect(r).toBeGreaterThan(base[i]!));
  });

  it('exceeds the Gaussian RDP of the accountant by the min{} term, which vanishes for large variance', () => {
    const orders = [2, 5, 10, 32, 128, 1024];
    const l1 = 20;
    const l2 = 7;
    for (const mu of [10, 1e3, 1e6, 1e9]) {
      const gaussian = computeRdp({ q: 1, noiseMultiplier: Math.sqrt(mu) / l2, steps: 1, orders });
      const skellam = skellamRdp({ variance: mu, l1, l2, orders });
      orders.forEach((alpha, i) => {
        const discrete = Math.min(((2 * alpha - 1) * l2 * l2 + 6 * l1) / (4 * mu * mu), (3 * l1) / (2 * mu));
        expect(skellam[i]! - gaussian[i]!).toBeCloseTo(discrete, 12);
        expect(skellam[i]).toBeGreaterThan(gaussian[i]!);
        expect(gaussian[i]).toBeCloseTo((alpha * l2 * l2) / (2 * mu), 12);
      });
      if (mu >= 1e6) orders.forEach((_, i) => expect(skellam[i]! / gaussian[i]! - 1).toBeLessThan(1e-3 * (1e6 / mu)));
    }
  });

  it('bounds the exact Rényi divergence of shifted Skellam distributions, one coordinate and several', () => {
    for (const mu of [2, 10, 50]) {
      for (const shift of [1, 2, 3]) {
        for (const alpha of [2, 3, 5, 8]) {
          const exact = exactSkellamRenyi(alpha, mu, shift);
          const [bound] = skellamRdp({ variance: mu, l1: shift, l2: shift, orders: [alpha] });
          expect(exact).toBeGreaterThan(0);
          expect(exact).toBeLessThanOrEqual(bound!);
          // Loose for tiny variance (about 2x to 4x at mu = 2), sharp once mu is moderate.
          if (mu >= 50) expect(bound! / exact).toBeLessThan(1.1);
        }
      }
    }
    // d = 3, difference vector (1, -2, 1): D1 = 4, D2 = sqrt(6); divergences of product measures add.
    for (const alpha of [2, 4, 7]) {
      const mu = 10;
      const exact = 2 * exactSkellamRenyi(alpha, mu, 1) + exactSkellamRenyi(alpha, mu, 2);
      const [bound] = skellamRdp({ variance: mu, l1: 4, l2: Math.sqrt(6), orders: [alpha] });
      expect(exact).toBeLessThanOrEqual(bound!);
    }
  });
});

describe('calibrateSkellam and skellamEpsilon', () => {
  const cases = [
    { epsilon: 1, delta: 1e-5, l1: 85_000, l2: 7_000 },
    { epsilon: 1, delta: 1e-5, l1: 1, l2: 1 },
    { epsilon: 0.1, delta: 1e-6, l1: 100, l2: 10 },
    { epsilon: 8, delta: 1e-5, l1: 3, l2: 2 },
    { epsilon: 0.5, delta: 1e-9, l1: 2_000, l2: 2_000 },
  ];

  it('certifies the target epsilon, and 0.99 of the variance does not', () => {
    for (const c of cases) {
      const out = calibrateSkellam(c);
      expect(out.epsilon).toBeLessThanOrEqual(c.epsilon);
      const at = skellamEpsilon({ variance: out.variance, delta: c.delta, l1: c.l1, l2: c.l2 });
      expect(at).toEqual({ epsilon: out.epsilon, order: out.order });
      expect(skellamEpsilon({ variance: out.variance * 0.99, delta: c.delta, l1: c.l1, l2: c.l2 }).epsilon).toBeGreaterThan(c.epsilon);
      expect(skellamEpsilon({ variance: out.variance * (1 - 1e-6), delta: c.delta, l1: c.l1, l2: c.l2 }).epsilon).toBeGreaterThan(c.epsilon);
      expect(calibrateSkellam(c)).toEqual(out); // deterministic
    }
  });

  it('needs more variance for a smaller epsilon or delta and a larger sensitivity', () => {
    const base = calibrateSkellam({ epsilon: 1, delta: 1e-5, l1: 10, l2: 5 }).variance;
    expect(calibrateSkellam({ epsilon: 0.5, delta: 1e-5, l1: 10, l2: 5 }).variance).toBeGreaterThan(base);
    expect(calibrateSkellam({ epsilon: 1, delta: 1e-7, l1: 10, l2: 5 }).variance).toBeGreaterThan(base);
    expect(calibrateSkellam({ epsilon: 1, delta: 1e-5, l1: 20, l2: 5 }).variance).toBeGreaterThan(base);
    expect(calibrateSkellam({ epsilon: 1, delta: 1e-5, l1: 10, l2: 6 }).variance).toBeGreaterThan(base);
  });

  it('gives about the Gaussian variance at the layout scale (D1 = 85000, D2 = 7000, eps = 1, delta = 1e-5)', () => {
    const out = calibrateSkellam({ epsilon: 1, delta: 1e-5, l1: 85_000, l2: 7_000 });
    expect(out.variance / 8.01892e8 - 1).toBeLessThan(1e-5);
    expect(out.variance / 8.01892e8 - 1).toBeGreaterThan(-1e-5);
    expect(out.order).toBe(18);
    // The discreteness surcharge is negligible here: the pure Gaussian RDP curve (the accountant's
    // computeRdp with q = 1) needs all but 1e-4 of this variance.
    const gaussianEpsilon = (mu: number): number =>
      rdpToEpsilon({
        orders: SKELLAM_RDP_ORDERS,
        rdp: computeRdp({ q: 1, noiseMultiplier: Math.sqrt(mu) / 7_000, steps: 1, orders: SKELLAM_RDP_ORDERS }),
        delta: 1e-5,
      }).epsilon;
    expect(gaussianEpsilon(out.variance)).toBeLessThanOrEqual(1);
    expect(gaussianEpsilon(out.variance * (1 - 1e-4))).toBeGreaterThan(1);
  });

  it('reports an unreachable target with NoiseCalibrationError', () => {
    // 'classic' conversion: epsilon >= log(1/delta)/(alpha - 1) >= 11.5/1023 whatever the variance.
    expect(() => calibrateSkellam({ epsilon: 1e-3, delta: 1e-5, l1: 1, l2: 1, conversion: 'classic' })).toThrow(NoiseCalibrationError);
  });

  it('uses integer orders 2..1024 by default', () => {
    expect(SKELLAM_RDP_ORDERS.length).toBe(1023);
    expect(SKELLAM_RDP_ORDERS[0]).toBe(2);
    expect(SKELLAM_RDP_ORDERS.at(-1)).toBe(1024);
    expect(SKELLAM_RDP_ORDERS.every(Number.isInteger)).toBe(true);
  });
});

describe('Poisson sampler (inversion below 10, Hörmann 1993 PTRS from 10)', () => {
  for (const [lambda, n] of [
    [0.3, 100_000],
    [4, 200_000],
    [9.99, 200_000],
    [10, 200_000],
    [40, 200_000],
  ] as const) {
    it(`matches the Poisson(${lambda}) pmf (chi-square, p = 1e-4)`, () => {
      const xs = samplePoisson(lambda, n, deterministicRng(seed(7)));
      expect(xs.every((x) => Number.isInteger(x) && x >= 0)).toBe(true);
      const hi = Math.ceil(lambda + 8 * Math.sqrt(lambda) + 10);
      const { stat, df } = chiSquare(xs, (k) => (k < 0 ? -Infinity : logPois(k, lambda)), 0, hi);
      expect(df).toBeGreaterThan(2);
      expect(stat).toBeLessThan(chiSquareCritical(df, Z_1E4));
    });
  }

  for (const lambda of [1e5, 1e6]) {
    it(`matches the Poisson(${lambda}) pmf in bins of sqrt(lambda)/8 (chi-square, p = 1e-4)`, () => {
      const xs = samplePoisson(lambda, 200_000, deterministicRng(seed(9)));
      const sd = Math.sqrt(lambda);
      const width = Math.round(sd / 8);
      const lo = Math.round(lambda - 5 * sd);
      const hi = Math.round(lambda + 5 * sd);
      const { stat, df } = chiSquare(xs, (k) => logPois(k, lambda), lo, hi, width);
      expect(df).toBeGreaterThan(50);
      expect(stat).toBeLessThan(chiSquareCritical(df, Z_1E4));
    });
  }
});

describe('sampleSkellam', () => {
  for (const mu of [1, 50, 1e4, 1e6]) {
    it(`has mean 0 and variance ${mu}`, () => {
      const n = 200_000;
      const xs = sampleSkellam(mu, n, deterministicRng(seed(3)));
      expect(xs).toBeInstanceOf(Int32Array);
      expect(xs.length).toBe(n);
      const { mean, variance } = meanVariance(xs);
      expect(Math.abs(mean)).toBeLessThan(5 * Math.sqrt(mu / n));
      // Var of the sample variance ~ mu^2 (2 + 1/mu) / n (excess kurtosis of Skellam is 1/mu).
      expect(Math.abs(variance / mu - 1)).toBeLessThan(5 * Math.sqrt((2 + 1 / mu) / n));
    });
  }

  for (const mu of [8, 80]) {
    it(`matches the exact Skellam pmf at variance ${mu} (chi-square, p = 1e-4)`, () => {
      const xs = sampleSkellam(mu, 200_000, deterministicRng(seed(5)));
      const half = Math.ceil(6 * Math.sqrt(mu) + 5);
      const { stat, df } = chiSquare(xs, (k) => logSkellamPmf(k, mu), -half, half);
      expect(stat).toBeLessThan(chiSquareCritical(df, Z_1E4));
    });
  }

  it('is deterministic for a deterministic source and gives zeros without randomness at variance 0', () => {
    expect(sampleSkellam(123.5, 1000, deterministicRng(seed(1)))).toEqual(sampleSkellam(123.5, 1000, deterministicRng(seed(1))));
    expect(sampleSkellam(123.5, 1000, deterministicRng(seed(1)))).not.toEqual(sampleSkellam(123.5, 1000, deterministicRng(seed(2))));
    let calls = 0;
    const counting = (length: number): Uint8Array => {
      calls++;
      return new Uint8Array(length);
    };
    expect(sampleSkellam(0, 5, counting)).toEqual(new Int32Array(5));
    expect(sampleSkellam(10, 0, counting)).toEqual(new Int32Array(0));
    expect(calls).toBe(0);
  });

  it('draws at MAX_SKELLAM_VARIANCE and stays in Int32', () => {
    const xs = sampleSkellam(MAX_SKELLAM_VARIANCE, 2_000, deterministicRng(seed(4)));
    const { variance } = meanVariance(xs);
    expect(Math.abs(variance / MAX_SKELLAM_VARIANCE - 1)).toBeLessThan(0.2);
  });

  it('draws 100,000 values at lambda = 1e6 from crypto.getRandomValues in well under a second', () => {
    sampleSkellam(2e6, 10_000); // warm-up
    const start = performance.now();
    const xs = sampleSkellam(2e6, 100_000);
    const ms = performance.now() - start;
    expect(xs.length).toBe(100_000);
    expect(ms).toBeLessThan(1000);
  });
});

describe('argument errors', () => {
  it('skellamRdp, skellamEpsilon and calibrateSkellam name the bad argument', () => {
    expect(() => skellamRdp(null as never)).toThrow(TypeError);
    expect(() => skellamRdp({ variance: -1, l1: 1, l2: 1 })).toThrow(/^variance must be >= 0$/);
    expect(() => skellamRdp({ variance: Number.NaN, l1: 1, l2: 1 })).toThrow(TypeError);
    expect(() => skellamRdp({ variance: Infinity, l1: 1, l2: 1 })).toThrow(/^variance must be finite$/);
    expect(() => skellamRdp({ variance: 1, l1: 0, l2: 1 })).toThrow(/^l1 must be > 0$/);
    expect(() => skellamRdp({ variance: 1, l1: 1, l2: Infinity })).toThrow(/^l2 must be finite$/);
    expect(() => skellamRdp({ variance: 1, l1: 1, l2: '1' as never })).toThrow(/^l2 must be a number$/);
    expect(() => skellamRdp({ variance: 1, l1: 1, l2: 1, orders: [] })).toThrow(/^orders must not be empty$/);
    expect(() => skellamRdp({ variance: 1, l1: 1, l2: 1, orders: [0.5] })).toThrow(/^orders\[0\] must be >= 1$/);
    expect(() => skellamEpsilon({ variance: 1, delta: 0, l1: 1, l2: 1 })).toThrow(/^delta must be in \(0, 1\)$/);
    expect(() => calibrateSkellam({ epsilon: 0, delta: 1e-5, l1: 1, l2: 1 })).toThrow(/^epsilon must be > 0$/);
    expect(() => calibrateSkellam({ epsilon: Infinity, delta: 1e-5, l1: 1, l2: 1 })).toThrow(/^epsilon must be finite$/);
    expect(() => calibrateSkellam({ epsilon: 1, delta: 1, l1: 1, l2: 1 })).toThrow(/^delta must be in \(0, 1\)$/);
    expect(() => calibrateSkellam({ epsilon: 1, delta: 2, l1: 1, l2: 1 })).toThrow(RangeError);
    expect(() => calibrateSkellam({ epsilon: 1, delta: 1e-5, l1: 1, l2: -3 })).toThrow(/^l2 must be > 0$/);
    expect(() => calibrateSkellam({ epsilon: 1, delta: 1e-5, l1: 1, l2: 1, conversion: 'tight' as never })).toThrow(/^conversion must be one of/);
  });

  it('sampleSkellam names the bad argument', () => {
    expect(() => sampleSkellam(-1, 1)).toThrow(/^variance must be >= 0$/);
    expect(() => sampleSkellam(Number.NaN, 1)).toThrow(/^variance must be a number$/);
    expect(() => sampleSkellam(Infinity, 1)).toThrow(/^variance must be finite$/);
    expect(() => sampleSkellam(MAX_SKELLAM_VARIANCE * 2, 1)).toThrow(/^variance must be <= /);
    expect(() => sampleSkellam(1, 1.5)).toThrow(/^length must be a non-negative integer$/);
    expect(() => sampleSkellam(1, -1)).toThrow(/^length must be a non-negative integer$/);
    expect(() => sampleSkellam(1, '3' as never)).toThrow(/^length must be a number$/);
    expect(() => sampleSkellam(1, 1, 'rng' as never)).toThrow(/^random must be a function/);
    expect(() => sampleSkellam(1, 1, () => new Uint8Array(3))).toThrow(/^random returned 3 bytes, expected 256$/);
    expect(() => sampleSkellam(1, 1, (() => [1, 2, 3]) as never)).toThrow(/^random must return a Uint8Array$/);
  });
});
