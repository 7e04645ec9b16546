// risk-analyzer-v2 under `mpc` (DESIGN §7, docs/mpc.md): the analysis of the outputs the compute nodes'
// program reveals, reconstructed inside the enclave. The program (@tenzro/protocol mpc/program,
// risk-analyzer-v2.ts) opens only numerators with a revealed denominator, at scale 2^−8:
//   variance_numerator:<f>           n² · var(f)       = n·Σf² − (Σf)²
//   covariance_numerator:<a>*<b>     n² · cov(a, b)    = n·Σab − Σa·Σb    (pairs a < b, layout order)
//   denominator:records_squared      n²                (n: pooled record count)
//   denominator:labelled_squared     L²                (L: pooled labelled-record count)
//   risk_score_numerator             L² · Σ_j w_j cov_L(x_j, fraud)  (weights MPC_RISK_SCORE_WEIGHTS)
// Models does not depend on protocol: the names are built here from the layout's features and a test in
// the enclave package pins them to the program's outputs.
//
// Fixed point: every output carries an error of at most `errorBound` units of 2^−scale (one probabilistic
// truncation, riskAnalyzerOutputErrorBound(t) in protocol). The counts are exact (n², L² are integers and
// the error is below 1/2); variances, correlations and the score carry the propagated bound, stated in the
// findings. A correlation is clamped to [−1, 1] only where the fixed-point error pushed it beyond (counted).
//
// Nothing here sees a record, a party's statistics, or the summed first moments: no means, no rates, no
// per-feature fraud lift, no per-record or per-party figure.
import { ModelRunError } from '../errors.js';
import { DEFAULT_MAX_TOKENS, aggregate, formatInt, round } from '../report.js';
import { RISK_ANALYZER_LAYOUT } from '../aggregates/layout.js';
import type { Aggregate, ModelOutput, MpcPrivacyReport } from '../types.js';

/** Public weights of the risk score (the program's RISK_SCORE_WEIGHTS; pinned by an enclave test). */
export const MPC_RISK_SCORE_WEIGHTS: ReadonlyArray<readonly [feature: string, weight: number]> = Object.freeze([
  Object.freeze(['near_reporting_threshold', 1] as const),
  Object.freeze(['structuring_evidence', 1] as const),
  Object.freeze(['foreign_country', 0.5] as const),
]);

/** Scale of every revealed output (value = integer / 2^8). */
export const MPC_OUTPUT_SCALE = 8;

const FEATURES = RISK_ANALYZER_LAYOUT.features;

function pairOutputName(a: number, b: number): string {
  return a === b ? `variance_numerator:${FEATURES[a]!.name}` : `covariance_numerator:${FEATURES[a]!.name}*${FEATURES[b]!.name}`;
}

/** The program's declared outputs, in order (pairs a ≤ b of the 15 features, then the denominators and the score). */
export const MPC_OUTPUT_NAMES: readonly string[] = Object.freeze([
  ...FEATURES.flatMap((_, a) => FEATURES.slice(a).map((__, k) => pairOutputName(a, a + k))),
  'denominator:records_squared',
  'denominator:labelled_squared',
  'risk_score_numerator',
]);

/** What the method can and cannot analyse; stated in every result. */
export const MPC_CAPABILITIES = Object.freeze({
  analysed: Object.freeze([
    'pooled record and labelled-record counts',
    "variances and standard deviations of the model's 15 per-record features over the pooled records",
    'the pooled correlation matrix of those features, and the strongest correlations (overall and with amounts just below the 10,000 reporting threshold)',
    'a pooled risk score: the weighted sum of the label covariances of the near-threshold, structuring and cross-border features',
  ]),
  notPossibleUnderMpc: Object.freeze([
    "per-record risk scores or flags, and each institution's list of its own flagged transactions",
    'per-institution findings or any per-institution figure (the nodes add the shared vectors; only declared pooled outputs are opened)',
    'linking transfers across institutions: mule chains and pass-through links that span banks',
    'dormancy, structuring or pass-through sequences (they need the records in order)',
    'feature means, rates, histograms and per-feature fraud rates or lifts: the program opens only second-moment numerators, their denominators and one weighted label covariance',
    'medians, quantiles or any rank statistic, and non-linear models',
  ]),
});

export interface MpcAnalysisOptions {
  /** Parties whose statistic vectors are in the sum (the included parties). */
  parties: number;
  /** Node threshold t and number of compute nodes n of the session. */
  threshold: number;
  totalNodes: number;
  /** The nodes whose output shares were reconstructed (indices). */
  nodesUsed: readonly number[];
  /** Error of every output, in units of 2^−scale (protocol riskAnalyzerOutputErrorBound(t)). */
  errorBound: number;
  /** Default MPC_OUTPUT_SCALE. */
  scale?: number;
  modelId?: string;
  version?: string;
  /** Default 3. */
  minGroupSize?: number;
  prompt?: string;
  maxTokens?: number;
  temperature?: number;
}

