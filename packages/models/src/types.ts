// Public types of @tenzro/models. Self-contained on purpose: no dependency on @tenzro/protocol.

/** Randomness source: uniform floats in [0, 1). The enclave passes cryptoRng(); tests pass seededRng(seed). */
export interface Rng {
  nextFloat(): number;
}

export type Direction = 'debit' | 'credit';
export type Channel = 'wire' | 'ach' | 'card' | 'cash' | 'internal';
export type Label = 'fraud' | 'legit';

/** One record of the transaction_records_v1 contract. A debit moves money out of `accountId`. */
export interface TransactionRecord {
  transactionId: string;
  /** Globally unique account id (think IBAN) of the account this record belongs to. */
  accountId: string;
  counterpartyAccountId: string;
  /** Tenant id of a participating bank (e.g. 'bankB') or another code for an outside bank. */
  counterpartyBank: string;
  /** Strictly positive amount in `currency`. */
  amount: number;
  /** ISO 4217 code, three uppercase letters. */
  currency: string;
  direction: Direction;
  /** ISO 8601 date-time; a missing zone means UTC. */
  timestamp: string;
  channel: Channel;
  /** ISO 3166-1 alpha-2 code, two uppercase letters. */
  country: string;
  label?: Label;
}

export type AggregationMethod = 'federated' | 'secure_aggregation' | 'mpc';

export interface FederatedConfig {
  localEpochs: number;
  aggregationRounds: number;
  differentialPrivacy: { enabled: boolean; epsilon: number; delta: number };
}

/** One party's records: transaction records by default, a use-case model's own record type otherwise. */
export interface Partition<R = TransactionRecord> {
  partyId: string;
  records: R[];
}

/**
 * A run over per-party partitions decrypted inside the enclave (DESIGN §7, `federated`). `R` is the model's
 * record type; ModelRunInput carries `unknown` records, which each model validates against its own schema.
 */
export interface FederatedRunInput<R = TransactionRecord> {
  method: 'federated';
  partitions: Partition<R>[];
  federated: FederatedConfig;
  prompt: string;
  parameters: { maxTokens?: number; temperature?: number };
  rng: Rng;
}

/**
 * Skellam noise the parties added to their statistic vectors (docs/secure-aggregation.md, "Noise"):
 * each party adds Sk(variance / threshold) to every statistic, so any >= threshold survivors leave at least
 * Sk(variance) in the sum, which makes it (epsilon, delta)-DP for one record (RDP at `order`).
 */
export interface SkellamNoiseConfig {
  mechanism: 'skellam';
  /** The noise variance protecting a record against any one recipient (the other survivors' shares, ≥ the calibrated mu), in integer statistic units. */
  variance: number;
  epsilon: number;
  delta: number;
  /** The RDP order the calibration used. */
  order: number;
  /** Parties whose noisy vectors are in the sum (equals `parties.length`). */
  survivors: number;
  threshold: number;
}

/** The decoded sum of the included parties' statistic vectors (decodeStatisticSum), in layout order. */
export interface AggregateInput {
  /** Must be the model's layout id (aggregateLayoutOf(modelId).id). */
  layoutId: string;
  /** Integer sums in layout order, noise included; may be negative when noise was added. */
  values: number[];
  /** The included survivors (at least 2). Their ids go nowhere in the output. */
  parties: string[];
  noise: SkellamNoiseConfig | null;
}

/** A run over aggregate statistics only (DESIGN §7, `secure_aggregation`): the model never sees a record. */
export interface SecureAggregationRunInput {
  method: 'secure_aggregation';
  aggregate: AggregateInput;
  prompt: string;
  parameters: { maxTokens?: number; temperature?: number };
  /** Unused by risk-analyzer-v2 under this method (the analysis is deterministic); checked all the same. */
  rng: Rng;
}

/**
 * A run over the sum of the parties' statistic vectors that the compute nodes reconstructed for the enclave
 * only (DESIGN §7, `mpc`, a sum program): use-case models (use-cases/). risk-analyzer-v2 has its own mpc
 * program and analysis (mpc/analysis.ts) and refuses this input.
 */
export interface MpcRunInput {
  method: 'mpc';
  /** The summed statistic vector in layout order; `noise` is null (mpc adds none). */
  aggregate: AggregateInput;
  mpc: { threshold: number; totalNodes: number; nodesUsed: number[] };
  prompt: string;
  parameters: { maxTokens?: number; temperature?: number };
  rng: Rng;
}

/** What ModelDefinition.run takes: federated records are `unknown` here (each model checks them with its schema). */
export type ModelRunInput = FederatedRunInput<unknown> | SecureAggregationRunInput | MpcRunInput;

export interface FlaggedTransaction {
  transactionId: string;
  /** Combined risk in [0, 1]; flagged when >= the model's flag threshold. */
  score: number;
  reasons: string[];
}

export interface PrivateFindings {
  flagged: FlaggedTransaction[];
  summary: Record<string, unknown>;
}

/**
 * An aggregate released in shared findings. Counts below the release policy's minimum group size are
 * suppressed: `suppressed` is true and `count` and `stats` are null. checkRelease verifies every object
 * of this shape (any object with a boolean `suppressed` key) found in `shared.findings`.
 */
export interface Aggregate {
  count: number | null;
  suppressed: boolean;
  stats: Record<string, unknown> | null;
}

/** Privacy of a federated run: DP-FedAvg over the global model's training. */
export interface FederatedPrivacyReport {
  /** 'gaussian' when the global model is trained with DP-FedAvg; 'none' otherwise. */
  mechanism: 'gaussian' | 'none';
  /** Target epsilon of the session; null without DP. */
  epsilon: number | null;
  /** The epsilon the accountant certifies at the calibrated noise (<= epsilon); null without DP. */
  epsilonSpent: number | null;
  delta: number | null;
  noiseMultiplier: number;
  rounds: number;
  clippingNorm: number;
  accountant: 'rdp';
  /** Unit of privacy: one party's whole contribution to a round (q = 1, steps = rounds). */
  unit: 'party';
}

