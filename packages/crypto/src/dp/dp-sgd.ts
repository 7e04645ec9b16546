// DP-SGD / DP-FedAvg privacy accounting on top of the RDP accountant.
//
// computeDpSgdEpsilon mirrors TF Privacy's compute_dp_sgd_privacy (q = batch / n,
// steps = ceil(epochs * n / batch), Poisson-subsampled Gaussian); the example- and user-level
// functions mirror compute_dp_sgd_privacy_lib._compute_dp_sgd_example_privacy and
// _compute_dp_sgd_user_privacy (group privacy by Vadhan 2017, Lemma 2.2).
import {
  requireInRange,
  requireNonNegative,
  requireObject,
  requireOneOf,
  requireOrders,
  requirePositive,
  requirePositiveInteger,
} from './args.js';
import {
  computeRdp,
  DEFAULT_RDP_ORDERS,
  DP_ACCOUNTING_RDP_ORDERS,
  rdpToEpsilon,
  type FractionalOrderMethod,
  type RdpConversion,
} from './rdp.js';

const CONVERSIONS: readonly RdpConversion[] = ['improved', 'classic'];
const FRACTIONAL_METHODS: readonly FractionalOrderMethod[] = ['absolute', 'signed'];

/** Noise calibration could not reach the requested privacy target. */
export class NoiseCalibrationError extends Error {
  readonly code = 'calibration_unreachable' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NoiseCalibrationError';
  }
}

function readCommon(opts: Record<string, unknown>, defaultOrders: readonly number[]): {
  orders: readonly number[];
  conversion: RdpConversion;
  fractionalMethod: FractionalOrderMethod;
} {
  return {
    orders: opts.orders === undefined ? defaultOrders : requireOrders(opts.orders, 'orders'),
    conversion: opts.conversion === undefined ? 'improved' : requireOneOf(opts.conversion, 'conversion', CONVERSIONS),
    fractionalMethod:
      opts.fractionalMethod === undefined ? 'absolute' : requireOneOf(opts.fractionalMethod, 'fractionalMethod', FRACTIONAL_METHODS),
  };
}

export interface DpSgdEpsilonOptions {
  /** Number of training examples. */
  n: number;
  batchSize: number;
  noiseMultiplier: number;
  /** Passes over the data; may be fractional. */
  epochs: number;
  delta: number;
  /** Defaults to DEFAULT_RDP_ORDERS (TF Privacy's). */
  orders?: readonly number[];
  conversion?: RdpConversion;
  fractionalMethod?: FractionalOrderMethod;
}

export interface DpSgdEpsilon {
  epsilon: number;
  order: number;
  steps: number;
  sampleRate: number;
}

/** Epsilon of DP-SGD with Poisson sampling rate batchSize / n over ceil(epochs * n / batchSize) steps. */
export function computeDpSgdEpsilon(options: DpSgdEpsilonOptions): DpSgdEpsilon {
  const opts = requireObject(options, 'computeDpSgdEpsilon options');
  const n = requirePositiveInteger(opts.n, 'n');
  const batchSize = requirePositiveInteger(opts.batchSize, 'batchSize');
  if (batchSize > n) throw new RangeError('batchSize must be <= n');
  const noiseMultiplier = requireNonNegative(opts.noiseMultiplier, 'noiseMultiplier');
  const epochs = requirePositive(opts.epochs, 'epochs');
  const delta = requireInRange(opts.delta, 'delta', 0, 1);
  const { orders, conversion, fractionalMethod } = readCommon(opts, DEFAULT_RDP_ORDERS);
  const sampleRate = batchSize / n;
  const steps = Math.ceil((epochs * n) / batchSize);
  const rdp = computeRdp({ q: sampleRate, noiseMultiplier, steps, orders, fractionalMethod });
  const { epsilon, order } = rdpToEpsilon({ orders, rdp, delta, conversion });
  return { epsilon, order, steps, sampleRate };
}