const DEFAULT_MIN_GROUP_SIZE = 3;
const MAX_PROMPT_CHARS = 500;
const TOP = 5;

function invalid(message: string): never {
  throw new ModelRunError('invalid_input', message);
}

function cutWords(text: string, maxWords: number): string {
  let count = 0;
  let out = '';
  for (const token of text.split(/(\s+)/)) {
    if (/\S/.test(token)) {
      if (count === maxWords) return `${out.trimEnd()} …`;
      count++;
    }
    out += token;
  }
  return out;
}

function redactIdLike(text: string): string {
  return text.replace(/[A-Za-z0-9_-]{8,}/g, (token) => (/\d/.test(token) && /[A-Za-z]/.test(token) ? '[redacted]' : token));
}

/** The output values by name, from a Map of { value } (reconstructMpcProgramOutputs) or a plain record. */
function readOutputs(outputs: ReadonlyMap<string, { value: number }> | Record<string, number>): (name: string) => number {
  if (typeof outputs !== 'object' || outputs === null) throw new TypeError('outputs must be a Map or a record of output values');
  const isMap = outputs instanceof Map;
  const values = new Map<string, number>();
  for (const name of MPC_OUTPUT_NAMES) {
    const v = isMap ? (outputs as ReadonlyMap<string, { value: number }>).get(name)?.value : Object.hasOwn(outputs, name) ? (outputs as Record<string, number>)[name] : undefined;
    if (typeof v !== 'number' || !Number.isFinite(v)) invalid(`outputs.${name} must be a finite number`);
    values.set(name, v);
  }
  return (name) => values.get(name)!;
}

/** The exact count c from c² revealed with absolute error ≤ delta (refused when it is no square). */
function countFromSquare(square: number, delta: number, name: string): number {
  if (square < -delta) invalid(`outputs.${name} is negative`);
  const c = Math.round(Math.sqrt(Math.max(0, square)));
  if (Math.abs(c * c - square) > delta + Math.abs(square) * 2 ** -50 + 1e-9) invalid(`outputs.${name} is not the square of a count within the error bound`);
  return c;
}

/**
 * Bound on |r − r_true| for r = c / sqrt(a b) when each of c, a, b is off by at most delta (interval
 * arithmetic over the corners); Infinity when a or b is within delta of 0.
 */
function correlationErrorBound(c: number, a: number, b: number, delta: number): number {
  if (a - delta <= 0 || b - delta <= 0) return Infinity;
  const r = c / Math.sqrt(a * b);
  let worst = 0;
  for (const dc of [-delta, delta]) {
    for (const den of [Math.sqrt((a - delta) * (b - delta)), Math.sqrt((a + delta) * (b + delta))]) {
      worst = Math.max(worst, Math.abs((c + dc) / den - r));
    }
  }
  return worst;
}

/**
 * The model output of risk-analyzer-v2 under `mpc` from the program's revealed outputs (see the module
 * header). Same shape as the other methods' outputs: shared content and findings, no private findings.
 * @throws ModelRunError invalid_input for missing or inconsistent outputs; TypeError / RangeError for bad options.
 */
