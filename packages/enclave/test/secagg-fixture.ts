// Test support for secure aggregation over the real enclave process: parties run the client role
// (@tenzro/protocol's advertiseKeys / shareKeys / maskInput / unmask) on their statistic vectors
// (@tenzro/models computeStatistics / encodeStatistics on demo data); the test plays the host (relays the
// stage messages with the server functions, as the server does, and builds the unmask request); each masked
// input is sealed as a salted contribution and each unmask answer as an envelope to the session key.
import { readFile } from 'node:fs/promises';
import { sampleSkellam, toBase64Url, utf8Encode, randomBytes, calibrateSkellam } from '@tenzro/crypto';
import { aggregateLayoutOf, computeStatistics, encodeStatistics, generateDemoData, type AggregateLayout } from '@tenzro/models';
import {
  SECAGG_MASKED_CONTRIBUTION_TYPE,
  SECAGG_MASKED_INPUT_SCHEMA,
  SECAGG_UNMASK_ENVELOPE_TYPE,
  advertiseKeys,
  buildUnmaskRequest,
  collectAdvertisements,
  collectSharedKeys,
  createSecAggServer,
  maskInput,
  secAggConfigOf,
  secAggNoiseShare,
  shareKeys,
  unmask,
  type SecAggClientState,
  type SecAggConfig,
  type SessionTerms,
  type SignedAdvertise,
  type SignedMaskedInput,
  type SignedShareKeys,
  type SignedUnmask,
  type UnmaskRequest,
} from '@tenzro/protocol';
import type { EnclaveProcess } from './enclave-process.js';
import { consentOf, makeParty, makeTerms, saltedSubmission, writeBlob, type Party, type WrittenSubmission } from './session-fixture.js';

export const MODEL_ID = 'risk-analyzer-v2';
export const SOURCE_SCHEMA = 'transaction_records_v1';

export interface RoundOptions {
  n: number;
  threshold: number;
  minParticipants?: number;
  noiseAddition?: boolean;
  /** Parties (0-based) that never send their masked input (dropped after sharing keys). */
  dropBeforeMasked?: number[];
  /** Every party's statistics are zero (for the uniformity test). */
  zeroInputs?: boolean;
  recordsPerBank?: number;
  seed?: number;
  observers?: Party[];
  /** Override the declared noise variance of every contribution. */
  declaredNoise?: (required: number) => number | null;
}

export interface Round {
  parties: Party[];
  terms: SessionTerms;
  sessionId: string;
  key: { publicKey: string; sealedKey: string };
  config: SecAggConfig;
  layout: AggregateLayout;
  /** Per-party statistic values (before noise), by party id. */
  values: Map<string, number[]>;
  /** Each party's self-mask seed b_u, copied from its client state before masking. */
  bSeeds: Map<string, Uint8Array>;
  clients: Map<string, SecAggClientState>;
  advertisements: SignedAdvertise[];
  shareKeys: SignedShareKeys[];
  masked: Map<string, SignedMaskedInput>;
  /** Each party's stage-3 answer, once given (clients answer once). */
  unmasked: Map<string, SignedUnmask>;
  submissions: WrittenSubmission[];
  /** Per-party noise variance the session requires, secAggNoiseShare(μ, threshold) (null without noise). */
  perPartyVariance: number | null;
}

export async function secaggParties(n: number): Promise<Party[]> {
  return Promise.all(Array.from({ length: n }, (_, i) => makeParty(`party::bank${String.fromCharCode(65 + i)}::treasury`)));
}

