// Rényi-DP accountant for the subsampled Gaussian mechanism.
//
// - Poisson subsampling: Mironov, "Rényi Differential Privacy", CSF 2017, and Mironov, Talwar, Zhang,
//   "Rényi Differential Privacy of the Sampled Gaussian Mechanism", arXiv:1908.10530 (2019), §3.3 for
//   fractional orders. Integer orders use the binomial expansion of A_alpha, fractional orders the
//   two-sided series split at z0 = sigma^2 log(1/q - 1) + 1/2. Everything is in log space.
// - Sampling without replacement: Wang, Balle, Kasiviswanathan, "Subsampled Rényi Differential Privacy
//   and Analytical Moments Accountant", AISTATS 2019, Theorem 27 (with Corollary 10 for fractional orders).
// - RDP -> (epsilon, delta): 'classic' is Mironov 2017 Proposition 3; 'improved' is Canonne, Kamath,
//   Steinke, arXiv:2004.00010 Proposition 12 (also Asoodeh et al., arXiv:2001.05990 eq. 20), with the
//   KL-divergence shortcut delta <= sqrt(1 - exp(-rdp)), as in google/differential-privacy dp_accounting.
import {
  requireFinite,
  requireInRange,
  requireNonNegative,
  requireNonNegativeInteger,
  requireNumber,
  requireObject,
  requireOneOf,
  requireOrders,
} from './args.js';
import { binomialSeries, logAdd, logErfc, logSubSign } from './special.js';

/**
 * The orders TF Privacy's compute_dp_sgd_privacy uses:
 * [1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5] + 5..63 + [128, 256, 512].
 */
export const DEFAULT_RDP_ORDERS: readonly number[] = Object.freeze([
  1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5,
  ...Array.from({ length: 59 }, (_, i) => i + 5),
  128, 256, 512,
]);

/** The default orders of dp_accounting's RdpAccountant: 1.1, 1.2, …, 10.9, then 11..63, 128, 256, 512, 1024. */
export const DP_ACCOUNTING_RDP_ORDERS: readonly number[] = Object.freeze([
  ...Array.from({ length: 99 }, (_, x) => 1 + (x + 1) / 10),
  ...Array.from({ length: 53 }, (_, i) => i + 11),
  128, 256, 512, 1024,
]);

export type RdpConversion = 'improved' | 'classic';
const CONVERSIONS: readonly RdpConversion[] = ['improved', 'classic'];

/**
 * How the fractional-order series of Mironov, Talwar, Zhang (2019) §3.3 is summed.
 * - 'absolute': sum of the absolute values of the terms, an upper bound on A_alpha (what
 *   dp_accounting >= 0.4 and current TF Privacy compute). Never below the exact value; the default.
 * - 'signed': the series with the signs of the generalised binomial coefficients, i.e. A_alpha itself
 *   (older TF Privacy rdp_accountant). Falls back to 'absolute' if rounding makes a partial sum negative.
 */
export type FractionalOrderMethod = 'absolute' | 'signed';
const FRACTIONAL_METHODS: readonly FractionalOrderMethod[] = ['absolute', 'signed'];

/** Iteration cap of the fractional-order series (dp_accounting's _MAX_STEPS_LOG_A_FRAC). */
const MAX_STEPS_LOG_A_FRAC = 1000;

/** log(A_alpha) for integer alpha >= 2 and 0 < q < 1 (Mironov et al. 2019, §3.2). */
function logAInt(q: number, sigma: number, alpha: number): number {
  const { logAbs } = binomialSeries(alpha, alpha + 1);
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoSigmaSq = 2 * sigma * sigma;
  let logA = -Infinity;
  for (let i = 0; i <= alpha; i++) {
    logA = logAdd(logA, logAbs[i]! + i * logQ + (alpha - i) * log1mQ + (i * i - i) / twoSigmaSq);
  }
  return logA;
}

/** A signed number held as (sign, log|value|). */
interface SignedLog {
  positive: boolean;
  log: number;
}

function addSigned(acc: SignedLog, termLog: number, termPositive: boolean): SignedLog {
  if (acc.log === -Infinity) return { positive: termPositive, log: termLog };
  if (termLog === -Infinity) return acc;
  if (acc.positive === termPositive) return { positive: acc.positive, log: logAdd(acc.log, termLog) };
  const diff = logSubSign(acc.log, termLog); // |acc| - |term|
  return { positive: diff.positive === acc.positive, log: diff.log };
}

