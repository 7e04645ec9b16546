// Shared findings and narrative of compliance-checker-v1 from the summed statistics (statistics.ts).
//
// Each rule is a one-sided test of a statistic D against its limit, D > 0 meaning "in breach":
//   single_name_concentration  D = participants in breach − ½ (bands above 25%), and D' = Σ excess − ½ unit
//   sector_concentration       D_s = S_s − limit × T for every sector s (T = Σ_s S_s, the total exposure)
//   high_risk_jurisdictions    D = H − limit × T
//   reporting_threshold        D = unreported exposures at or above the threshold − ½
// Without noise (federated, mpc, secure aggregation without DP) the statistics are exact integers and the
// verdict is an exact comparison (confidence 1). With noise of standard deviation σ in every statistic,
// z = D / sd(D), sd following from the statistics D combines (independent noise). Let α = Φ(−VERDICT_Z):
//   fail  when the Bonferroni-adjusted p-value of the rule's k breach tests, k × Φ(−max z), is ≤ α
//         (k = 8 sectors for sector concentration, 2 for single-name, 1 otherwise), so a rule that in
//         truth passes is declared failed with probability ≤ α whatever k is; confidence = 1 − that p;
//   pass  when every breach test has z ≤ −VERDICT_Z (a rule in breach has at least one D > 0, so it is
//         declared passed with probability ≤ α); confidence = Φ(−max z);
//   otherwise 'inconclusive' (passed and confidence null). Under Gaussian noise a confident verdict is
//   wrong with probability at most α ≈ 0.00135.
//
// Released: counts (aggregates, minGroupSize 1) and amounts as percentages of the consortium total only.
import { aggregate, formatInt, round } from '../../report.js';
import type { Aggregate } from '../../types.js';
import type { SummedStatistics, UseCaseAnalysis } from '../contract.js';
import {
  AMOUNT_UNIT,
  COMPLIANCE_MIN_GROUP_SIZE,
  COMPLIANCE_MODEL_ID,
  COMPLIANCE_MODEL_VERSION,
  HIGH_RISK_COUNTRIES,
  REPORTING_THRESHOLD,
  ruleOf,
  SCALE,
  SECTORS,
  VERDICT_Z,
  exceedsLimit,
  limitOf,
  type ComplianceRule,
  type RuleId,
  type Sector,
} from './rules.js';
import { COMPLIANCE_STATISTICS, SINGLE_NAME_BANDS, statisticNames } from './statistics.js';

export type Verdict = 'pass' | 'fail' | 'inconclusive';

export interface RuleFinding {
  readonly id: RuleId;
  readonly scope: ComplianceRule['scope'];
  readonly description: string;
  readonly verdict: Verdict;
  /** true / false for a verdict, null when inconclusive. */
  readonly passed: boolean | null;
  /** Φ(|z|) for a verdict under noise, 1 without noise, null when inconclusive. */
  readonly confidence: number | null;
  /** The test statistic in noise standard deviations (positive = towards breach); null without noise. */
  readonly z: number | null;
  readonly evidence: Record<string, unknown>;
}

export interface ComplianceFindings {
  readonly modelId: string;
  readonly method: SummedStatistics['method'];
  readonly participants: number;
  readonly noise: { readonly std: number; readonly stdInCurrency: number; readonly verdictZ: number } | null;
  readonly exposures: Aggregate;
  readonly rules: readonly RuleFinding[];
  readonly summary: { readonly passed: RuleId[]; readonly failed: RuleId[]; readonly inconclusive: RuleId[] };
  readonly amountsReleasedAs: string;
}

interface Decision {
  verdict: Verdict;
  confidence: number | null;
  z: number | null;
}

const M = COMPLIANCE_MIN_GROUP_SIZE;

/** Standard normal CDF (Abramowitz & Stegun 7.1.26 for erf; absolute error < 1e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
  const erf = 1 - poly * Math.exp(-x * x);
  return z >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

function exact(failed: boolean): Decision {
  return { verdict: failed ? 'fail' : 'pass', confidence: 1, z: null };
}

const ALPHA = normalCdf(-VERDICT_Z);

/**
 * The verdict from a rule's breach tests: `zFail` the largest z of its `tests` breach tests, `zPass` the z
 * that must be ≤ −VERDICT_Z for a pass (the largest over the tests that can establish one).
 */
