// The server role of secure aggregation (Bonawitz et al. CCS 2017 §4, Figure 4): one pure function per
// stage over explicit state. The server collects and forwards; a bad message (wrong signature, session,
// party, duplicate, stage) is set aside in `rejected` and the stage ends with its threshold check over the
// accepted ones (below_threshold aborts). It only ever holds masked vectors: the unmasked value it
// computes is the sum over the survivors, never one party's input.
//
// SecAgg+ (Bell et al. CCS 2020; config.graph a Harary graph, see neighbours.ts): the same stages, with each
// share-keys message addressed to the sender's neighbours in U1, masks removed only along edges, every
// secret reconstructed from the t_k answers of its owner's neighbourhood, and, besides every global check,
// a per-neighbourhood check before asking for shares (assertNeighbourhoods) and before reconstructing.

import { agreementPublicKey, combineShares, equalBytes, ringVectorFromBytes, type ShamirShare } from '@tenzro/crypto';
import { partyIndex, validateSecAggConfig, type SecAggConfig } from './config.js';
import { SecAggError, type RejectedMessage, type SecAggStage } from './errors.js';
import {
  MaskedInputBody,
  SECAGG_TYPES,
  UnmaskBody,
  decodeBytes,
  parseSigned,
  type SignedAdvertise,
  type SignedShareKeys,
  type UnmaskRequest,
} from './messages.js';
import { accumulate, maskSeed, maskSign, pairwiseMask, selfMask } from './masks.js';
import { verifyAdvertisements, verifyShareKeys, type AdvertisedKeys } from './client.js';
import { topologyOf } from './neighbours.js';

export type SecAggServerState =
  | { stage: 'advertise'; config: SecAggConfig }
  | { stage: 'share-keys'; config: SecAggConfig; u1: AdvertisedKeys[] }
  | { stage: 'masked-input'; config: SecAggConfig; u1: AdvertisedKeys[]; u2: string[] }
  | {
      stage: 'unmask';
      config: SecAggConfig;
      u1: AdvertisedKeys[];
      u2: string[];
      /** U3: parties whose masked input arrived, with it (masked: uniformly random to the server). */
      maskedInputs: Record<string, Uint32Array>;
      request: UnmaskRequest;
    }
  | { stage: 'done'; config: SecAggConfig; survivors: string[]; sum: Uint32Array };

export interface ServerStep<O> {
  state: SecAggServerState;
  output: O;
  rejected: RejectedMessage[];
}

function expectStage<S extends SecAggServerState['stage']>(state: SecAggServerState, stage: S, at: SecAggStage): Extract<SecAggServerState, { stage: S }> {
  if (typeof state !== 'object' || state === null) throw new TypeError('state must be a secure-aggregation server state');
  if (state.stage !== stage) throw new SecAggError('stage_out_of_order', at, `the server is at stage ${state.stage}, not ${stage}`);
  return state as Extract<SecAggServerState, { stage: S }>;
}

function assertThreshold(config: SecAggConfig, count: number, stage: SecAggStage, what: string): void {
  if (count < config.threshold) {
    throw new SecAggError('below_threshold', stage, `${count} ${what}, fewer than the threshold ${config.threshold}: aborting, nothing is unmasked`);
  }
}

function asArray(messages: unknown, stage: SecAggStage): unknown[] {
  if (!Array.isArray(messages)) throw new SecAggError('invalid_message', stage, 'messages must be an array');
  return messages;
}

/** Accepts each message that `check` passes and that comes from a party not seen yet; sets aside the rest. */
function sift<T extends { body: { partyId: string } }>(messages: unknown[], stage: SecAggStage, check: (raw: unknown) => T): { accepted: T[]; rejected: RejectedMessage[] } {
  const accepted: T[] = [];
  const rejected: RejectedMessage[] = [];
  const seen = new Set<string>();
  messages.forEach((raw, index) => {
    try {
      const message = check(raw);
      if (seen.has(message.body.partyId)) throw new SecAggError('duplicate_party', stage, `${message.body.partyId} already sent this stage's message`);
      seen.add(message.body.partyId);
      accepted.push(message);
    } catch (error) {
      if (!(error instanceof SecAggError)) throw error;
      const partyId = (raw as { body?: { partyId?: unknown } } | null)?.body?.partyId;
      rejected.push({ index, ...(typeof partyId === 'string' ? { partyId } : {}), code: error.code, message: error.message });
    }
  });
  return { accepted, rejected };
}

