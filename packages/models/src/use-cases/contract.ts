// The contract every use-case model (supply chain, healthcare research, compliance) implements
// (docs/use-case-models.md). A use-case model works from ONE vector of integer statistics: each party
// computes its own vector from its own records (`partyStatistics`), the vectors are summed — in the
// enclave (federated), under masks (secure_aggregation) or on Shamir shares by the compute nodes (mpc) —
// and `analyse` turns the sum into shared findings and a narrative. The kit (kit.ts) turns a spec into a
// ModelDefinition: layout, sensitivities, digest, DP noise, method dispatch and the release policy.
import type { AggregateEntryKind } from '../aggregates/layout.js';
import type { AggregationMethod, DataSchema } from '../types.js';

/** Names used by `tenzro demo --use-case <name>`. */
export type UseCaseName = 'risk-analysis' | 'supply-chain' | 'healthcare-research' | 'compliance';

/** One statistic of the model's vector, in layout order. */
export interface StatisticDeclaration {
  /** Unique within the model, `<kind>:<what>` e.g. `sum:demand*sku_03`. 1–120 chars of [A-Za-z0-9_:*.-]. */
  readonly name: string;
  readonly kind: AggregateEntryKind;
  /**
   * Largest integer one record adds to this statistic (after the model's scale), ≥ 1. Used for the
   * sensitivities (DP calibration) and for the per-party range check; a party statistic above
   * perRecordMax × records is refused (RangeError), never clipped.
   */
  readonly perRecordMax: number;
  /** Histogram group: a record adds to at most one statistic of its group (tightens the sensitivities). */
  readonly group?: string;
}

/** The summed statistics as `analyse` receives them. */
export interface SummedStatistics {
  /** Layout order, one per declared statistic. Integers without noise; with noise, may be negative. */
  readonly values: readonly number[];
  /** Value of a declared statistic by name (throws RangeError for an unknown name). */
  get(name: string): number;
  /** Parties whose vectors are in the sum (≥ 2). Never their ids. */
  readonly parties: number;
  /** Standard deviation of the noise in every statistic, in integer units (scale included); 0 without noise. */
  readonly noiseStd: number;
  /** The model's scale: a per-record real q contributed round(scale × q). */
  readonly scale: number;
  readonly method: AggregationMethod;
}

/** What `analyse` returns: the shared result (every recipient, observers included, sees it). */
export interface UseCaseAnalysis {
  /**
   * Shared findings. Release policy (release.ts): any object with a boolean `suppressed` key is an
   * aggregate `{ count, suppressed, stats }` (report.ts `aggregate()`); its count must be 0 or ≥ minGroupSize;
   * a numeric field whose key ends in `count` outside such an object is refused. No record identifier anywhere.
   */
  readonly findings: Record<string, unknown>;
  /** The deterministic narrative written from the findings (the `deterministic` backend's text). */
  readonly content: string;
}

/** What one party gets privately in a federated run (the enclave has its records). */
export interface UseCasePrivateFindings {
  /** Always []: use-case models flag no transactions (the result body's shape requires the key). */
  readonly flagged: readonly never[];
  readonly summary: Record<string, unknown>;
}

export interface UseCaseDemo<R> {
  /** Records per party, in party order; every record valid under the model's schema. */
  readonly partitions: { partyId: string; records: R[] }[];
  /** The planted ground truth (what the generator put there), JSON. */
  readonly truth: Record<string, unknown>;
}

export interface DemoEvaluation {
  /** True when the findings recover the planted truth within the model's stated tolerance. */
  readonly recovered: boolean;
  /** Named figures for the demo printout and the closing note (e.g. `gainPercent`, `hazardRatio`). */
  readonly figures: Record<string, number | string | boolean>;
}

export interface DemoOptions {
  /** Party ids (default three, e.g. ['vendorA','vendorB','vendorC']). */
  readonly parties?: readonly string[];
  readonly recordsPerParty?: number;
  /** Seed of the deterministic generator (default 1). */
  readonly seed?: number;
}

export interface UseCaseModelSpec<R> {
  readonly id: string;
  /** Semver. */
  readonly version: string;
  readonly useCase: UseCaseName;
  /** One paragraph: what the model computes, for GET /v1/models and the docs. */
  readonly description: string;
  /** The data schema (id like `supply_chain_lines_v1`, JSON Schema 2020-12 of the document, validate()). */
  readonly schema: DataSchema<R>;
  /** Fields of R holding identifiers (strings) the shared output must never contain. */
  readonly identifierFields: readonly (keyof R & string)[];
  /** Integer multiplier of real per-record quantities. */
  readonly scale: number;
  readonly statistics: readonly StatisticDeclaration[];
  /** Declared constants that the digest covers (catalogue, rules, thresholds, minimum cell size…), JSON. */
  readonly constants: Readonly<Record<string, unknown>>;
  /** Smallest group any released count may describe (release policy minGroupSize for this model). */
  readonly minGroupSize: number;
  /** One party's vector (integers, declaration order) from its own valid records. RangeError when out of bounds. */
  partyStatistics(records: readonly R[]): number[];
  /** Shared findings and narrative from the sum. Deterministic; must cope with noise (noiseStd > 0). */
  analyse(sum: SummedStatistics): UseCaseAnalysis;
  /**
   * Federated runs only (the enclave holds each party's records): what party `records` learns privately,
   * given the shared analysis. Never another party's values. Optional.
   */
  privateFindings?(records: readonly R[], analysis: UseCaseAnalysis): UseCasePrivateFindings;
  /** Deterministic demo data with planted ground truth. */
  generateDemo(options?: DemoOptions): UseCaseDemo<R>;
  /** How well `findings` (shared, from any method) recover `truth`. */
  evaluateDemo(truth: Record<string, unknown>, findings: Record<string, unknown>): DemoEvaluation;
}
