// risk-analyzer-v2: cross-institution fraud and money-laundering risk over transaction_records_v1.
//
// Under the secure_aggregation method the model sees only the decoded sum of the parties' statistic
// vectors (aggregates/layout.ts) and reports pooled figures (aggregates/analysis.ts).
//
// Under the federated method (DESIGN §7) a run
//   1. links the two sides of transfers across partitions (flows.ts) and runs the pattern detectors
//      (detectors.ts) on the linked view — inside the enclave, nothing pooled leaves it;
//   2. trains a logistic-regression model with DP-FedAvg (federated.ts): each party's labelled records
//      train only that party's local model; clipped, noised, averaged updates make the global model;
//   3. scores every record: detector evidence d, plus at most MODEL_WEIGHT * (1 - d) from the model;
//   4. reruns the detectors on each partition alone to tell which findings needed other parties' data;
//   5. releases aggregates (suppressed below minGroupSize) to everyone and each party's own flagged
//      records to that party alone.
import { canonicalBytes, sha256Hex } from '@tenzro/crypto';
import { RIDGE_LAMBDA, analyseAggregates } from './aggregates/analysis.js';
import { RISK_ANALYZER_LAYOUT } from './aggregates/layout.js';
import { buildDataset, median, type Dataset } from './dataset.js';
import { DETECTOR_PARAMETERS, detect, detectorScore, type Evidence, type Finding } from './detectors.js';
import { ModelRunError } from './errors.js';
import { FEATURE_COUNT, FEATURE_NAMES, extractFeatures } from './features.js';
import { FEDERATED_PARAMETERS, dot, federatedAuc, sigmoid, trainFederated, type PartyData } from './federated.js';
import { FLOW_PARAMETERS, analyseFlows, type Flows } from './flows.js';
import { MIN_SUBSTRING_ID_LENGTH } from './release.js';
import { aggregate, checkGeneration, formatInt, formatNumber, round, volumeBucket, writeNarrative } from './report.js';
import { requireRng } from './rng.js';
import { TRANSACTION_RECORDS_V1, checkTransactionRecords, deepFreeze } from './schema.js';
import type {
  AggregationMethod,
  FederatedPrivacyReport,
  FederatedRunInput,
  FlaggedTransaction,
  ModelDefinition,
  ModelOutput,
  ModelOutputFor,
  ModelRunInput,
  Partition,
  PrivateFindings,
  SecureAggregationPrivacyReport,
  SecureAggregationRunInput,
} from './types.js';

export const RISK_ANALYZER_ID = 'risk-analyzer-v2';
export const RISK_ANALYZER_VERSION = '2.0.0';
/** Largest share of the remaining headroom (1 - d) the global model may add to a score. */
export const MODEL_WEIGHT = 0.2;
/**
 * The model's weight ramps from 0 at this validation AUC (each party's own labelled records) to
 * MODEL_WEIGHT at MODEL_AUC_FULL: a global model drowned by DP noise does not move any score.
 */
export const MODEL_AUC_FLOOR = 0.75;
export const MODEL_AUC_FULL = 0.95;
export const DEFAULT_MIN_GROUP_SIZE = 3;
const MAX_PROMPT_CHARS = 500;
const METHODS: AggregationMethod[] = ['federated', 'secure_aggregation'];

const SPEC = deepFreeze({
  id: RISK_ANALYZER_ID,
  version: RISK_ANALYZER_VERSION,
  schemas: [TRANSACTION_RECORDS_V1],
  methods: [...METHODS],
  hyperparameters: {
    flows: FLOW_PARAMETERS,
    detectors: DETECTOR_PARAMETERS,
    federated: { ...FEDERATED_PARAMETERS, features: [...FEATURE_NAMES], accountant: 'rdp', sampleRate: 1 },
    scoring: { modelWeight: MODEL_WEIGHT, modelAucFloor: MODEL_AUC_FLOOR, modelAucFull: MODEL_AUC_FULL, flagThreshold: DETECTOR_PARAMETERS.flagThreshold },
    release: { minGroupSize: DEFAULT_MIN_GROUP_SIZE },
    secureAggregation: {
      layout: RISK_ANALYZER_LAYOUT.id,
      layoutDigest: `sha256:${sha256Hex(canonicalBytes(RISK_ANALYZER_LAYOUT))}`,
      ridgeLambda: RIDGE_LAMBDA,
    },
  },
});