/**
 * SecAgg+ (no-op for the complete graph): refuses (below_threshold at `stage`) when some party of U2 has
 * fewer than t_k parties able to give shares of its secret — those of `answering` in N[u] (its own share
 * counts only if it is answering itself). Before the unmask request `answering` is U3 (the parties whose
 * masked input arrived); before reconstruction, the survivors that answered. The host can call it before
 * publishing a request; collectMaskedInputs and aggregate do.
 */
export function assertNeighbourhoods(config: SecAggConfig, u2: readonly string[], answering: ReadonlySet<string>, stage: SecAggStage = 'masked-input'): void {
  const topology = topologyOf(config);
  if (topology.kind === 'complete') return;
  for (const id of u2) {
    const index = partyIndex(config, id);
    if (index === undefined) throw new SecAggError('unknown_party', stage, `${id} is not in the roster`);
    const around = topology.neighboursOf(index).filter((j) => answering.has(config.parties[j - 1]!.partyId)).length + (answering.has(id) ? 1 : 0);
    if (around < topology.shareThreshold) {
      throw new SecAggError(
        'below_threshold',
        stage,
        `only ${around} parties of the neighbourhood of ${id} can give its shares, fewer than the neighbourhood threshold ${topology.shareThreshold}: aborting, nothing is unmasked`,
      );
    }
  }
}

/**
 * The messages in roster order (stable; every sender is in the roster once sift kept it). What the server
 * role derives from a stage — U2, the bundle, the unmask request — must not depend on the order the host
 * relayed the messages in: the host builds its request (buildUnmaskRequest) in roster order and aggregate
 * compares the answers' lists with the request's exactly.
 */
function inRosterOrder<T extends { body: { partyId: string } }>(config: SecAggConfig, messages: readonly T[]): T[] {
  const rank = (m: T): number => partyIndex(config, m.body.partyId) ?? Number.MAX_SAFE_INTEGER;
  return [...messages].sort((a, b) => rank(a) - rank(b));
}

/** A fresh aggregation for a validated configuration. */
export function createSecAggServer(config: SecAggConfig): SecAggServerState {
  return { stage: 'advertise', config: validateSecAggConfig(config) };
}

/** Stage 0 (server): keeps the valid advertisements (U1), refuses reused keys; |U1| ≥ t. Output: the broadcast. */
export function collectAdvertisements(state: SecAggServerState, messages: unknown): ServerStep<SignedAdvertise[]> {
  const current = expectStage(state, 'advertise', 'advertise');
  const keys = new Set<string>();
  const { accepted, rejected } = sift(asArray(messages, 'advertise'), 'advertise', (raw) => {
    const [advert] = verifyAdvertisementsLoose(current.config, raw);
    for (const key of [advert.body.cPublicKey, advert.body.sPublicKey]) {
      if (keys.has(key)) throw new SecAggError('duplicate_key', 'advertise', `${advert.body.partyId} advertised a key already in use`);
    }
    keys.add(advert.body.cPublicKey).add(advert.body.sPublicKey);
    return advert;
  });
  assertThreshold(current.config, accepted.length, 'advertise', 'parties advertised keys');
  const u1 = verifyAdvertisements(current.config, accepted, 'advertise');
  return { state: { stage: 'share-keys', config: current.config, u1 }, output: accepted, rejected };
}