/**
 * log(A_alpha) for fractional alpha > 1 and 0 < q < 1 (Mironov et al. 2019, §3.3). Returns Infinity when
 * the series has not converged after MAX_STEPS_LOG_A_FRAC terms; such an order then drops out of the
 * epsilon minimisation, exactly as in dp_accounting.
 */
function logAFrac(q: number, sigma: number, alpha: number, method: FractionalOrderMethod): number {
  const z0 = sigma * sigma * Math.log(1 / q - 1) + 0.5;
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const twoSigmaSq = 2 * sigma * sigma;
  const sqrt2Sigma = Math.SQRT2 * sigma;
  const { logAbs, sign } = binomialSeries(alpha, MAX_STEPS_LOG_A_FRAC);
  let abs0 = -Infinity;
  let abs1 = -Infinity;
  let signed0: SignedLog = { positive: true, log: -Infinity };
  let signed1: SignedLog = { positive: true, log: -Infinity };
  let last0 = -Infinity;
  let last1 = -Infinity;
  for (let i = 0; i < MAX_STEPS_LOG_A_FRAC; i++) {
    const logCoef = logAbs[i]!;
    const j = alpha - i;
    const logT0 = logCoef + i * logQ + j * log1mQ;
    const logT1 = logCoef + j * logQ + i * log1mQ;
    const logE0 = Math.log(0.5) + logErfc((i - z0) / sqrt2Sigma);
    const logE1 = Math.log(0.5) + logErfc((z0 - j) / sqrt2Sigma);
    const logS0 = logT0 + (i * i - i) / twoSigmaSq + logE0;
    const logS1 = logT1 + (j * j - j) / twoSigmaSq + logE1;
    abs0 = logAdd(abs0, logS0);
    abs1 = logAdd(abs1, logS1);
    const positive = sign[i]! >= 0;
    signed0 = addSigned(signed0, logS0, positive);
    signed1 = addSigned(signed1, logS1, positive);
    const totalAbs = logAdd(abs0, abs1);
    const signedOk = signed0.positive && signed1.positive;
    const total = method === 'signed' && signedOk ? logAdd(signed0.log, signed1.log) : totalAbs;
    // Stop once both term sequences decrease and are negligible next to the total.
    if (logS0 < last0 && logS1 < last1 && Math.max(logS0, logS1) < total - 30) return total;
    last0 = logS0;
    last1 = logS1;
  }
  return Infinity;
}

function rdpPoissonOneOrder(q: number, sigma: number, alpha: number, method: FractionalOrderMethod): number {
  if (q === 0) return 0;
  if (alpha === Infinity || sigma === 0) return Infinity;
  if (q === 1) return alpha / (2 * sigma * sigma);
  const logA = Number.isInteger(alpha) ? logAInt(q, sigma, alpha) : logAFrac(q, sigma, alpha, method);
  return logA / (alpha - 1);
}

export interface ComputeRdpOptions {
  /** Sampling probability of each record per step (Poisson sampling), in [0, 1]. */
  q: number;
  /** Noise standard deviation divided by the L2 sensitivity (clipping norm). */
  noiseMultiplier: number;
  /** Number of compositions of the mechanism. */
  steps: number;
  /** RDP orders alpha >= 1 (Infinity allowed). Order 1 is only meaningful for q in {0, 1}. */
  orders: readonly number[];
  fractionalMethod?: FractionalOrderMethod;
}

function readMechanism(options: unknown, name: string): { q: number; sigma: number; steps: number; orders: readonly number[]; opts: Record<string, unknown> } {
  const opts = requireObject(options, name);
  const q = requireInRange(opts.q, 'q', 0, 1);
  const sigma = requireNonNegative(opts.noiseMultiplier, 'noiseMultiplier');
  const steps = requireNonNegativeInteger(opts.steps, 'steps');
  const orders = requireOrders(opts.orders, 'orders');
  if (q > 0 && q < 1) {
    const i = orders.findIndex((o) => o === 1);
    if (i >= 0) throw new RangeError(`orders[${i}] must be > 1 when 0 < q < 1`);
  }
  return { q, sigma, steps, orders, opts };
}

/**
 * RDP of `steps` compositions of the Poisson-subsampled Gaussian mechanism, at each order:
 * steps * log(A_alpha) / (alpha - 1). Infinity where unbounded.
 */