export function analyzeMpcOutputs(
  outputs: ReadonlyMap<string, { value: number }> | Record<string, number>,
  options: MpcAnalysisOptions,
): ModelOutput<MpcPrivacyReport> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const { parties, threshold, totalNodes, errorBound } = options;
  if (!Number.isInteger(parties) || parties < 1) throw new RangeError('options.parties must be a positive integer');
  if (!Number.isInteger(totalNodes) || totalNodes < 2) throw new RangeError('options.totalNodes must be an integer of at least 2');
  if (!Number.isInteger(threshold) || threshold < 2 || threshold > totalNodes) throw new RangeError('options.threshold must be an integer from 2 to totalNodes');
  if (!Array.isArray(options.nodesUsed) || options.nodesUsed.some((x) => !Number.isInteger(x) || x < 1 || x > totalNodes)) {
    throw new RangeError('options.nodesUsed must list node indices from 1 to totalNodes');
  }
  if (typeof errorBound !== 'number' || !Number.isFinite(errorBound) || errorBound < 0) throw new RangeError('options.errorBound must be a non-negative number');
  const scale = options.scale ?? MPC_OUTPUT_SCALE;
  if (!Number.isInteger(scale) || scale < 0 || scale > 52) throw new RangeError('options.scale must be an integer from 0 to 52');
  const m = options.minGroupSize ?? DEFAULT_MIN_GROUP_SIZE;
  if (!Number.isInteger(m) || m < 1) throw new RangeError('options.minGroupSize must be a positive integer');
  const maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) throw new RangeError('options.maxTokens must be a positive integer');
  const temperature = options.temperature ?? 0;
  const modelId = options.modelId ?? 'risk-analyzer-v2';
  const version = options.version ?? '2.0.0';
  const nodesUsed = [...options.nodesUsed].sort((a, b) => a - b);
  const get = readOutputs(outputs);
  const delta = errorBound / 2 ** scale;

  // ---- counts (exact) ----
  const N = countFromSquare(get('denominator:records_squared'), delta, 'denominator:records_squared');
  const L = countFromSquare(get('denominator:labelled_squared'), delta, 'denominator:labelled_squared');
  if (L > N) invalid('the labelled count exceeds the record count');
  const records = aggregate(N, m, null);
  const labelled = aggregate(L, m, null);
  const enough = N >= m;

  // ---- variances and correlations ----
  const F = FEATURES;
  const num = (a: number, b: number): number => get(a <= b ? pairOutputName(a, b) : pairOutputName(b, a));
  const N2 = N * N;
  let clampedVariances = 0;
  let clampedCorrelations = 0;
  let worstCorrelationError = 0;
  let featureStatistics: Aggregate = aggregate(N, m, null);
  let strongest: { features: [string, string]; correlation: number }[] = [];
  let nearThreshold: { feature: string; correlation: number }[] = [];
  const corr: (number | null)[][] = F.map(() => F.map(() => null));
  if (enough && N > 0) {
    const variances = F.map((f, j) => {
      let v = num(j, j);
      if (v < 0) {
        clampedVariances++;
        v = 0;
      }
      return v / N2;
    });
    const usable = F.map((f, j) => num(j, j) > 2 * delta && Math.sqrt(variances[j]!) > 1e-6 * (f.max - f.min));
    for (let a = 0; a < F.length; a++) {
      for (let b = a; b < F.length; b++) {
        if (!usable[a] || !usable[b]) continue;
        if (a === b) {
          corr[a]![a] = 1;
          continue;
        }
        const c = num(a, b);
        const va = num(a, a);
        const vb = num(b, b);
        let r = c / Math.sqrt(va * vb);
        worstCorrelationError = Math.max(worstCorrelationError, correlationErrorBound(c, va, vb, delta));
        if (r > 1 || r < -1) {
          clampedCorrelations++;
          r = r > 1 ? 1 : -1;
        }
        corr[a]![b] = round(r, 4);
        corr[b]![a] = round(r, 4);
      }
    }
    const pairs: { features: [string, string]; correlation: number }[] = [];
    for (let a = 0; a < F.length; a++) {
      for (let b = a + 1; b < F.length; b++) {
        const r = corr[a]![b];
        if (r !== null && r !== undefined) pairs.push({ features: [F[a]!.name, F[b]!.name], correlation: r });
      }
    }
    const byStrength = <T extends { correlation: number }>(x: T, y: T, key: (t: T) => string): number =>
      Math.abs(y.correlation) - Math.abs(x.correlation) || (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0);
    strongest = pairs.sort((x, y) => byStrength(x, y, (t) => t.features.join('*'))).slice(0, TOP);
    const near = F.findIndex((f) => f.name === 'near_reporting_threshold');
    nearThreshold = F.flatMap((f, j) => (j !== near && corr[near]![j] !== null ? [{ feature: f.name, correlation: corr[near]![j]! }] : []))
      .sort((x, y) => byStrength(x, y, (t) => t.feature))
      .slice(0, TOP);
    featureStatistics = aggregate(N, m, {
      features: F.map((f, j) => ({
        feature: f.name,
        variance: round(variances[j]!, 6),
        standardDeviation: round(Math.sqrt(variances[j]!), 6),
        declaredRange: [f.min, f.max],
      })),
      correlation: { features: F.map((f) => f.name), matrix: corr },
      strongestCorrelations: strongest,
      strongestWithNearReportingThreshold: nearThreshold,
    });
  }

  // ---- risk score: Σ_j w_j cov_L(x_j, fraud) ----
  let riskScore: Record<string, unknown>;
  let scoreValue: number | null = null;
  if (L < m) {
    riskScore = { computed: false, reason: `fewer than ${m} labelled records in the pooled data` };
  } else {
    scoreValue = get('risk_score_numerator') / (L * L);
    riskScore = {
      computed: true,
      definition: 'Σ_j w_j · cov(x_j, fraud) over the pooled labelled records (population covariance of the feature with the 0/1 fraud label)',
      weights: MPC_RISK_SCORE_WEIGHTS.map(([feature, weight]) => ({ feature, weight })),
      score: round(scoreValue, 8),
      errorBound: delta / (L * L),
      labelled,
      perFeatureLabelCovariances: 'not revealed (the program opens only the weighted sum)',
    };
  }

  const varianceErrorBound = N > 0 ? delta / N2 : null;
  const fixedPoint = {
    scale,
    outputErrorUnits: errorBound,
    outputAbsoluteErrorBound: delta,
    varianceErrorBound,
    correlationErrorBound: Number.isFinite(worstCorrelationError) ? worstCorrelationError : null,
    clampedCorrelations,
    clampedVariances,
    statement: `Every revealed output carries a fixed-point error of at most ${errorBound} units of 2^-${scale} (one probabilistic truncation with threshold ${threshold}) against the pooled statistics; the counts are exact, variances are within ${varianceErrorBound === null ? 'n/a' : varianceErrorBound.toExponential(2)}, correlations within ${Number.isFinite(worstCorrelationError) ? worstCorrelationError.toExponential(2) : 'n/a'}${clampedCorrelations > 0 ? `; ${clampedCorrelations} correlation(s) pushed beyond ±1 by fixed-point rounding (this error, or the statistics' rounding of each record's products to 2^-${scale}) were clamped to ±1` : ''}${clampedVariances > 0 ? `; ${clampedVariances} variance(s) below 0 by that error were set to 0` : ''}.`,
  };

  // ---- privacy ----
  const privacy: MpcPrivacyReport = {
    mechanism: 'none',
    parties,
    threshold,
    totalNodes,
    nodesUsed: [...nodesUsed],
    unit: 'party_vector',
  };
  const privacyStatement = `Privacy: each institution Shamir-shared its statistic vector among ${totalNodes} attested compute nodes (threshold ${threshold}: fewer than ${threshold} nodes learn nothing); the nodes computed on shares and sealed their output shares to the enclave, which reconstructed only the program's ${MPC_OUTPUT_NAMES.length} declared outputs from nodes ${nodesUsed.join(', ')}. No noise was added, so the figures are not differentially private; groups smaller than ${m} are suppressed. The pooled record and labelled counts are exact${parties === 2 ? ': with two institutions each can subtract its own counts and learn the other\'s' : ', so an institution that knows all others\' counts learns the remaining one'}.`;

  // ---- narrative ----
  const focus = redactIdLike((options.prompt ?? '').replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, MAX_PROMPT_CHARS));
  const lines: string[] = [];
  lines.push(
    `Pooled risk analysis (${modelId}, multi-party computation) over ${enough ? formatInt(N) : `fewer than ${m}`} transaction records from ${parties} participating institution${parties === 1 ? '' : 's'}. The enclave saw only the program's declared pooled outputs (second-moment numerators, their denominators and one weighted label covariance), reconstructed from ${nodesUsed.length} of ${totalNodes} compute nodes: no record, no institution's statistics.`,
  );
  if (focus.length > 0) lines.push(`Analysis focus: ${focus}`);
  if (enough) {
    lines.push(`Strongest feature correlations: ${strongest.length > 0 ? strongest.map((p) => `${p.features[0]} / ${p.features[1]} ${p.correlation}`).join(', ') : 'none (too little variation)'}.`);
    lines.push(
      `Amounts just below the 10,000 reporting threshold correlate most with: ${nearThreshold.length > 0 ? nearThreshold.map((p) => `${p.feature} ${p.correlation}`).join(', ') : 'none (too little variation)'}.`,
    );
  } else lines.push(`Feature statistics: suppressed (fewer than ${m} records).`);
  lines.push(
    scoreValue === null
      ? `Risk score: not computed (${riskScore.reason as string}).`
      : `Risk score (weighted label covariance of near-threshold, structuring and cross-border features over ${formatInt(L)} labelled records): ${round(scoreValue, 6)}; positive means these features go with fraud.`,
  );
  lines.push(
    'Not possible under mpc: per-record flags or scores, per-institution findings, linking transfers across institutions, dormancy or structuring sequences, feature means, rates and per-feature fraud lifts; the federated method does the record-level analyses inside the enclave.',
  );
  lines.push(fixedPoint.statement);
  lines.push(privacyStatement);
  const content = cutWords(lines.join('\n'), maxTokens);

  const findings: Record<string, unknown> = {
    model: modelId,
    version,
    method: 'mpc',
    participants: parties,
    minGroupSize: m,
    computeNodes: { total: totalNodes, threshold, used: nodesUsed },
    revealedOutputs: [...MPC_OUTPUT_NAMES],
    records,
    labels: { labelled },
    featureStatistics,
    riskScore,
    fixedPoint,
    capabilities: { analysed: [...MPC_CAPABILITIES.analysed], notPossibleUnderMpc: [...MPC_CAPABILITIES.notPossibleUnderMpc] },
    privacy: { ...privacy, statement: privacyStatement },
    generation: { focus, maxTokens, temperature, backend: 'deterministic-template' },
  };
  return { shared: { content, findings }, privateFindings: {}, privacy };
}
