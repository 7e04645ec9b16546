// risk-analyzer-v2 under `secure_aggregation` (DESIGN §7): the analysis of the decoded SUM of the
// parties' statistic vectors (layout.ts). The model never sees a record nor one party's vector, so
// everything here is a pooled figure: rates with their group sizes, histograms, feature means, variances
// and correlations, the pooled fraud rate by feature, and a ridge least-squares risk score fitted from
// the sufficient statistics XᵀX and Xᵀy of the labelled records.
//
// With Skellam noise the sums are noisy: derived rates, means, variances and correlations are clamped
// to their valid ranges after decoding (post-processing of a DP output) and any group whose (noisy)
// size is below the release policy's minimum group size is suppressed.
import { ModelRunError } from '../errors.js';
import { aggregate, formatInt, formatNumber, round } from '../report.js';
import type { Aggregate, AggregateInput, ModelOutput, SecureAggregationPrivacyReport } from '../types.js';
import {
  AMOUNT_BANDS,
  HOUR_BANDS,
  amountBandName,
  pairName,
  resolveLayout,
  singleName,
  squareName,
  type AggregateFeature,
  type AggregateLayout,
} from './layout.js';

/** Ridge penalty on the standardized features (per labelled record); raised tenfold while R + λI is not positive definite. */
export const RIDGE_LAMBDA = 0.01;
const MAX_PROMPT_CHARS = 500;

export interface AggregateAnalysisOptions {
  modelId: string;
  version: string;
  minGroupSize: number;
  prompt: string;
  maxTokens: number;
  temperature: number;
}

/** What the method can and cannot analyse; stated in every result. */
export const SECURE_AGGREGATION_CAPABILITIES = Object.freeze({
  analysed: Object.freeze([
    'pooled record volume with the channel, direction and time-of-day mix',
    "pooled rates: cross-border (country other than the account's home country), night-time (00-06 UTC), cash, amounts just below the 10,000 reporting threshold",
    'structuring share: near-threshold records in repeated clusters on one account, as found inside each institution',
    'amount distribution over log10 bands',
    "means, variances and the correlation matrix of the model's 15 per-record features",
    'pooled fraud rate and lift by feature and by amount band (labelled records)',
    'a pooled ridge least-squares risk score with per-feature weights, fitted from the sufficient statistics XᵀX and Xᵀy',
    "pooled totals of what each institution's own detectors flag on its own records (structuring, dormant accounts, chains inside one institution)",
  ]),
  requiresRecordLevelData: Object.freeze([
    'linking transfers across institutions: mule chains and pass-through links that span banks',
    "per-record risk scores or flags, and each institution's list of its own flagged transactions",
    'per-institution private findings or any per-institution figure (the model sees only the sum)',
    'dormancy, structuring or pass-through sequences that continue across institutions',
    'medians, quantiles inside a histogram band, AUC or any other rank statistic',
    'non-linear models (e.g. logistic regression): only what first and second moments determine',
  ]),
});

const SUPPRESSED: Aggregate = Object.freeze({ count: null, suppressed: true, stats: null }) as Aggregate;

function invalid(message: string): never {
  throw new ModelRunError('invalid_input', message);
}

const positive = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x) && x > 0;

/** Checks the aggregate input against the layout; ModelRunError invalid_input naming the field. */
export function checkAggregateInput(layout: AggregateLayout, input: AggregateInput): void {
  if (typeof input !== 'object' || input === null) throw new TypeError('aggregate must be an object');
  if (input.layoutId !== layout.id) invalid(`aggregate.layoutId must be ${layout.id}`);
  const { values, parties, noise } = input;
  if (!Array.isArray(values) || values.length !== layout.statisticCount) invalid(`aggregate.values must hold ${layout.statisticCount} statistics`);
  values.forEach((v, i) => {
    if (typeof v !== 'number' || !Number.isSafeInteger(v)) invalid(`aggregate.values[${i}] (statistic ${layout.entries[i]!.name}) must be an integer`);
  });
  if (!Array.isArray(parties) || parties.length < 2 || parties.length > layout.maxParties) {
    invalid(`aggregate.parties must list 2 to ${layout.maxParties} included parties`);
  }
  const ids = new Set<string>();
  parties.forEach((p, i) => {
    if (typeof p !== 'string' || p.length === 0) invalid(`aggregate.parties[${i}] must be a non-empty string`);
    if (ids.has(p)) invalid(`aggregate.parties[${i}] repeats an earlier party`);
    ids.add(p);
  });
  if (noise === null) return;
  if (typeof noise !== 'object' || noise === undefined) invalid('aggregate.noise must be null or a Skellam noise description');
  if (noise.mechanism !== 'skellam') invalid("aggregate.noise.mechanism must be 'skellam'");
  if (!positive(noise.variance)) invalid('aggregate.noise.variance must be a positive number');
  if (!positive(noise.epsilon)) invalid('aggregate.noise.epsilon must be a positive number');
  if (!(typeof noise.delta === 'number' && noise.delta > 0 && noise.delta < 1)) invalid('aggregate.noise.delta must be in (0, 1)');
  if (!(positive(noise.order) && noise.order > 1)) invalid('aggregate.noise.order must be a number above 1');
  if (noise.survivors !== parties.length) invalid('aggregate.noise.survivors must equal the number of included parties');
  if (!Number.isInteger(noise.threshold) || noise.threshold < 2 || noise.threshold > noise.survivors) {
    invalid('aggregate.noise.threshold must be an integer from 2 to survivors');
  }
}