/** "sha256:" + hex(SHA-256(JCS(spec))): equal to @tenzro/crypto hashCommitment(spec). */
export const RISK_ANALYZER_DIGEST = `sha256:${sha256Hex(canonicalBytes(SPEC))}`;

// ---- input checks ----

function checkInput(input: FederatedRunInput): { maxTokens: number; temperature: number } {
  if (!Array.isArray(input.partitions) || input.partitions.length === 0) throw new TypeError('partitions must be a non-empty array');
  const ids = new Set<string>();
  input.partitions.forEach((p, i) => {
    if (typeof p !== 'object' || p === null || typeof p.partyId !== 'string' || p.partyId.length === 0) {
      throw new TypeError(`partitions[${i}].partyId must be a non-empty string`);
    }
    if (ids.has(p.partyId)) throw new ModelRunError('invalid_input', `partitions[${i}].partyId duplicates an earlier partition`);
    ids.add(p.partyId);
    const result = checkTransactionRecords(p.records);
    if (!result.ok) {
      const e = result.errors[0]!;
      throw new ModelRunError('invalid_input', `partitions[${i}] record ${e.index} field ${e.field || '(record)'}: ${e.message}`);
    }
  });
  const f = input.federated;
  if (typeof f !== 'object' || f === null) throw new TypeError('federated must be an object');
  if (!Number.isInteger(f.localEpochs) || f.localEpochs < 1 || f.localEpochs > 1000) throw new RangeError('federated.localEpochs must be an integer in [1, 1000]');
  if (!Number.isInteger(f.aggregationRounds) || f.aggregationRounds < 1 || f.aggregationRounds > 10_000) {
    throw new RangeError('federated.aggregationRounds must be an integer in [1, 10000]');
  }
  const dp = f.differentialPrivacy;
  if (typeof dp !== 'object' || dp === null || typeof dp.enabled !== 'boolean') throw new TypeError('federated.differentialPrivacy.enabled must be a boolean');
  if (dp.enabled) {
    if (typeof dp.epsilon !== 'number' || !(dp.epsilon > 0) || !Number.isFinite(dp.epsilon)) throw new RangeError('federated.differentialPrivacy.epsilon must be > 0');
    if (typeof dp.delta !== 'number' || !(dp.delta > 0 && dp.delta < 1)) throw new RangeError('federated.differentialPrivacy.delta must be in (0, 1)');
  }
  return checkGeneration(input);
}


// ---- analysis ----

interface Analysis {
  d: Dataset;
  flows: Flows;
  ev: Evidence;
  /** Noisy-or of the pattern evidence per record. */
  detector: Float64Array;
}

function analyse(partitions: readonly Partition[]): Analysis {
  const d = buildDataset(partitions);
  const flows = analyseFlows(d);
  const ev = detect(d, flows);
  const detector = new Float64Array(d.n);
  for (let i = 0; i < d.n; i++) detector[i] = detectorScore(ev, i);
  return { d, flows, ev, detector };
}

/** Detector score of every record when its partition is analysed alone (the siloed view). */
function siloedScores(partitions: readonly Partition[], d: Dataset, joint: Float64Array): Float64Array {
  if (partitions.length === 1) return joint;
  const out = new Float64Array(d.n);
  partitions.forEach((p, pi) => {
    const alone = analyse([p]);
    out.set(alone.detector, d.offset[pi]!);
  });
  return out;
}

/** The prompt with every record identifier (transaction, account, counterparty) replaced. */
function redactIdentifiers(d: Dataset, text: string): string {
  if (text.length < MIN_SUBSTRING_ID_LENGTH) return d.accountIndex.has(text) || d.transactionIndex().has(text) ? '[redacted]' : text;
  const known = (id: string): boolean => d.accountIndex.has(id) || d.transactionIndex().has(id);
  let out = '';
  let i = 0;
  while (i < text.length) {
    // Longest identifier starting at i (identifiers are at most 128 characters).
    let match = 0;
    for (let len = Math.min(128, text.length - i); len >= MIN_SUBSTRING_ID_LENGTH; len--) {
      if (known(text.substring(i, i + len))) {
        match = len;
        break;
      }
    }
    if (match > 0) {
      out += '[redacted]';
      i += match;
    } else {
      out += text[i];
      i++;
    }
  }
  return known(out) ? '[redacted]' : out;
}

function hours(h: number): number {
  return h < 10 ? round(h, 1) : Math.round(h);
}

