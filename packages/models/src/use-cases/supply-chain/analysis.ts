// The analysis of supply-chain-optimizer-v1 on the summed statistic vector (statistics.ts): per SKU the
// pooled demand, the pooled supply curve by cost band, the bottlenecks, the group plan and the gain over
// the vendors' siloed plans, then the narrative. It sees sums only, never a vendor's line. A SKU is
// released (and pooled) only with at least MIN_GROUP_SIZE vendors and as many suppliers below spot
// (plan.ts isReleased); the totals cover the released SKUs only, so no difference of figures isolates a
// suppressed one.
//
// Group plan of a SKU (spot units). The cost bands with capacity are first merged, cheapest first, into
// groups of consecutive bands of at least MIN_GROUP_SIZE suppliers' lines each (supply-curve.ts), so that
// every step of the curve the plan uses mixes at least MIN_GROUP_SIZE vendors. Fill the pooled demand D
// from the groups in increasing order, a full group g at its total cost K_g, the last (cutoff) group
// partially at its average cost K_g / C_g; the rest is bought at spot. This is the cost of a plan every
// vendor can carry out on its own lines: make in full every line below the cutoff group's bands and the
// cutoff fraction of every line in them.
//
// Banding error. The exact pooled optimum takes the same units from the groups below the cutoff and the
// x cheapest of the cutoff group's C units instead of an x / C share of each, so banded ≥ exact. Let μ and
// V be the capacity-weighted mean and variance of unit cost (spot units) in the cutoff group, a the mean of
// its x cheapest units, W = (last − first + 1) / COST_BANDS the width of its bands and w = 1 / COST_BANDS
// the width of one band. Every cost of the group lies in an interval of width W, so μ − a ≤ (C − x) / C × W
// and V ≤ W² / 4; the between-group variance of {x cheapest, C − x others} is (μ − a)² x / (C − x) ≤ V.
// With L = first / COST_BANDS and H = (last + 1) / COST_BANDS the group's edges, x (μ − a) = (C − x)(b − μ)
// for b the mean of the others, a ≥ L and b < H. Hence, per SKU,
//     0 ≤ banded cost − exact cost = x (μ − a)
//       ≤ min( x (C − x) / C × W,  √(V' x (C − x)),  x (μ − L),  (C − x)(H − μ) )   (spot units),
// with V' = min(max(V, w² / 4), W² / 4) plus an allowance for the rounding of Q and K (and μ one for that
// of K), V = Q / C − μ² from the group's sum of capacity × cost². The floor w² / 4 keeps the bound from
// telling a small spread of costs from none (costs all alike): the bound depends on the group's costs only
// through its average μ and, when their spread exceeds half a band, their variance, both functions of the
// sums C, K and Q over the at least MIN_GROUP_SIZE lines of the group, like the group cost itself.
// The analysis reports min(banded, siloed) as the group cost (the siloed plans are a plan too), so the group
// cost never exceeds the siloed cost and stays within the same bound of the exact optimum.
// Rounding each record's costs to 1 / SCALE adds at most 1 / SCALE spot units per line to the gain.
//
// Noise (secure aggregation with DP): each statistic carries noise of standard deviation σ / SCALE units.
// Figures are clamped to what sums without noise can be (no negative units, a band's average cost inside
// the band, the siloed cost at most the demand), and the stated standard errors are linearised:
// σ for a SKU's siloed cost and σ √(2 (COST_BANDS + 1)) for its group cost, in spot units.
import { aggregate, formatInt, round } from '../../report.js';
import type { Aggregate, AggregationMethod } from '../../types.js';
import type { SummedStatistics, UseCaseAnalysis } from '../contract.js';
import { COST_BANDS, CURRENCY, MIN_GROUP_SIZE, SCALE, SKU_CATALOGUE, SKU_IDS, SUPPLY_CHAIN_MODEL_ID, UTILISATION_THRESHOLD } from './catalogue.js';
import { isBottleneck, isReleased } from './plan.js';
import { LINE_WEIGHT, SKU_STATISTIC_INDEX, SUPPLY_CHAIN_STATISTIC_COUNT } from './statistics.js';
import { coarsenSupplyCurve, type BandSupply, type CostGroup } from './supply-curve.js';

