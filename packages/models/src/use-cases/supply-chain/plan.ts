// The plans of supply-chain-optimizer-v1 on plaintext lines: the per-line rules every vendor applies
// locally (cost band, siloed plan) and the exact pooled optimum over all vendors' records, the reference
// the sum-based analysis (analysis.ts) is measured against in tests and in the demo's ground truth.
//
// Costs inside the model are in spot units (a unit's cost divided by its SKU's spot price); they are
// turned into CURRENCY only when reported.
import { COST_BANDS, MIN_GROUP_SIZE, SKU_CATALOGUE, SKU_IDS, UTILISATION_THRESHOLD, skuIndex } from './catalogue.js';
import { validateSupplyChainLines, type SupplyChainLine } from './schema.js';

const spotOf = (line: SupplyChainLine): number => SKU_CATALOGUE[skuIndex(line.sku)]!.spotPrice;

/** unitCost / spot price of the line's SKU (a line's SKU is in the catalogue: the schema checked it). */
export function costRatio(line: SupplyChainLine): number {
  return line.unitCost / spotOf(line);
}

/** The line's unit cost is below its SKU's spot price: its capacity is worth using. */
export function belowSpot(line: SupplyChainLine): boolean {
  return line.unitCost < spotOf(line);
}

/**
 * Cost band of a line: floor(unitCost / spot × COST_BANDS) below spot, COST_BANDS at or above spot. A
 * ratio within 1e-9 below a band edge counts as on the edge, so a decimal cost such as 1.80 for a spot
 * of 4.50 lies in band 4 whatever the binary rounding of 1.8 / 4.5.
 */
export function costBand(line: SupplyChainLine): number {
  if (!belowSpot(line)) return COST_BANDS;
  return Math.min(COST_BANDS - 1, Math.floor(costRatio(line) * COST_BANDS + 1e-9));
}

/** The vendor's own plan for one line: make min(demand, capacity) when cheaper than spot, buy the rest. */
export function siloedLine(line: SupplyChainLine): { made: number; cost: number } {
  const made = belowSpot(line) ? Math.min(line.demandUnits, line.capacityUnits) : 0;
  return { made, cost: made * costRatio(line) + (line.demandUnits - made) };
}

/** Pooled demand above UTILISATION_THRESHOLD of the pooled capacity below spot (any demand with none). */
export function isBottleneck(demandUnits: number, subSpotCapacityUnits: number): boolean {
  return demandUnits > 0 && demandUnits > UTILISATION_THRESHOLD * subSpotCapacityUnits;
}

/**
 * A SKU's figures are released, and its vendors pool, only when at least MIN_GROUP_SIZE vendors deal in
 * it AND at least MIN_GROUP_SIZE of them supply capacity below spot: the pooled capacity, its costs and
 * the cutoff rule then always mix at least MIN_GROUP_SIZE suppliers' lines, so a supplier subtracting its
 * own line from a figure is left with the sum of at least two others, never one vendor's capacity.
 */
export function isReleased(vendors: number, suppliers: number): boolean {
  return vendors >= MIN_GROUP_SIZE && suppliers >= MIN_GROUP_SIZE;
}

export interface ExactSkuPlan {
  readonly sku: string;
  /** Vendors with a line of this SKU. */
  readonly vendors: number;
  /** Vendors with capacity below spot (capacityUnits > 0 and unitCost < spot). */
  readonly suppliers: number;
  /** At least MIN_GROUP_SIZE vendors and as many suppliers: the SKU may be pooled and reported. */
  readonly released: boolean;
  readonly demandUnits: number;
  readonly subSpotCapacityUnits: number;
  readonly shortfallUnits: number;
  /** Units made over capacity below spot; null without such capacity. */
  readonly utilisation: number | null;
  readonly bottleneck: boolean;
  /** Sum of the vendors' siloed plan costs, CURRENCY. */
  readonly siloedCost: number;
  /** Cost of the exact pooled optimum (cheapest units first, the rest at spot), CURRENCY; equals siloedCost when not released. */
  readonly pooledCost: number;
}

