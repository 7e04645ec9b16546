// Aggregate layouts (docs/secure-aggregation.md, "Statistics"): the named integer statistics a model
// computes from ONE party's records under `secure_aggregation`, in a fixed order, each with the largest
// value one record can add to it. The party's SDK computes them (statistics.ts), splits each into two
// ring limbs (encoding.ts) and masks them; the enclave decodes the sum and analyses it (analysis.ts).
//
// risk-analyzer-v2/aggregates/v1. Every statistic is a sum over the party's records of
//   round(scale × c1 × c2 × c3)   (columns multiplied left to right in the order the name lists them)
// over a per-record column vector:
//   - the model's 15 bounded features (features.ts, bias excluded), computed on the party's own records
//     only, each shifted by its lower bound so it lies in [0, max − min];
//   - filters: labelled (1 when the record has a label), fraud (1 when labelled 'fraud');
//   - indicators: channel ach / internal, what the party's own detectors flag (detectors.ts), amount
//     band (log10) and UTC time-of-day band.
// Entries: counts, per-feature sums, sums of squares (bounded features; an indicator's square is its
// count) and cross-products (pairs of channels, which never co-occur, are left out), the same moments
// over labelled records, the features' sums over fraud records (Xᵀy), and histograms.
//
// Sensitivity (unit: one record's row). Adding or removing one row changes each statistic by at most its
// perRecordMax and each histogram group (one bin per record) by at most its largest bin's bound, so
//   l1 = Σ_ungrouped perRecordMax + Σ_groups max perRecordMax,  l2 = sqrt(Σ of the squares of the same).
// The features of a row are taken as given: several (account median, account size, gap since the
// previous record, pass-through and structuring evidence, home country) depend on the account's other
// records, so one raw record can also move other rows of its account. The bounds cover a row, not that.
import { DETECTOR_PARAMETERS } from '../detectors.js';
import { FEATURE_NAMES } from '../features.js';
import { MAX_RECORDS, deepFreeze } from '../schema.js';

export type AggregateEntryKind = 'count' | 'sum' | 'sum_squares' | 'cross_product' | 'histogram';

export interface AggregateEntry {
  readonly name: string;
  readonly kind: AggregateEntryKind;
  /** Largest value one record adds to this statistic, in integer units (scale included). */
  readonly perRecordMax: number;
  /** Histogram group: a record adds to at most one entry of its group (used by the sensitivities). */
  readonly group?: string;
}

/** A bounded per-record feature as the layout holds it: value − min, in [0, max − min]. */
export interface AggregateFeature {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  /** 0/1 indicator: its square is its count and no sum_squares entry exists. */
  readonly binary: boolean;
}

export interface AggregateLayout {
  readonly id: string;
  readonly modelId: string;
  readonly version: number;
  /** Integer multiplier: a per-record quantity q contributes round(scale × q). */
  readonly scale: number;
  /** Bits of the low ring limb. */
  readonly limbBits: 16;
  readonly features: readonly AggregateFeature[];
  readonly entries: readonly AggregateEntry[];
  readonly statisticCount: number;
  /** 2 × statisticCount: ring entries 2i (low limb + noise) and 2i + 1 (high limb) carry statistic i. */
  readonly ringLength: number;
  readonly maxParties: number;
  /** Largest value of one statistic of one party: 2^40 − 1. */
  readonly maxValue: number;
  /** Largest |noise| one party may add to one statistic: 2^30 / maxParties, so a sum's low limbs fit an int32. */
  readonly maxNoiseMagnitude: number;
  readonly maxRecordsPerParty: number;
  /** Largest L1 / L2 change of the statistic vector from one record's row, in integer units. */
  readonly l1Sensitivity: number;
  readonly l2Sensitivity: number;
}

export const LIMB_BITS = 16;
export const LIMB = 2 ** LIMB_BITS;
export const MAX_STATISTIC_VALUE = 2 ** 40 - 1;
export const AGGREGATE_MAX_PARTIES = 128;

// ---- columns of the risk-analyzer-v2 layout ----

export type ColumnRole = 'one' | 'feature' | 'filter' | 'indicator' | 'band';

export interface Column {
  name: string;
  /** Largest value of the column (after the feature shift); the smallest is 0. */
  range: number;
  role: ColumnRole;
  binary: boolean;
}