export interface CalibrateNoiseOptions {
  targetEpsilon: number;
  delta: number;
  /** Poisson sampling rate per step; 1 for full participation (e.g. every party in every FedAvg round). */
  sampleRate: number;
  steps: number;
  orders?: readonly number[];
  conversion?: RdpConversion;
  fractionalMethod?: FractionalOrderMethod;
}

export interface CalibratedNoise {
  /** The smallest noise multiplier found (to 1e-3 relative) whose epsilon is <= targetEpsilon. */
  noiseMultiplier: number;
  /** The epsilon actually spent at that noise multiplier (<= targetEpsilon). */
  epsilon: number;
  order: number;
}

const CALIBRATION_RELATIVE_TOLERANCE = 1e-3;
const CALIBRATION_MAX_SIGMA = 1e6;

/**
 * The smallest Gaussian noise multiplier (within 1e-3 relative, rounded up) for which `steps`
 * compositions of the subsampled Gaussian at `sampleRate` are (targetEpsilon, delta)-DP. Bisection.
 */
export function calibrateNoiseMultiplier(options: CalibrateNoiseOptions): CalibratedNoise {
  const opts = requireObject(options, 'calibrateNoiseMultiplier options');
  const targetEpsilon = requirePositive(opts.targetEpsilon, 'targetEpsilon');
  const delta = requireInRange(opts.delta, 'delta', 0, 1);
  if (delta === 0) throw new RangeError('delta must be > 0 for the Gaussian mechanism');
  const sampleRate = requireInRange(opts.sampleRate, 'sampleRate', 0, 1);
  if (sampleRate === 0) throw new RangeError('sampleRate must be > 0');
  const steps = requirePositiveInteger(opts.steps, 'steps');
  const { orders, conversion, fractionalMethod } = readCommon(opts, DEFAULT_RDP_ORDERS);
  const spend = (sigma: number): { epsilon: number; order: number } =>
    rdpToEpsilon({ orders, rdp: computeRdp({ q: sampleRate, noiseMultiplier: sigma, steps, orders, fractionalMethod }), delta, conversion });

  let hi = 1;
  let atHi = spend(hi);
  while (!(atHi.epsilon <= targetEpsilon)) {
    hi *= 2;
    if (hi > CALIBRATION_MAX_SIGMA) {
      throw new NoiseCalibrationError(`no noise multiplier up to ${CALIBRATION_MAX_SIGMA} reaches epsilon ${targetEpsilon}`);
    }
    atHi = spend(hi);
  }
  let lo = hi / 2;
  while (lo > 1e-6 && spend(lo).epsilon <= targetEpsilon) {
    hi = lo;
    lo /= 2;
  }
  atHi = spend(hi);
  while ((hi - lo) / hi > CALIBRATION_RELATIVE_TOLERANCE) {
    const mid = (lo + hi) / 2;
    const atMid = spend(mid);
    if (atMid.epsilon <= targetEpsilon) {
      hi = mid;
      atHi = atMid;
    } else {
      lo = mid;
    }
  }
  return { noiseMultiplier: hi, epsilon: atHi.epsilon, order: atHi.order };
}

export interface ExamplePrivacyOptions {
  /** Passes over the data; may be fractional. */
  epochs: number;
  noiseMultiplier: number;
  delta: number;
  /** Microbatching doubles the sensitivity in add-or-remove adjacency, i.e. halves the noise multiplier. */
  usedMicrobatching: boolean;
  /** Poisson sampling probability; omit when each example is seen once per epoch in arbitrary order. */
  poissonSamplingProbability?: number;
  /** Defaults to DP_ACCOUNTING_RDP_ORDERS (dp_accounting's RdpAccountant). */
  orders?: readonly number[];
  fractionalMethod?: FractionalOrderMethod;
}