/** Runs stages 0–2 for every party and writes the masked-input submissions. */
export async function setupRound(enclave: EnclaveProcess, blobDir: string, modelDigest: string, parties: Party[], options: RoundOptions): Promise<Round> {
  const { n, threshold } = options;
  const { terms, sessionId } = makeTerms({
    participants: parties.slice(0, n),
    observers: options.observers ?? [],
    modelId: MODEL_ID,
    modelDigest,
    dataPolicy: {
      aggregationMethod: 'secure_aggregation',
      minParticipants: options.minParticipants ?? threshold,
      secureAggConfig: { threshold, noiseAddition: options.noiseAddition ?? false },
    },
  });
  const key = await enclave.call('createSessionKey', { sessionId });
  const layout = aggregateLayoutOf(MODEL_ID)!;
  const config = secAggConfigOf(terms, layout.ringLength);
  const members = parties.slice(0, n);
  const banks = members.map((p) => p.partyId.split('::')[1]!);
  const partitions = generateDemoData({ banks, recordsPerBank: options.recordsPerBank ?? 120, seed: options.seed ?? 11 }).partitions;

  // stage 0
  const clients = new Map<string, SecAggClientState>();
  const adverts: SignedAdvertise[] = [];
  for (const party of members) {
    const step = advertiseKeys({ config, partyId: party.partyId, signingKey: party.signingPrivateKey });
    clients.set(party.partyId, step.state);
    adverts.push(step.message);
  }
  const host0 = collectAdvertisements(createSecAggServer(config), adverts);
  // stage 1
  const shares: SignedShareKeys[] = [];
  const bSeeds = new Map<string, Uint8Array>();
  for (const party of members) {
    const step = shareKeys(clients.get(party.partyId)!, host0.output);
    clients.set(party.partyId, step.state);
    if (step.state.stage === 'keys-shared') bSeeds.set(party.partyId, step.state.bSeed.expose().slice());
    shares.push(step.message);
  }
  const host1 = collectSharedKeys(host0.state, shares);

  // stage 2
  let perPartyVariance: number | null = null;
  const dp = terms.dataPolicy.secureAggConfig?.differentialPrivacy;
  if (options.noiseAddition && dp) {
    perPartyVariance = secAggNoiseShare(calibrateSkellam({ epsilon: dp.epsilon, delta: dp.delta, l1: layout.l1Sensitivity, l2: layout.l2Sensitivity }).variance, threshold);
  }
  const values = new Map<string, number[]>();
  const masked = new Map<string, SignedMaskedInput>();
  const submissions: WrittenSubmission[] = [];
  for (const [i, party] of members.entries()) {
    const records = partitions[banks[i]!]!;
    const stats = options.zeroInputs ? new Array<number>(layout.statisticCount).fill(0) : computeStatistics(layout, records);
    values.set(party.partyId, stats);
    if (options.dropBeforeMasked?.includes(i)) continue;
    const noise = perPartyVariance === null ? undefined : sampleSkellam(perPartyVariance, layout.statisticCount);
    const vector = encodeStatistics(layout, stats, noise);
    const step = maskInput(clients.get(party.partyId)!, host1.output, vector);
    clients.set(party.partyId, step.state);
    masked.set(party.partyId, step.message);
    const declared = options.declaredNoise ? options.declaredNoise(perPartyVariance ?? 0) : perPartyVariance;
    submissions.push(await maskedSubmission(blobDir, key.publicKey, party.partyId, layout.id, declared, step.message));
  }
  return {
    parties: members,
    terms,
    sessionId,
    key,
    config,
    layout,
    values,
    bSeeds,
    clients,
    advertisements: host0.output,
    shareKeys: host1.output,
    masked,
    unmasked: new Map(),
    submissions,
    perPartyVariance,
  };
}

/** A masked input sealed as a salted contribution (SecAggMaskedContribution), filed under the masked-input schema. */
export async function maskedSubmission(
  blobDir: string,
  sessionPublicKey: string,
  partyId: string,
  layoutId: string,
  noiseVariance: number | null,
  message: unknown,
  overrides: Record<string, unknown> = {},
): Promise<WrittenSubmission> {
  const contribution = {
    type: SECAGG_MASKED_CONTRIBUTION_TYPE,
    layout: layoutId,
    sourceSchema: SOURCE_SCHEMA,
    noiseVariance,
    maskedInput: message,
    ...overrides,
  };
  return saltedSubmission(blobDir, sessionPublicKey, partyId, contribution, SECAGG_MASKED_INPUT_SCHEMA);
}

/** The host's unmask request for `included` (U2 from the relayed share-keys messages). */
export function hostRequest(round: Round, included: readonly string[]): UnmaskRequest {
  return buildUnmaskRequest(round.config, round.shareKeys.map((m) => m.body.partyId), new Set(included));
}

/** Each of `answering` answers `request` and seals it to the session key for run `runId`. */
export async function unmaskAnswers(
  round: Round,
  blobDir: string,
  request: UnmaskRequest,
  runId: string,
  answering: readonly string[],
): Promise<{ partyId: string; blobPath: string }[]> {
  const out: { partyId: string; blobPath: string }[] = [];
  for (const partyId of answering) {
    const step = unmask(round.clients.get(partyId)!, request);
    round.clients.set(partyId, step.state);
    round.unmasked.set(partyId, step.message);
    out.push({ partyId, blobPath: await sealUnmask(round, blobDir, partyId, { type: SECAGG_UNMASK_ENVELOPE_TYPE, sessionId: round.sessionId, runId, unmask: step.message }) });
  }
  return out;
}

export async function sealUnmask(round: Round, blobDir: string, partyId: string, envelope: unknown): Promise<string> {
  const name = `unmask-${partyId.replace(/[^a-zA-Z0-9]/g, '_')}-${toBase64Url(randomBytes(6))}.tze`;
  return writeBlob(blobDir, name, round.key.publicKey, utf8Encode(JSON.stringify(envelope)));
}

export function consentsOf(round: Round, parties: readonly Party[] = round.parties) {
  return parties.map((p) => consentOf(p, round.sessionId));
}

export function runParams(round: Round, secagg: { advertisements: unknown[]; shareKeys: unknown[]; unmask: { partyId: string; blobPath: string }[] }, extra: Record<string, unknown> = {}) {
  return {
    runId: 'run_1',
    sessionId: round.sessionId,
    sealedKey: round.key.sealedKey,
    terms: round.terms,
    submissions: round.submissions,
    consents: consentsOf(round),
    prompt: 'Which corridors carry mule-like flows?',
    parameters: { maxTokens: 256 },
    secagg,
    ...extra,
  };
}

/** Plain element-wise sum of the parties' statistic values. */
export function plainSum(round: Round, partyIds: readonly string[]): number[] {
  const out = new Array<number>(round.layout.statisticCount).fill(0);
  for (const id of partyIds) round.values.get(id)!.forEach((v, i) => (out[i] = out[i]! + v));
  return out;
}

export async function readJson(path: string): Promise<any> {
  return JSON.parse(await readFile(path, 'utf8'));
}