const METHODS: readonly AggregationMethod[] = ['federated', 'secure_aggregation', 'mpc'];

/** The allocation rule of a pooled SKU, which each vendor applies to its own line. */
export interface AllocationRule {
  /**
   * The cutoff group's cost bands, firstCutoffBand to lastCutoffBand: lines in a lower band make their full
   * capacity, lines in these bands the cutoffFraction, lines in a higher band (or at or above spot) nothing.
   * The group holds at least MIN_GROUP_SIZE suppliers' lines (bands of fewer are merged, supply-curve.ts).
   */
  readonly firstCutoffBand: number;
  readonly lastCutoffBand: number;
  /** Share of its capacity a line in the cutoff bands makes, in [0, 1]. */
  readonly cutoffFraction: number;
  /** The cutoff bands' unit cost range [from, to), CURRENCY. */
  readonly fromUnitCost: number;
  readonly toUnitCost: number;
}

/** What the findings say about one SKU (the stats of its aggregate, whose count is its vendors). */
export interface SkuFindings {
  readonly sku: string;
  readonly name: string;
  readonly spotPrice: number;
  /** Vendors with capacity below spot (the aggregate's count is the vendors dealing in the SKU). */
  readonly suppliers: number;
  readonly pooledDemandUnits: number;
  readonly subSpotCapacityUnits: number;
  /** Units made over capacity below spot under the group plan; null without such capacity. */
  readonly utilisation: number | null;
  readonly shortfallUnits: number;
  readonly bottleneck: boolean;
  readonly bottleneckKind: 'shortfall' | 'tight' | null;
  /** Capacity-weighted lead time over all the SKU's capacity; null without capacity. */
  readonly averageLeadTimeDays: number | null;
  /** 'pooled' when the group plan beats the siloed plans, 'own' when every vendor keeps its own. */
  readonly plan: 'pooled' | 'own';
  readonly rule: AllocationRule | null;
  readonly unitsMadeInHouse: { readonly siloed: number; readonly group: number };
  readonly spotPurchaseUnits: { readonly siloed: number; readonly group: number };
  readonly siloedCost: number;
  readonly groupCost: number;
  readonly gain: number;
  readonly gainPercent: number | null;
  /** Largest amount by which the banded group cost exceeds the exact pooled optimum, CURRENCY. */
  readonly bandingErrorBound: number;
}

export interface SupplyChainFindings {
  readonly model: string;
  readonly method: AggregationMethod;
  readonly vendors: number;
  readonly currency: string;
  readonly minGroupSize: number;
  readonly costBands: number;
  /** Per catalogue SKU, an aggregate whose count is the number of vendors dealing in it. */
  readonly skus: Record<string, Aggregate>;
  /** SKUs with figures (at least minGroupSize vendors), catalogue order. */
  readonly analysedSkus: readonly string[];
  readonly bottlenecks: readonly string[];
  readonly pooledSkus: readonly string[];
  /** Over the analysed SKUs, CURRENCY. */
  readonly totals: { readonly siloedCost: number; readonly groupCost: number; readonly gain: number; readonly gainPercent: number | null };
  readonly error: {
    /** Banded group cost − exact pooled optimum is in [0, bandingBound] (CURRENCY); the gain is understated by as much. */
    readonly bandingBound: number;
    /** Largest effect of rounding each record's statistics to 1 / SCALE, CURRENCY. */
    readonly roundingBound: number;
    /** Noise standard deviation of each statistic, in units (0 without noise). */
    readonly noiseStdUnits: number;
    /** Linearised standard errors from the noise, CURRENCY. */
    readonly noiseStandardError: { readonly siloedCost: number; readonly groupCost: number; readonly gain: number };
    /** |stated gain − exact pooled gain| ≤ gainTolerance: banding + rounding + 3 noise standard errors. */
    readonly gainTolerance: number;
  };
}

