// The declared rules of compliance-checker-v1 and every constant they depend on. The model digest covers
// `COMPLIANCE_CONSTANTS` (index.ts passes it as the spec's `constants`), so a regulator pins the rules,
// limits, the high-risk list and the amount unit by pinning the model digest.
//
// Limits are stored in basis points (integers) so that a verdict without noise is an exact integer
// comparison: part × 10,000 > whole × limitBasisPoints.
import { deepFreeze } from '../../schema.js';

export const COMPLIANCE_MODEL_ID = 'compliance-checker-v1';
export const COMPLIANCE_MODEL_VERSION = '1.0.0';
export const EXPOSURE_RECORDS_V1 = 'exposure_records_v1';

export const SECTORS = ['real_estate', 'energy', 'finance', 'retail', 'manufacturing', 'public', 'technology', 'other'] as const;
export type Sector = (typeof SECTORS)[number];

/** Largest amount of one exposure, in the reporting currency. */
export const MAX_AMOUNT = 1e9;
/**
 * Amounts are measured in units of 1,000 of the reporting currency: an exposure adds
 * round(amount / AMOUNT_UNIT) to every amount statistic. This is the model's stated precision.
 */
export const AMOUNT_UNIT = 1000;
/**
 * The model's scale: the per-record real quantities are amount / MAX_AMOUNT and 0/1 indicators, so every
 * statistic moves by at most SCALE per record. Keeping all statistics on one scale keeps them on one noise
 * footing (the same noise std is added to every statistic under secure aggregation with DP).
 */
export const SCALE = MAX_AMOUNT / AMOUNT_UNIT;

/** An exposure of at least this amount must be reported to the regulator (rule reporting_threshold). */
export const REPORTING_THRESHOLD = 10_000;

/**
 * Jurisdictions the model treats as high-risk. Illustrative: a deployment declares its own list, and the
 * model digest pins it.
 */
export const HIGH_RISK_COUNTRIES: readonly string[] = ['AF', 'IR', 'KP', 'MM', 'SS', 'SY', 'YE'];

/**
 * Upper edges (percent) of the bands of a participant's largest single-name share; the single-name limit is
 * one of them, so "participants in breach" is the sum of the bands above it.
 */
export const SINGLE_NAME_BAND_EDGES_PERCENT: readonly number[] = [10, 25, 50];

/**
 * A verdict under noise is given only when the evidence is at least this many noise standard deviations
 * from the limit (Bonferroni-adjusted over a rule's breach tests), so a confident verdict is wrong with
 * probability at most Φ(−3) ≈ 0.00135 under Gaussian noise; otherwise the rule is 'inconclusive'.
 */
export const VERDICT_Z = 3;

/**
 * Release policy minimum group size. 1, deliberately: the regulator is entitled to exact breach counts
 * ("1 participant in breach", "3 unreported exposures"). The model releases no per-record figure: only
 * counts (participants per rule band, exposures above the threshold, unreported ones) and amounts as shares
 * of the consortium's total exposure, never a participant's own total or a record identifier.
 */
export const COMPLIANCE_MIN_GROUP_SIZE = 1;

export type RuleId = 'single_name_concentration' | 'sector_concentration' | 'high_risk_jurisdictions' | 'reporting_threshold';
export const RULE_IDS: readonly RuleId[] = ['single_name_concentration', 'sector_concentration', 'high_risk_jurisdictions', 'reporting_threshold'];

export interface ComplianceRule {
  readonly id: RuleId;
  /** 'participant': checked on each participant's own book; 'consortium': on the combined book; 'exposure': on every exposure. */
  readonly scope: 'participant' | 'consortium' | 'exposure';
  readonly description: string;
  /** The share limit (ratio rules), in basis points; null for the reporting rule. */
  readonly limitBasisPoints: number | null;
}

export const RULES: readonly ComplianceRule[] = deepFreeze([
  {
    id: 'single_name_concentration',
    scope: 'participant',
    description: "No participant's exposure to a single counterparty exceeds 25% of that participant's total exposure.",
    limitBasisPoints: 2500,
  },
  {
    id: 'sector_concentration',
    scope: 'consortium',
    description: "No sector exceeds 35% of the consortium's total exposure.",
    limitBasisPoints: 3500,
  },
  {
    id: 'high_risk_jurisdictions',
    scope: 'consortium',
    description: "Exposure to the declared high-risk jurisdictions is at most 5% of the consortium's total exposure.",
    limitBasisPoints: 500,
  },
  {
    id: 'reporting_threshold',
    scope: 'exposure',
    description: 'Every exposure of 10,000 or more (reporting currency) has been reported to the regulator.',
    limitBasisPoints: null,
  },
] as ComplianceRule[]);

export function ruleOf(id: RuleId): ComplianceRule {
  const rule = RULES.find((r) => r.id === id);
  if (!rule) throw new RangeError(`id: unknown rule`);
  return rule;
}

/** The limit of a ratio rule, in basis points. */
export function limitOf(id: RuleId): number {
  const bps = ruleOf(id).limitBasisPoints;
  if (bps === null) throw new RangeError(`id: ${id} has no share limit`);
  return bps;
}

if (!SINGLE_NAME_BAND_EDGES_PERCENT.includes(limitOf('single_name_concentration') / 100)) {
  throw new Error('the single-name limit must be one of the band edges');
}

/** round(amount / AMOUNT_UNIT): what one exposure adds to the amount statistics (0 … SCALE). */
export function amountUnits(amount: number): number {
  return Math.round(amount / AMOUNT_UNIT);
}

/** part / whole > limit, exactly (integers; BigInt because part × 10,000 may pass 2^53). */
export function exceedsLimit(part: number, whole: number, limitBasisPoints: number): boolean {
  return BigInt(part) * 10_000n > BigInt(whole) * BigInt(limitBasisPoints);
}

/** floor(whole × limit): the largest part that does not breach the limit. */
export function allowedPart(whole: number, limitBasisPoints: number): number {
  return Number((BigInt(whole) * BigInt(limitBasisPoints)) / 10_000n);
}

export const COMPLIANCE_CONSTANTS: Readonly<Record<string, unknown>> = deepFreeze({
  dataSchema: EXPOSURE_RECORDS_V1,
  rules: RULES.map((r) => ({ ...r })),
  sectors: [...SECTORS],
  highRiskCountries: [...HIGH_RISK_COUNTRIES],
  reportingThreshold: REPORTING_THRESHOLD,
  maxAmount: MAX_AMOUNT,
  amountUnit: AMOUNT_UNIT,
  amountRounding: 'round(amount / amountUnit), half up, per exposure',
  singleNameBandEdgesPercent: [...SINGLE_NAME_BAND_EDGES_PERCENT],
  verdictZ: VERDICT_Z,
  verdictUnderNoise:
    "one-sided tests at alpha = Phi(-verdictZ): fail when the Bonferroni-adjusted p-value of the rule's breach tests is at most alpha, pass when every breach test is at least verdictZ noise standard deviations below its limit, otherwise 'inconclusive' (passed = null)",
  minGroupSize: COMPLIANCE_MIN_GROUP_SIZE,
  minGroupSizeReason:
    'a regulator is entitled to exact breach counts; the model releases only counts of rule breaches, participants per share band and exposures, and amounts as shares of the consortium total, never a per-record figure, a participant total or an identifier',
});