function decide(zFail: number, tests: number, zPass: number = zFail): Decision {
  const p = Math.min(1, tests * normalCdf(-zFail));
  const failed = p <= ALPHA;
  const passed = zPass <= -VERDICT_Z;
  if (failed && !passed) return { verdict: 'fail', confidence: round(1 - p, 4), z: round(zFail, 2) };
  if (passed && !failed) return { verdict: 'pass', confidence: round(normalCdf(-zPass), 4), z: round(zPass, 2) };
  return { verdict: 'inconclusive', confidence: null, z: round(zFail, 2) };
}

const percent = (part: number, whole: number): number | null => (whole > 0 ? round((100 * part) / whole, 2) : null);
const released = (estimate: number): Aggregate => aggregate(Math.max(0, Math.round(estimate)), M, null);

function finding(rule: ComplianceRule, d: Decision, evidence: Record<string, unknown>): RuleFinding {
  return {
    id: rule.id,
    scope: rule.scope,
    description: rule.description,
    verdict: d.verdict,
    passed: d.verdict === 'inconclusive' ? null : d.verdict === 'pass',
    confidence: d.confidence,
    z: d.z,
    evidence,
  };
}

function checkSum(sum: SummedStatistics): void {
  if (typeof sum !== 'object' || sum === null) throw new TypeError('sum must be a SummedStatistics object');
  if (!Array.isArray(sum.values) || sum.values.length !== COMPLIANCE_STATISTICS.length) {
    throw new RangeError(`sum.values must hold ${COMPLIANCE_STATISTICS.length} statistics`);
  }
  if (!sum.values.every((v) => typeof v === 'number' && Number.isFinite(v))) throw new RangeError('sum.values must be finite numbers');
  if (sum.scale !== SCALE) throw new RangeError(`sum.scale must be ${SCALE}`);
  if (typeof sum.noiseStd !== 'number' || !Number.isFinite(sum.noiseStd) || sum.noiseStd < 0) throw new RangeError('sum.noiseStd must be a finite number ≥ 0');
  if (!Number.isInteger(sum.parties) || sum.parties < 1) throw new RangeError('sum.parties must be a positive integer');
}

