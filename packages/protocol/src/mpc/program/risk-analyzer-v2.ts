// risk-analyzer-v2 under `mpc` (DESIGN §7), the compute nodes' program, declared as data. Its input is
// the sum over the parties of the statistic vector that @tenzro/models mpcStatisticVector shares
// (MPC_STATISTIC_NAMES there; models does not depend on protocol, so the names are repeated here and a
// test pins the two lists together). Every input is a real at scale 8 (exact: layout sums / 256).
//
// On shares: for every pair a ≤ b of the 15 features, with n the record count, S_a the feature sums,
// Q_ab the second moments (Σ a² for a = b, a binary feature's being its count; Σ ab; 0 for the exclusive
// channel pairs), and for the risk score L (labelled), Y (fraud), SL_j, F_j (labelled / fraud sums):
//   multiply  [n…, S_a…, n, L, L…, Y…] ⊙ [Q_ab…, S_b…, n, L, F_j…, SL_j…]          (one Beaver / GRR step)
//   linear    cov_ab = 2^8 (n Q_ab − S_a S_b), n², L², score = Σ_j W_j (L F_j − Y SL_j)   (scale 24)
//   truncate  by 16 bits → scale 8 (Catrina–Saxena: error ≤ ⌊t/2⌋ + 1 units of 2^−8)
//   open      the declared outputs below.
// Revealed: the covariance numerators n²·cov(a, b) (variances on the diagonal) and their common
// denominator n², the labelled count's square L² and the risk-score numerator L²·Σ_j w_j cov_L(x_j, y)
// (a weighted sum of the label covariances — the numerators of the lifts — of the near-threshold,
// structuring and cross-border features). Numerators with a revealed denominator keep every division
// out of the protocol (secure division would need iterative approximation and many more rounds); n² and
// L² reveal the pooled record and labelled counts, which the secure-aggregation result already states.
// The summed moments themselves (S_a, Q_ab, F_j, SL_j) are never opened.
import type { MpcLinearTerm, MpcProgram, MpcProgramStep } from './program.js';

/** The 15 features (layout order) and whether each is 0/1. */
const FEATURES: ReadonlyArray<readonly [name: string, binary: boolean]> = [
  ['log10_amount_over_6', false],
  ['near_reporting_threshold', true],
  ['channel_cash', true],
  ['channel_wire', true],
  ['channel_card', true],
  ['foreign_country', true],
  ['direction_credit', true],
  ['pass_through_quality', false],
  ['chain_strength_over_4', false],
  ['structuring_evidence', false],
  ['days_since_previous_over_365', false],
  ['log10_amount_over_account_median_over_3', false],
  ['log10_account_records_over_4', false],
  ['transfer_linked_both_sides', true],
  ['night_utc', true],
];
const EXCLUSIVE = new Set(['channel_cash*channel_wire', 'channel_cash*channel_card', 'channel_wire*channel_card']);

/** Public weights of the risk score, multiples of 2^−8 (exact at scale 8). */
export const RISK_SCORE_WEIGHTS: ReadonlyArray<readonly [feature: string, weight: number]> = Object.freeze([
  Object.freeze(['near_reporting_threshold', 1] as const),
  Object.freeze(['structuring_evidence', 1] as const),
  Object.freeze(['foreign_country', 0.5] as const),
]);

/** Scale of every input and output (value = integer / 2^8). */
export const MPC_PROGRAM_SCALE = 8;
/** Largest value of one party's statistic (a real), as models' MPC_STATISTIC_MAX. */
export const MPC_PROGRAM_INPUT_MAX = 2 ** 32;
/** Most parties: the layout's (AGGREGATE_MAX_PARTIES). */
export const MPC_PROGRAM_MAX_PARTIES = 128;

const single = (name: string, binary: boolean, prefix = ''): string => `${binary ? 'count' : 'sum'}:${prefix}${name}`;

function buildInputNames(): string[] {
  const names = ['count:records'];
  for (const [f, b] of FEATURES) names.push(single(f, b));
  for (const [f, b] of FEATURES) if (!b) names.push(`sum_squares:${f}`);
  for (let a = 0; a < FEATURES.length; a++) {
    for (let b = a + 1; b < FEATURES.length; b++) {
      const key = `${FEATURES[a]![0]}*${FEATURES[b]![0]}`;
      if (!EXCLUSIVE.has(key)) names.push(`cross_product:${key}`);
    }
  }
  names.push('count:labelled', 'count:fraud');
  for (const [f] of RISK_SCORE_WEIGHTS) {
    const b = FEATURES.find(([n]) => n === f)![1];
    names.push(single(f, b, 'labelled*'), single(f, b, 'fraud*'));
  }
  return names;
}