/**
 * Privacy of a secure-aggregation run: the Skellam noise in the decoded sum, or 'none' (the sum is exact;
 * secure aggregation alone hides each party's vector, not what the sum reveals).
 */
export interface SecureAggregationPrivacyReport {
  mechanism: 'skellam' | 'none';
  /** The noise variance protecting a record against any one recipient (≥ the calibrated mu), in integer statistic units; null without noise. */
  variance: number | null;
  epsilon: number | null;
  delta: number | null;
  order: number | null;
  /** Parties in the sum. */
  survivors: number;
  threshold: number | null;
  /** Unit of privacy: one record's row of statistics (see the layout's l1/l2 sensitivities). */
  unit: 'record';
}

/**
 * Privacy of an mpc run: each party's statistic vector was Shamir-shared among the compute nodes (fewer than
 * `threshold` learn nothing) and only the program's declared outputs were reconstructed, in the enclave.
 * No noise: the outputs are exact up to the fixed-point error, so they are not differentially private.
 */
export interface MpcPrivacyReport {
  mechanism: 'none';
  /** Parties whose vectors were summed on shares. */
  parties: number;
  threshold: number;
  totalNodes: number;
  /** The nodes whose output shares the enclave reconstructed from. */
  nodesUsed: number[];
  /** What is hidden: one party's whole statistic vector, from the host and from fewer than threshold nodes. */
  unit: 'party_vector';
}

/**
 * Privacy of a federated run of a use-case model (use-cases/kit.ts): the enclave sums the parties' statistic
 * vectors and, with differential privacy on, adds Gaussian noise N(0, sigma²) to every statistic of the sum,
 * sigma = noiseMultiplier × the layout's l2 sensitivity, noiseMultiplier calibrated by the RDP accountant for
 * one release (sampleRate 1, steps 1). 'none' without differential privacy (the sum is exact).
 */
export interface FederatedSumPrivacyReport {
  mechanism: 'gaussian' | 'none';
  /** Target epsilon of the session; null without DP. */
  epsilon: number | null;
  /** The epsilon the accountant certifies at the calibrated noise (<= epsilon); null without DP. */
  epsilonSpent: number | null;
  delta: number | null;
  /** sigma / l2Sensitivity; 0 without DP. */
  noiseMultiplier: number;
  /** Standard deviation of the noise in every statistic, in integer statistic units (scale included); 0 without DP. */
  sigma: number;
  /** The layout's l2 sensitivity: the largest L2 change of the vector from one record's row. */
  l2Sensitivity: number;
  accountant: 'rdp';
  /** Parties whose vectors are in the sum. */
  parties: number;
  /** Tells this report from the secure_aggregation one, whose unit is also 'record'. */
  method: 'federated';
  /** Unit of privacy: one record's row of statistics. */
  unit: 'record';
}

/**
 * Discriminated by `unit`: 'party' (federated DP-FedAvg), 'record' (secure_aggregation, or — with
 * `method: 'federated'` — a use-case model's federated sum) or 'party_vector' (mpc).
 */
export type PrivacyReport = FederatedPrivacyReport | FederatedSumPrivacyReport | SecureAggregationPrivacyReport | MpcPrivacyReport;

export interface ModelOutput<P extends PrivacyReport = PrivacyReport> {
  shared: { content: string; findings: Record<string, unknown> };
  privateFindings: Record<string, PrivateFindings>;
  privacy: P;
}

/** The output type of a run on input `I`: the privacy report follows the method. */
export type ModelOutputFor<I extends ModelRunInput> = I extends { method: 'federated' }
  ? ModelOutput<FederatedPrivacyReport | FederatedSumPrivacyReport>
  : I extends { method: 'secure_aggregation' }
    ? ModelOutput<SecureAggregationPrivacyReport>
    : I extends { method: 'mpc' }
      ? ModelOutput<MpcPrivacyReport>
      : ModelOutput;

export interface ModelDefinition {
  id: string;
  version: string;
  /** "sha256:" + hex of SHA-256 over the RFC 8785 canonical JSON of `spec`. */
  digest: string;
  /** The declared specification the digest covers. */
  spec: Readonly<Record<string, unknown>>;
  dataSchemas: string[];
  methods: AggregationMethod[];
  /** One paragraph on what the model computes (GET /v1/models). */
  description?: string;
  /** The use case the model serves (`tenzro demo --use-case`). */
  useCase?: string;
  /** The release policy's smallest group for this model (checkRelease minGroupSize); default 3. */
  minGroupSize?: number;
  /** The identifiers in one record that the shared output must never contain (release policy); default: transaction records'. */
  identifiersOf?(record: unknown): string[];
  run<I extends ModelRunInput>(input: I): Promise<ModelOutputFor<I>>;
}

export interface ValidationError {
  /** Record index, or -1 for the document as a whole. */
  index: number;
  /** Field name, '' for the record or document as a whole, '<unknown>' for a field the schema lacks. */
  field: string;
  /** Never echoes the offending value. */
  message: string;
}

export type ValidationResult<T> =
  | { ok: true; records: T[] }
  | { ok: false; errors: ValidationError[]; truncated: boolean };

export interface DataSchema<T = TransactionRecord> {
  id: string;
  /** JSON Schema 2020-12 of the whole document (an array of records). */
  jsonSchema: Readonly<Record<string, unknown>>;
  validate(value: unknown): ValidationResult<T>;
}