/** The shared findings and the narrative from the summed statistic vector. */
export function analyseCompliance(sum: SummedStatistics): UseCaseAnalysis {
  checkSum(sum);
  const sigma = sum.noiseStd;
  const noisy = sigma > 0;
  // Without noise every statistic is an exact integer; rounding only guards against a float carrier.
  const get = (name: string): number => (noisy ? sum.get(name) : Math.round(sum.get(name)));
  const count = (name: string): number => (noisy ? get(name) / SCALE : Math.round(get(name) / SCALE));
  const sectors = SECTORS.map((s) => get(statisticNames.sector(s)));
  const total = sectors.reduce((a, b) => a + b, 0);

  // Rule 1: single-name concentration, from the participants' bands and their summed excess.
  const r1 = ruleOf('single_name_concentration');
  const r1Limit = limitOf(r1.id);
  const bands = SINGLE_NAME_BANDS.map((_, k) => count(statisticNames.band(k)));
  const breachBands = SINGLE_NAME_BANDS.map((b, k) => (b.fromPercent * 100 >= r1Limit ? k : -1)).filter((k) => k >= 0);
  const breaches = breachBands.reduce((a, k) => a + bands[k]!, 0);
  const excess = get(statisticNames.excess);
  let d1: Decision;
  if (!noisy) d1 = exact(breaches > 0);
  else {
    const zCount = (breaches - 0.5) / ((Math.sqrt(breachBands.length) * sigma) / SCALE);
    const zExcess = (excess - 0.5) / sigma;
    // Two breach tests (participants in breach, summed excess); only the count can establish a pass.
    d1 = decide(Math.max(zCount, zExcess), 2, zCount);
  }
  const rule1 = finding(r1, d1, {
    limitPercent: r1Limit / 100,
    participantsInBreach: released(breaches),
    largestShareBands: SINGLE_NAME_BANDS.map((b, k) => ({ fromPercent: b.fromPercent, toPercent: b.toPercent, participants: released(bands[k]!) })),
    excessPercentOfConsortium: percent(Math.max(0, excess), total),
  });

  // Rule 2: sector concentration over the consortium's book.
  const r2 = ruleOf('sector_concentration');
  const r2Limit = limitOf(r2.id);
  const l2 = r2Limit / 10_000;
  let largest = 0;
  sectors.forEach((v, k) => {
    if (v > sectors[largest]!) largest = k;
  });
  let d2: Decision;
  if (!noisy) d2 = exact(sectors.some((v) => exceedsLimit(v, total, r2Limit)));
  else {
    const sd = sigma * Math.sqrt((1 - l2) ** 2 + (SECTORS.length - 1) * l2 ** 2);
    d2 = decide(Math.max(...sectors.map((v) => (v - l2 * total) / sd)), SECTORS.length);
  }
  const largestShare = percent(sectors[largest]!, total);
  const rule2 = finding(r2, d2, {
    limitPercent: r2Limit / 100,
    largestSector: total > 0 ? SECTORS[largest]! : null,
    largestSharePercent: largestShare,
    marginPercentPoints: largestShare === null ? null : round(largestShare - r2Limit / 100, 2),
    sectorSharesPercent: Object.fromEntries(SECTORS.map((s, k) => [s, percent(sectors[k]!, total)])) as Record<Sector, number | null>,
  });

  // Rule 3: exposure to declared high-risk jurisdictions.
  const r3 = ruleOf('high_risk_jurisdictions');
  const r3Limit = limitOf(r3.id);
  const l3 = r3Limit / 10_000;
  const highRisk = get(statisticNames.highRisk);
  const d3 = noisy ? decide((highRisk - l3 * total) / (sigma * Math.sqrt(1 + SECTORS.length * l3 ** 2)), 1) : exact(exceedsLimit(highRisk, total, r3Limit));
  const highRiskShare = percent(highRisk, total);
  const rule3 = finding(r3, d3, {
    limitPercent: r3Limit / 100,
    countries: [...HIGH_RISK_COUNTRIES],
    sharePercent: highRiskShare,
    marginPercentPoints: highRiskShare === null ? null : round(highRiskShare - r3Limit / 100, 2),
  });

  // Rule 4: reporting threshold.
  const r4 = ruleOf('reporting_threshold');
  const unreported = count(statisticNames.unreported);
  const aboveThreshold = count(statisticNames.aboveThreshold);
  const d4 = noisy ? decide((unreported - 0.5) / (sigma / SCALE), 1) : exact(unreported > 0);
  const rule4 = finding(r4, d4, {
    thresholdAmount: REPORTING_THRESHOLD,
    unreported: released(unreported),
    aboveThreshold: released(aboveThreshold),
    participantsInBreach: released(count(statisticNames.partiesWithUnreported)),
    unreportedPercentOfAboveThreshold: percent(Math.max(0, unreported), aboveThreshold),
  });

  const rules = [rule1, rule2, rule3, rule4];
  const findings: ComplianceFindings = {
    modelId: COMPLIANCE_MODEL_ID,
    method: sum.method,
    participants: sum.parties,
    noise: noisy ? { std: round(sigma, 3), stdInCurrency: Math.round(sigma * AMOUNT_UNIT), verdictZ: VERDICT_Z } : null,
    exposures: released(count(statisticNames.exposures)),
    rules,
    summary: {
      passed: rules.filter((r) => r.verdict === 'pass').map((r) => r.id),
      failed: rules.filter((r) => r.verdict === 'fail').map((r) => r.id),
      inconclusive: rules.filter((r) => r.verdict === 'inconclusive').map((r) => r.id),
    },
    amountsReleasedAs: "percent of the consortium's total exposure",
  };
  return { findings: findings as unknown as Record<string, unknown>, content: writeComplianceNarrative(findings) };
}

// ---- narrative ----

const TITLES: Readonly<Record<RuleId, string>> = {
  single_name_concentration: 'Single-name concentration',
  sector_concentration: 'Sector concentration',
  high_risk_jurisdictions: 'High-risk jurisdictions',
  reporting_threshold: 'Reporting threshold',
};

const pct = (x: unknown): string => (typeof x === 'number' ? `${x.toFixed(2)}%` : 'n/a');
const pp = (x: unknown): string => (typeof x === 'number' ? `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(2)} percentage points` : 'n/a');

function countNumber(a: unknown): string {
  const g = a as Aggregate;
  return g.suppressed ? `fewer than ${M}` : formatInt(g.count!);
}