/** Bits of |value| < 2^(k−1) of the scale-24 register truncated (see MPC_PROGRAM_VALUE_BITS). */
function valueBits(): number {
  const v = BigInt(MPC_PROGRAM_MAX_PARTIES * MPC_PROGRAM_INPUT_MAX); // summed input, real
  const product = v * v * (1n << 16n); // |n Q − S S| and every product, at scale 16
  const weightSum = RISK_SCORE_WEIGHTS.reduce((s, [, w]) => s + BigInt(Math.round(Math.abs(w) * 256)), 0n);
  const coefficient = weightSum > 256n ? weightSum : 256n;
  return (product * coefficient).toString(2).length + 1;
}

function build(): MpcProgram {
  const inputNames = buildInputNames();
  const at = new Map(inputNames.map((n, i) => [n, i]));
  const idx = (name: string): number => at.get(name)!;
  const n = idx('count:records');
  const S = FEATURES.map(([f, b]) => idx(single(f, b)));
  const pairs: Array<[number, number]> = [];
  for (let a = 0; a < FEATURES.length; a++) for (let b = a; b < FEATURES.length; b++) pairs.push([a, b]);
  const second = ([a, b]: [number, number]): MpcLinearTerm[] => {
    if (a === b) return [['in', FEATURES[a]![1] ? S[a]! : idx(`sum_squares:${FEATURES[a]![0]}`), 1]];
    const key = `${FEATURES[a]![0]}*${FEATURES[b]![0]}`;
    return EXCLUSIVE.has(key) ? [] : [['in', idx(`cross_product:${key}`), 1]];
  };
  const L = idx('count:labelled');
  const Y = idx('count:fraud');
  const scoreFeatures = RISK_SCORE_WEIGHTS.map(([f]) => FEATURES.find(([name]) => name === f)!);
  const SL = scoreFeatures.map(([f, b]) => idx(single(f, b, 'labelled*')));
  const Fr = scoreFeatures.map(([f, b]) => idx(single(f, b, 'fraud*')));
  const K = scoreFeatures.length;
  const P = pairs.length;
  const one = (i: number): MpcLinearTerm[] => [['in', i, 1]];
  const left = [...pairs.map(() => one(n)), ...pairs.map(([a]) => one(S[a]!)), one(n), one(L), ...SL.map(() => one(L)), ...SL.map(() => one(Y))];
  const right = [...pairs.map(second), ...pairs.map(([, b]) => one(S[b]!)), one(n), one(L), ...Fr.map(one), ...SL.map(one)];
  const scaled: MpcLinearTerm[][] = [];
  for (let i = 0; i < P; i++) scaled.push([['p', i, 256], ['p', P + i, -256]]);
  scaled.push([['p', 2 * P, 256]], [['p', 2 * P + 1, 256]]);
  scaled.push(
    RISK_SCORE_WEIGHTS.flatMap(([, w], j): MpcLinearTerm[] => {
      const W = Math.round(w * 256);
      return [['p', 2 * P + 2 + j, W], ['p', 2 * P + 2 + K + j, -W]];
    }),
  );
  const outputs = [
    ...pairs.map(([a, b]) => (a === b ? `variance_numerator:${FEATURES[a]![0]}` : `covariance_numerator:${FEATURES[a]![0]}*${FEATURES[b]![0]}`)),
    'denominator:records_squared',
    'denominator:labelled_squared',
    'risk_score_numerator',
  ];
  const steps: MpcProgramStep[] = [
    { kind: 'linear', out: 'l', rows: left },
    { kind: 'linear', out: 'r', rows: right },
    { kind: 'multiply', out: 'p', a: 'l', b: 'r' },
    { kind: 'linear', out: 'q', rows: scaled },
    { kind: 'truncate', out: 'o', from: 'q', bits: 16, valueBits: valueBits() },
    { kind: 'open', from: 'o', names: outputs, scale: MPC_PROGRAM_SCALE },
  ];
  return deepFreeze({ id: 'risk-analyzer-v2.mpc.v1', inputNames, maxParties: MPC_PROGRAM_MAX_PARTIES, steps, outputs });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/**
 * risk-analyzer-v2's program under `mpc` (see the module header). Outputs, in order: 120
 * `variance_numerator:<f>` / `covariance_numerator:<a>*<b>` (n·Σab − Σa·Σb, pairs a ≤ b in layout
 * order), `denominator:records_squared` (n²), `denominator:labelled_squared` (L²), `risk_score_numerator`.
 */
export const RISK_ANALYZER_MPC_PROGRAM: MpcProgram = build();

/** Error bound of every output, in units of 2^−8: one truncation with t contributors. */
export function riskAnalyzerOutputErrorBound(threshold: number): number {
  return Math.floor(threshold / 2) + 1;
}
