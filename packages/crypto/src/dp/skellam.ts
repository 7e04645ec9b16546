// The multi-dimensional Skellam mechanism: Agarwal, Kairouz, Liu, "The Skellam Mechanism for
// Differentially Private Federated Learning", NeurIPS 2021 (arXiv:2110.04995).
//
// Parametrisation (the paper's Definition 3.1): Sk_{Δ,μ} over Z has pmf P(k) = e^{-μ} I_{k-Δ}(μ), i.e. it
// is Δ + Poisson(μ/2) - Poisson(μ/2), with mean Δ and VARIANCE μ. The d-dimensional mechanism adds
// independent Sk_{0,μ} to every coordinate of an integer vector. Everywhere below `variance` is this μ,
// and sums of independent Skellams add their variances (so n parties adding Sk_{0,μ/n} give Sk_{0,μ}).
//
// RDP (the paper's Theorem 3.5 for one coordinate and its multi-dimensional Corollary 3.6, numbering of
// arXiv:2110.04995v2 as cited by implementations; one copy of TFF's accounting cites "Corollary 4.1"; the
// test checks the bound against brute-force Rényi divergences): for INTEGER α > 1 and integer vectors
// whose neighbouring differences have L1 norm <= Δ1 and L2 norm <= Δ2,
//
//   ε(α) = α·Δ2² / (2μ) + min( ((2α − 1)·Δ2² + 6·Δ1) / (4μ²),  3·Δ1 / (2μ) ).
//
// The multi-dimensional form follows from the one-dimensional bound (the same expression with Δ1 = |Δ|,
// Δ2² = Δ²) because Rényi divergences of product distributions add over coordinates and a sum of minima
// is at most the minimum of the sums. The first term is the Gaussian mechanism's RDP at variance μ; the
// min{} is the price of discreteness, O(1/μ²) once μ is large, so for μ >> Δ2² the curve approaches the
// Gaussian one. Orders: the proof needs integer α; a fractional order α > 1 (and α = 1, the KL
// divergence) is answered with the bound at max(2, ⌈α⌉), which is valid because D_α is nondecreasing in
// α (van Erven, Harremoës, IEEE Trans. IT 2014, Theorem 3). α = ∞ gives ∞.
//
// Noise: Poisson variates from 53-bit uniforms built from cryptographic random bytes. λ < 10: inversion
// by sequential search; λ >= 10: W. Hörmann, "The transformed rejection method for generating Poisson
// random variables", Insurance: Mathematics and Economics 12 (1993) 39–45, algorithm PTRS, with the
// acceptance test on log P(k) computed in C. Loader's saddle-point form ("Fast and accurate computation
// of binomial probabilities", 2000): log P(k) = −stirlerr(k) − bd0(k, λ) − ½·log(2πk), which stays
// accurate for large λ where k·log λ − λ − log k! would cancel catastrophically.
import { requireFinite, requireInRange, requireNumber, requireObject, requireOneOf, requireOrders } from './args.js';
import { NoiseCalibrationError } from './dp-sgd.js';
import { rdpToEpsilon, type RdpConversion } from './rdp.js';
import { randomBytes } from '../random.js';
import type { RandomSource } from '../shamir.js';

/** Integer orders 2, 3, …, 1024: the Skellam bound is proved for integer α (see the module header). */
export const SKELLAM_RDP_ORDERS: readonly number[] = Object.freeze(Array.from({ length: 1023 }, (_, i) => i + 2));

/**
 * Largest variance sampleSkellam accepts: 2^40. A Skellam variate X with variance μ obeys the Bernstein
 * bound P(|X| >= t) <= 2·exp(−t² / (2μ + 2t/3)); at μ = 2^40 and t = 2^31 the exponent is below −2^20,
 * so every draw fits an Int32 with certainty for all practical purposes (and the sampler checks).
 */
export const MAX_SKELLAM_VARIANCE = 2 ** 40;