function readExampleOptions(opts: Record<string, unknown>): Required<Omit<ExamplePrivacyOptions, 'poissonSamplingProbability'>> & {
  poissonSamplingProbability: number | undefined;
} {
  const epochs = requirePositive(opts.epochs, 'epochs');
  const noiseMultiplier = requireNonNegative(opts.noiseMultiplier, 'noiseMultiplier');
  const delta = requireInRange(opts.delta, 'delta', 0, 1);
  if (typeof opts.usedMicrobatching !== 'boolean') throw new TypeError('usedMicrobatching must be a boolean');
  let poissonSamplingProbability: number | undefined;
  if (opts.poissonSamplingProbability !== undefined) {
    poissonSamplingProbability = requireInRange(opts.poissonSamplingProbability, 'poissonSamplingProbability', 0, 1);
    if (poissonSamplingProbability === 0) throw new RangeError('poissonSamplingProbability must be > 0');
  }
  const { orders, fractionalMethod } = readCommon(opts, DP_ACCOUNTING_RDP_ORDERS);
  return { epochs, noiseMultiplier, delta, usedMicrobatching: opts.usedMicrobatching, poissonSamplingProbability, orders, fractionalMethod };
}

function exampleEpsilon(o: ReturnType<typeof readExampleOptions>, delta: number): number {
  const sigma = o.usedMicrobatching ? o.noiseMultiplier / 2 : o.noiseMultiplier;
  const q = o.poissonSamplingProbability ?? 1;
  const steps = o.poissonSamplingProbability === undefined ? Math.ceil(o.epochs) : Math.ceil(o.epochs / q);
  const rdp = computeRdp({ q, noiseMultiplier: sigma, steps, orders: o.orders, fractionalMethod: o.fractionalMethod });
  return rdpToEpsilon({ orders: o.orders, rdp, delta, conversion: 'improved' }).epsilon;
}

/** Add-or-remove-one-example epsilon of DP-SGD, protecting every checkpoint (improved conversion). */
export function computeDpSgdExampleEpsilon(options: ExamplePrivacyOptions): number {
  const o = readExampleOptions(requireObject(options, 'computeDpSgdExampleEpsilon options'));
  return exampleEpsilon(o, o.delta);
}

export interface UserPrivacyOptions extends ExamplePrivacyOptions {
  /** Upper bound on the number of examples one user contributes. */
  maxExamplesPerUser: number;
}

/** log(exp(x) - 1). */
function logExpm1(x: number): number {
  return x + Math.log(-Math.expm1(-x));
}

/**
 * Add-or-remove-one-user epsilon by group privacy (Vadhan 2017, Lemma 2.2, with the tighter delta of
 * the proof's penultimate line): finds the example-level delta whose group delta equals `delta`, by a
 * line search in log(delta). Infinity when no finite user-level epsilon exists.
 */
export function computeDpSgdUserEpsilon(options: UserPrivacyOptions): number {
  const opts = requireObject(options, 'computeDpSgdUserEpsilon options');
  const o = readExampleOptions(opts);
  const k = requirePositiveInteger(opts.maxExamplesPerUser, 'maxExamplesPerUser');
  if (k === 1) return exampleEpsilon(o, o.delta);
  const cache = new Map<number, number>();
  const exampleEps = (logDelta: number): number => {
    let eps = cache.get(logDelta);
    if (eps === undefined) {
      eps = exampleEpsilon(o, Math.exp(logDelta));
      cache.set(logDelta, eps);
    }
    return eps;
  };
  const target = Math.log(o.delta);
  const gap = (logDelta: number): number => {
    const eps = exampleEps(logDelta);
    const userLogDelta = logDelta + logExpm1(k * eps) - logExpm1(eps);
    return userLogDelta - target;
  };
  let hi = target;
  let lo = hi - Math.log(10);
  let gapLo = gap(lo);
  while (gapLo > 0) {
    hi = lo - gapLo;
    lo = hi - Math.log(10);
    gapLo = gap(lo);
    if (!Number.isFinite(gapLo)) return Infinity;
  }
  // Bisection on the monotone gap: gap(lo) <= 0 <= gap(hi).
  for (let i = 0; i < 200 && hi - lo > 1e-10 * Math.max(1, Math.abs(lo)); i++) {
    const mid = (lo + hi) / 2;
    if (gap(mid) > 0) hi = mid;
    else lo = mid;
  }
  return k * exampleEps((lo + hi) / 2);
}
