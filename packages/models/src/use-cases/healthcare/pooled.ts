// From the summed statistics to the estimates: read each statistic back in real units (with the variance of
// its noise), then run the estimators of estimates.ts and the length-of-stay regression from its
// sufficient statistics XᵀX, Xᵀy and yᵀy (ordinary least squares by Cholesky, Golub & Van Loan §4.2).
//
// Error against the pooled plaintext analysis (noise-free sums; statistics.ts explains the fixed point):
//   - counts, events, person-time, proportions, hazards, hazard ratios and their intervals: exact
//     (floating-point rounding only);
//   - mean length of stay: at most 1/32 day (each stay is read at 1/16-day resolution);
//   - coefficient j: XᵀX is exact, so β̃ − β = (XᵀX)⁻¹Xᵀδ with |δᵢ| ≤ 1/32 and, by Cauchy-Schwarz,
//     |β̃ⱼ − βⱼ| ≤ sqrt([(XᵀX)⁻¹]ⱼⱼ) × sqrt(n) / 32;
//   - residual SD: |σ̃ − σ| ≤ (sqrt(n)/32 + (n/8) / sqrt(RSS̃)) / sqrt(n − p) (δ moves the residual norm by
//     at most ‖δ‖ ≤ sqrt(n)/32; yᵀy's rounding by at most n/8 day²), and coefficient j's SE by that times
//     sqrt([(XᵀX)⁻¹]ⱼⱼ).
// `QuantisationBounds` carries these figures, computed from the sums themselves.
//
// With noise the regression is refused, never ridge-biased, when XᵀX is not positive definite or when
// the noise is too large against the centred, correlation-scaled design (expected Frobenius norm of its
// perturbation above a quarter of its smallest eigenvalue, where a first-order error estimate stops
// being trustworthy). Otherwise each coefficient's SE adds the noise's first-order contribution
// A⁻¹(δb − δA β), and the residual SD is withheld when the noise in the RSS exceeds a third of it.
import type { SummedStatistics } from '../contract.js';
import { DIAGNOSES, TREATMENTS } from './schema.js';
import type { Diagnosis, Treatment } from './schema.js';
import { addArms, armEstimates, coefficient, hazardRatio, riskDifference, stratifiedHazardRatio, REGRESSION_TERMS } from './estimates.js';
import type { ArmSums, HealthcareEstimates, Noisy, RegressionEstimates } from './estimates.js';
import { cholesky, choleskyInverse, choleskySolve, matVec, symmetricEigenvalues } from './linalg.js';
import { AGE_BANDS, HEALTHCARE_SCALE, HEALTHCARE_STATISTICS, LENGTH_OF_STAY_STEPS_PER_DAY, STATISTIC_UNITS, ageBandStatisticName, cellStatisticName } from './statistics.js';
import type { AgeBand } from './statistics.js';

/** Largest error of one record's stay as the statistics read it, in days. */
export const LENGTH_OF_STAY_HALF_STEP = 1 / (2 * LENGTH_OF_STAY_STEPS_PER_DAY);
/** Largest rounding of one record's contribution to yᵀy, in day². */
export const LENGTH_OF_STAY_SQUARE_ROUNDING = (0.5 / HEALTHCARE_SCALE) * 512 ** 2;
/** Refuse the regression when the expected noise norm of the scaled centred design exceeds this fraction of its smallest eigenvalue. */
export const NOISE_CONDITION_LIMIT = 0.25;
/** Withhold the residual SD (and the SEs) when the noise SD of the RSS exceeds this fraction of it. */
export const RSS_NOISE_LIMIT = 1 / 3;

export interface PooledStatistics {
  readonly cells: Readonly<Record<Diagnosis, Readonly<Record<Treatment, ArmSums>>>>;
  readonly ageBands: Readonly<Record<AgeBand, Noisy>>;
  readonly male: Noisy;
  /** Noise SD of one statistic in real units of a count (records); 0 without noise. */
  readonly noiseStdRecords: number;
}

export interface QuantisationBounds {
  readonly meanLengthOfStayDays: number;
  /** Per coefficient, REGRESSION_TERMS order; empty when the regression was not estimated. */
  readonly coefficients: readonly number[];
  readonly coefficientSe: readonly number[];
  readonly residualStdDays: number | null;
}