// One advertisement checked on its own (signature, session, roster, key validity).
function verifyAdvertisementsLoose(config: SecAggConfig, raw: unknown): [SignedAdvertise] {
  const copy = { ...config, threshold: 1 }; // per-message check; the stage threshold is checked after
  verifyAdvertisements(copy, [raw], 'advertise');
  return [raw as SignedAdvertise];
}

/**
 * Stage 1 (server): keeps the valid share-keys messages (U2 ⊆ U1); |U2| ≥ t. Output: the bundle every party
 * of U2 receives. U2 and the bundle are in roster order, whatever order the messages were relayed in.
 */
export function collectSharedKeys(state: SecAggServerState, messages: unknown): ServerStep<SignedShareKeys[]> {
  const current = expectStage(state, 'share-keys', 'share-keys');
  const loose = { ...current.config, threshold: 1 };
  const sifted = sift(asArray(messages, 'share-keys'), 'share-keys', (raw) => verifyShareKeys(loose, current.u1, [raw], 'share-keys')[0]!);
  const { rejected } = sifted;
  const accepted = inRosterOrder(current.config, sifted.accepted);
  assertThreshold(current.config, accepted.length, 'share-keys', 'parties shared keys');
  const u2 = accepted.map((m) => m.body.partyId);
  return { state: { stage: 'masked-input', config: current.config, u1: current.u1, u2 }, output: accepted, rejected };
}

/**
 * Stage 2 (server): keeps the masked inputs of parties of U2 (U3); |U3| ≥ t. Output: the unmask request,
 * its lists in roster order (= buildUnmaskRequest's for the same U2 and U3, whatever the relay order).
 */
