// The use-case kit: `defineUseCaseModel(spec)` turns a UseCaseModelSpec (contract.ts) — one vector of
// integer statistics per party and an analysis of their sum — into a ModelDefinition that runs under every
// aggregation method (DESIGN §7):
//   federated           the enclave holds each party's records. The kit validates them with the model's
//                       schema, computes each party's vector from that party's records alone
//                       (`partyStatistics`; nothing is pooled), sums the vectors and, with differential privacy
//                       on, adds Gaussian noise to the sum. Each party may get `privateFindings` on its own records.
//   secure_aggregation  the parties computed, noised (Skellam) and masked their vectors; the model gets the
//                       decoded sum, checked against the layout as risk-analyzer-v2's is (checkAggregateInput).
//   mpc                 the compute nodes summed Shamir shares of the vectors; the model gets the sum the
//                       enclave reconstructed (exact, no noise).
// `analyse` then writes the shared findings and narrative; the kit adds two findings of its own — `run`
// (model id and version, method, participants, generation) and `privacy` (mechanism and statement) — and
// appends the privacy statement to the narrative. A spec whose findings use either key is refused at run time.
// `parameters.maxTokens` (words) cuts the model's narrative only, never the statement (`narrative` below).
//
// Layout (aggregates/layout.ts): `<id>/aggregates/v1`, one entry per declared statistic in declaration order,
// with risk-analyzer-v2's limbs, value bound (2^40 − 1), party bound and noise bound, so encoding.ts, the
// Skellam calibration and the SecAgg protocol work unchanged. maxRecordsPerParty is the largest record count
// whose statistics always fit: min(MAX_RECORDS, floor(maxValue / largest perRecordMax)).
// Sensitivity (unit: one record's row), as layout.ts:
//   l1 = Σ_ungrouped perRecordMax + Σ_groups max perRecordMax,   l2 = sqrt(Σ of the squares of the same).
//
// Federated DP: ONE Gaussian release of the summed vector, N(0, σ²) added to every statistic with
//   σ = z × l2,   z = calibrateNoiseMultiplier({ targetEpsilon: ε, delta: δ, sampleRate: 1, steps: 1 }).z
// (@tenzro/crypto's RDP accountant, the one DP-FedAvg uses; for one release of the Gaussian mechanism RDP
// gives ε(α) = α / (2z²), converted to (ε, δ)). The noisy statistics are rounded to integers (post-processing).
//
// Digest: "sha256:" + hex SHA-256 of the RFC 8785 canonical JSON of `spec` (risk-analyzer-v2's scheme): the
// kit version, id, version, use case, description, schema id and the digest of its JSON Schema, methods,
// scale, the statistic declarations, constants, minGroupSize, identifier fields, the layout's digest and the
// privacy mechanisms. The code of partyStatistics / analyse is covered by the enclave measurement, not here.
import { calibrateNoiseMultiplier, canonicalBytes, canonicalize, sampleGaussianVector, sha256Hex } from '@tenzro/crypto';
import { checkAggregateInput } from '../aggregates/analysis.js';
import {
  AGGREGATE_MAX_PARTIES,
  MAX_STATISTIC_VALUE,
  defineLayout,
  recordSensitivities,
  type AggregateEntry,
  type AggregateEntryKind,
  type AggregateLayout,
  type LayoutPlan,
} from '../aggregates/layout.js';
import { ModelRunError } from '../errors.js';
import { checkGeneration, formatNumber, round } from '../report.js';
import { requireRng } from '../rng.js';
import { MAX_RECORDS, deepFreeze } from '../schema.js';
import type {
  AggregateInput,
  AggregationMethod,
  FederatedRunInput,
  FederatedSumPrivacyReport,
  ModelDefinition,
  ModelOutput,
  ModelOutputFor,
  ModelRunInput,
  MpcPrivacyReport,
  MpcRunInput,
  PrivacyReport,
  PrivateFindings,
  SecureAggregationPrivacyReport,
  SecureAggregationRunInput,
} from '../types.js';
import type { SummedStatistics, UseCaseAnalysis, UseCaseModelSpec, UseCaseName } from './contract.js';