export interface PooledAnalysis {
  readonly pooled: PooledStatistics;
  readonly estimates: HealthcareEstimates;
  /** The fixed-point error bounds against the plaintext analysis; they hold when the sum carries no noise. */
  readonly bounds: QuantisationBounds;
}

/** Checks the sum's shape against the model's layout. */
function requireSum(sum: SummedStatistics): void {
  if (typeof sum !== 'object' || sum === null) throw new TypeError('sum must be a SummedStatistics object');
  if (!Array.isArray(sum.values) || sum.values.length !== HEALTHCARE_STATISTICS.length) {
    throw new RangeError(`sum.values must hold ${HEALTHCARE_STATISTICS.length} statistics`);
  }
  if (!sum.values.every((v) => typeof v === 'number' && Number.isFinite(v))) throw new TypeError('sum.values must be finite numbers');
  if (sum.scale !== HEALTHCARE_SCALE) throw new RangeError(`sum.scale must be ${HEALTHCARE_SCALE}`);
  if (typeof sum.noiseStd !== 'number' || !(sum.noiseStd >= 0) || !Number.isFinite(sum.noiseStd)) throw new RangeError('sum.noiseStd must be a finite number >= 0');
  if (!Number.isInteger(sum.parties) || sum.parties < 1) throw new RangeError('sum.parties must be a positive integer');
}

/** One statistic in real units with its noise variance. */
function reader(sum: SummedStatistics): (name: string) => Noisy {
  const noise = sum.noiseStd / HEALTHCARE_SCALE;
  return (name) => {
    const unit = STATISTIC_UNITS.get(name);
    if (unit === undefined) throw new RangeError(`unknown statistic ${name}`);
    return { value: (sum.get(name) / HEALTHCARE_SCALE) * unit, variance: (noise * unit) ** 2 };
  };
}

function readPooled(sum: SummedStatistics): PooledStatistics {
  const read = reader(sum);
  const cells = {} as Record<Diagnosis, Record<Treatment, ArmSums>>;
  for (const d of DIAGNOSES) {
    const byArm = {} as Record<Treatment, ArmSums>;
    for (const k of TREATMENTS) {
      byArm[k] = {
        patients: read(cellStatisticName('patients', d, k)),
        events: read(cellStatisticName('events', d, k)),
        followUpDays: read(cellStatisticName('follow_up_days', d, k)),
        lengthOfStayDays: read(cellStatisticName('length_of_stay', d, k)),
      };
    }
    cells[d] = byArm;
  }
  const ageBands = {} as Record<AgeBand, Noisy>;
  for (const [band] of AGE_BANDS) ageBands[band] = read(ageBandStatisticName(band));
  return { cells, ageBands, male: read('count:male'), noiseStdRecords: sum.noiseStd / HEALTHCARE_SCALE };
}

export function armTotal(pooled: PooledStatistics, arm: Treatment): ArmSums {
  return DIAGNOSES.map((d) => pooled.cells[d][arm]).reduce(addArms);
}

// ---- the regression from its sufficient statistics ----

type Slot = readonly ['A', number, number] | readonly ['b', number] | readonly ['yy'];

/** Where each statistic lands in XᵀX (upper triangle), Xᵀy and yᵀy. Columns: 1, age/10, male, intervention, comorbidities. */
const SLOTS: readonly (readonly [string, readonly Slot[]])[] = [
  ['count:patients', [['A', 0, 0]]],
  ['count:intervention', [['A', 0, 3], ['A', 3, 3]]],
  ['sum:length_of_stay', [['b', 0]]],
  ['cross_product:intervention*length_of_stay', [['b', 3]]],
  ['sum:age', [['A', 0, 1]]],
  ['count:male', [['A', 0, 2], ['A', 2, 2]]],
  ['sum:comorbidities', [['A', 0, 4]]],
  ['sum_squares:age', [['A', 1, 1]]],
  ['cross_product:age*male', [['A', 1, 2]]],
  ['cross_product:age*intervention', [['A', 1, 3]]],
  ['cross_product:age*comorbidities', [['A', 1, 4]]],
  ['cross_product:male*intervention', [['A', 2, 3]]],
  ['cross_product:male*comorbidities', [['A', 2, 4]]],
  ['cross_product:intervention*comorbidities', [['A', 3, 4]]],
  ['sum_squares:comorbidities', [['A', 4, 4]]],
  ['cross_product:age*length_of_stay', [['b', 1]]],
  ['cross_product:male*length_of_stay', [['b', 2]]],
  ['cross_product:comorbidities*length_of_stay', [['b', 4]]],
  ['sum_squares:length_of_stay', [['yy']]],
];