function reasonsFor(
  rec: number,
  a: Analysis,
  siloed: Float64Array,
  modelP: number | null,
  modelBoost: number,
): string[] {
  const { ev } = a;
  const threshold = DETECTOR_PARAMETERS.flagThreshold;
  const reasons: string[] = [];
  const fc = ev.chainFinding[rec]!;
  if (fc >= 0) {
    const x = ev.findings[fc]!.detail;
    reasons.push(`part of a chain of ${x.hops} fast, amount-preserving pass-through hop(s) over ${x.accounts} accounts at ${x.institutions} participating institution(s)`);
  }
  if (ev.passThroughQuality[rec]! > 0) {
    // Only this party's own account: both records of the pass-through are its own.
    reasons.push(
      `pass-through on this account: ${Math.round(100 * ev.passThroughRetained[rec]!)}% of an incoming transfer forwarded within ${hours(ev.passThroughDelayHours[rec]!)} h`,
    );
  }
  const fs = ev.structuringFinding[rec]!;
  if (fs >= 0) {
    const x = ev.findings[fs]!.detail;
    reasons.push(
      `structuring: ${x.transactions} amounts between 9,000 and 10,000 on this account within ${Math.max(1, Math.ceil(x.spanDays!))} day(s), just below the 10,000 reporting threshold${x.cash! > 0 ? ` (${x.cash} in cash)` : ''}`,
    );
  }
  const fd = ev.dormantFinding[rec]!;
  if (fd >= 0) {
    const x = ev.findings[fd]!.detail;
    reasons.push(
      `dormant account: first activity after ${Math.round(x.gapDays!)} days without any, moving ${formatInt(x.multipleOfMedian!)}x the account's earlier median amount`,
    );
  }
  if (a.detector[rec]! >= threshold && siloed[rec]! < threshold) {
    reasons.push('only visible by linking this transaction with records held by other participating institutions');
  }
  if (modelP !== null && modelBoost >= 0.01) reasons.push(`global model risk ${modelP.toFixed(2)}`);
  return reasons;
}

function runSecureAggregation(input: SecureAggregationRunInput): ModelOutput<SecureAggregationPrivacyReport> {
  const { maxTokens, temperature } = checkGeneration(input);
  requireRng(input.rng, 'rng');
  if (typeof input.aggregate !== 'object' || input.aggregate === null) throw new TypeError('aggregate must be an object');
  return analyseAggregates(RISK_ANALYZER_LAYOUT, input.aggregate, {
    modelId: RISK_ANALYZER_ID,
    version: RISK_ANALYZER_VERSION,
    minGroupSize: DEFAULT_MIN_GROUP_SIZE,
    prompt: input.prompt as string,
    maxTokens,
    temperature,
  });
}

async function run<I extends ModelRunInput>(input: I): Promise<ModelOutputFor<I>> {
  if (typeof input !== 'object' || input === null) throw new TypeError('input must be an object');
  const method = (input as ModelRunInput).method;
  switch (method) {
    case 'federated':
      return runFederated(input as FederatedRunInput) as ModelOutputFor<I>;
    case 'secure_aggregation':
      return runSecureAggregation(input as SecureAggregationRunInput) as ModelOutputFor<I>;
    default:
      throw new ModelRunError('unsupported_method', `${RISK_ANALYZER_ID} supports the federated and secure_aggregation methods`);
  }
}

