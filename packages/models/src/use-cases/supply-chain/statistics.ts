// The statistic vector of supply-chain-optimizer-v1: per SKU of the catalogue, sums over the party's
// lines of round(SCALE × q) for
//   count:lines                     q = MAX_UNITS                  (vendors dealing in the SKU, see below)
//   count:suppliers                 q = MAX_UNITS when the line has capacity below spot (vendors supplying)
//   count:lines*band_BB             q = MAX_UNITS when the line has capacity in cost band BB (its suppliers)
//   sum:demand                      q = demandUnits
//   sum:siloed_made                 q = units the line makes under its siloed plan
//   sum:siloed_cost                 q = siloed plan cost, spot units (≤ demandUnits)
//   histogram:capacity*band_BB      q = capacityUnits, in the line's cost band (unitCost/spot in [BB/10, (BB+1)/10))
//   histogram:capacity*at_or_above_spot   q = capacityUnits when unitCost ≥ spot
//   sum:cost*band_BB                q = capacityUnits × unitCost/spot, in the line's cost band
//   sum:cost_squared*band_BB        q = capacityUnits × (unitCost/spot)², in the line's cost band
//   sum:capacity*lead_time_years    q = capacityUnits × leadTimeDays / 365
// so one SKU's supply curve is known by band (its suppliers, capacity, mean cost and the spread of costs
// inside the band, which bounds the banding error) and nothing per vendor. The analysis merges a band of
// fewer than MIN_GROUP_SIZE suppliers' lines into its neighbours (supply-curve.ts) before it uses it.
//
// A line weighs MAX_UNITS in the counts, as much as the largest quantity any other statistic takes from
// it: noise calibrated to the vector's sensitivity then blurs the count of vendors no more (in lines) than
// it blurs the demand (in lines of the largest size), where a weight of 1 would drown the count.
//
// A line adds to one SKU only and to one band only: every family is a histogram group, so one record
// moves each group by at most its largest perRecordMax. A party holds at most one line per SKU (the
// schema refuses a second), so each of its statistics is at most one line's perRecordMax ≤ 10^9 < 2^40.
import type { StatisticDeclaration } from '../contract.js';
import { COST_BANDS, MAX_LEAD_TIME_DAYS, MAX_UNITS, SCALE, SKU_IDS, skuIndex } from './catalogue.js';
import { costBand, costRatio, siloedLine } from './plan.js';
import { validateSupplyChainLines, type SupplyChainLine } from './schema.js';

/** Layout positions of one SKU's statistics. */
export interface SkuStatisticIndex {
  readonly lines: number;
  readonly suppliers: number;
  readonly demand: number;
  readonly siloedMade: number;
  readonly siloedCost: number;
  /** COST_BANDS + 1 entries: the bands below spot, then at or above spot. */
  readonly capacity: readonly number[];
  /** COST_BANDS entries. */
  readonly bandCost: readonly number[];
  /** COST_BANDS entries. */
  readonly bandCostSquared: readonly number[];
  /** COST_BANDS entries: the suppliers' lines with capacity in each band below spot. */
  readonly bandLines: readonly number[];
  readonly leadTime: number;
}

const UNITS_MAX = MAX_UNITS * SCALE;
/** What one line adds to count:lines and count:suppliers, before the scale. */
export const LINE_WEIGHT = MAX_UNITS;