function countText(a: unknown, noun: string, plural: string): string {
  const g = a as Aggregate;
  return `${countNumber(g)} ${g.count === 1 ? noun : plural}`;
}

function verdictText(r: RuleFinding): string {
  if (r.verdict === 'inconclusive') return `INCONCLUSIVE (the evidence is ${Math.abs(r.z ?? 0).toFixed(2)} noise standard deviations from the limit, too few for a verdict at ${VERDICT_Z} standard deviations)`;
  const word = r.verdict === 'pass' ? 'PASS' : 'FAIL';
  return r.z === null ? word : `${word} (confidence ${r.confidence!.toFixed(4)})`;
}

function evidenceText(r: RuleFinding, participants: number): string {
  const e = r.evidence;
  switch (r.id) {
    case 'single_name_concentration': {
      const bands = (e.largestShareBands as { fromPercent: number; toPercent: number; participants: Aggregate }[])
        .map((b) => `${b.fromPercent}–${b.toPercent}%: ${countNumber(b.participants)}`)
        .join(', ');
      return `Participants in breach: ${countText(e.participantsInBreach, 'participant', 'participants')} of ${participants}. Participants by largest single-name share: ${bands}. Exposure above the limit: ${pct(e.excessPercentOfConsortium)} of consortium exposure.`;
    }
    case 'sector_concentration': {
      const shares = Object.entries(e.sectorSharesPercent as Record<string, number | null>)
        .map(([s, v]) => `${s} ${pct(v)}`)
        .join(', ');
      return `Largest sector: ${(e.largestSector as string | null) ?? 'none'} at ${pct(e.largestSharePercent)} of consortium exposure (limit ${e.limitPercent}%, margin ${pp(e.marginPercentPoints)}). Shares: ${shares}.`;
    }
    case 'high_risk_jurisdictions':
      return `Exposure to ${(e.countries as string[]).join(', ')}: ${pct(e.sharePercent)} of consortium exposure (limit ${e.limitPercent}%, margin ${pp(e.marginPercentPoints)}).`;
    case 'reporting_threshold':
      return `Unreported exposures at or above ${formatInt(e.thresholdAmount as number)}: ${countNumber(e.unreported)} of ${countText(e.aboveThreshold, 'exposure', 'exposures')} (${pct(e.unreportedPercentOfAboveThreshold)}), held by ${countText(e.participantsInBreach, 'participant', 'participants')}.`;
  }
}

/** The regulator's report: one paragraph per rule, written from the findings only. */
export function writeComplianceNarrative(f: ComplianceFindings): string {
  const lines: string[] = [];
  lines.push(
    `Compliance check (${COMPLIANCE_MODEL_ID} ${COMPLIANCE_MODEL_VERSION}, ${f.method} method) over the combined exposure books of ${f.participants} participant${f.participants === 1 ? '' : 's'}: ${countText(f.exposures, 'exposure', 'exposures')}. The rules and limits are those pinned by the model digest. Amounts are released only as shares of the consortium's total exposure, never per participant.`,
  );
  if (f.noise) {
    lines.push(
      `Noise: every statistic carries noise of standard deviation about ${formatInt(f.noise.stdInCurrency)} in the reporting currency (${round(f.noise.std / SCALE, 3)} in a count); counts and shares below are noisy estimates. A rule passes or fails only when its evidence is at least ${f.noise.verdictZ} standard deviations from the limit; otherwise it is inconclusive.`,
    );
  }
  f.rules.forEach((r, i) => {
    lines.push(`${i + 1}. ${TITLES[r.id]}: ${verdictText(r)}. Rule: ${r.description} ${evidenceText(r, f.participants)}`);
  });
  const list = (ids: RuleId[]): string => (ids.length === 0 ? '' : ` (${ids.map((id) => TITLES[id].toLowerCase()).join(', ')})`);
  lines.push(
    `Result: ${f.summary.failed.length} of ${f.rules.length} rules failed${list(f.summary.failed)}, ${f.summary.passed.length} passed${list(f.summary.passed)}, ${f.summary.inconclusive.length} inconclusive${list(f.summary.inconclusive)}. The findings never say which participant is in breach; each participant learns its own results only.`,
  );
  return lines.join('\n');
}
