// supply-chain-optimizer-v1: vendors pool lead times, capacities, costs and demand per SKU; the model
// finds the bottlenecks and an allocation plan cheaper for the group than the vendors' siloed plans, from
// summed statistics only, so it runs alike under federated, secure_aggregation and mpc.
import type { UseCaseModelSpec } from '../contract.js';
import { supplyChainPrivateFindings } from './allocation.js';
import { analyseSupplyChain } from './analysis.js';
import { MIN_GROUP_SIZE, SCALE, SUPPLY_CHAIN_CONSTANTS, SUPPLY_CHAIN_MODEL_ID, SUPPLY_CHAIN_MODEL_VERSION } from './catalogue.js';
import { evaluateSupplyChainDemo, generateSupplyChainDemo } from './demo.js';
import { supplyChainLinesV1, type SupplyChainLine } from './schema.js';
import { SUPPLY_CHAIN_STATISTICS, supplyChainPartyStatistics } from './statistics.js';

const spec: UseCaseModelSpec<SupplyChainLine> = {
  id: SUPPLY_CHAIN_MODEL_ID,
  version: SUPPLY_CHAIN_MODEL_VERSION,
  useCase: 'supply-chain',
  description:
    "Supply-chain optimisation across vendors. Each vendor lists, per SKU of a 12-SKU catalogue, its demand, capacity, unit cost and lead time. From summed statistics only (per SKU: vendors, demand, the vendors' siloed plan costs, and capacity with its cost in ten bands of unit cost relative to the spot price), the model finds bottleneck SKUs (pooled demand above 90% of the pooled capacity below spot), computes a group plan that serves pooled demand from the cheapest pooled capacity first, and reports its cost and gain against the vendors' siloed plans, with the banding error bound and any noise stated. It releases per SKU of at least three vendors, three of them supplying below spot, an allocation rule (a cutoff range of cost bands, merged until it holds at least three suppliers' lines, and the fraction of capacity made in it) that each vendor applies to its own lines, with a settlement that lowers every vendor's cost by the SKU's gain percent; no vendor's costs or capacities are released.",
  schema: supplyChainLinesV1,
  identifierFields: ['lineId'],
  scale: SCALE,
  statistics: SUPPLY_CHAIN_STATISTICS,
  constants: SUPPLY_CHAIN_CONSTANTS,
  minGroupSize: MIN_GROUP_SIZE,
  partyStatistics: supplyChainPartyStatistics,
  analyse: analyseSupplyChain,
  privateFindings: supplyChainPrivateFindings,
  generateDemo: generateSupplyChainDemo,
  evaluateDemo: evaluateSupplyChainDemo,
};

export const supplyChainSpec: UseCaseModelSpec<SupplyChainLine> = Object.freeze(spec);

export type { SupplyChainLine } from './schema.js';
export { SUPPLY_CHAIN_LINES_V1, SUPPLY_CHAIN_LINES_V1_JSON_SCHEMA, supplyChainLinesV1, validateSupplyChainLines } from './schema.js';
export {
  COST_BANDS,
  CURRENCY,
  MAX_COST_RATIO,
  MAX_LEAD_TIME_DAYS,
  MAX_UNITS,
  MIN_GROUP_SIZE,
  SCALE,
  SKU_CATALOGUE,
  SKU_IDS,
  SUPPLY_CHAIN_CONSTANTS,
  SUPPLY_CHAIN_MODEL_ID,
  SUPPLY_CHAIN_MODEL_VERSION,
  UTILISATION_THRESHOLD,
  type CatalogueSku,
} from './catalogue.js';
export { SUPPLY_CHAIN_STATISTICS, SUPPLY_CHAIN_STATISTIC_COUNT, supplyChainPartyStatistics } from './statistics.js';
export { exactPooledPlan, type ExactPooledPlan, type ExactSkuPlan } from './plan.js';
export { analyseSupplyChain, type AllocationRule, type SkuFindings, type SupplyChainFindings } from './analysis.js';
export { supplyChainPrivateFindings, type LineAllocation } from './allocation.js';
export { evaluateSupplyChainDemo, generateSupplyChainDemo } from './demo.js';