function buildLayout(): { declarations: StatisticDeclaration[]; index: SkuStatisticIndex[] } {
  const declarations: StatisticDeclaration[] = [];
  const add = (d: StatisticDeclaration): number => declarations.push(d) - 1;
  const band = (b: number): string => `band_${String(b).padStart(2, '0')}`;
  const index = SKU_IDS.map((id): SkuStatisticIndex => {
    const s = `sku_${id.slice(4)}`;
    const lines = add({ name: `count:lines*${s}`, kind: 'count', perRecordMax: LINE_WEIGHT * SCALE, group: 'lines' });
    const suppliers = add({ name: `count:suppliers*${s}`, kind: 'count', perRecordMax: LINE_WEIGHT * SCALE, group: 'suppliers' });
    const demand = add({ name: `sum:demand*${s}`, kind: 'sum', perRecordMax: UNITS_MAX, group: 'demand' });
    const siloedMade = add({ name: `sum:siloed_made*${s}`, kind: 'sum', perRecordMax: UNITS_MAX, group: 'siloed_made' });
    const siloedCost = add({ name: `sum:siloed_cost*${s}`, kind: 'sum', perRecordMax: UNITS_MAX, group: 'siloed_cost' });
    const capacity: number[] = [];
    for (let b = 0; b < COST_BANDS; b++) {
      capacity.push(add({ name: `histogram:capacity*${s}*${band(b)}`, kind: 'histogram', perRecordMax: UNITS_MAX, group: 'capacity' }));
    }
    capacity.push(add({ name: `histogram:capacity*${s}*at_or_above_spot`, kind: 'histogram', perRecordMax: UNITS_MAX, group: 'capacity' }));
    const bandCost: number[] = [];
    for (let b = 0; b < COST_BANDS; b++) {
      // unitCost / spot < (b + 1) / COST_BANDS in band b.
      const max = Math.ceil((UNITS_MAX * (b + 1)) / COST_BANDS);
      bandCost.push(add({ name: `sum:cost*${s}*${band(b)}`, kind: 'sum', perRecordMax: max, group: 'band_cost' }));
    }
    const bandCostSquared: number[] = [];
    for (let b = 0; b < COST_BANDS; b++) {
      const max = Math.ceil(UNITS_MAX * ((b + 1) / COST_BANDS) ** 2);
      bandCostSquared.push(add({ name: `sum:cost_squared*${s}*${band(b)}`, kind: 'sum', perRecordMax: max, group: 'band_cost_squared' }));
    }
    const bandLines: number[] = [];
    for (let b = 0; b < COST_BANDS; b++) {
      bandLines.push(add({ name: `count:lines*${s}*${band(b)}`, kind: 'count', perRecordMax: LINE_WEIGHT * SCALE, group: 'band_lines' }));
    }
    const leadTime = add({ name: `sum:capacity*lead_time_years*${s}`, kind: 'sum', perRecordMax: UNITS_MAX, group: 'lead_time' });
    return { lines, suppliers, demand, siloedMade, siloedCost, capacity, bandCost, bandCostSquared, bandLines, leadTime };
  });
  return { declarations, index };
}

const LAYOUT = buildLayout();

/** The declared statistics, layout order (12 SKUs × 47). */
export const SUPPLY_CHAIN_STATISTICS: readonly StatisticDeclaration[] = Object.freeze(LAYOUT.declarations.map((d) => Object.freeze(d)));
/** Positions of each SKU's statistics, catalogue order. */
export const SKU_STATISTIC_INDEX: readonly SkuStatisticIndex[] = Object.freeze(LAYOUT.index.map((i) => Object.freeze(i)));
export const SUPPLY_CHAIN_STATISTIC_COUNT = SUPPLY_CHAIN_STATISTICS.length;

/**
 * Adds each line's contributions to `into` (layout order). No check that SKUs are distinct: used on one
 * party's validated lines, and by tests on everyone's lines at once (the sums are linear in the lines).
 */
export function addLineStatistics(lines: readonly SupplyChainLine[], into: number[]): number[] {
  const at = (i: number, q: number): void => {
    into[i] = into[i]! + Math.round(SCALE * q);
  };
  for (const line of lines) {
    const ix = SKU_STATISTIC_INDEX[skuIndex(line.sku)]!;
    const ratio = costRatio(line);
    const band = costBand(line);
    const siloed = siloedLine(line);
    at(ix.lines, LINE_WEIGHT);
    if (band < COST_BANDS && line.capacityUnits > 0) at(ix.suppliers, LINE_WEIGHT);
    at(ix.demand, line.demandUnits);
    at(ix.siloedMade, siloed.made);
    at(ix.siloedCost, siloed.cost);
    at(ix.capacity[band]!, line.capacityUnits);
    if (band < COST_BANDS) {
      at(ix.bandCost[band]!, line.capacityUnits * ratio);
      at(ix.bandCostSquared[band]!, line.capacityUnits * ratio * ratio);
      if (line.capacityUnits > 0) at(ix.bandLines[band]!, LINE_WEIGHT);
    }
    at(ix.leadTime, (line.capacityUnits * line.leadTimeDays) / MAX_LEAD_TIME_DAYS);
  }
  return into;
}

/**
 * One party's statistic vector from its own lines. The lines must be a valid supply_chain_lines_v1
 * document (TypeError when not an array, RangeError naming the record and field otherwise); a statistic
 * above its perRecordMax × the number of lines is refused (RangeError), never clipped.
 */
export function supplyChainPartyStatistics(records: readonly SupplyChainLine[]): number[] {
  if (!Array.isArray(records)) throw new TypeError('records must be an array of supply_chain_lines_v1 records');
  const checked = validateSupplyChainLines(records);
  if (!checked.ok) {
    const e = checked.errors[0]!;
    const where = e.index < 0 ? 'records' : `records[${e.index}]${e.field ? `.${e.field}` : ''}`;
    throw new RangeError(`${where}: ${e.message}`);
  }
  const values = addLineStatistics(checked.records, new Array<number>(SUPPLY_CHAIN_STATISTIC_COUNT).fill(0));
  values.forEach((v, i) => {
    const d = SUPPLY_CHAIN_STATISTICS[i]!;
    if (!(v >= 0 && v <= d.perRecordMax * checked.records.length)) throw new RangeError(`statistic ${d.name} is outside its declared bound`);
  });
  return values;
}