interface SkuPlan {
  readonly vendors: number;
  readonly suppliers: number;
  readonly figures: SkuFindings;
  /** CURRENCY. */
  readonly bandingBound: number;
  readonly roundingBound: number;
  readonly seSiloed: number;
  readonly seGroup: number;
}

/** Rounds a bound up to the cent, so the stated bound is never below the true one. */
const ceilCent = (x: number): number => Math.ceil(x * 100) / 100;
const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

function checkSum(sum: SummedStatistics): void {
  if (typeof sum !== 'object' || sum === null) throw new TypeError('sum must be a SummedStatistics object');
  if (!Array.isArray(sum.values)) throw new TypeError('sum.values must be an array');
  if (sum.values.length !== SUPPLY_CHAIN_STATISTIC_COUNT) throw new RangeError(`sum.values must hold ${SUPPLY_CHAIN_STATISTIC_COUNT} statistics`);
  if (!sum.values.every((v) => typeof v === 'number' && Number.isFinite(v))) throw new TypeError('sum.values must be finite numbers');
  if (sum.scale !== SCALE) throw new RangeError(`sum.scale must be the model's scale ${SCALE}`);
  if (typeof sum.noiseStd !== 'number' || !Number.isFinite(sum.noiseStd) || sum.noiseStd < 0) throw new RangeError('sum.noiseStd must be a finite number ≥ 0');
  if (!Number.isInteger(sum.parties) || sum.parties < 1) throw new RangeError('sum.parties must be a positive integer');
  if (!METHODS.includes(sum.method)) throw new RangeError(`sum.method must be one of ${METHODS.join(', ')}`);
}

/**
 * Largest amount (spot units) by which taking `take` of the cutoff group's capacity at the group's average
 * cost exceeds taking its cheapest `take` units (see the header).
 */
function bandingErrorBound(g: CostGroup, take: number, vendors: number): number {
  const w = 1 / COST_BANDS;
  const width = (g.last - g.first + 1) / COST_BANDS;
  const c = g.capacity;
  const worst = ((take * (c - take)) / c) * width;
  const mean = g.cost / c;
  // Q and K are sums of per-line values rounded to 1 / SCALE: V may read up to 1.5 / (SCALE c) per line low.
  const variance = clamp(g.costSquared / c - mean * mean, (w * w) / 4, (width * width) / 4) + (2 * Math.max(1, vendors)) / (SCALE * c);
  // The x cheapest units cost at least the group's lower edge L, the others at most its upper edge H:
  // x (μ − a) = (C − x)(b − μ) ≤ min(x (μ − L), (C − x)(H − μ)); μ may read up to vendors / (2 SCALE C) off.
  const slack = Math.max(1, vendors) / (SCALE * c) + 1e-9;
  const lower = take * (mean - g.first / COST_BANDS + slack);
  const upper = (c - take) * ((g.last + 1) / COST_BANDS - mean + slack);
  return Math.max(0, Math.min(worst, Math.sqrt(variance * take * (c - take)), lower, upper));
}

