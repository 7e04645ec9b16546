// What one vendor learns privately in a federated run: the shared allocation rule (analysis.ts) applied
// to its own lines — units to make, units supplied to or drawn from the pool, its payment to the pool and
// its own cost against its siloed plan. It reads the shared findings and the vendor's own records only,
// so it can hold nothing of another vendor.
//
// Settlement (proportional): under the plan a vendor's cost of a pooled SKU is its siloed cost less the
// SKU's gain share g = gain / siloed cost; it pays the pool that cost less what its own production costs.
// Σ payments = group cost − production cost = what the pool spends on spot purchases, so the pool
// balances (up to the rounding of the cutoff bands to whole units), and no vendor pays more than its
// siloed plan.
import { round } from '../../report.js';
import type { UseCaseAnalysis, UseCasePrivateFindings } from '../contract.js';
import { SKU_CATALOGUE, SUPPLY_CHAIN_MODEL_ID, CURRENCY, skuIndex } from './catalogue.js';
import { costBand, siloedLine } from './plan.js';
import { validateSupplyChainLines, type SupplyChainLine } from './schema.js';

export interface LineAllocation {
  readonly lineId: string;
  readonly sku: string;
  readonly plan: 'pooled' | 'own';
  readonly unitsToMake: number;
  /** Surplus the line ships to the pool. */
  readonly unitsToPool: number;
  /** Deficit the line draws from the pool. */
  readonly unitsFromPool: number;
  /** Units bought at spot (own plan only: under the pooled plan the pool buys any shortfall). */
  readonly unitsFromSpot: number;
  /** CURRENCY. */
  readonly siloedCost: number;
  readonly plannedCost: number;
  readonly saving: number;
  /** plannedCost − the cost of the units the line makes: paid to the pool, or received when negative. */
  readonly poolPayment: number;
}

interface Rule {
  readonly firstCutoffBand: number;
  readonly lastCutoffBand: number;
  readonly cutoffFraction: number;
  /** The SKU's gain over the siloed plans, as a share of their cost, in [0, 1]. */
  readonly gainShare: number;
}

const finite = (x: unknown): x is number => typeof x === 'number' && Number.isFinite(x);

/** The pooled rule the shared findings state for `sku`, or null when its vendors keep their own plans. */
function ruleOf(findings: Record<string, unknown>, sku: string): Rule | null {
  const skus = findings.skus;
  if (typeof skus !== 'object' || skus === null) return null;
  const entry = (skus as Record<string, unknown>)[sku];
  if (typeof entry !== 'object' || entry === null) return null;
  const stats = (entry as { suppressed?: unknown; stats?: unknown }).stats;
  if ((entry as { suppressed?: unknown }).suppressed !== false || typeof stats !== 'object' || stats === null) return null;
  const { plan, rule, gain, siloedCost } = stats as Record<string, unknown>;
  if (plan !== 'pooled' || typeof rule !== 'object' || rule === null || !finite(gain) || !finite(siloedCost) || !(siloedCost > 0)) return null;
  const { firstCutoffBand, lastCutoffBand, cutoffFraction } = rule as Record<string, unknown>;
  if (!Number.isInteger(firstCutoffBand) || !Number.isInteger(lastCutoffBand) || !finite(cutoffFraction)) return null;
  const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));
  return { firstCutoffBand: firstCutoffBand as number, lastCutoffBand: lastCutoffBand as number, cutoffFraction: clamp01(cutoffFraction), gainShare: clamp01(gain / siloedCost) };
}

function allocateLine(line: SupplyChainLine, rule: Rule | null): LineAllocation {
  const spot = SKU_CATALOGUE[skuIndex(line.sku)]!.spotPrice;
  const siloed = siloedLine(line);
  const siloedCost = siloed.cost * spot;
  if (rule === null) {
    return {
      lineId: line.lineId,
      sku: line.sku,
      plan: 'own',
      unitsToMake: siloed.made,
      unitsToPool: 0,
      unitsFromPool: 0,
      unitsFromSpot: line.demandUnits - siloed.made,
      siloedCost: round(siloedCost, 2),
      plannedCost: round(siloedCost, 2),
      saving: 0,
      poolPayment: 0,
    };
  }
  const band = costBand(line);
  const make = band < rule.firstCutoffBand ? line.capacityUnits : band <= rule.lastCutoffBand ? Math.round(rule.cutoffFraction * line.capacityUnits) : 0;
  const net = make - line.demandUnits;
  const plannedCost = siloedCost * (1 - rule.gainShare);
  return {
    lineId: line.lineId,
    sku: line.sku,
    plan: 'pooled',
    unitsToMake: make,
    unitsToPool: Math.max(0, net),
    unitsFromPool: Math.max(0, -net),
    unitsFromSpot: 0,
    siloedCost: round(siloedCost, 2),
    plannedCost: round(plannedCost, 2),
    saving: round(siloedCost - plannedCost, 2),
    poolPayment: round(plannedCost - make * line.unitCost, 2),
  };
}

/** One vendor's allocation and saving under the shared plan, from its own lines and the shared analysis. */
export function supplyChainPrivateFindings(records: readonly SupplyChainLine[], analysis: UseCaseAnalysis): UseCasePrivateFindings {
  if (!Array.isArray(records)) throw new TypeError('records must be an array of supply_chain_lines_v1 records');
  if (typeof analysis !== 'object' || analysis === null || typeof analysis.findings !== 'object' || analysis.findings === null) {
    throw new TypeError('analysis must be a UseCaseAnalysis with findings');
  }
  const checked = validateSupplyChainLines(records);
  if (!checked.ok) {
    const e = checked.errors[0]!;
    throw new RangeError(`${e.index < 0 ? 'records' : `records[${e.index}]${e.field ? `.${e.field}` : ''}`}: ${e.message}`);
  }
  const lines = checked.records.map((line) => allocateLine(line, ruleOf(analysis.findings, line.sku)));
  const siloedCost = lines.reduce((s, l) => s + l.siloedCost, 0);
  const plannedCost = lines.reduce((s, l) => s + l.plannedCost, 0);
  return {
    flagged: [],
    summary: {
      model: SUPPLY_CHAIN_MODEL_ID,
      currency: CURRENCY,
      lines,
      totals: { siloedCost: round(siloedCost, 2), plannedCost: round(plannedCost, 2), saving: round(siloedCost - plannedCost, 2) },
      settlement:
        "Under the plan each pooled line costs its siloed cost less the SKU's gain percent; poolPayment is that cost less the cost of the units the line makes (negative: received from the pool). The pool buys any shortfall at spot. Lines in the cutoff bands make the stated share of their capacity, rounded to whole units.",
    },
  };
}
