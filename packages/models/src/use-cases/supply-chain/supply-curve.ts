// The coarsened supply curve of one SKU of supply-chain-optimizer-v1. The capacity below spot is known by
// cost band (statistics.ts), but a band holding fewer than MIN_GROUP_SIZE suppliers' lines, used as a step
// of the curve on its own, would release figures of one or two vendors: its average cost (one vendor's unit
// cost), the share of it the plan uses (one vendor's capacity), a cost spread of zero. So the bands are
// merged, cheapest first, into groups of consecutive bands that each hold at least MIN_GROUP_SIZE lines,
// and the group plan, its cost and its error bound are computed on the groups (analysis.ts). The grouping
// depends on the number of lines per band only, never on a cost or a capacity.
import { COST_BANDS, MIN_GROUP_SIZE } from './catalogue.js';

/** One cost band's pooled supply below spot, as the analysis reads it from the sums (units, spot units). */
export interface BandSupply {
  /** Suppliers' lines with capacity in the band. */
  readonly lines: number;
  readonly capacity: number;
  /** Σ capacity × unitCost / spot. */
  readonly cost: number;
  /** Σ capacity × (unitCost / spot)². */
  readonly costSquared: number;
}

/** Consecutive cost bands merged into one step of the supply curve: the sums of its bands' figures. */
export interface CostGroup extends BandSupply {
  /** Cheapest and dearest band with capacity in the group: its costs lie in [first, last + 1) / COST_BANDS. */
  readonly first: number;
  readonly last: number;
}

const merge = (a: CostGroup, b: CostGroup): CostGroup => ({
  first: a.first,
  last: b.last,
  lines: a.lines + b.lines,
  capacity: a.capacity + b.capacity,
  cost: a.cost + b.cost,
  costSquared: a.costSquared + b.costSquared,
});

/**
 * Merges the bands with capacity (capacity > 0), cheapest first, into groups: a group closes as soon as it
 * holds MIN_GROUP_SIZE lines, and a dearest group short of that joins the group before it. A group holds
 * fewer lines only when all the bands together do (a SKU the release rule suppresses). `bands` holds
 * COST_BANDS entries, band order; the groups come cheapest first, and every band with capacity is in one.
 */
export function coarsenSupplyCurve(bands: readonly BandSupply[]): CostGroup[] {
  if (!Array.isArray(bands)) throw new TypeError('bands must be an array');
  if (bands.length !== COST_BANDS) throw new RangeError(`bands must hold ${COST_BANDS} entries, one per cost band`);
  const groups: CostGroup[] = [];
  let open: CostGroup | null = null;
  for (let b = 0; b < COST_BANDS; b++) {
    const band: unknown = bands[b];
    if (typeof band !== 'object' || band === null) throw new TypeError(`bands[${b}] must be an object`);
    const { lines, capacity, cost, costSquared } = band as BandSupply;
    for (const [key, value] of Object.entries({ lines, capacity, cost, costSquared })) {
      if (typeof value !== 'number' || !Number.isFinite(value)) throw new TypeError(`bands[${b}].${key} must be a finite number`);
    }
    if (!(capacity > 0)) continue;
    const step: CostGroup = { first: b, last: b, lines: Math.max(0, lines), capacity, cost, costSquared };
    open = open === null ? step : merge(open, step);
    if (open.lines >= MIN_GROUP_SIZE) {
      groups.push(open);
      open = null;
    }
  }
  if (open !== null) {
    const before = groups.pop();
    groups.push(before === undefined ? open : merge(before, open));
  }
  return groups;
}