const P = REGRESSION_TERMS.length;
const zeros = (n: number): number[] => new Array<number>(n).fill(0);

interface RegressionResult {
  readonly regression: RegressionEstimates;
  readonly coefficientBounds: number[];
  readonly seBounds: number[];
  readonly residualBound: number | null;
}

function notEstimable(reason: string): RegressionResult {
  return { regression: { status: 'not_estimable', reason }, coefficientBounds: [], seBounds: [], residualBound: null };
}

function regress(read: (name: string) => Noisy, noisy: boolean): RegressionResult {
  const a: number[][] = Array.from({ length: P }, () => zeros(P));
  const b = zeros(P);
  let yy = 0;
  const stats = SLOTS.map(([name, slots]) => ({ ...read(name), slots }));
  for (const s of stats) {
    for (const slot of s.slots) {
      if (slot[0] === 'A') {
        a[slot[1]]![slot[2]]! += s.value;
        if (slot[1] !== slot[2]) a[slot[2]]![slot[1]]! += s.value;
      } else if (slot[0] === 'b') b[slot[1]]! += s.value;
      else yy += s.value;
    }
  }
  const n = a[0]![0]!;
  if (!(n >= P + 2)) return notEstimable('too few patients for the regression');
  const l = cholesky(a);
  const eigen = symmetricEigenvalues(a);
  if (l === null || !(eigen[0]! > 1e-10 * eigen[P - 1]!)) {
    return notEstimable(
      noisy ? 'XᵀX with its noise is not positive definite, so no coefficient is reported' : 'the design matrix XᵀX is singular (a regressor is constant or collinear)',
    );
  }
  if (noisy) {
    const rho = centredNoiseRatio(a, stats);
    if (!(rho <= NOISE_CONDITION_LIMIT)) {
      return notEstimable('the noise is too large against the design: XᵀX is ill-conditioned relative to its noise, so no coefficient is reported');
    }
  }
  const beta = choleskySolve(l, b);
  const inv = choleskyInverse(l);
  const rss = Math.max(0, yy - beta.reduce((s, bj, j) => s + bj * b[j]!, 0));
  const df = n - P;
  // First-order noise: δβ = A⁻¹(δb − δA β), δRSS = δyy − 2βᵀδb + βᵀδA β (independent statistics).
  const noiseVar = zeros(P);
  let rssNoiseVar = 0;
  for (const s of stats) {
    if (s.variance === 0) continue;
    const v = zeros(P);
    let w = 0;
    for (const slot of s.slots) {
      if (slot[0] === 'A') {
        const [, i, j] = slot;
        if (i === j) {
          v[i]! -= beta[i]!;
          w += beta[i]! ** 2;
        } else {
          v[i]! -= beta[j]!;
          v[j]! -= beta[i]!;
          w += 2 * beta[i]! * beta[j]!;
        }
      } else if (slot[0] === 'b') {
        v[slot[1]]! += 1;
        w -= 2 * beta[slot[1]]!;
      } else w += 1;
    }
    const dv = matVec(inv, v);
    for (let j = 0; j < P; j++) noiseVar[j]! += s.variance * dv[j]! ** 2;
    rssNoiseVar += s.variance * w * w;
  }
  const residualKnown = rss > 0 && Math.sqrt(rssNoiseVar) <= RSS_NOISE_LIMIT * rss;
  const sigma = residualKnown ? Math.sqrt(rss / df) : null;
  const coefficients = REGRESSION_TERMS.map((term, j) =>
    coefficient(term, beta[j]!, sigma === null ? null : sigma * Math.sqrt(inv[j]![j]!), Math.sqrt(noiseVar[j]!)),
  );
  const h = LENGTH_OF_STAY_HALF_STEP;
  const residualBound = rss > 0 ? (Math.sqrt(n) * h + (n * LENGTH_OF_STAY_SQUARE_ROUNDING) / Math.sqrt(rss)) / Math.sqrt(df) : null;
  return {
    regression: { status: 'estimated', observations: Math.round(n), coefficients, residualStdDays: sigma },
    coefficientBounds: REGRESSION_TERMS.map((_, j) => Math.sqrt(inv[j]![j]! * n) * h),
    seBounds: REGRESSION_TERMS.map((_, j) => (residualBound === null ? Infinity : residualBound * Math.sqrt(inv[j]![j]!))),
    residualBound,
  };
}