export function collectMaskedInputs(state: SecAggServerState, messages: unknown): ServerStep<UnmaskRequest> {
  const current = expectStage(state, 'masked-input', 'masked-input');
  const { config } = current;
  const maskedInputs: Record<string, Uint32Array> = {};
  const { accepted, rejected } = sift(asArray(messages, 'masked-input'), 'masked-input', (raw) => {
    const signed = parseSigned(config, MaskedInputBody, raw, 'masked-input', SECAGG_TYPES.maskedInput);
    if (!current.u2.includes(signed.body.partyId)) throw new SecAggError('unknown_party', 'masked-input', `${signed.body.partyId} did not share keys`);
    if (maskedInputs[signed.body.partyId] === undefined) {
      const bytes = decodeBytes(signed.body.maskedInput, config.vectorLength * 4, 'masked-input', 'maskedInput');
      maskedInputs[signed.body.partyId] = ringVectorFromBytes(bytes);
    }
    return signed;
  });
  assertThreshold(config, accepted.length, 'masked-input', 'parties sent masked inputs');
  const u3 = new Set(accepted.map((m) => m.body.partyId));
  assertNeighbourhoods(config, current.u2, u3, 'masked-input');
  const u2 = [...current.u2].sort((a, b) => (partyIndex(config, a) ?? 0) - (partyIndex(config, b) ?? 0));
  const request: UnmaskRequest = {
    type: SECAGG_TYPES.unmaskRequest,
    sessionId: config.sessionId,
    selfMaskShares: u2.filter((id) => u3.has(id)),
    pairwiseKeyShares: u2.filter((id) => !u3.has(id)),
  };
  const kept: Record<string, Uint32Array> = {};
  for (const id of request.selfMaskShares) kept[id] = maskedInputs[id]!;
  return { state: { stage: 'unmask', config, u1: current.u1, u2: current.u2, maskedInputs: kept, request }, output: request, rejected };
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/**
 * Stage 3 (server) and the aggregate: keeps the unmask responses of survivors that answer exactly the
 * request (U4); |U4| ≥ t; reconstructs each survivor's b_u and each dropped party's s_u^SK (checked
 * against its advertised s_u^PK), removes the masks and returns Σ_{u ∈ U3} x_u mod 2^32.
 */
export function aggregate(state: SecAggServerState, messages: unknown): ServerStep<{ sum: Uint32Array; survivors: string[] }> {
  const current = expectStage(state, 'unmask', 'aggregate');
  const { config, request } = current;
  const survivors = request.selfMaskShares;
  const topology = topologyOf(config);
  const indices = new Map(config.parties.map((p, i) => [p.partyId, i + 1] as const));
  const indexOf = (id: string): number => indices.get(id)!;
  // A survivor p answers for the parties of N[p] (complete graph: all of them), in request order.
  const { accepted, rejected } = sift(asArray(messages, 'aggregate'), 'aggregate', (raw) => {
    const signed = parseSigned(config, UnmaskBody, raw, 'aggregate', SECAGG_TYPES.unmask);
    const { partyId, selfMaskShares, pairwiseKeyShares } = signed.body;
    if (!survivors.includes(partyId)) throw new SecAggError('unknown_party', 'aggregate', `${partyId} is not a survivor`);
    const own = (of: string): boolean => of === partyId || topology.adjacent(indexOf(partyId), indexOf(of));
    if (
      !sameList(selfMaskShares.map((s) => s.of), request.selfMaskShares.filter(own)) ||
      !sameList(pairwiseKeyShares.map((s) => s.of), request.pairwiseKeyShares.filter(own))
    ) {
      throw new SecAggError('invalid_message', 'aggregate', `${partyId} did not answer the request as sent`);
    }
    for (const s of [...selfMaskShares, ...pairwiseKeyShares]) decodeBytes(s.share, 66, 'aggregate', 'share');
    return signed;
  });
  assertThreshold(config, accepted.length, 'aggregate', 'survivors sent their shares');
  // SecAgg+: every secret needs t_k answers from its owner's neighbourhood; checked before any is rebuilt.
  assertNeighbourhoods(config, current.u2, new Set(accepted.map((m) => m.body.partyId)), 'aggregate');

  const reconstruct = (of: string, pick: (body: UnmaskBody) => { of: string; share: string }[]): Uint8Array => {
    const shares: ShamirShare[] = [];
    for (const { body } of accepted) {
      const entry = pick(body).find((s) => s.of === of);
      if (entry !== undefined) shares.push({ x: indexOf(body.partyId), y: decodeBytes(entry.share, 66, 'aggregate', 'share') });
    }
    try {
      return combineShares(shares, topology.shareThreshold);
    } catch (cause) {
      throw new SecAggError('reconstruction_failed', 'aggregate', `the shares of ${of} do not reconstruct`, { cause });
    }
  };

  const sum = new Uint32Array(config.vectorLength);
  for (const id of survivors) accumulate(sum, current.maskedInputs[id]!, 1);
  for (const id of survivors) {
    const bSeed = reconstruct(id, (b) => b.selfMaskShares);
    accumulate(sum, selfMask(bSeed, config.sessionId, id, config.vectorLength), -1);
    bSeed.fill(0);
  }
  for (const id of request.pairwiseKeyShares) {
    const sPrivateKey = reconstruct(id, (b) => b.pairwiseKeyShares);
    const dropped = current.u1.find((p) => p.partyId === id)!;
    if (!equalBytes(agreementPublicKey(sPrivateKey), dropped.sPublicKey)) {
      throw new SecAggError('reconstruction_failed', 'aggregate', `the reconstructed key of ${id} does not match its advertised key`);
    }
    for (const survivorId of survivors) {
      const survivor = current.u1.find((p) => p.partyId === survivorId)!;
      if (!topology.adjacent(survivor.index, dropped.index)) continue; // no mask between them
      const seed = maskSeed(sPrivateKey, survivor.sPublicKey, config.sessionId, id, survivorId);
      // The survivor added γ(survivor, dropped) · PRG(s); take it away.
      accumulate(sum, pairwiseMask(seed, config.vectorLength), maskSign(survivor.index, dropped.index) === 1 ? -1 : 1);
      seed.fill(0);
    }
    sPrivateKey.fill(0);
  }
  return {
    state: { stage: 'done', config, survivors: [...survivors], sum },
    output: { sum, survivors: [...survivors] },
    rejected,
  };
}