/** Declared bounds of features.ts's features (bias excluded), in FEATURE_NAMES order. */
const FEATURE_BOUNDS: ReadonlyArray<[name: string, min: number, max: number, binary: boolean]> = [
  ['log10_amount_over_6', 0, 1.5, false],
  ['near_reporting_threshold', 0, 1, true],
  ['channel_cash', 0, 1, true],
  ['channel_wire', 0, 1, true],
  ['channel_card', 0, 1, true],
  ['foreign_country', 0, 1, true],
  ['direction_credit', 0, 1, true],
  ['pass_through_quality', 0, 1, false],
  ['chain_strength_over_4', 0, 1, false],
  ['structuring_evidence', 0, 1, false],
  ['days_since_previous_over_365', 0, 1, false],
  ['log10_amount_over_account_median_over_3', -1, 1, false],
  ['log10_account_records_over_4', 0, 1.5, false],
  ['transfer_linked_both_sides', 0, 1, true],
  ['night_utc', 0, 1, true],
];
if (FEATURE_BOUNDS.length !== FEATURE_NAMES.length - 1 || FEATURE_BOUNDS.some(([name], j) => FEATURE_NAMES[j + 1] !== name)) {
  throw new Error('aggregate layout: FEATURE_BOUNDS is out of step with features.ts FEATURE_NAMES');
}

/** Pairs of features that are never both non-zero (one channel per record): no cross-product entry. */
const EXCLUSIVE_PAIRS: ReadonlySet<string> = new Set(['channel_cash*channel_wire', 'channel_cash*channel_card', 'channel_wire*channel_card']);

/** Amount bands (upper bounds, exclusive) of the log10 amount histogram. */
export const AMOUNT_BANDS: ReadonlyArray<[upper: number, label: string]> = [
  [10, 'under_10'],
  [100, '10_to_100'],
  [1_000, '100_to_1k'],
  [10_000, '1k_to_10k'],
  [100_000, '10k_to_100k'],
  [1_000_000, '100k_to_1m'],
  [Infinity, '1m_and_over'],
];
/** UTC hour bands of the time-of-day histogram: [from, to). */
export const HOUR_BANDS: ReadonlyArray<[from: number, to: number, label: string]> = [
  [0, 6, 'hour_00_06'],
  [6, 12, 'hour_06_12'],
  [12, 18, 'hour_12_18'],
  [18, 24, 'hour_18_24'],
];
/** Indicators from the party's own detectors (evidence >= the flag threshold). */
export const LOCAL_DETECTOR_COLUMNS = ['flagged_locally', 'structuring_flagged', 'dormant_flagged', 'chain_flagged'] as const;

export const FILTER_PREFIXES = ['', 'labelled*', 'fraud*'] as const;
export type FilterPrefix = (typeof FILTER_PREFIXES)[number];

export function singleName(prefix: FilterPrefix, f: AggregateFeature): string {
  return `${f.binary ? 'count' : 'sum'}:${prefix}${f.name}`;
}
export function squareName(prefix: FilterPrefix, f: AggregateFeature): string {
  return `sum_squares:${prefix}${f.name}`;
}
/** Name of the cross-product of features a < b (layout order), or undefined when the pair is exclusive. */
export function pairName(prefix: FilterPrefix, a: AggregateFeature, b: AggregateFeature): string | undefined {
  return EXCLUSIVE_PAIRS.has(`${a.name}*${b.name}`) ? undefined : `cross_product:${prefix}${a.name}*${b.name}`;
}
export function amountBandName(prefix: FilterPrefix, label: string): string {
  return `histogram:${prefix}amount_${label}`;
}

/** Internal plan of a layout: its columns and, per entry, three column indices (padded with `one`). */
export interface LayoutPlan {
  columns: readonly Column[];
  columnIndex: ReadonlyMap<string, number>;
  terms: Int32Array;
  entryIndex: ReadonlyMap<string, number>;
}

interface Draft {
  name: string;
  kind: AggregateEntryKind;
  columns: string[];
  group?: string;
}

/**
 * The L1 and L2 change of a statistic vector from one record's row: every ungrouped entry can move by its
 * perRecordMax, and a histogram group (one entry per record) by its largest entry's.
 */
export function recordSensitivities(entries: readonly AggregateEntry[]): { l1: number; l2: number } {
  let l1 = 0;
  let l2sq = 0;
  const groupMax = new Map<string, number>();
  for (const e of entries) {
    if (e.group === undefined) {
      l1 += e.perRecordMax;
      l2sq += e.perRecordMax ** 2;
    } else groupMax.set(e.group, Math.max(groupMax.get(e.group) ?? 0, e.perRecordMax));
  }
  for (const m of groupMax.values()) {
    l1 += m;
    l2sq += m ** 2;
  }
  return { l1, l2: Math.sqrt(l2sq) };
}