export interface ExactPooledPlan {
  /** Catalogue order. */
  readonly skus: readonly ExactSkuPlan[];
  /** Released bottleneck SKUs, catalogue order. */
  readonly bottlenecks: readonly string[];
  /** Totals over the released SKUs (the ones the analysis reports), CURRENCY. */
  readonly siloedCost: number;
  readonly pooledCost: number;
  readonly gain: number;
  /** gain / siloedCost × 100; null when siloedCost is 0. */
  readonly gainPercent: number | null;
}

/**
 * The exact pooled optimum on every record: per SKU with at least MIN_GROUP_SIZE vendors, the pooled
 * demand is served from all capacity below spot in increasing order of unitCost, the rest bought at spot.
 * A SKU that is not released (isReleased) keeps the siloed plans, as the released allocation rule prescribes.
 */
export function exactPooledPlan(partitions: readonly { readonly partyId: string; readonly records: readonly SupplyChainLine[] }[]): ExactPooledPlan {
  if (!Array.isArray(partitions)) throw new TypeError('partitions must be an array');
  const bySku: { ratio: number; capacity: number }[][] = SKU_IDS.map(() => []);
  const vendors = new Array<number>(SKU_IDS.length).fill(0);
  const suppliers = new Array<number>(SKU_IDS.length).fill(0);
  const demand = new Array<number>(SKU_IDS.length).fill(0);
  const siloed = new Array<number>(SKU_IDS.length).fill(0);
  partitions.forEach((p, i) => {
    if (typeof p !== 'object' || p === null) throw new TypeError(`partitions[${i}] must be an object`);
    const checked = validateSupplyChainLines(p.records);
    if (!checked.ok) {
      const e = checked.errors[0]!;
      throw new RangeError(`partitions[${i}].records[${e.index}]${e.field ? `.${e.field}` : ''}: ${e.message}`);
    }
    for (const line of checked.records) {
      const k = skuIndex(line.sku);
      vendors[k]!++;
      demand[k]! += line.demandUnits;
      siloed[k]! += siloedLine(line).cost;
      if (belowSpot(line) && line.capacityUnits > 0) {
        suppliers[k]!++;
        bySku[k]!.push({ ratio: costRatio(line), capacity: line.capacityUnits });
      }
    }
  });
  const skus: ExactSkuPlan[] = [];
  let siloedTotal = 0;
  let pooledTotal = 0;
  SKU_CATALOGUE.forEach(({ sku, spotPrice }, k) => {
    const supply = bySku[k]!.sort((a, b) => a.ratio - b.ratio);
    const capacity = supply.reduce((s, x) => s + x.capacity, 0);
    let remaining = demand[k]!;
    let cost = 0;
    for (const { ratio, capacity: c } of supply) {
      if (remaining <= 0) break;
      const take = Math.min(remaining, c);
      cost += take * ratio;
      remaining -= take;
    }
    cost += remaining;
    const released = isReleased(vendors[k]!, suppliers[k]!);
    const plan: ExactSkuPlan = {
      sku,
      vendors: vendors[k]!,
      suppliers: suppliers[k]!,
      released,
      demandUnits: demand[k]!,
      subSpotCapacityUnits: capacity,
      shortfallUnits: remaining,
      utilisation: capacity > 0 ? Math.min(demand[k]!, capacity) / capacity : null,
      bottleneck: isBottleneck(demand[k]!, capacity),
      siloedCost: siloed[k]! * spotPrice,
      pooledCost: (released ? cost : siloed[k]!) * spotPrice,
    };
    skus.push(plan);
    if (released) {
      siloedTotal += plan.siloedCost;
      pooledTotal += plan.pooledCost;
    }
  });
  const gain = siloedTotal - pooledTotal;
  return {
    skus,
    bottlenecks: skus.filter((s) => s.released && s.bottleneck).map((s) => s.sku),
    siloedCost: siloedTotal,
    pooledCost: pooledTotal,
    gain,
    gainPercent: siloedTotal > 0 ? (gain / siloedTotal) * 100 : null,
  };
}