const clamp = (x: number, lo: number, hi: number): number => (x < lo ? lo : x > hi ? hi : x);
const pct = (rate: number): string => `${round(100 * rate, 1)}%`;

/** Redacts tokens that look like identifiers (IBANs, transaction ids): the enclave holds no record to compare with. */
export function redactIdLike(text: string): string {
  return text.replace(/[A-Za-z0-9_-]{8,}/g, (token) => (/\d/.test(token) && /[A-Za-z]/.test(token) ? '[redacted]' : token));
}

interface Moments {
  /** Mean of each shifted feature (z = x − min). */
  mean: number[];
  /** Covariance matrix (F × F). */
  cov: number[][];
}

/** Solves (A + λI) x = b by Cholesky; raises λ tenfold (up to 6 times) while A + λI is not positive definite. */
function ridgeSolve(A: number[][], b: number[], lambda: number): { x: number[]; lambda: number } | null {
  const n = b.length;
  for (let attempt = 0, lam = lambda; attempt < 7; attempt++, lam *= 10) {
    const Lm: number[][] = Array.from({ length: n }, () => new Array<number>(n).fill(0));
    let ok = true;
    for (let i = 0; i < n && ok; i++) {
      for (let j = 0; j <= i; j++) {
        let s = A[i]![j]! + (i === j ? lam : 0);
        for (let k = 0; k < j; k++) s -= Lm[i]![k]! * Lm[j]![k]!;
        if (i === j) {
          if (!(s > 1e-12)) {
            ok = false;
            break;
          }
          Lm[i]![i] = Math.sqrt(s);
        } else Lm[i]![j] = s / Lm[j]![j]!;
      }
    }
    if (!ok) continue;
    const y = new Array<number>(n).fill(0);
    for (let i = 0; i < n; i++) {
      let s = b[i]!;
      for (let k = 0; k < i; k++) s -= Lm[i]![k]! * y[k]!;
      y[i] = s / Lm[i]![i]!;
    }
    const x = new Array<number>(n).fill(0);
    for (let i = n - 1; i >= 0; i--) {
      let s = y[i]!;
      for (let k = i + 1; k < n; k++) s -= Lm[k]![i]! * x[k]!;
      x[i] = s / Lm[i]![i]!;
    }
    return { x, lambda: lam };
  }
  return null;
}

/** Cuts `text` to `maxWords` words (whitespace-separated), marking a cut with an ellipsis. */
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