function buildRiskAnalyzerLayout(modelId: string): { layout: AggregateLayout; plan: LayoutPlan } {
  const scale = 256;
  const features: AggregateFeature[] = FEATURE_BOUNDS.map(([name, min, max, binary]) => ({ name, min, max, binary }));
  const columns: Column[] = [{ name: 'one', range: 1, role: 'one', binary: true }];
  for (const f of features) columns.push({ name: f.name, range: f.max - f.min, role: 'feature', binary: f.binary });
  columns.push({ name: 'labelled', range: 1, role: 'filter', binary: true }, { name: 'fraud', range: 1, role: 'filter', binary: true });
  for (const name of ['channel_ach', 'channel_internal', ...LOCAL_DETECTOR_COLUMNS]) columns.push({ name, range: 1, role: 'indicator', binary: true });
  for (const [, label] of AMOUNT_BANDS) columns.push({ name: `amount_${label}`, range: 1, role: 'band', binary: true });
  for (const [, , label] of HOUR_BANDS) columns.push({ name: label, range: 1, role: 'band', binary: true });
  const columnIndex = new Map(columns.map((c, i) => [c.name, i]));

  const drafts: Draft[] = [];
  const add = (name: string, kind: AggregateEntryKind, cols: string[], group?: string): void => {
    drafts.push(group === undefined ? { name, kind, columns: cols } : { name, kind, columns: cols, group });
  };
  add('count:records', 'count', ['one']);
  add('count:channel_ach', 'count', ['channel_ach']);
  add('count:channel_internal', 'count', ['channel_internal']);
  for (const c of LOCAL_DETECTOR_COLUMNS) add(`count:${c}`, 'count', [c]);
  add('count:labelled*flagged_locally', 'count', ['labelled', 'flagged_locally']);
  add('count:fraud*flagged_locally', 'count', ['fraud', 'flagged_locally']);
  const moments = (prefix: 'labelled*' | ''): void => {
    const filter = prefix === '' ? [] : ['labelled'];
    for (const f of features) add(singleName(prefix, f), f.binary ? 'count' : 'sum', [...filter, f.name]);
    for (const f of features) if (!f.binary) add(squareName(prefix, f), 'sum_squares', [...filter, f.name, f.name]);
    for (let a = 0; a < features.length; a++) {
      for (let b = a + 1; b < features.length; b++) {
        const name = pairName(prefix, features[a]!, features[b]!);
        if (name !== undefined) add(name, 'cross_product', [...filter, features[a]!.name, features[b]!.name]);
      }
    }
  };
  moments('');
  add('count:labelled', 'count', ['labelled']);
  add('count:fraud', 'count', ['fraud']);
  moments('labelled*');
  for (const f of features) add(singleName('fraud*', f), f.binary ? 'count' : 'sum', ['fraud', f.name]);
  for (const prefix of FILTER_PREFIXES) {
    const filter = prefix === '' ? [] : [prefix.slice(0, -1)];
    for (const [, label] of AMOUNT_BANDS) add(amountBandName(prefix, label), 'histogram', [...filter, `amount_${label}`], `${prefix}amount`);
  }
  for (const [, , label] of HOUR_BANDS) add(`histogram:${label}`, 'histogram', [label], 'hour');

  const maxRecordsPerParty = MAX_RECORDS;
  const terms = new Int32Array(3 * drafts.length);
  const entries: AggregateEntry[] = drafts.map((d, e) => {
    if (d.columns.length > 3) throw new Error(`aggregate layout: ${d.name} multiplies more than three columns`);
    let range = 1;
    d.columns.forEach((name, k) => {
      const c = columnIndex.get(name);
      if (c === undefined) throw new Error(`aggregate layout: ${d.name} names an unknown column`);
      terms[3 * e + k] = c;
      range *= columns[c]!.range;
    });
    const perRecordMax = Math.round(scale * range);
    if (perRecordMax * maxRecordsPerParty > MAX_STATISTIC_VALUE) throw new Error(`aggregate layout: ${d.name} can exceed maxValue`);
    return d.group === undefined ? { name: d.name, kind: d.kind, perRecordMax } : { name: d.name, kind: d.kind, perRecordMax, group: d.group };
  });
  const entryIndex = new Map(entries.map((e, i) => [e.name, i]));
  if (entryIndex.size !== entries.length) throw new Error('aggregate layout: duplicate statistic name');

  const { l1, l2 } = recordSensitivities(entries);
  const layout: AggregateLayout = deepFreeze({
    id: `${modelId}/aggregates/v1`,
    modelId,
    version: 1,
    scale,
    limbBits: LIMB_BITS,
    features,
    entries,
    statisticCount: entries.length,
    ringLength: 2 * entries.length,
    maxParties: AGGREGATE_MAX_PARTIES,
    maxValue: MAX_STATISTIC_VALUE,
    maxNoiseMagnitude: 2 ** 30 / AGGREGATE_MAX_PARTIES,
    maxRecordsPerParty,
    l1Sensitivity: l1,
    l2Sensitivity: l2,
  } as AggregateLayout);
  return { layout, plan: { columns, columnIndex, terms, entryIndex } };
}