/** One SKU's figures from its statistics (units, spot units), clamped to what noiseless sums can be. */
function planSku(k: number, v: readonly number[], sigma: number): SkuPlan {
  const { sku, name, spotPrice: spot } = SKU_CATALOGUE[k]!;
  const ix = SKU_STATISTIC_INDEX[k]!;
  const units = (i: number): number => Math.max(0, v[i]! / SCALE);
  const vendors = Math.round(units(ix.lines) / LINE_WEIGHT);
  const suppliers = Math.round(units(ix.suppliers) / LINE_WEIGHT);
  const demand = units(ix.demand);
  const bands = ix.bandCost.map((i, b): BandSupply => {
    const capacity = units(ix.capacity[b]!);
    return {
      lines: Math.round(units(ix.bandLines[b]!) / LINE_WEIGHT),
      capacity,
      cost: clamp(v[i]! / SCALE, (capacity * b) / COST_BANDS, (capacity * (b + 1)) / COST_BANDS),
      costSquared: v[ix.bandCostSquared[b]!]! / SCALE,
    };
  });
  const subSpot = bands.reduce((s, band) => s + band.capacity, 0);
  const allCapacity = subSpot + units(ix.capacity[COST_BANDS]!);
  const siloedCost = clamp(v[ix.siloedCost]! / SCALE, 0, demand);
  const siloedMade = clamp(v[ix.siloedMade]! / SCALE, 0, Math.min(demand, subSpot));

  let remaining = demand;
  let banded = 0;
  let cutoff: CostGroup | null = null;
  let fraction = 0;
  let bandingBound = 0;
  for (const g of coarsenSupplyCurve(bands)) {
    if (!(remaining > 0)) break;
    const take = Math.min(remaining, g.capacity);
    banded += take * (g.cost / g.capacity);
    remaining -= take;
    cutoff = g;
    fraction = take / g.capacity;
    bandingBound = bandingErrorBound(g, take, vendors);
  }
  const shortfall = remaining;
  banded += shortfall;
  const pooled = banded < siloedCost && cutoff !== null;
  const groupCost = pooled ? banded : siloedCost;
  const bottleneck = isBottleneck(demand, subSpot);
  const gain = (siloedCost - groupCost) * spot;
  const cutoffFraction = round(fraction, 6);
  const figures: SkuFindings = {
    sku,
    name,
    spotPrice: spot,
    suppliers,
    pooledDemandUnits: Math.round(demand),
    subSpotCapacityUnits: Math.round(subSpot),
    utilisation: subSpot > 0 ? round(Math.min(demand, subSpot) / subSpot, 4) : null,
    shortfallUnits: Math.round(shortfall),
    bottleneck,
    bottleneckKind: !bottleneck ? null : shortfall > 0 ? 'shortfall' : 'tight',
    averageLeadTimeDays: allCapacity > 0 ? round(clamp((365 * units(ix.leadTime)) / allCapacity, 0, 365), 1) : null,
    plan: pooled ? 'pooled' : 'own',
    rule:
      pooled && cutoff !== null
        ? {
            firstCutoffBand: cutoff.first,
            lastCutoffBand: cutoff.last,
            cutoffFraction,
            fromUnitCost: round((spot * cutoff.first) / COST_BANDS, 2),
            toUnitCost: round((spot * (cutoff.last + 1)) / COST_BANDS, 2),
          }
        : null,
    unitsMadeInHouse: { siloed: Math.round(siloedMade), group: Math.round(pooled ? demand - shortfall : siloedMade) },
    spotPurchaseUnits: { siloed: Math.round(demand - siloedMade), group: Math.round(pooled ? shortfall : demand - siloedMade) },
    siloedCost: round(siloedCost * spot, 2),
    groupCost: round(groupCost * spot, 2),
    gain: round(gain, 2),
    gainPercent: siloedCost > 0 ? round((100 * (siloedCost - groupCost)) / siloedCost, 2) : null,
    bandingErrorBound: ceilCent(bandingBound * spot),
  };
  return {
    vendors,
    suppliers,
    figures,
    bandingBound: bandingBound * spot,
    // 1 / (2 SCALE) per line in the siloed cost and in the band costs, and a cent of rounding per SKU figure.
    roundingBound: (vendors * spot) / SCALE + 0.01,
    seSiloed: sigma * spot,
    seGroup: sigma * spot * Math.sqrt(2 * (COST_BANDS + 1)),
  };
}

