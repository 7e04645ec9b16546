// Deterministic demo data of supply-chain-optimizer-v1 with planted ground truth, and the check that
// shared findings recover it. Every vendor deals in the same SKUs; per SKU the vendors' capacities below
// spot are split unevenly against their demands (some vendors have cheap surplus capacity, others
// deficits; beyond MIN_GROUP_SIZE suppliers, some only capacity above spot), so pooling saves much. Two SKUs are planted as bottlenecks: their
// pooled demand is 1.3 to 1.7 times their pooled capacity below spot, while every other SKU's demand is
// 0.35 to 0.65 times it (well clear of the UTILISATION_THRESHOLD of 0.9).
import { nextInt, seededRng } from '../../rng.js';
import { round } from '../../report.js';
import type { Rng } from '../../types.js';
import type { DemoEvaluation, DemoOptions, UseCaseDemo } from '../contract.js';
import { MIN_GROUP_SIZE, SKU_CATALOGUE, SKU_IDS } from './catalogue.js';
import { exactPooledPlan } from './plan.js';
import type { SupplyChainLine } from './schema.js';

export const DEFAULT_VENDORS: readonly string[] = Object.freeze(['vendorA', 'vendorB', 'vendorC']);
const PLANTED_BOTTLENECKS = 2;
const MAX_PARTIES = 128;

const uniform = (rng: Rng, lo: number, hi: number): number => lo + (hi - lo) * rng.nextFloat();

function checkOptions(options: DemoOptions): { parties: readonly string[]; skus: number; seed: number } {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const parties = options.parties ?? DEFAULT_VENDORS;
  if (!Array.isArray(parties) || !parties.every((p) => typeof p === 'string' && p.length > 0 && p.length <= 64)) {
    throw new TypeError('options.parties must be an array of party ids (1 to 64 characters)');
  }
  if (parties.length < 1 || parties.length > MAX_PARTIES || new Set(parties).size !== parties.length) {
    throw new RangeError(`options.parties must hold 1 to ${MAX_PARTIES} distinct party ids`);
  }
  const skus = options.recordsPerParty ?? SKU_IDS.length;
  if (!Number.isInteger(skus) || skus < PLANTED_BOTTLENECKS || skus > SKU_IDS.length) {
    throw new RangeError(`options.recordsPerParty must be an integer from ${PLANTED_BOTTLENECKS} to ${SKU_IDS.length} (one line per SKU)`);
  }
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed)) throw new TypeError('options.seed must be an integer');
  return { parties, skus, seed };
}

/**
 * Demo lines: every vendor has one line for each of the first `recordsPerParty` catalogue SKUs (default
 * all 12). `truth` holds the planted bottleneck SKUs and the exact pooled optimum computed on the lines.
 */