/**
 * Expected Frobenius norm of the noise in the centred, correlation-scaled design of the slopes,
 * C = A_xx − A_x1 A_1x / n, over C's smallest eigenvalue (scaled). First order in the noise.
 */
function centredNoiseRatio(a: readonly (readonly number[])[], stats: readonly { variance: number; slots: readonly Slot[] }[]): number {
  const n = a[0]![0]!;
  const q = P - 1;
  const mu = Array.from({ length: q }, (_, i) => a[0]![i + 1]! / n);
  const c = Array.from({ length: q }, (_, i) => Array.from({ length: q }, (_, j) => a[i + 1]![j + 1]! - n * mu[i]! * mu[j]!));
  if (c.some((row, i) => !(row[i]! > 0))) return Infinity;
  const d = c.map((row, i) => 1 / Math.sqrt(row[i]!));
  const scaled = c.map((row, i) => row.map((v, j) => v * d[i]! * d[j]!));
  const lambdaMin = symmetricEigenvalues(scaled)[0]!;
  if (!(lambdaMin > 0)) return Infinity;
  // ∂C_ij/∂A_kl for the slots: A_ij → 1; A_0j → −μ_i; A_0i → −μ_j; A_00 → μ_i μ_j.
  let frob = 0;
  for (const s of stats) {
    if (s.variance === 0) continue;
    const g = Array.from({ length: q }, () => zeros(q));
    for (const slot of s.slots) {
      if (slot[0] !== 'A') continue;
      const [, r, k] = slot;
      for (let i = 0; i < q; i++) {
        for (let j = 0; j < q; j++) {
          const I = i + 1;
          const J = j + 1;
          if ((r === I && k === J) || (r === J && k === I)) g[i]![j]! += 1;
          if (r === 0 && k === J) g[i]![j]! -= mu[i]!;
          if (r === 0 && k === I) g[i]![j]! -= mu[j]!;
          if (r === 0 && k === 0) g[i]![j]! += mu[i]! * mu[j]!;
        }
      }
    }
    for (let i = 0; i < q; i++) for (let j = 0; j < q; j++) frob += s.variance * (g[i]![j]! * d[i]! * d[j]!) ** 2;
  }
  return Math.sqrt(frob) / lambdaMin;
}

/** The estimates, and their fixed-point error bounds, from the summed statistics. RangeError/TypeError for a malformed sum. */
export function analysePooledStatistics(sum: SummedStatistics): PooledAnalysis {
  requireSum(sum);
  const read = reader(sum);
  const pooled = readPooled(sum);
  const intervention = armTotal(pooled, 'intervention');
  const standard = armTotal(pooled, 'standard');
  const all = addArms(intervention, standard);
  const total = armEstimates(all);
  const reg = regress(read, sum.noiseStd > 0);
  const estimates: HealthcareEstimates = {
    patients: total.patients,
    events: total.events,
    arms: { standard: armEstimates(standard), intervention: armEstimates(intervention) },
    riskDifference: riskDifference(intervention, standard),
    hazardRatio: hazardRatio(intervention, standard),
    stratifiedHazardRatio: stratifiedHazardRatio(DIAGNOSES.map((d) => pooled.cells[d])),
    regression: reg.regression,
  };
  return {
    pooled,
    estimates,
    bounds: {
      meanLengthOfStayDays: LENGTH_OF_STAY_HALF_STEP,
      coefficients: reg.coefficientBounds,
      coefficientSe: reg.seBounds,
      residualStdDays: reg.residualBound,
    },
  };
}