/** Shared findings and narrative from the summed statistics. Deterministic; copes with noise. */
export function analyseSupplyChain(sum: SummedStatistics): UseCaseAnalysis {
  checkSum(sum);
  const sigma = sum.noiseStd / SCALE;
  const skus: Record<string, Aggregate> = {};
  const analysed: SkuPlan[] = [];
  let banding = 0;
  let rounding = 0;
  let varSiloed = 0;
  let varGroup = 0;
  SKU_IDS.forEach((id, k) => {
    const plan = planSku(k, sum.values, sigma);
    if (!isReleased(plan.vendors, plan.suppliers)) {
      // Too few vendors, or too few of them supplying below spot: nothing about the SKU is released.
      skus[id] = plan.vendors === 0 ? aggregate(0, MIN_GROUP_SIZE, null) : { count: null, suppressed: true, stats: null };
      return;
    }
    skus[id] = aggregate(plan.vendors, MIN_GROUP_SIZE, { ...plan.figures });
    analysed.push(plan);
    banding += plan.bandingBound;
    rounding += plan.roundingBound;
    varSiloed += plan.seSiloed ** 2;
    varGroup += plan.seGroup ** 2;
  });
  const siloedCost = analysed.reduce((s, p) => s + p.figures.siloedCost, 0);
  const groupCost = analysed.reduce((s, p) => s + p.figures.groupCost, 0);
  const gain = siloedCost - groupCost;
  const seGain = Math.sqrt(varSiloed + varGroup);
  const findings: SupplyChainFindings = {
    model: SUPPLY_CHAIN_MODEL_ID,
    method: sum.method,
    vendors: sum.parties,
    currency: CURRENCY,
    minGroupSize: MIN_GROUP_SIZE,
    costBands: COST_BANDS,
    skus,
    analysedSkus: analysed.map((p) => p.figures.sku),
    bottlenecks: analysed.filter((p) => p.figures.bottleneck).map((p) => p.figures.sku),
    pooledSkus: analysed.filter((p) => p.figures.plan === 'pooled').map((p) => p.figures.sku),
    totals: {
      siloedCost: round(siloedCost, 2),
      groupCost: round(groupCost, 2),
      gain: round(gain, 2),
      gainPercent: siloedCost > 0 ? round((100 * gain) / siloedCost, 2) : null,
    },
    error: {
      bandingBound: ceilCent(banding),
      roundingBound: ceilCent(rounding),
      noiseStdUnits: round(sigma, 6),
      noiseStandardError: { siloedCost: round(Math.sqrt(varSiloed), 2), groupCost: round(Math.sqrt(varGroup), 2), gain: round(seGain, 2) },
      gainTolerance: ceilCent(banding + rounding + 3 * seGain),
    },
  };
  return { findings: findings as unknown as Record<string, unknown>, content: writeSupplyChainNarrative(findings, analysed.map((p) => p.figures)) };
}

/** 1234567.891 -> "1,234,567.89" (locale-independent). */
export function formatMoney(x: number): string {
  const cents = Math.round(Math.abs(x) * 100);
  const text = `${formatInt(Math.floor(cents / 100))}.${String(cents % 100).padStart(2, '0')}`;
  return x < 0 && cents > 0 ? `-${text}` : text;
}

function bottleneckPhrase(s: SkuFindings, currency: string): string {
  const lead = s.averageLeadTimeDays === null ? '' : `; capacity-weighted lead time ${s.averageLeadTimeDays} days`;
  if (s.bottleneckKind === 'shortfall') {
    return `${s.sku} ${s.name} (pooled demand ${formatInt(s.pooledDemandUnits)} units against ${formatInt(s.subSpotCapacityUnits)} units of capacity below the spot price of ${formatMoney(s.spotPrice)} ${currency}: ${formatInt(s.shortfallUnits)} units must be bought at spot${lead})`;
  }
  const share = s.utilisation === null ? '' : ` at ${round(s.utilisation * 100, 1)}% of`;
  return `${s.sku} ${s.name} (pooled demand ${formatInt(s.pooledDemandUnits)} units runs${share} the ${formatInt(s.subSpotCapacityUnits)} units of capacity below spot, above the ${UTILISATION_THRESHOLD * 100}% threshold${lead})`;
}

function rulePhrase(s: SkuFindings, currency: string): string {
  const r = s.rule!;
  if (s.shortfallUnits > 0) return `${s.sku}: every line below the spot price of ${formatMoney(s.spotPrice)} ${currency} in full`;
  const below = r.firstCutoffBand === 0 ? '' : `lines below ${formatMoney(r.fromUnitCost)} in full, `;
  return `${s.sku}: ${below}lines from ${formatMoney(r.fromUnitCost)} to under ${formatMoney(r.toUnitCost)} at ${round(r.cutoffFraction * 100, 2)}% of capacity (${currency})`;
}