/** Version of the kit's behaviour (layout rules, DP mechanism, reserved findings), covered by every digest. */
export const USE_CASE_KIT_VERSION = 'tenzro.use-case-kit/v1';
export const USE_CASE_NAMES: readonly UseCaseName[] = Object.freeze(['risk-analysis', 'supply-chain', 'healthcare-research', 'compliance']);
/** Findings keys the kit writes; `analyse` may not use them. */
export const KIT_FINDINGS_KEYS: readonly string[] = Object.freeze(['run', 'privacy']);

const KINDS: readonly AggregateEntryKind[] = ['count', 'sum', 'sum_squares', 'cross_product', 'histogram'];
const METHODS: readonly AggregationMethod[] = ['federated', 'secure_aggregation', 'mpc'];
const MODEL_ID = /^[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?$/;
const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;
const STATISTIC_NAME = /^[A-Za-z0-9_:*.-]{1,120}$/;
const GROUP_NAME = /^[A-Za-z0-9_:*.-]{1,120}$/;
const DETERMINISTIC_BACKEND = 'deterministic-template';

/** What defineUseCaseModel returns: the model, its layout and the spec it was defined from. */
export interface UseCaseModel<R = unknown> {
  readonly model: ModelDefinition;
  readonly layout: AggregateLayout;
  readonly spec: UseCaseModelSpec<R>;
}

// ---- the spec's own checks ----

function fail(kind: 'type' | 'range', message: string): never {
  throw kind === 'type' ? new TypeError(message) : new RangeError(message);
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const positiveInteger = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;

/** Every field of `spec` checked; TypeError for a wrong type, RangeError for a wrong value, naming the field. */
function checkSpec(value: unknown): void {
  if (!isObject(value)) fail('type', 'spec must be a use-case model spec object');
  const spec = value;
  if (typeof spec.id !== 'string') fail('type', 'spec.id must be a string');
  if (!MODEL_ID.test(spec.id)) fail('range', 'spec.id must be 1 to 64 characters of [a-z0-9-], starting and ending with a letter or digit');
  if (typeof spec.version !== 'string') fail('type', 'spec.version must be a string');
  if (!SEMVER.test(spec.version)) fail('range', 'spec.version must be a semantic version (MAJOR.MINOR.PATCH)');
  if (!USE_CASE_NAMES.includes(spec.useCase as UseCaseName)) fail('range', `spec.useCase must be one of ${USE_CASE_NAMES.join(', ')}`);
  if (typeof spec.description !== 'string' || spec.description.trim().length === 0) fail('type', 'spec.description must be a non-empty string');
  const schema = spec.schema as unknown;
  if (!isObject(schema) || typeof schema.id !== 'string' || schema.id.length === 0) fail('type', 'spec.schema must be a data schema with a non-empty id');
  if (!isObject(schema.jsonSchema)) fail('type', 'spec.schema.jsonSchema must be a JSON Schema object');
  if (typeof schema.validate !== 'function') fail('type', 'spec.schema.validate must be a function');
  if (!Array.isArray(spec.identifierFields) || spec.identifierFields.some((f) => typeof f !== 'string' || f.length === 0)) {
    fail('type', 'spec.identifierFields must be an array of field names');
  }
  if (new Set(spec.identifierFields).size !== spec.identifierFields.length) fail('range', 'spec.identifierFields must not repeat a field');
  if (!positiveInteger(spec.scale)) fail('range', 'spec.scale must be a positive integer');
  if (!Array.isArray(spec.statistics)) fail('type', 'spec.statistics must be an array of statistic declarations');
  if (spec.statistics.length === 0) fail('range', 'spec.statistics must declare at least one statistic');
  const names = new Set<string>();
  spec.statistics.forEach((d: unknown, i) => {
    const at = `spec.statistics[${i}]`;
    if (!isObject(d)) fail('type', `${at} must be a statistic declaration object`);
    if (typeof d.name !== 'string') fail('type', `${at}.name must be a string`);
    if (!STATISTIC_NAME.test(d.name)) fail('range', `${at}.name must be 1 to 120 characters of [A-Za-z0-9_:*.-]`);
    if (names.has(d.name)) fail('range', `${at}.name repeats an earlier statistic's name`);
    names.add(d.name);
    if (!KINDS.includes(d.kind as AggregateEntryKind)) fail('range', `${at}.kind must be one of ${KINDS.join(', ')}`);
    if (!positiveInteger(d.perRecordMax)) fail('range', `${at}.perRecordMax must be a positive integer`);
    if (d.perRecordMax > MAX_STATISTIC_VALUE) fail('range', `${at}.perRecordMax must be at most ${MAX_STATISTIC_VALUE}`);
    if (d.group !== undefined && (typeof d.group !== 'string' || !GROUP_NAME.test(d.group))) {
      fail('type', `${at}.group must be 1 to 120 characters of [A-Za-z0-9_:*.-] when present`);
    }
  });
  if (!isObject(spec.constants)) fail('type', 'spec.constants must be an object');
  if (!Number.isSafeInteger(spec.minGroupSize)) fail('type', 'spec.minGroupSize must be an integer');
  // As checkRelease: at least 1. A model may choose 1 (exact counts, e.g. for a regulator) and says why.
  if ((spec.minGroupSize as number) < 1) fail('range', 'spec.minGroupSize must be at least 1');
  for (const name of ['partyStatistics', 'analyse', 'generateDemo', 'evaluateDemo'] as const) {
    if (typeof spec[name] !== 'function') fail('type', `spec.${name} must be a function`);
  }
  if (spec.privateFindings !== undefined && typeof spec.privateFindings !== 'function') fail('type', 'spec.privateFindings must be a function when present');
}

/** A plain-JSON deep copy (RFC 8785 canonical text parsed back): the caller's object is never frozen. */
function jsonCopy<T>(value: T, name: string): T {
  let text: string;
  try {
    text = canonicalize(value);
  } catch (cause) {
    throw new TypeError(`${name} must be plain JSON (${(cause as Error).message})`, { cause });
  }
  return JSON.parse(text) as T;
}

// ---- layout ----

function buildLayout(spec: UseCaseModelSpec<unknown>): { layout: AggregateLayout; plan: LayoutPlan } {
  const entries: AggregateEntry[] = spec.statistics.map((d) =>
    d.group === undefined ? { name: d.name, kind: d.kind, perRecordMax: d.perRecordMax } : { name: d.name, kind: d.kind, perRecordMax: d.perRecordMax, group: d.group },
  );
  const largest = Math.max(...entries.map((e) => e.perRecordMax));
  const maxRecordsPerParty = Math.min(MAX_RECORDS, Math.floor(MAX_STATISTIC_VALUE / largest));
  const { l1, l2 } = recordSensitivities(entries);
  const layout: AggregateLayout = deepFreeze({
    id: `${spec.id}/aggregates/v1`,
    modelId: spec.id,
    version: 1,
    scale: spec.scale,
    limbBits: 16,
    features: [],
    entries,
    statisticCount: entries.length,
    ringLength: 2 * entries.length,
    maxParties: AGGREGATE_MAX_PARTIES,
    maxValue: MAX_STATISTIC_VALUE,
    maxNoiseMagnitude: 2 ** 30 / AGGREGATE_MAX_PARTIES,
    maxRecordsPerParty,
    l1Sensitivity: l1,
    l2Sensitivity: l2,
  });
  const plan: LayoutPlan = {
    columns: Object.freeze([]),
    columnIndex: new Map(),
    terms: new Int32Array(0),
    entryIndex: new Map(entries.map((e, i) => [e.name, i])),
  };
  return { layout, plan };
}

/**
 * One party's statistic vector as `partyStatistics` returned it, checked (refused, never clipped): an array of
 * `statisticCount` integers, each in [0, min(maxValue, perRecordMax × records)], and each histogram group
 * adding up to at most its largest perRecordMax × records (a record adds to at most one bin).
 */
function checkVector(layout: AggregateLayout, values: unknown, records: number, where: string): number[] {
  if (!Array.isArray(values)) throw new TypeError(`${where} must be an array of integers`);
  const S = layout.statisticCount;
  if (values.length !== S) throw new RangeError(`${where} must hold ${S} statistics, got ${values.length}`);
  const groupSum = new Map<string, number>();
  const groupMax = new Map<string, number>();
  const out = new Array<number>(S);
  for (let i = 0; i < S; i++) {
    const e = layout.entries[i]!;
    const v: unknown = values[i];
    const bound = Math.min(layout.maxValue, e.perRecordMax * records);
    if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0 || v > bound) {
      throw new RangeError(`${where}[${i}] (statistic ${e.name}) must be an integer from 0 to ${bound} for ${records} record(s)`);
    }
    out[i] = v;
    if (e.group !== undefined) {
      groupSum.set(e.group, (groupSum.get(e.group) ?? 0) + v);
      groupMax.set(e.group, Math.max(groupMax.get(e.group) ?? 0, e.perRecordMax));
    }
  }
  for (const [group, total] of groupSum) {
    const bound = groupMax.get(group)! * records;
    if (total > bound) throw new RangeError(`${where}: histogram group ${group} adds up to more than ${bound} for ${records} record(s)`);
  }
  return out;
}

// ---- run inputs ----

function invalid(message: string, options?: { cause?: unknown }): never {
  throw new ModelRunError('invalid_input', message, options);
}


/** The federated differential-privacy target, or null when it is off. */
function checkDp(federated: unknown): { epsilon: number; delta: number } | null {
  if (!isObject(federated)) throw new TypeError('federated must be an object');
  const dp = federated.differentialPrivacy;
  if (!isObject(dp) || typeof dp.enabled !== 'boolean') throw new TypeError('federated.differentialPrivacy.enabled must be a boolean');
  if (!dp.enabled) return null;
  if (typeof dp.epsilon !== 'number' || !(dp.epsilon > 0) || !Number.isFinite(dp.epsilon)) throw new RangeError('federated.differentialPrivacy.epsilon must be > 0');
  if (typeof dp.delta !== 'number' || !(dp.delta > 0 && dp.delta < 1)) throw new RangeError('federated.differentialPrivacy.delta must be in (0, 1)');
  return { epsilon: dp.epsilon, delta: dp.delta };
}

const wordCount = (text: string): number => text.split(/\s+/).filter((w) => w.length > 0).length;

/** The first `count` whitespace-separated words of `text`, with the whitespace between them ('' for 0). */
function firstWords(text: string, count: number): string {
  const word = /\S+/g;
  let end = 0;
  for (let i = 0; i < count; i++) {
    const m = word.exec(text);
    if (m === null) break;
    end = m.index + m[0].length;
  }
  return text.slice(0, end);
}

/**
 * The shared narrative within `maxWords` words: the analysis text, cut (an ellipsis, counted as a word,
 * marks the cut) to leave room for the privacy statement, then the statement whole. The statement is the
 * disclosure (what protected the figures, "not differentially private", the two-party note), so it is never
 * cut: when it alone has `maxWords` words or more, the narrative is the statement alone and runs over
 * `maxWords` — the disclosure wins over the length budget.
 */
function narrative(analysisText: string, statement: string, maxWords: number): string {
  const text = analysisText.trim();
  const words = wordCount(text);
  const room = maxWords - wordCount(statement);
  if (words === 0 || room <= 0) return statement;
  if (words <= room) return `${text}\n\n${statement}`;
  const kept = firstWords(text, room - 1);
  return `${kept === '' ? '…' : `${kept} …`}\n\n${statement}`;
}

// ---- the kit ----

/**
 * The ModelDefinition and aggregate layout of a use-case model (see the module header). Checks every field of
 * `spec` (TypeError / RangeError naming it) and makes the layout known to resolveLayout, encodeStatistics,
 * decodeStatisticSum and computeStatistics. Listing the model (getModel, GET /v1/models) is the registry's
 * business: add the spec to USE_CASE_SPECS (use-cases/registry.ts).
 */
export function defineUseCaseModel<R>(spec: UseCaseModelSpec<R>): UseCaseModel<R> {
  checkSpec(spec);
  const id = spec.id;
  const version = spec.version;
  const schema = spec.schema;
  const identifierFields = Object.freeze([...spec.identifierFields]);
  const minGroupSize = spec.minGroupSize;
  const { layout, plan } = buildLayout(spec as UseCaseModelSpec<unknown>);
  const S = layout.statisticCount;

  const SPEC = deepFreeze({
    kit: USE_CASE_KIT_VERSION,
    id,
    version,
    useCase: spec.useCase,
    description: spec.description,
    schemas: [schema.id],
    schemaDigest: `sha256:${sha256Hex(canonicalBytes(jsonCopy(schema.jsonSchema, 'spec.schema.jsonSchema')))}`,
    methods: [...METHODS],
    scale: spec.scale,
    statistics: layout.entries.map((e) => ({ ...e })),
    constants: jsonCopy(spec.constants, 'spec.constants'),
    minGroupSize,
    identifierFields: [...identifierFields],
    layout: { id: layout.id, digest: `sha256:${sha256Hex(canonicalBytes(layout))}` },
    privacy: { federated: 'gaussian-rdp-one-release', secureAggregation: 'skellam', mpc: 'none', unit: 'record' },
  });
  const digest = `sha256:${sha256Hex(canonicalBytes(SPEC))}`;

  /** Valid records of one party → its checked vector. `where` names the party in messages. */
  const vectorOf = (records: readonly R[], where: string): number[] => checkVector(layout, spec.partyStatistics(records), records.length, where);

  // computeStatistics(layout, records) for this layout: the party's SDK, on its own raw records.
  defineLayout({
    layout,
    plan,
    digest,
    statistics: (records: readonly unknown[]): number[] => {
      if (!Array.isArray(records)) throw new TypeError(`records must be an array of ${schema.id} records`);
      if (records.length > layout.maxRecordsPerParty) {
        throw new RangeError(`records: ${records.length} records exceed the layout's maxRecordsPerParty (${layout.maxRecordsPerParty})`);
      }
      const valid = schema.validate(records);
      if (!valid.ok) {
        const e = valid.errors[0]!;
        throw new TypeError(`${e.index >= 0 ? `records[${e.index}]` : 'records'}${e.field ? `.${e.field}` : ''}: ${e.message}`);
      }
      return vectorOf(valid.records, 'statistics');
    },
  });

  const summed = (values: readonly number[], parties: number, noiseStd: number, method: AggregationMethod): SummedStatistics => {
    const frozen = Object.freeze([...values]);
    return Object.freeze({
      values: frozen,
      get(name: string): number {
        const i = plan.entryIndex.get(name);
        if (i === undefined) throw new RangeError(`${layout.id} has no statistic named ${JSON.stringify(name)}`);
        return frozen[i]!;
      },
      parties,
      noiseStd,
      scale: layout.scale,
      method,
    });
  };

  const analyse = (sum: SummedStatistics): UseCaseAnalysis => {
    const analysis = spec.analyse(sum);
    if (!isObject(analysis) || !isObject(analysis.findings) || typeof analysis.content !== 'string') {
      throw new TypeError(`${id}: analyse must return { findings: object, content: string }`);
    }
    const reserved = KIT_FINDINGS_KEYS.find((k) => Object.hasOwn(analysis.findings, k));
    if (reserved !== undefined) throw new TypeError(`${id}: analyse findings must not use the kit's key ${JSON.stringify(reserved)}`);
    return analysis;
  };

  /** The shared output: the spec's findings plus the kit's `run` and `privacy`, the statement appended whole to the text. */
  const output = <P extends PrivacyReport>(
    analysis: UseCaseAnalysis,
    method: AggregationMethod,
    participants: number,
    generation: { maxTokens: number; temperature: number },
    privacy: P,
    statement: string,
    privateFindings: Record<string, PrivateFindings> = {},
  ): ModelOutput<P> => {
    const findings: Record<string, unknown> = {
      ...analysis.findings,
      run: { model: { id, version }, method, participants, generation: { ...generation, backend: DETERMINISTIC_BACKEND } },
      privacy: { mechanism: privacy.mechanism, statement },
    };
    const content = narrative(analysis.content, statement, generation.maxTokens);
    return { shared: { content, findings }, privateFindings, privacy };
  };

  const groupsNote = minGroupSize > 1 ? `Groups smaller than ${minGroupSize} are suppressed.` : 'Counts are released exactly (the model sets no minimum group size).';
  const twoPartyNote = (parties: number): string =>
    parties === 2 ? ' With two parties, each can subtract its own statistics from the exact sum and learn the other\'s.' : '';

  // -- federated: the enclave computes each party's vector from its records and sums them --
  const runFederated = (input: FederatedRunInput<unknown>): ModelOutput<FederatedSumPrivacyReport> => {
    const generation = checkGeneration(input);
    const rng = requireRng(input.rng, 'rng');
    const dp = checkDp(input.federated);
    const partitions: unknown = input.partitions;
    if (!Array.isArray(partitions)) throw new TypeError('partitions must be an array');
    if (partitions.length < 2 || partitions.length > layout.maxParties) {
      invalid(`partitions must hold 2 to ${layout.maxParties} parties, got ${partitions.length}`);
    }
    const ids = new Set<string>();
    const parties = partitions.map((p: unknown, i) => {
      if (!isObject(p) || typeof p.partyId !== 'string' || p.partyId.length === 0) throw new TypeError(`partitions[${i}].partyId must be a non-empty string`);
      if (ids.has(p.partyId)) invalid(`partitions[${i}].partyId duplicates an earlier partition`);
      ids.add(p.partyId);
      if (!Array.isArray(p.records)) throw new TypeError(`partitions[${i}].records must be an array`);
      if (p.records.length > layout.maxRecordsPerParty) invalid(`partitions[${i}] holds more than ${layout.maxRecordsPerParty} records`);
      const valid = schema.validate(p.records);
      if (!valid.ok) {
        const e = valid.errors[0]!;
        invalid(`partitions[${i}] record ${e.index} field ${e.field || '(record)'}: ${e.message}`);
      }
      return { partyId: p.partyId, records: valid.records };
    });
    const vectors = parties.map((p, i) => {
      try {
        return vectorOf(p.records, `partitions[${i}] statistics`);
      } catch (cause) {
        // the kit's own checks name the statistic, never a value; the spec's RangeError may quote data, so
        // only a fixed message leaves. Anything else is a fault of the spec's code and propagates.
        const ours = cause instanceof Error && cause.message.startsWith(`partitions[${i}] statistics`);
        if (ours) invalid(cause.message, { cause });
        if (cause instanceof RangeError) invalid(`partitions[${i}]: the party's statistics are out of their declared bounds`, { cause });
        throw cause;
      }
    });
    const exact = new Array<number>(S).fill(0);
    for (const v of vectors) for (let j = 0; j < S; j++) exact[j]! += v[j]!;

    const P = parties.length;
    let values = exact;
    let sigma = 0;
    let noiseMultiplier = 0;
    let epsilonSpent: number | null = null;
    if (dp !== null) {
      let calibrated;
      try {
        calibrated = calibrateNoiseMultiplier({ targetEpsilon: dp.epsilon, delta: dp.delta, sampleRate: 1, steps: 1 });
      } catch (cause) {
        throw new ModelRunError('calibration_failed', 'the Gaussian noise for the requested epsilon and delta could not be calibrated', { cause });
      }
      noiseMultiplier = calibrated.noiseMultiplier;
      epsilonSpent = calibrated.epsilon;
      sigma = noiseMultiplier * layout.l2Sensitivity;
      const noise = sampleGaussianVector(rng, sigma, S);
      values = exact.map((v, j) => Math.round(v + noise[j]!));
    }
    const privacy: FederatedSumPrivacyReport = {
      mechanism: dp ? 'gaussian' : 'none',
      epsilon: dp ? dp.epsilon : null,
      epsilonSpent: dp ? round(epsilonSpent!, 6) : null,
      delta: dp ? dp.delta : null,
      noiseMultiplier,
      sigma,
      l2Sensitivity: layout.l2Sensitivity,
      accountant: 'rdp',
      parties: P,
      method: 'federated',
      unit: 'record',
    };
    const statement = dp
      ? `Privacy: inside the enclave each of the ${P} parties' statistic vectors (${S} statistics) was computed from that party's records alone and the vectors were summed; Gaussian noise of standard deviation ${formatNumber(round(sigma / layout.scale, 4))} (in the statistics' units; ${formatNumber(round(sigma, 3))} in units of 1/${layout.scale}, noise multiplier ${round(noiseMultiplier, 4)} on the L2 sensitivity of one record's row) was added to every statistic, so the shared figures are (epsilon = ${formatNumber(dp.epsilon)}, delta = ${formatNumber(dp.delta)})-differentially private for one record (RDP accountant; epsilon spent ${round(epsilonSpent!, 4)}). ${groupsNote}`
      : `Privacy: inside the enclave each of the ${P} parties' statistic vectors (${S} statistics) was computed from that party's records alone and the vectors were summed; no noise was added, so the figures are not differentially private. ${groupsNote}${twoPartyNote(P)}`;
    const analysis = analyse(summed(values, P, sigma, 'federated'));
    const privateFindings: Record<string, PrivateFindings> = {};
    if (spec.privateFindings !== undefined) {
      for (const p of parties) {
        const own = spec.privateFindings(p.records, analysis);
        if (!isObject(own) || !Array.isArray(own.flagged) || own.flagged.length !== 0 || !isObject(own.summary)) {
          throw new TypeError(`${id}: privateFindings must return { flagged: [], summary: object }`);
        }
        privateFindings[p.partyId] = { flagged: [], summary: own.summary };
      }
    }
    return output(analysis, 'federated', P, generation, privacy, statement, privateFindings);
  };

  /** The aggregate of a secure_aggregation or mpc run, checked against the layout (ModelRunError invalid_input). */
  const checkSum = (aggregate: unknown, exact: boolean): AggregateInput => {
    if (!isObject(aggregate)) throw new TypeError('aggregate must be an object');
    const input = aggregate as unknown as AggregateInput;
    checkAggregateInput(layout, input);
    if (exact) {
      const bound = input.parties.length * layout.maxValue;
      input.values.forEach((v, i) => {
        if (v < 0 || v > bound) invalid(`aggregate.values[${i}] (statistic ${layout.entries[i]!.name}) must be from 0 to ${bound} without noise`);
      });
    }
    return input;
  };

  // -- secure_aggregation: the decoded sum of the survivors' noisy vectors --
  const runSecureAggregation = (input: SecureAggregationRunInput): ModelOutput<SecureAggregationPrivacyReport> => {
    const generation = checkGeneration(input);
    requireRng(input.rng, 'rng');
    const aggregate = checkSum(input.aggregate, input.aggregate?.noise === null);
    const P = aggregate.parties.length;
    const noise = aggregate.noise;
    // `variance` protects a record against one recipient (the other survivors' shares); the sum carries P / (P − 1) times it.
    const noiseStd = noise ? Math.sqrt((noise.variance * noise.survivors) / Math.max(1, noise.survivors - 1)) : 0;
    const privacy: SecureAggregationPrivacyReport = noise
      ? { mechanism: 'skellam', variance: noise.variance, epsilon: noise.epsilon, delta: noise.delta, order: noise.order, survivors: P, threshold: noise.threshold, unit: 'record' }
      : { mechanism: 'none', variance: null, epsilon: null, delta: null, order: null, survivors: P, threshold: null, unit: 'record' };
    const statement = noise
      ? `Privacy: each of the ${P} parties computed its statistic vector (${S} statistics) from its own records, added Skellam noise and masked it (secure aggregation); the enclave saw only the sum, which is (epsilon = ${formatNumber(noise.epsilon)}, delta = ${formatNumber(noise.delta)})-differentially private for one record (variance ${formatNumber(noise.variance)} in units of 1/${layout.scale}, RDP order ${formatNumber(noise.order)}, threshold ${noise.threshold}); every statistic carries noise of standard deviation about ${formatNumber(round(noiseStd / layout.scale, 4))}. ${groupsNote}`
      : `Privacy: each of the ${P} parties computed its statistic vector (${S} statistics) from its own records and masked it (secure aggregation), so the enclave saw only the exact sum; no noise was added, so the figures are not differentially private. ${groupsNote}${twoPartyNote(P)}`;
    const analysis = analyse(summed(aggregate.values, P, noiseStd, 'secure_aggregation'));
    return output(analysis, 'secure_aggregation', P, generation, privacy, statement);
  };

  // -- mpc: the sum the enclave reconstructed from the compute nodes' output shares --
  const runMpc = (input: MpcRunInput): ModelOutput<MpcPrivacyReport> => {
    const generation = checkGeneration(input);
    requireRng(input.rng, 'rng');
    const aggregate = checkSum(input.aggregate, true);
    if (aggregate.noise !== null) invalid('aggregate.noise must be null under mpc (the compute nodes add no noise)');
    const mpc: unknown = input.mpc;
    if (!isObject(mpc)) throw new TypeError('mpc must be an object');
    const { threshold, totalNodes, nodesUsed } = mpc;
    if (!Number.isSafeInteger(totalNodes) || (totalNodes as number) < 2) invalid('mpc.totalNodes must be an integer of at least 2');
    const N = totalNodes as number;
    if (!Number.isSafeInteger(threshold) || (threshold as number) < 2 || (threshold as number) > N) invalid('mpc.threshold must be an integer from 2 to totalNodes');
    const t = threshold as number;
    if (!Array.isArray(nodesUsed) || nodesUsed.some((x) => !Number.isSafeInteger(x) || x < 1 || x > N) || new Set(nodesUsed).size !== nodesUsed.length) {
      invalid('mpc.nodesUsed must list distinct node indices from 1 to totalNodes');
    }
    if (nodesUsed.length < t) invalid('mpc.nodesUsed must list at least threshold nodes');
    const used = [...(nodesUsed as number[])].sort((a, b) => a - b);
    const P = aggregate.parties.length;
    const privacy: MpcPrivacyReport = { mechanism: 'none', parties: P, threshold: t, totalNodes: N, nodesUsed: used, unit: 'party_vector' };
    const statement = `Privacy: each of the ${P} parties computed its statistic vector (${S} statistics) from its own records and Shamir-shared it among ${N} attested compute nodes (threshold ${t}: fewer than ${t} nodes learn nothing); the nodes summed the shares and the enclave reconstructed only the sum, from nodes ${used.join(', ')}. No noise was added, so the figures are not differentially private. ${groupsNote}${twoPartyNote(P)}`;
    const analysis = analyse(summed(aggregate.values, P, 0, 'mpc'));
    return output(analysis, 'mpc', P, generation, privacy, statement);
  };

  async function run<I extends ModelRunInput>(input: I): Promise<ModelOutputFor<I>> {
    if (typeof input !== 'object' || input === null) throw new TypeError('input must be an object');
    const method = (input as ModelRunInput).method;
    switch (method) {
      case 'federated':
        return runFederated(input as FederatedRunInput<unknown>) as ModelOutputFor<I>;
      case 'secure_aggregation':
        return runSecureAggregation(input as SecureAggregationRunInput) as ModelOutputFor<I>;
      case 'mpc':
        return runMpc(input as MpcRunInput) as ModelOutputFor<I>;
      default:
        throw new ModelRunError('unsupported_method', `${id} supports the federated, secure_aggregation and mpc methods`);
    }
  }

  /** The strings of the record's identifier fields: what the release policy forbids in shared output. */
  const identifiersOf = (record: unknown): string[] => {
    if (!isObject(record)) return [];
    const out: string[] = [];
    for (const field of identifierFields) {
      const v = record[field];
      if (typeof v === 'string' && v.length > 0) out.push(v);
    }
    return out;
  };

  const model: ModelDefinition = Object.freeze({
    id,
    version,
    digest,
    spec: SPEC,
    dataSchemas: Object.freeze([schema.id]) as string[],
    methods: Object.freeze([...METHODS]) as AggregationMethod[],
    description: spec.description,
    useCase: spec.useCase,
    minGroupSize,
    identifiersOf,
    run,
  });
  return Object.freeze({ model, layout, spec });
}