const RISK_ANALYZER_MODEL_ID = 'risk-analyzer-v2';
const riskAnalyzer = buildRiskAnalyzerLayout(RISK_ANALYZER_MODEL_ID);

/** The layout of risk-analyzer-v2 under secure aggregation. */
export const RISK_ANALYZER_LAYOUT: AggregateLayout = riskAnalyzer.layout;

const LAYOUTS: ReadonlyMap<string, { layout: AggregateLayout; plan: LayoutPlan }> = new Map([[RISK_ANALYZER_LAYOUT.id, riskAnalyzer]]);
const BY_MODEL: ReadonlyMap<string, AggregateLayout> = new Map([[RISK_ANALYZER_MODEL_ID, RISK_ANALYZER_LAYOUT]]);

/** The layout of risk-analyzer-v2 when `modelId` names it, or undefined (the model registry adds the use-case models'). */
export function aggregateLayoutOf(modelId: string): AggregateLayout | undefined {
  if (typeof modelId !== 'string') throw new TypeError('modelId must be a string');
  return BY_MODEL.get(modelId);
}

// ---- layouts of use-case models (use-cases/kit.ts) ----

/** A layout the use-case kit defined, with the party-statistics function of its model's spec. */
export interface DefinedLayout {
  readonly layout: AggregateLayout;
  /** No columns or terms (those are risk-analyzer-v2's); `entryIndex` maps statistic names to positions. */
  readonly plan: LayoutPlan;
  /** One party's checked statistic vector from its raw records (validated here with the model's schema). */
  readonly statistics: (records: readonly unknown[]) => number[];
  /** The model digest the layout was defined with: defining another model under the same id is refused. */
  readonly digest: string;
}

/**
 * Layouts defined by defineUseCaseModel, by layout id. Append-only: an entry is added when a model is defined
 * and never replaced, so a layout id always means one statistic vector.
 */
const DEFINED = new Map<string, DefinedLayout>();

/**
 * Makes a use-case layout known to resolveLayout, encodeStatistics, decodeStatisticSum and computeStatistics.
 * Defining the same model (same digest) again keeps the first entry; another model under an id already in use
 * is a TypeError.
 */
export function defineLayout(entry: DefinedLayout): DefinedLayout {
  const id = entry.layout.id;
  if (LAYOUTS.has(id)) throw new TypeError(`layout id ${id} is already taken by a built-in model`);
  const known = DEFINED.get(id);
  if (known !== undefined) {
    if (known.digest !== entry.digest) throw new TypeError(`layout id ${id} is already defined by another model (digest ${known.digest})`);
    return known;
  }
  DEFINED.set(id, entry);
  return entry;
}

/** The party-statistics function of a use-case layout, or undefined for a built-in layout. */
export function definedStatisticsOf(layoutId: string): ((records: readonly unknown[]) => number[]) | undefined {
  return DEFINED.get(layoutId)?.statistics;
}

/**
 * The registered layout (and its plan) that `layout` names. A copy (e.g. after structured cloning) is
 * accepted when its id, version, scale and statisticCount match; anything else is a TypeError.
 */
export function resolveLayout(layout: unknown, name = 'layout'): { layout: AggregateLayout; plan: LayoutPlan } {
  if (typeof layout !== 'object' || layout === null) throw new TypeError(`${name} must be an aggregate layout (aggregateLayoutOf)`);
  const l = layout as Partial<AggregateLayout>;
  const known = typeof l.id === 'string' ? (LAYOUTS.get(l.id) ?? DEFINED.get(l.id)) : undefined;
  if (!known || l.version !== known.layout.version || l.scale !== known.layout.scale || l.statisticCount !== known.layout.statisticCount) {
    throw new TypeError(`${name} must be an aggregate layout (aggregateLayoutOf)`);
  }
  return known;
}

/** Flag threshold the local-detector indicator columns use. */
export const LOCAL_FLAG_THRESHOLD = DETECTOR_PARAMETERS.flagThreshold;
