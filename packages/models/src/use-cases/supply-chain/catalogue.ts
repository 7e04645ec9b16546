// The declared constants of supply-chain-optimizer-v1: the SKU catalogue with its spot prices, the
// bounds every record lies within, the cost bands of the pooled supply curve and the thresholds of the
// analysis. The model digest covers them (SUPPLY_CHAIN_CONSTANTS).
import { deepFreeze } from '../../schema.js';

export const SUPPLY_CHAIN_MODEL_ID = 'supply-chain-optimizer-v1';
export const SUPPLY_CHAIN_MODEL_VERSION = '1.0.0';

/** One SKU of the catalogue. `spotPrice` is what one unit costs bought on the open market. */
export interface CatalogueSku {
  readonly sku: string;
  readonly name: string;
  readonly spotPrice: number;
}

/** Currency of every price and cost (spot prices and the records' unitCost). */
export const CURRENCY = 'USD';

export const SKU_CATALOGUE: readonly CatalogueSku[] = deepFreeze([
  { sku: 'SKU-01', name: 'steel bracket', spotPrice: 4.5 },
  { sku: 'SKU-02', name: 'aluminium housing', spotPrice: 18 },
  { sku: 'SKU-03', name: 'copper coil', spotPrice: 12.75 },
  { sku: 'SKU-04', name: 'circuit board', spotPrice: 42 },
  { sku: 'SKU-05', name: 'power supply', spotPrice: 27.5 },
  { sku: 'SKU-06', name: 'cable harness', spotPrice: 9.8 },
  { sku: 'SKU-07', name: 'plastic enclosure', spotPrice: 3.4 },
  { sku: 'SKU-08', name: 'bearing assembly', spotPrice: 15.2 },
  { sku: 'SKU-09', name: 'sensor module', spotPrice: 36 },
  { sku: 'SKU-10', name: 'gear set', spotPrice: 22.4 },
  { sku: 'SKU-11', name: 'fastener kit', spotPrice: 1.9 },
  { sku: 'SKU-12', name: 'display panel', spotPrice: 64 },
]);

export const SKU_IDS: readonly string[] = Object.freeze(SKU_CATALOGUE.map((s) => s.sku));
const SKU_INDEX: ReadonlyMap<string, number> = new Map(SKU_IDS.map((id, k) => [id, k]));

/** Position of `sku` in the catalogue, or -1. */
export function skuIndex(sku: string): number {
  return SKU_INDEX.get(sku) ?? -1;
}

/** Every statistic is a sum of round(SCALE × q) over the party's records (milli-units of q). */
export const SCALE = 1000;
/** Largest demandUnits and capacityUnits of one record. */
export const MAX_UNITS = 1_000_000;
/** Largest unitCost of one record, as a multiple of its SKU's spot price. */
export const MAX_COST_RATIO = 3;
export const MAX_LEAD_TIME_DAYS = 365;
/**
 * Cost bands of the pooled supply curve: band b holds capacity whose unitCost / spot lies in
 * [b / COST_BANDS, (b + 1) / COST_BANDS); capacity at or above spot is never worth using.
 */
export const COST_BANDS = 10;
/** A SKU is a bottleneck when its pooled demand exceeds this share of its pooled capacity below spot. */
export const UTILISATION_THRESHOLD = 0.9;
/** Smallest number of vendors, and of vendors supplying below spot, a released SKU figure may describe. */
export const MIN_GROUP_SIZE = 3;

export const SUPPLY_CHAIN_CONSTANTS: Readonly<Record<string, unknown>> = deepFreeze({
  currency: CURRENCY,
  catalogue: SKU_CATALOGUE.map((s) => ({ ...s })),
  scale: SCALE,
  maxUnits: MAX_UNITS,
  maxCostRatio: MAX_COST_RATIO,
  maxLeadTimeDays: MAX_LEAD_TIME_DAYS,
  costBands: COST_BANDS,
  utilisationThreshold: UTILISATION_THRESHOLD,
  minGroupSize: MIN_GROUP_SIZE,
  releaseRule: 'a SKU is analysed, released and pooled only with at least minGroupSize vendors dealing in it, at least minGroupSize of them with capacity below spot; totals cover the released SKUs',
  siloedPlan: 'each vendor makes min(demand, capacity) of a SKU when its unitCost is below spot and buys the rest at spot',
  groupPlan:
    "per SKU with at least minGroupSize vendors: the cost bands with capacity below spot merged, cheapest first, into groups of consecutive bands holding at least minGroupSize suppliers' lines each; pooled demand served from the groups cheapest first, a partial group at its average cost, the remainder at spot; kept only when cheaper than the siloed plans",
  settlement:
    "proportional: a vendor's cost of a pooled SKU under the plan is its siloed cost less the SKU's gain percent; it pays the pool that cost less what its own production costs (a negative payment is received), which balances the pool and never leaves a vendor worse off than its siloed plan",
});