export function generateSupplyChainDemo(options: DemoOptions = {}): UseCaseDemo<SupplyChainLine> {
  const { parties, skus, seed } = checkOptions(options);
  const rng = seededRng(seed);
  const planted = new Set<number>();
  while (planted.size < PLANTED_BOTTLENECKS) planted.add(nextInt(rng, skus));
  const partitions = parties.map((partyId) => ({ partyId, records: [] as SupplyChainLine[] }));
  for (let k = 0; k < skus; k++) {
    const { sku, spotPrice } = SKU_CATALOGUE[k]!;
    const bottleneck = planted.has(k);
    const demand = parties.map(() => 2000 + nextInt(rng, 18_001));
    const pooledDemand = demand.reduce((s, d) => s + d, 0);
    const ratio = bottleneck ? uniform(rng, 1.3, 1.7) : uniform(rng, 0.35, 0.65);
    // Some vendors make the SKU only above spot, as long as MIN_GROUP_SIZE suppliers below spot remain.
    const expensive = parties.map(() => rng.nextFloat() < 0.2);
    for (let i = 0; expensive.filter((e) => !e).length < Math.min(MIN_GROUP_SIZE, parties.length); i++) expensive[i] = false;
    // Skewed shares: a few vendors hold most of the cheap capacity, whatever their own demand.
    const weight = parties.map((_, i) => (expensive[i] ? 0 : rng.nextFloat() ** 2 + 0.05));
    const totalWeight = weight.reduce((s, w) => s + w, 0);
    const subSpot = pooledDemand / ratio;
    parties.forEach((partyId, i) => {
      const costRatio = expensive[i] ? uniform(rng, 1.05, 1.6) : uniform(rng, 0.25, 0.95);
      const capacity = expensive[i] ? nextInt(rng, demand[i]! + 1) : Math.round((subSpot * weight[i]!) / totalWeight);
      const lead = bottleneck ? 20 + nextInt(rng, 41) : 3 + nextInt(rng, 28);
      const tag = nextInt(rng, 0x10000).toString(16).padStart(4, '0');
      partitions[i]!.records.push({
        lineId: `${partyId}-${sku.toLowerCase()}-${tag}`,
        sku,
        demandUnits: demand[i]!,
        capacityUnits: capacity,
        unitCost: round(costRatio * spotPrice, 2),
        leadTimeDays: lead,
      });
    });
  }
  const exact = exactPooledPlan(partitions);
  return {
    partitions,
    truth: {
      plantedBottlenecks: [...planted].sort((a, b) => a - b).map((k) => SKU_IDS[k]!),
      exactBottlenecks: [...exact.bottlenecks],
      exactSiloedCost: round(exact.siloedCost, 4),
      exactPooledCost: round(exact.pooledCost, 4),
      exactGain: round(exact.gain, 4),
      exactGainPercent: exact.gainPercent === null ? null : round(exact.gainPercent, 4),
    },
  };
}

const num = (x: unknown): number | undefined => (typeof x === 'number' && Number.isFinite(x) ? x : undefined);
const strings = (x: unknown): string[] | undefined => (Array.isArray(x) && x.every((s) => typeof s === 'string') ? [...(x as string[])] : undefined);
const field = (o: unknown, key: string): unknown => (typeof o === 'object' && o !== null ? (o as Record<string, unknown>)[key] : undefined);

/**
 * Recovered when the findings name exactly the planted bottleneck SKUs and their gain is within their own
 * stated tolerance (error.gainTolerance) of the exact pooled optimum's gain.
 */
export function evaluateSupplyChainDemo(truth: Record<string, unknown>, findings: Record<string, unknown>): DemoEvaluation {
  const planted = strings(field(truth, 'plantedBottlenecks'));
  const exactGain = num(field(truth, 'exactGain'));
  if (planted === undefined || exactGain === undefined) throw new TypeError('truth must be the truth of a supply-chain demo');
  if (typeof findings !== 'object' || findings === null) throw new TypeError('findings must be an object');
  const exactGainPercent = num(field(truth, 'exactGainPercent'));
  const found = strings(field(findings, 'bottlenecks'));
  const totals = field(findings, 'totals');
  const gain = num(field(totals, 'gain'));
  const tolerance = num(field(field(findings, 'error'), 'gainTolerance'));
  const bottlenecksRecovered = found !== undefined && found.length === planted.length && planted.every((s) => found.includes(s));
  const gainRecovered = gain !== undefined && tolerance !== undefined && Math.abs(gain - exactGain) <= tolerance;
  const figures: Record<string, number | string | boolean> = {
    bottlenecks: found === undefined ? '(missing)' : found.join(', '),
    plantedBottlenecks: planted.join(', '),
    bottlenecksRecovered,
    exactGain,
    gainRecovered,
  };
  const optional: [string, number | undefined][] = [
    ['siloedCost', num(field(totals, 'siloedCost'))],
    ['groupCost', num(field(totals, 'groupCost'))],
    ['gain', gain],
    ['gainPercent', num(field(totals, 'gainPercent'))],
    ['exactGainPercent', exactGainPercent],
    ['gainTolerance', tolerance],
    ['gainError', gain === undefined ? undefined : round(gain - exactGain, 4)],
  ];
  for (const [key, value] of optional) if (value !== undefined) figures[key] = value;
  return { recovered: bottlenecksRecovered && gainRecovered, figures };
}