function writeSupplyChainNarrative(f: SupplyChainFindings, analysed: readonly SkuFindings[]): string {
  const c = f.currency;
  const suppressed = SKU_IDS.filter((id) => f.skus[id]!.suppressed);
  const lines: string[] = [];
  const m = f.minGroupSize;
  let opening = `Supply-chain optimisation (${f.model}, ${f.method} method) over the summed statistics of ${f.vendors} vendor${f.vendors === 1 ? '' : 's'}: ${analysed.length} of ${SKU_IDS.length} catalogue SKUs are dealt in by at least ${m} vendors, at least ${m} of them with capacity below spot, and are analysed`;
  if (suppressed.length > 0) {
    const one = suppressed.length === 1;
    opening += `; ${suppressed.length} SKU${one ? ' has' : 's have'} fewer vendors or suppliers, ${one ? 'is' : 'are'} suppressed and keep${one ? 's' : ''} the siloed plans`;
  }
  lines.push(`${opening}.`);
  const bottlenecks = analysed.filter((s) => s.bottleneck);
  lines.push(bottlenecks.length === 0 ? 'Bottlenecks: none; every analysed SKU has spare capacity below spot.' : `Bottlenecks: ${bottlenecks.map((s) => bottleneckPhrase(s, c)).join('; ')}.`);
  const pooled = analysed.filter((s) => s.plan === 'pooled');
  if (pooled.length === 0) {
    lines.push('Plan: pooling does not beat the siloed plans for any analysed SKU; every vendor keeps its own plan.');
  } else {
    lines.push(
      `Plan: pool ${pooled.length} SKU${pooled.length === 1 ? '' : 's'}. Each vendor makes its lines by unit cost as follows (${pooled.map((s) => rulePhrase(s, c)).join('; ')}), supplies any surplus to the pool and draws any deficit from it; the pool buys any shortfall at spot and settles so that every vendor's cost of a SKU falls by that SKU's gain percent.`,
    );
    const own = analysed.filter((s) => s.plan === 'own');
    if (own.length > 0) lines.push(`Vendors keep their own plans for ${own.map((s) => s.sku).join(', ')}.`);
  }
  const t = f.totals;
  const made = analysed.reduce((s, x) => s + x.unitsMadeInHouse.group - x.unitsMadeInHouse.siloed, 0);
  lines.push(
    `The siloed plans cost ${formatMoney(t.siloedCost)} ${c}; the group plan costs ${formatMoney(t.groupCost)} ${c}, a gain of ${formatMoney(t.gain)} ${c}${t.gainPercent === null ? '' : ` (${t.gainPercent}%)`}, making ${formatInt(Math.max(0, made))} more units in-house instead of buying them at spot.`,
  );
  const e = f.error;
  let accuracy = `Accuracy: pooling capacity by ${f.costBands} cost bands (a band of fewer than ${f.minGroupSize} suppliers' lines merged with its neighbours) overstates the group cost, and so understates the gain, by at most ${formatMoney(e.bandingBound)} ${c} against the exact pooled optimum; rounding adds at most ${formatMoney(e.roundingBound)} ${c}`;
  if (e.noiseStdUnits > 0) {
    accuracy += `; each statistic carries privacy noise of standard deviation ${e.noiseStdUnits} units, which makes the gain uncertain by about ${formatMoney(e.noiseStandardError.gain)} ${c} (one standard error)`;
  }
  lines.push(`${accuracy}; stated gain tolerance ±${formatMoney(e.gainTolerance)} ${c}.`);
  lines.push(
    `No vendor's costs, capacities or line identifiers appear in these findings: every figure mixes the lines of at least ${m} vendors and ${m} suppliers, and every cost step of a plan holds at least ${m} suppliers' lines. Each vendor applies the rule to its own lines; in a federated run it also receives its own allocation and saving privately.`,
  );
  return lines.join(' ');
}