export function computeRdp(options: ComputeRdpOptions): number[] {
  const { q, sigma, steps, orders, opts } = readMechanism(options, 'computeRdp options');
  const method = opts.fractionalMethod === undefined ? 'absolute' : requireOneOf(opts.fractionalMethod, 'fractionalMethod', FRACTIONAL_METHODS);
  return orders.map((alpha) => {
    if (steps === 0) return 0;
    const perStep = rdpPoissonOneOrder(q, sigma, alpha, method);
    return perStep === 0 ? 0 : perStep * steps;
  });
}

// ---- Sampling without replacement (WBK19, Theorem 27) ----

/** Log-magnitudes of the forward differences of exp(fun) at 0, orders 0..n+1 (WBK19 Theorem 27). */
function forwardDiffs(fun: (x: number) => number, n: number): Float64Array {
  const vec = new Float64Array(n + 3);
  const signs = new Uint8Array(n + 3).fill(1);
  const deltas = new Float64Array(n + 2);
  for (let i = 1; i < n + 3; i++) vec[i] = fun(i - 1);
  for (let i = 0; i < n + 2; i++) {
    // In-place first difference in log space of the first n + 2 - i entries.
    const m = n + 2 - i;
    for (let j = 0; j < m; j++) {
      if (signs[j] === signs[j + 1]) {
        const d = logSubSign(vec[j + 1]!, vec[j]!);
        vec[j] = d.log;
        signs[j] = d.positive === (signs[j + 1] === 1) ? 1 : 0;
      } else {
        vec[j] = logAdd(vec[j]!, vec[j + 1]!);
        signs[j] = signs[j + 1]!;
      }
    }
    deltas[i] = vec[0]!;
  }
  return deltas;
}

/** log(A_alpha) for integer alpha, sampling without replacement (WBK19 Theorem 27; Stirling form above 256). */
function logAWorInt(q: number, sigma: number, alpha: number): number {
  if (alpha === 1) return 0;
  const maxAlpha = 256;
  const twoSigmaSq = 2 * sigma * sigma;
  const cgf = (x: number): number => (x * (x + 1)) / twoSigmaSq;
  const func = (x: number): number => x / twoSigmaSq;
  const logQ = Math.log(q);
  const { logAbs: logComb } = binomialSeries(alpha, alpha + 1);
  const logF2m1 = func(2) + Math.log1p(-Math.exp(-func(2)));
  const first = 2 * logQ + logComb[2]! + Math.min(Math.log(4) + logF2m1, func(2) + Math.LN2);
  let logA = 0;
  if (alpha <= maxAlpha) {
    const deltas = forwardDiffs(cgf, alpha);
    for (let i = 2; i <= alpha; i++) {
      let s: number;
      if (i === 2) s = first;
      else {
        const lo = deltas[2 * Math.floor(i / 2) - 1]!;
        const hi = deltas[2 * Math.ceil(i / 2) - 1]!;
        s = Math.min(Math.log(4) + 0.5 * (lo + hi), Math.LN2 + cgf(i - 1)) + i * logQ + logComb[i]!;
      }
      logA = logAdd(logA, s);
    }
    return logA;
  }
  for (let i = 2; i <= alpha; i++) {
    const s = i === 2 ? first : Math.LN2 + cgf(i - 1) + i * logQ + logComb[i]!;
    logA = logAdd(logA, s);
  }
  return logA;
}

function rdpWorOneOrder(q: number, sigma: number, alpha: number): number {
  if (q === 0) return 0;
  if (sigma === 0) return Infinity;
  if (q === 1) return alpha / (2 * sigma * sigma);
  if (alpha === Infinity) return Infinity;
  if (Number.isInteger(alpha)) return logAWorInt(q, sigma, alpha) / (alpha - 1);
  // WBK19 Corollary 10: interpolate the CGF between the neighbouring integer orders.
  const lo = Math.floor(alpha);
  const hi = Math.ceil(alpha);
  const t = alpha - lo;
  return ((1 - t) * logAWorInt(q, sigma, lo) + t * logAWorInt(q, sigma, hi)) / (alpha - 1);
}

/**
 * RDP of `steps` compositions of the Gaussian mechanism on fixed-size batches sampled without
 * replacement (q = batch / n), under replace-one adjacency (WBK19 Theorem 27).
 */