const CONVERSIONS: readonly RdpConversion[] = ['improved', 'classic'];
const CALIBRATION_RELATIVE_TOLERANCE = 1e-9;
const CALIBRATION_MAX_VARIANCE = 1e300;

// ---- RDP accounting ----

export interface SkellamRdpOptions {
  /** Total variance μ of the Skellam noise on every coordinate (Sk(μ/2, μ/2)); >= 0. */
  variance: number;
  /** L1 sensitivity Δ1 of the integer query (over one record); > 0. */
  l1: number;
  /** L2 sensitivity Δ2 of the integer query (over one record); > 0. */
  l2: number;
  /** RDP orders (>= 1, Infinity allowed). Default SKELLAM_RDP_ORDERS. */
  orders?: readonly number[];
}

function requireSensitivity(value: unknown, name: string): number {
  const n = requireFinite(value, name);
  if (!(n > 0)) throw new RangeError(`${name} must be > 0`);
  return n;
}

function requireVariance(value: unknown, name: string): number {
  const n = requireFinite(value, name);
  if (n < 0) throw new RangeError(`${name} must be >= 0`);
  return n;
}

/** The Agarwal–Kairouz–Liu bound at one order (see the module header). */
function skellamRdpOneOrder(mu: number, l1: number, l2: number, order: number): number {
  if (order === Infinity || mu === 0) return Infinity;
  const alpha = Math.max(2, Math.ceil(order));
  const l2Sq = l2 * l2;
  const gaussian = (alpha * l2Sq) / (2 * mu);
  const discrete = Math.min(((2 * alpha - 1) * l2Sq + 6 * l1) / (4 * mu * mu), (3 * l1) / (2 * mu));
  return gaussian + discrete;
}

function readRdpArgs(opts: Record<string, unknown>): { l1: number; l2: number; orders: readonly number[] } {
  const l1 = requireSensitivity(opts.l1, 'l1');
  const l2 = requireSensitivity(opts.l2, 'l2');
  const orders = opts.orders === undefined ? SKELLAM_RDP_ORDERS : requireOrders(opts.orders, 'orders');
  return { l1, l2, orders };
}

/**
 * RDP of one release of the d-dimensional Skellam mechanism at each order (Agarwal, Kairouz, Liu 2021,
 * Corollary 3.6). Infinity where unbounded (variance 0, order ∞). Composition: add the curves.
 */
export function skellamRdp(options: SkellamRdpOptions): number[] {
  const opts = requireObject(options, 'skellamRdp options');
  const variance = requireVariance(opts.variance, 'variance');
  const { l1, l2, orders } = readRdpArgs(opts);
  return orders.map((order) => skellamRdpOneOrder(variance, l1, l2, order));
}

export interface SkellamEpsilonOptions extends SkellamRdpOptions {
  delta: number;
  /** RDP → (ε, δ) conversion, as in rdpToEpsilon; default 'improved'. */
  conversion?: RdpConversion;
}

function readDelta(value: unknown): number {
  const delta = requireInRange(value, 'delta', 0, 1);
  if (delta === 0 || delta === 1) throw new RangeError('delta must be in (0, 1)');
  return delta;
}

function readConversion(value: unknown): RdpConversion {
  return value === undefined ? 'improved' : requireOneOf(value, 'conversion', CONVERSIONS);
}

/** The (ε, δ) guarantee certified by the Skellam RDP curve at `variance`, and the order that gives it. */
export function skellamEpsilon(options: SkellamEpsilonOptions): { epsilon: number; order: number } {
  const opts = requireObject(options, 'skellamEpsilon options');
  const variance = requireVariance(opts.variance, 'variance');
  const delta = readDelta(opts.delta);
  const { l1, l2, orders } = readRdpArgs(opts);
  const conversion = readConversion(opts.conversion);
  return rdpToEpsilon({ orders, rdp: orders.map((a) => skellamRdpOneOrder(variance, l1, l2, a)), delta, conversion });
}