/** The model output of risk-analyzer-v2 for a decoded aggregate (checked with checkAggregateInput first). */
export function analyseAggregates(layoutArg: AggregateLayout, input: AggregateInput, options: AggregateAnalysisOptions): ModelOutput<SecureAggregationPrivacyReport> {
  const { layout, plan } = resolveLayout(layoutArg);
  checkAggregateInput(layout, input);
  const m = options.minGroupSize;
  const scale = layout.scale;
  const P = input.parties.length;
  const noise = input.noise;
  const F = layout.features;
  const get = (name: string): number => {
    const i = plan.entryIndex.get(name);
    if (i === undefined) throw new Error(`aggregate analysis: no statistic ${name}`);
    return input.values[i]! / scale;
  };
  const cnt = (x: number): number => Math.max(0, Math.round(x));
  /**
   * Standard deviation of the noise in one statistic, in records (0 without noise). `noise.variance` is
   * what protects against one recipient — the other survivors' shares — so the whole sum carries
   * survivors / (survivors − 1) times it.
   */
  const noiseStd = noise ? Math.sqrt((noise.variance * noise.survivors) / Math.max(1, noise.survivors - 1)) / scale : 0;

  /** A count: suppressed when it is a small non-zero group; with noise, its standard error. */
  const countOf = (x: number): Aggregate => {
    const c = cnt(x);
    if (c > 0 && c < m) return SUPPRESSED;
    return { count: c, suppressed: false, stats: noise ? { standardError: round(noiseStd, 2) } : null };
  };
  /**
   * A rate num/den over a group of den records: suppressed when den or num is a small non-zero group.
   * With noise, the rate's approximate standard error (noise in both num and den) comes with it.
   */
  const rate = (num: number, den: number, extra: (r: number) => Record<string, unknown> = () => ({})): Aggregate => {
    const d = cnt(den);
    const n = Math.min(d, cnt(num));
    if (d > 0 && d < m) return SUPPRESSED;
    if (d === 0) return aggregate(0, m, null);
    if (n > 0 && n < m) return SUPPRESSED;
    const r = n / d;
    const se = noise ? { standardError: round(Math.min(1, (noiseStd * Math.sqrt(1 + r * r)) / d), 4) } : {};
    return { count: n, suppressed: false, stats: { rate: round(r, 6), groupSize: d, ...se, ...extra(r) } };
  };
  const rateOf = (a: Aggregate): number | null => (a.suppressed || a.count === null || !a.stats ? (a.count === 0 ? 0 : null) : (a.stats.rate as number));

  // ---- pooled volume and mix ----
  const N = cnt(get('count:records'));
  const records = countOf(N);
  const enough = N >= m;
  const feat = (name: string): AggregateFeature => F.find((f) => f.name === name)!;
  const rates = {
    crossBorder: rate(get(singleName('', feat('foreign_country'))), N),
    night: rate(get(singleName('', feat('night_utc'))), N),
    cash: rate(get(singleName('', feat('channel_cash'))), N),
    nearReportingThreshold: rate(get(singleName('', feat('near_reporting_threshold'))), N),
    credit: rate(get(singleName('', feat('direction_credit'))), N),
    transfersWithBothSidesInOneInstitution: rate(get(singleName('', feat('transfer_linked_both_sides'))), N),
  };
  const channelMix = [
    ['wire', get('count:channel_wire')],
    ['ach', get('count:channel_ach')],
    ['card', get('count:channel_card')],
    ['cash', get('count:channel_cash')],
    ['internal', get('count:channel_internal')],
  ].map(([channel, c]) => ({ channel: channel as string, ...rate(c as number, N) }));
  const amountHistogram = AMOUNT_BANDS.map(([, label]) => ({ band: label, ...rate(get(amountBandName('', label)), N) }));
  const timeOfDayHistogram = HOUR_BANDS.map(([, , label]) => ({ band: label, ...rate(get(`histogram:${label}`), N) }));

  // ---- labels ----
  const L = cnt(get('count:labelled'));
  const Y = Math.min(L, cnt(get('count:fraud')));
  const labelled = countOf(L);
  const fraudRate = rate(Y, L);
  const overall = L >= m ? Y / L : null;
  const liftOf = (r: number): Record<string, unknown> => (overall !== null && overall > 0 ? { lift: round(r / overall, 3) } : {});

  // ---- structuring (near the reporting threshold) ----
  const near = get('count:near_reporting_threshold');
  const nearCash = get(pairName('', feat('near_reporting_threshold'), feat('channel_cash'))!);
  const structuring = {
    nearThresholdInRepeatedClusters: rate(get('count:structuring_flagged'), near),
    nearThresholdInCash: rate(nearCash, near),
    fraudRateNearThreshold: rate(get(singleName('fraud*', feat('near_reporting_threshold'))), get(singleName('labelled*', feat('near_reporting_threshold'))), liftOf),
  };

  // ---- moments, variances, correlations ----
  const moments = (prefix: '' | 'labelled*', n: number): Moments => {
    const mean = F.map((f) => clamp(get(singleName(prefix, f)) / n, 0, f.max - f.min));
    const cov = F.map(() => new Array<number>(F.length).fill(0));
    for (let a = 0; a < F.length; a++) {
      const fa = F[a]!;
      const ra = fa.max - fa.min;
      for (let b = a; b < F.length; b++) {
        const fb = F[b]!;
        const rb = fb.max - fb.min;
        let second: number;
        if (a === b) second = fa.binary ? mean[a]! : clamp(get(squareName(prefix, fa)) / n, 0, ra * ra);
        else {
          const name = pairName(prefix, fa, fb);
          second = name === undefined ? 0 : clamp(get(name) / n, 0, ra * rb);
        }
        let c = second - mean[a]! * mean[b]!;
        if (a === b) c = clamp(c, 0, (ra * ra) / 4);
        cov[a]![b] = c;
        cov[b]![a] = c;
      }
    }
    return { mean, cov };
  };
  const sdOf = (mo: Moments, j: number): number => Math.sqrt(mo.cov[j]![j]!);
  const usable = (mo: Moments, j: number): boolean => sdOf(mo, j) > 1e-6 * (F[j]!.max - F[j]!.min);
  let featureStatistics: Aggregate = aggregate(N, m, null);
  if (enough) {
    const mo = moments('', N);
    featureStatistics = aggregate(N, m, {
      features: F.map((f, j) => ({ feature: f.name, mean: round(mo.mean[j]! + f.min, 6), variance: round(mo.cov[j]![j]!, 6), declaredRange: [f.min, f.max] })),
      correlation: {
        features: F.map((f) => f.name),
        matrix: F.map((_, a) =>
          F.map((__, b) => {
            if (!usable(mo, a) || !usable(mo, b)) return null;
            return a === b ? 1 : round(clamp(mo.cov[a]![b]! / (sdOf(mo, a) * sdOf(mo, b)), -1, 1), 4);
          }),
        ),
      },
    });
  }

  // ---- pooled fraud rate by feature ----
  let fraudByFeature: unknown[] = [];
  let featureMeansByLabel: Aggregate = SUPPRESSED;
  if (L >= m) {
    fraudByFeature = F.filter((f) => f.binary).map((f) => {
      const g1 = get(singleName('labelled*', f));
      const f1 = get(singleName('fraud*', f));
      const rest = cnt(L - g1);
      return {
        feature: f.name,
        ...rate(f1, g1, (r) => ({ ...liftOf(r), rateWithoutFeature: rest >= m ? round(clamp((Y - f1) / rest, 0, 1), 6) : null })),
      };
    });
    const legit = L - Y;
    featureMeansByLabel =
      (Y > 0 && Y < m) || (legit > 0 && legit < m)
        ? SUPPRESSED
        : aggregate(Y, m, {
            legitGroupSize: legit,
            features: F.filter((f) => !f.binary).map((f) => {
              const sf = get(singleName('fraud*', f));
              const sl = get(singleName('labelled*', f));
              const range = f.max - f.min;
              return {
                feature: f.name,
                meanAmongFraud: Y > 0 ? round(clamp(sf / Y, 0, range) + f.min, 6) : null,
                meanAmongLegit: legit > 0 ? round(clamp((sl - sf) / legit, 0, range) + f.min, 6) : null,
              };
            }),
          });
  }
  const fraudRateByAmountBand = AMOUNT_BANDS.map(([, label]) => ({
    band: label,
    ...rate(get(amountBandName('fraud*', label)), get(amountBandName('labelled*', label)), liftOf),
  }));

  // ---- pooled ridge least-squares risk score (sufficient statistics of the labelled records) ----
  let riskScore: Record<string, unknown>;
  const legitCount = L - Y;
  if (L < m || Y < m || legitCount < m) {
    riskScore = { fitted: false, reason: `fewer than ${m} labelled, fraud or legitimate records in the pooled data` };
  } else {
    const mo = moments('labelled*', L);
    const ybar = Y / L;
    const active = F.map((_, j) => j).filter((j) => usable(mo, j));
    const sd = active.map((j) => sdOf(mo, j));
    const R = active.map((a, i) => active.map((b, k) => (i === k ? 1 : clamp(mo.cov[a]![b]! / (sd[i]! * sd[k]!), -1, 1))));
    const r = active.map((j, i) => {
      const f = F[j]!;
      const eyz = clamp(get(singleName('fraud*', f)) / L, 0, Math.min(ybar * (f.max - f.min), mo.mean[j]!));
      return (eyz - ybar * mo.mean[j]!) / sd[i]!;
    });
    const solved = ridgeSolve(R, r, RIDGE_LAMBDA);
    if (solved === null) {
      riskScore = { fitted: false, reason: 'the pooled feature covariance is not positive definite even with a strong ridge penalty' };
    } else {
      const beta = solved.x;
      const varY = ybar * (1 - ybar);
      let explained = 0;
      for (let i = 0; i < beta.length; i++) {
        let rb = 0;
        for (let k = 0; k < beta.length; k++) rb += R[i]![k]! * beta[k]!;
        explained += beta[i]! * (2 * r[i]! - rb);
      }
      const weights = active.map((j, i) => ({
        feature: F[j]!.name,
        perUnit: round(beta[i]! / sd[i]!, 6),
        perStandardDeviation: round(beta[i]!, 6),
      }));
      let intercept = ybar;
      active.forEach((j, i) => (intercept -= (beta[i]! / sd[i]!) * (mo.mean[j]! + F[j]!.min)));
      const drivers = active
        .map((j, i) => ({ feature: F[j]!.name, perStandardDeviation: round(beta[i]!, 4) }))
        .sort((a, b) => Math.abs(b.perStandardDeviation) - Math.abs(a.perStandardDeviation) || (a.feature < b.feature ? -1 : 1))
        .slice(0, 5);
      riskScore = {
        fitted: true,
        model: 'ridge least squares (linear probability): score = intercept + Σ perUnit × feature',
        trainedOn: labelled,
        lambda: solved.lambda,
        intercept: round(intercept, 6),
        weights,
        excludedFeatures: F.filter((_, j) => !active.includes(j)).map((f) => f.name),
        strongestDrivers: drivers,
        inSampleRSquared: varY > 0 ? round(clamp(explained / varY, 0, 1), 4) : null,
        // Noise per statistic against the fraud-labelled records behind Xᵀy: above 0.1 the fit is indicative only.
        ...(noise ? { noiseToFraudRecords: round(noiseStd / Y, 3) } : {}),
      };
    }
  }

  // ---- pooled totals of each institution's own detectors ----
  const ownDetectors = {
    flagged: rate(get('count:flagged_locally'), N),
    structuring: countOf(get('count:structuring_flagged')),
    dormantAccounts: countOf(get('count:dormant_flagged')),
    chainsInsideOneInstitution: countOf(get('count:chain_flagged')),
    precisionOnLabelled: rate(get('count:fraud*flagged_locally'), get('count:labelled*flagged_locally')),
    recallOnLabelled: rate(get('count:fraud*flagged_locally'), Y),
  };

  // ---- privacy ----
  const privacy: SecureAggregationPrivacyReport = noise
    ? { mechanism: 'skellam', variance: noise.variance, epsilon: noise.epsilon, delta: noise.delta, order: noise.order, survivors: P, threshold: noise.threshold, unit: 'record' }
    : { mechanism: 'none', variance: null, epsilon: null, delta: null, order: null, survivors: P, threshold: null, unit: 'record' };
  const privacyStatement = noise
    ? `Privacy: each institution masked its statistic vector (secure aggregation) and added Skellam noise, so the sum over the ${P} included institutions is (epsilon = ${formatNumber(noise.epsilon)}, delta = ${formatNumber(noise.delta)})-differentially private for one record's row of statistics (variance ${formatNumber(noise.variance)} in units of 1/${scale}, RDP order ${formatNumber(noise.order)}, threshold ${noise.threshold}); a count carries noise of about ${round(noiseStd, 1)} records (standard deviation). Every figure is derived from that noisy sum, clamped to its valid range, and groups smaller than ${m} are suppressed. Features that depend on an account's other records (account median and size, gaps, pass-through and structuring evidence) are taken as part of the row.`
    : `Privacy: each institution masked its statistic vector (secure aggregation), so the enclave saw only the exact sum over the ${P} included institutions; no noise was added, so the figures are not differentially private. Groups smaller than ${m} are suppressed.`;

  // ---- narrative ----
  const focus = redactIdLike(options.prompt.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, MAX_PROMPT_CHARS));
  const about = noise ? 'about ' : '';
  const ratePhrase = (a: Aggregate): string => {
    const v = rateOf(a);
    if (v === null) return `suppressed (fewer than ${m})`;
    const se = a.stats?.standardError;
    return typeof se === 'number' ? `${pct(v)} (± ${pct(se)})` : pct(v);
  };
  const lines: string[] = [];
  lines.push(
    `Pooled risk analysis (${options.modelId}, secure aggregation) over ${enough ? `${about}${formatInt(N)}` : `fewer than ${m}`} transaction records from ${P} participating institutions. The enclave saw only the sum of the institutions' masked statistic vectors (${layout.statisticCount} statistics): no record and no figure of any single institution.`,
  );
  if (focus.length > 0) lines.push(`Analysis focus: ${focus}`);
  lines.push(
    `Pooled rates: cross-border ${ratePhrase(rates.crossBorder)}, night-time (00-06 UTC) ${ratePhrase(rates.night)}, cash ${ratePhrase(rates.cash)}, amounts in [9,000, 10,000) just below the reporting threshold ${ratePhrase(rates.nearReportingThreshold)}.`,
  );
  const nearFraud = structuring.fraudRateNearThreshold;
  const nearFraudRate = rateOf(nearFraud);
  lines.push(
    `Near-threshold amounts: ${ratePhrase(structuring.nearThresholdInRepeatedClusters)} of them sit in repeated clusters on one account inside one institution (structuring), ${ratePhrase(structuring.nearThresholdInCash)} are cash${
      nearFraudRate !== null && overall !== null
        ? `; their fraud rate among labelled records is ${pct(nearFraudRate)} against ${pct(overall)} overall${nearFraud.stats && 'lift' in nearFraud.stats ? ` (${nearFraud.stats.lift}x)` : ''}`
        : ''
    }.`,
  );
  lines.push(`Amounts by band: ${amountHistogram.map((b) => `${b.band.replace(/_/g, ' ')} ${ratePhrase(b)}`).join(', ')}.`);
  if (riskScore.fitted) {
    const drivers = (riskScore.strongestDrivers as { feature: string; perStandardDeviation: number }[])
      .map((d) => `${d.feature} (${d.perStandardDeviation >= 0 ? '+' : ''}${d.perStandardDeviation} per SD)`)
      .join(', ');
    lines.push(
      `Risk score: ridge least squares over ${(riskScore.weights as unknown[]).length} features, fitted from the pooled XᵀX and Xᵀy of ${about}${formatInt(L)} labelled records (pooled fraud rate ${overall !== null ? pct(overall) : 'suppressed'}); strongest drivers: ${drivers}; in-sample R² ${riskScore.inSampleRSquared}${
        typeof riskScore.noiseToFraudRecords === 'number' && riskScore.noiseToFraudRecords > 0.1
          ? `; the noise (± ${formatInt(noiseStd)} records per statistic) is large against the fraud-labelled records, so these weights are indicative only`
          : ''
      }.`,
    );
  } else lines.push(`Risk score: not fitted (${riskScore.reason as string}).`);
  const own = (a: Aggregate): string => (a.suppressed ? `fewer than ${m}` : `${formatInt(a.count!)}${noise ? ` (± ${formatInt(noiseStd)})` : ''}`);
  lines.push(
    `Each institution's own detectors, run on its own records, flagged ${own(ownDetectors.flagged)} records in total (structuring ${own(ownDetectors.structuring)}, dormant accounts ${own(ownDetectors.dormantAccounts)}, chains inside one institution ${own(ownDetectors.chainsInsideOneInstitution)}); precision on labelled records ${ratePhrase(ownDetectors.precisionOnLabelled)}.`,
  );
  lines.push(
    'Not possible under secure aggregation: linking transfers across institutions (mule chains spanning banks), per-record flags or per-institution findings, and dormancy or structuring sequences that cross institutions; the federated method does those inside the enclave.',
  );
  lines.push(privacyStatement);
  const content = cutWords(lines.join('\n'), options.maxTokens);

  const findings: Record<string, unknown> = {
    model: options.modelId,
    version: options.version,
    method: 'secure_aggregation',
    layout: { id: layout.id, statistics: layout.statisticCount, scale },
    participants: P,
    minGroupSize: m,
    records,
    rates,
    channelMix,
    amountHistogram,
    timeOfDayHistogram,
    labels: { labelled, fraudRate },
    structuring,
    featureStatistics,
    fraudRateByFeature: fraudByFeature,
    fraudRateByAmountBand,
    featureMeansByLabel,
    riskScore,
    ownInstitutionDetectors: ownDetectors,
    capabilities: {
      analysed: [...SECURE_AGGREGATION_CAPABILITIES.analysed],
      requiresRecordLevelData: [...SECURE_AGGREGATION_CAPABILITIES.requiresRecordLevelData],
    },
    privacy: { ...privacy, ...(noise ? { countNoiseStandardDeviation: round(noiseStd, 2) } : {}), statement: privacyStatement },
    generation: { focus, maxTokens: options.maxTokens, temperature: options.temperature, backend: 'deterministic-template' },
  };
  return { shared: { content, findings }, privateFindings: {}, privacy };
}