export function computeRdpSampledWithoutReplacement(options: Omit<ComputeRdpOptions, 'fractionalMethod'>): number[] {
  const { q, sigma, steps, orders } = readMechanism(options, 'computeRdpSampledWithoutReplacement options');
  return orders.map((alpha) => {
    if (steps === 0) return 0;
    const perStep = rdpWorOneOrder(q, sigma, alpha);
    return perStep === 0 ? 0 : perStep * steps;
  });
}

// ---- Conversion to (epsilon, delta) ----

function readCurve(opts: Record<string, unknown>): { orders: readonly number[]; rdp: readonly number[] } {
  const orders = requireOrders(opts.orders, 'orders');
  if (!Array.isArray(opts.rdp)) throw new TypeError('rdp must be an array of numbers');
  const rdp = opts.rdp as unknown[];
  if (rdp.length !== orders.length) throw new RangeError('rdp must have the same length as orders');
  for (const [i, r] of rdp.entries()) requireNumber(r, `rdp[${i}]`);
  return { orders, rdp: rdp as readonly number[] };
}

export interface RdpToEpsilonOptions {
  orders: readonly number[];
  rdp: readonly number[];
  delta: number;
  conversion?: RdpConversion;
}

/** The smallest epsilon over the orders for which the RDP curve implies (epsilon, delta)-DP. */
export function rdpToEpsilon(options: RdpToEpsilonOptions): { epsilon: number; order: number } {
  const opts = requireObject(options, 'rdpToEpsilon options');
  const { orders, rdp } = readCurve(opts);
  const delta = requireInRange(opts.delta, 'delta', 0, 1);
  const conversion = opts.conversion === undefined ? 'improved' : requireOneOf(opts.conversion, 'conversion', CONVERSIONS);
  if (delta === 0) {
    return rdp.every((r) => r === 0) ? { epsilon: 0, order: orders[0]! } : { epsilon: Infinity, order: orders[0]! };
  }
  let best = Infinity;
  let bestOrder = orders[0]!;
  let found = false;
  for (let k = 0; k < orders.length; k++) {
    const a = orders[k]!;
    const r = rdp[k]!;
    let eps: number;
    if (conversion === 'classic') {
      // Mironov 2017, Proposition 3.
      eps = r - Math.log(delta) / (a - 1);
      if (Number.isNaN(eps)) continue;
    } else if (r < 0) {
      eps = 0; // numerical noise from extreme parameters
    } else if (delta * delta + Math.expm1(-r) > 0) {
      eps = 0; // KL bound: delta <= sqrt(1 - exp(-KL))
    } else if (a > 1.01) {
      // Canonne, Kamath, Steinke 2020, Proposition 12; unstable as alpha -> 1, hence the cut-off.
      eps = r + Math.log1p(-1 / a) - Math.log(delta * a) / (a - 1);
    } else {
      eps = Infinity;
    }
    if (!found || eps < best) {
      best = eps;
      bestOrder = a;
      found = true;
    }
  }
  return { epsilon: Math.max(0, best), order: bestOrder };
}

export interface RdpToDeltaOptions {
  orders: readonly number[];
  rdp: readonly number[];
  epsilon: number;
  conversion?: RdpConversion;
}

/** The smallest delta over the orders for which the RDP curve implies (epsilon, delta)-DP. */
export function rdpToDelta(options: RdpToDeltaOptions): { delta: number; order: number } {
  const opts = requireObject(options, 'rdpToDelta options');
  const { orders, rdp } = readCurve(opts);
  const epsilon = requireNonNegative(requireFinite(opts.epsilon, 'epsilon'), 'epsilon');
  const conversion = opts.conversion === undefined ? 'improved' : requireOneOf(opts.conversion, 'conversion', CONVERSIONS);
  let best = Infinity;
  let bestOrder = orders[0]!;
  let found = false;
  for (let k = 0; k < orders.length; k++) {
    const a = orders[k]!;
    const r = rdp[k]!;
    let logDelta: number;
    if (conversion === 'classic') {
      logDelta = (r - epsilon) * (a - 1);
      if (Number.isNaN(logDelta)) continue;
    } else {
      logDelta = r <= 0 ? -Infinity : 0.5 * Math.log1p(-Math.exp(-r));
      if (a > 1.01) logDelta = Math.min(logDelta, (a - 1) * (r - epsilon + Math.log1p(-1 / a)) - Math.log(a));
    }
    if (!found || logDelta < best) {
      best = logDelta;
      bestOrder = a;
      found = true;
    }
  }
  return { delta: Math.min(Math.exp(best), 1), order: bestOrder };
}