export interface CalibrateSkellamOptions {
  /** Target ε; > 0. */
  epsilon: number;
  /** Target δ in (0, 1). */
  delta: number;
  l1: number;
  l2: number;
  orders?: readonly number[];
  conversion?: RdpConversion;
}

export interface CalibratedSkellam {
  /** Total variance μ of the Skellam noise per coordinate. */
  variance: number;
  /** The ε actually certified at `variance` (<= the target). */
  epsilon: number;
  /** The RDP order that certifies it. */
  order: number;
}

/**
 * The smallest total variance μ (to 1e-9 relative, rounded up) whose Skellam RDP curve certifies
 * (epsilon, delta)-DP. Deterministic: doubling from μ = Δ2², halving down, then bisection; ε(μ) is
 * nonincreasing in μ, so the search is monotone. Throws NoiseCalibrationError if no μ <= 1e300 suffices
 * (possible with the 'classic' conversion and a tiny ε).
 */
export function calibrateSkellam(options: CalibrateSkellamOptions): CalibratedSkellam {
  const opts = requireObject(options, 'calibrateSkellam options');
  const target = requireFinite(opts.epsilon, 'epsilon');
  if (!(target > 0)) throw new RangeError('epsilon must be > 0');
  const delta = readDelta(opts.delta);
  const { l1, l2, orders } = readRdpArgs(opts);
  const conversion = readConversion(opts.conversion);
  const spend = (mu: number): { epsilon: number; order: number } =>
    rdpToEpsilon({ orders, rdp: orders.map((a) => skellamRdpOneOrder(mu, l1, l2, a)), delta, conversion });

  let hi = l2 * l2;
  let atHi = spend(hi);
  while (!(atHi.epsilon <= target)) {
    hi *= 2;
    if (hi > CALIBRATION_MAX_VARIANCE) {
      throw new NoiseCalibrationError(`no Skellam variance up to ${CALIBRATION_MAX_VARIANCE} reaches epsilon ${target} at delta ${delta}`);
    }
    atHi = spend(hi);
  }
  let lo = hi / 2;
  while (lo > Number.MIN_VALUE && spend(lo).epsilon <= target) {
    hi = lo;
    lo /= 2;
  }
  atHi = spend(hi);
  while (hi - lo > CALIBRATION_RELATIVE_TOLERANCE * hi) {
    const mid = lo + (hi - lo) / 2;
    if (mid <= lo || mid >= hi) break;
    const atMid = spend(mid);
    if (atMid.epsilon <= target) {
      hi = mid;
      atHi = atMid;
    } else {
      lo = mid;
    }
  }
  return { variance: hi, epsilon: atHi.epsilon, order: atHi.order };
}

// ---- Sampling ----

/** 53-bit uniform doubles in [0, 1) from a byte source, drawn in chunks. */
class ByteUniforms {
  private bytes: Uint8Array = new Uint8Array(0);
  private pos = 0;

  constructor(
    private readonly random: RandomSource,
    private readonly chunkBytes: number,
  ) {}

  next(): number {
    if (this.pos + 8 > this.bytes.length) this.refill();
    const b = this.bytes;
    const p = this.pos;
    this.pos = p + 8;
    const w0 = (b[p]! | (b[p + 1]! << 8) | (b[p + 2]! << 16) | (b[p + 3]! << 24)) >>> 5; // 27 bits
    const w1 = (b[p + 4]! | (b[p + 5]! << 8) | (b[p + 6]! << 16) | (b[p + 7]! << 24)) >>> 6; // 26 bits
    return (w0 * 67_108_864 + w1) / 9_007_199_254_740_992; // (w0·2^26 + w1) / 2^53
  }