function runFederated(input: FederatedRunInput): ModelOutput<FederatedPrivacyReport> {
  const { maxTokens, temperature } = checkInput(input);
  const rng = requireRng(input.rng, 'rng');
  const partitions = input.partitions;
  const minGroupSize = DEFAULT_MIN_GROUP_SIZE;
  const threshold = DETECTOR_PARAMETERS.flagThreshold;

  const a = analyse(partitions);
  const { d, ev } = a;
  const siloed = siloedScores(partitions, d, a.detector);

  // Federated model: party p trains only on its own rows [offset[p], offset[p + 1]).
  const X = extractFeatures(d, a.flows, ev);
  const parties: PartyData[] = partitions.map((_, p) => {
    const rows: number[] = [];
    const y: number[] = [];
    for (let i = d.offset[p]!; i < d.offset[p + 1]!; i++) {
      if (d.label[i]! >= 0) {
        rows.push(i);
        y.push(d.label[i]!);
      }
    }
    return { X, rows: Int32Array.from(rows), y: Uint8Array.from(y) };
  });
  let fed;
  try {
    fed = trainFederated(parties, FEATURE_COUNT, input.federated, rng);
  } catch (cause) {
    throw new ModelRunError('calibration_failed', 'the DP noise for the requested epsilon and delta could not be calibrated', { cause });
  }

  // Scores and per-party flags.
  const validationAuc = fed.weights ? federatedAuc(fed.weights, parties, FEATURE_COUNT) : NaN;
  const modelWeight = Number.isNaN(validationAuc)
    ? 0
    : MODEL_WEIGHT * Math.min(1, Math.max(0, (validationAuc - MODEL_AUC_FLOOR) / (MODEL_AUC_FULL - MODEL_AUC_FLOOR)));
  const score = new Float64Array(d.n);
  const modelP = new Float64Array(d.n).fill(NaN);
  const boost = new Float64Array(d.n);
  for (let i = 0; i < d.n; i++) {
    const det = a.detector[i]!;
    let s = det;
    if (fed.weights) {
      const p = sigmoid(dot(fed.weights, X, i, FEATURE_COUNT));
      modelP[i] = p;
      boost[i] = (1 - det) * modelWeight * Math.max(0, 2 * p - 1);
      s += boost[i]!;
    }
    score[i] = s;
  }
  const privateFindings: Record<string, PrivateFindings> = {};
  let flaggedTotal = 0;
  let flaggedVolume = 0;
  let modelOnly = 0;
  partitions.forEach((p, pi) => {
    const flagged: FlaggedTransaction[] = [];
    const byPattern = { muleChain: 0, structuring: 0, dormant: 0, globalModel: 0 };
    let needingOthers = 0;
    for (let i = d.offset[pi]!; i < d.offset[pi + 1]!; i++) {
      if (score[i]! < threshold) continue;
      const p = Number.isNaN(modelP[i]!) ? null : modelP[i]!;
      flagged.push({ transactionId: d.transactionId[i]!, score: round(Math.min(1, score[i]!), 4), reasons: reasonsFor(i, a, siloed, p, boost[i]!) });
      if (ev.chain[i]! >= threshold) byPattern.muleChain++;
      if (ev.structuring[i]! >= threshold) byPattern.structuring++;
      if (ev.dormant[i]! >= threshold) byPattern.dormant++;
      if (a.detector[i]! < threshold) {
        byPattern.globalModel++;
        modelOnly++;
      }
      if (a.detector[i]! >= threshold && siloed[i]! < threshold) needingOthers++;
      flaggedVolume += d.amount[i]!;
    }
    flagged.sort((x, y) => y.score - x.score || (x.transactionId < y.transactionId ? -1 : x.transactionId > y.transactionId ? 1 : 0));
    flaggedTotal += flagged.length;
    privateFindings[p.partyId] = {
      flagged,
      summary: {
        recordsAnalysed: p.records.length,
        flagged: flagged.length,
        byPattern,
        flaggedOnlyVisibleWithOtherParties: needingOthers,
        flagThreshold: threshold,
      },
    };
  });

  // Shared aggregates.
  const flaggedFindings = ev.findings.filter((f) => f.score >= threshold);
  const needsOthers = (f: Finding): boolean => f.records.every((r) => siloed[r]! < threshold);
  const ofKind = (kind: Finding['kind']): Finding[] => flaggedFindings.filter((f) => f.kind === kind);
  const chains = ofKind('muleChain');
  const structuring = ofKind('structuring');
  const dormant = ofKind('dormant');
  const sumVolume = (fs: Finding[]): number => fs.reduce((s, f) => s + (f.detail.volume ?? 0), 0);
  const transactions = (fs: Finding[]): number => new Set(fs.flatMap((f) => f.records)).size;
  const med = (fs: Finding[], key: string, digits = 0): number => (fs.length ? round(median(fs.map((f) => f.detail[key]!)), digits) : 0);
  const patterns = {
    muleChains: aggregate(chains.length, minGroupSize, {
      transactions: transactions(chains),
      medianHops: med(chains, 'hops'),
      medianInstitutions: med(chains, 'institutions'),
      medianHopHours: med(chains, 'medianHopHours', 1),
      volumeBucket: volumeBucket(sumVolume(chains)),
    }),
    structuring: aggregate(structuring.length, minGroupSize, {
      transactions: transactions(structuring),
      volumeBucket: volumeBucket(sumVolume(structuring)),
    }),
    dormantAccounts: aggregate(dormant.length, minGroupSize, {
      transactions: transactions(dormant),
      medianGapDays: med(dormant, 'gapDays'),
      volumeBucket: volumeBucket(sumVolume(dormant)),
    }),
  };
  const needingOtherParties = aggregate(flaggedFindings.filter(needsOthers).length, minGroupSize, null);
  const flaggedAggregate = aggregate(flaggedTotal, minGroupSize, { volumeBucket: volumeBucket(flaggedVolume) });
  const dp = input.federated.differentialPrivacy;
  const privacy: FederatedPrivacyReport = {
    mechanism: dp.enabled && fed.trained ? 'gaussian' : 'none',
    epsilon: dp.enabled && fed.trained ? dp.epsilon : null,
    epsilonSpent: dp.enabled && fed.trained ? round(fed.epsilonSpent!, 6) : null,
    delta: dp.enabled && fed.trained ? dp.delta : null,
    noiseMultiplier: fed.noiseMultiplier,
    rounds: fed.trained ? input.federated.aggregationRounds : 0,
    clippingNorm: dp.enabled && fed.trained ? FEDERATED_PARAMETERS.clippingNorm : 0,
    accountant: 'rdp',
    unit: 'party',
  };
  const privacyStatement = privacy.mechanism === 'gaussian'
    ? `Privacy: the global model was trained with DP-FedAvg and is (epsilon = ${formatNumber(dp.epsilon)}, delta = ${formatNumber(dp.delta)})-differentially private with respect to each institution's data (Gaussian noise multiplier ${round(fed.noiseMultiplier, 4)}, clipping norm ${FEDERATED_PARAMETERS.clippingNorm}, ${input.federated.aggregationRounds} rounds, RDP accountant; epsilon spent ${round(fed.epsilonSpent!, 4)}). Pattern findings are computed inside the enclave and released only as aggregates with groups smaller than ${minGroupSize} suppressed; they are not covered by the differential-privacy guarantee.`
    : `Privacy: ${fed.trained ? 'the global model was trained without differential privacy' : 'no global model was trained'}. Pattern findings are computed inside the enclave and released only as aggregates with groups smaller than ${minGroupSize} suppressed.`;
  const modelLine = !fed.trained
    ? `Global model: not trained (${fed.reason}); scores come from the pattern detectors alone.`
    : `Global model: logistic regression over ${FEATURE_COUNT} transaction features, trained by federated averaging (${input.federated.localEpochs} local epoch(s), ${input.federated.aggregationRounds} round(s)) without pooling any institution's records; ${
        modelWeight > 0
          ? `it raised scores by at most ${round(modelWeight, 3)} of the remaining headroom, so the pattern detectors decide.`
          : 'its validation on the institutions\' own labels was too weak (as expected when differential-privacy noise dominates a few parties\' updates), so it did not change any score.'
      }`;
  const focus = redactIdentifiers(d, input.prompt.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim().slice(0, MAX_PROMPT_CHARS));
  const content = writeNarrative(
    {
      modelId: RISK_ANALYZER_ID,
      participants: partitions.length,
      recordsAnalysed: d.n,
      focus,
      minGroupSize,
      patterns,
      needingOtherParties,
      flagged: flaggedAggregate,
      privacyStatement,
      modelLine,
    },
    maxTokens,
  );
  const findings: Record<string, unknown> = {
    model: RISK_ANALYZER_ID,
    version: RISK_ANALYZER_VERSION,
    method: 'federated',
    participants: partitions.length,
    recordsAnalysed: d.n,
    minGroupSize,
    flagThreshold: threshold,
    patterns,
    crossParty: {
      findingsNeedingOtherParties: needingOtherParties,
      linkedInterPartyTransfers: aggregate(a.flows.interPartyLinks, minGroupSize, null),
    },
    flaggedTransactions: flaggedAggregate,
    flaggedByGlobalModelOnly: aggregate(modelOnly, minGroupSize, null),
    globalModel: {
      trained: fed.trained,
      ...(fed.reason ? { notTrainedBecause: fed.reason } : {}),
      scoreWeight: round(modelWeight, 3),
      contributingParties: aggregate(fed.contributingParties, minGroupSize, null),
      labelledRecords: aggregate(fed.labelledRecords, minGroupSize, null),
      features: FEATURE_COUNT,
    },
    privacy: { statement: privacyStatement },
    generation: { focus, maxTokens, temperature, backend: 'deterministic-template' },
  };
  return { shared: { content, findings }, privateFindings, privacy };
}

export const riskAnalyzerV2: ModelDefinition = Object.freeze({
  id: RISK_ANALYZER_ID,
  version: RISK_ANALYZER_VERSION,
  digest: RISK_ANALYZER_DIGEST,
  spec: SPEC,
  dataSchemas: [TRANSACTION_RECORDS_V1],
  methods: [...METHODS],
  run,
});