  private refill(): void {
    const out: unknown = this.random(this.chunkBytes);
    if (!(out instanceof Uint8Array)) throw new TypeError('random must return a Uint8Array');
    if (out.length !== this.chunkBytes) {
      throw new RangeError(`random returned ${out.length} bytes, expected ${this.chunkBytes}`);
    }
    this.bytes = out;
    this.pos = 0;
  }
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/** stirlerr(n) = log(n!) − (n + ½)·log(n) + n − ½·log(2π) for n = 0..15, from exact sums of logs. */
const STIRLERR_SMALL: Float64Array = (() => {
  const table = new Float64Array(16);
  let logFactorial = 0;
  table[0] = Infinity; // unused: k = 0 is handled directly
  for (let n = 1; n < 16; n++) {
    logFactorial += Math.log(n);
    table[n] = logFactorial - (n + 0.5) * Math.log(n) + n - HALF_LOG_2PI;
  }
  return table;
})();

// Stirling series coefficients B_2k / (2k(2k − 1)): 1/12, 1/360, 1/1260, 1/1680, 1/1188.
const S0 = 1 / 12;
const S1 = 1 / 360;
const S2 = 1 / 1260;
const S3 = 1 / 1680;
const S4 = 1 / 1188;

/** The error of Stirling's formula for log(n!), integer n >= 1 (Loader 2000). */
function stirlerr(n: number): number {
  if (n < 16) return STIRLERR_SMALL[n]!;
  const nn = n * n;
  if (n > 500) return (S0 - S1 / nn) / n;
  if (n > 80) return (S0 - (S1 - S2 / nn) / nn) / n;
  if (n > 35) return (S0 - (S1 - (S2 - S3 / nn) / nn) / nn) / n;
  return (S0 - (S1 - (S2 - (S3 - S4 / nn) / nn) / nn) / nn) / n;
}

/** bd0(x, m) = x·log(x/m) + m − x, without cancellation when x ≈ m (Loader 2000). */
function bd0(x: number, m: number): number {
  if (Math.abs(x - m) < 0.1 * (x + m)) {
    // x·log(x/m) = 2x·atanh(v) with v = (x − m)/(x + m), and m − x = −v(x + m).
    const v = (x - m) / (x + m);
    const v2 = v * v;
    let s = (x - m) * v;
    let ej = 2 * x * v;
    for (let j = 1; j < 1000; j++) {
      ej *= v2;
      const next = s + ej / (2 * j + 1);
      if (next === s) return next;
      s = next;
    }
    return s;
  }
  return x * Math.log(x / m) + m - x;
}

/** log P(K = k) for K ~ Poisson(lambda), integer k >= 0, lambda > 0. */
function logPoissonPmf(k: number, lambda: number): number {
  if (k === 0) return -lambda;
  return -stirlerr(k) - bd0(k, lambda) - HALF_LOG_2PI - 0.5 * Math.log(k);
}

type PoissonSampler = (u: ByteUniforms) => number;

/** Below this mean, inversion; at or above it, PTRS (Hörmann's algorithm is stated for λ >= 10). */
const PTRS_MIN_LAMBDA = 10;
/** Inversion restarts past this k (P(K > 200) < 1e-150 for λ < 10); it only catches rounding at U ≈ 1. */
const INVERSION_MAX_K = 200;

function poissonInversion(lambda: number): PoissonSampler {
  const p0 = Math.exp(-lambda);
  return (u) => {
    for (;;) {
      const target = u.next();
      let k = 0;
      let p = p0;
      let cdf = p0;
      while (target >= cdf && k < INVERSION_MAX_K) {
        k++;
        p *= lambda / k;
        cdf += p;
      }
      if (k < INVERSION_MAX_K) return k;
    }
  };
}

/** Hörmann 1993, algorithm PTRS (transformed rejection with squeeze), for λ >= 10. */
function poissonPtrs(lambda: number): PoissonSampler {
  const slam = Math.sqrt(lambda);
  const b = 0.931 + 2.53 * slam;
  const a = -0.059 + 0.02483 * b;
  const invAlpha = 1.1239 + 1.1328 / (b - 3.4);
  const vr = 0.9277 - 3.6224 / (b - 2);
  const logInvAlpha = Math.log(invAlpha);
  return (u) => {
    for (;;) {
      // Step 1: U uniform on (−½, ½), V uniform on (0, 1).
      const uu = u.next() - 0.5;
      const v = u.next();
      const us = 0.5 - Math.abs(uu);
      const k = Math.floor(((2 * a) / us + b) * uu + lambda + 0.43);
      if (us >= 0.07 && v <= vr) return k; // squeeze: accept without the pmf
      // Step 2: outside the support, or in the region where the hat is not dominated.
      if (k < 0 || (us < 0.013 && v > us)) continue;
      // Step 3: accept if V·α⁻¹/(a/us² + b) <= P(k).
      if (Math.log(v) + logInvAlpha - Math.log(a / (us * us) + b) <= logPoissonPmf(k, lambda)) return k;
    }
  };
}

function poissonSampler(lambda: number): PoissonSampler {
  return lambda < PTRS_MIN_LAMBDA ? poissonInversion(lambda) : poissonPtrs(lambda);
}

function requireLength(value: unknown): number {
  const n = requireNumber(value, 'length');
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError('length must be a non-negative integer');
  return n;
}

function requireRandom(value: unknown): RandomSource {
  if (typeof value !== 'function') throw new TypeError('random must be a function (length) => Uint8Array');
  return value as RandomSource;
}

/** Bytes per chunk: about what `draws` uniforms need, between 256 B and 64 KiB. */
function chunkBytesFor(uniforms: number): number {
  return Math.min(65_536, Math.max(256, 8 * Math.ceil(uniforms)));
}

/**
 * `length` independent Poisson(lambda) draws as doubles (exact integers). Internal entry point for the
 * distribution tests; releases use sampleSkellam.
 */
export function samplePoisson(lambda: number, length: number, random: RandomSource = randomBytes): Float64Array {
  const mean = requireVariance(lambda, 'lambda');
  if (mean > MAX_SKELLAM_VARIANCE / 2) throw new RangeError(`lambda must be <= ${MAX_SKELLAM_VARIANCE / 2}`);
  const n = requireLength(length);
  const rng = requireRandom(random);
  const out = new Float64Array(n);
  if (mean === 0 || n === 0) return out;
  const draw = poissonSampler(mean);
  const uniforms = new ByteUniforms(rng, chunkBytesFor(n * (mean < PTRS_MIN_LAMBDA ? 1 : 2.4)));
  for (let i = 0; i < n; i++) out[i] = draw(uniforms);
  return out;
}

/**
 * `length` independent draws of Sk(variance/2, variance/2) = Poisson(variance/2) − Poisson(variance/2):
 * integer noise with mean 0 and the given variance, from cryptographic randomness (`random` defaults to
 * crypto.getRandomValues; any (n) => n bytes source is accepted). variance must be in [0, 2^40]
 * (MAX_SKELLAM_VARIANCE) so every draw fits an Int32; variance 0 gives zeros and consumes no randomness.
 */
export function sampleSkellam(variance: number, length: number, random: RandomSource = randomBytes): Int32Array {
  const mu = requireVariance(variance, 'variance');
  if (mu > MAX_SKELLAM_VARIANCE) throw new RangeError(`variance must be <= ${MAX_SKELLAM_VARIANCE} (2^40) so that draws fit an Int32`);
  const n = requireLength(length);
  if (n > 0x7fff_ffff) throw new RangeError('length must be < 2^31');
  const rng = requireRandom(random);
  const out = new Int32Array(n);
  if (mu === 0 || n === 0) return out;
  const lambda = mu / 2;
  const draw = poissonSampler(lambda);
  const uniforms = new ByteUniforms(rng, chunkBytesFor(n * (lambda < PTRS_MIN_LAMBDA ? 2 : 4.8)));
  for (let i = 0; i < n; i++) {
    const x = draw(uniforms) - draw(uniforms);
    if (x > 0x7fff_ffff || x < -0x8000_0000) throw new RangeError('Skellam draw outside the Int32 range');
    out[i] = x;
  }
  return out;
}
