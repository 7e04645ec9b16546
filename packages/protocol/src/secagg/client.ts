// The client role of secure aggregation (Bonawitz et al. CCS 2017 §4, Figure 4), one pure function per
// stage over explicit state. Each function checks what the (untrusted) server forwarded — signatures,
// session, roster membership, duplicates, stage order — and ends with its threshold check; any failure is
// a SecAggError and the party sends nothing. State is never mutated: each stage returns a new one.
//
// Stage 0 advertiseKeys: fresh X25519 pairs (c for share encryption, s for pairwise masks), signed.
// Stage 1 shareKeys:     b_u and s_u^SK Shamir-shared t-of-n; the pair of shares for v sealed to v with
//                        ChaCha20-Poly1305 under KA(c_u^SK, c_v^PK).
// Stage 2 maskInput:     y_u = x_u + PRG(b_u) + Σ γ_uv PRG(s_uv) over the parties that shared keys (U2).
// Stage 3 unmask:        per party of U2, EITHER the b share (its masked input arrived) OR the s^SK share
//                        (it dropped), never both; a request asking both for one party is refused.
//
// SecAgg+ (Bell et al. CCS 2020; config.graph a Harary graph, see neighbours.ts): the same stages restricted
// to the party's neighbours N(u): shares t_k-of-(k + 1) over N[u] = N(u) ∪ {u} (x = roster index), sealed to
// N(u) ∩ U1 only; pairwise masks with N(u) ∩ U2 only; stage 3 answers only for parties of N[u]. Every
// global check stays, and each stage also checks that N[u] still holds t_k parties.

import {
  SHAMIR_SHARE_LENGTH,
  SecretBytes,
  agreementPublicKey,
  canonicalBytes,
  concatBytes,
  equalBytes,
  isValidAgreementPublicKey,
  openPairwise,
  pairwiseSeed,
  randomBytes,
  ringVectorToBytes,
  sealPairwise,
  splitSecret,
  toBase64Url,
  type RandomSource,
} from '@tenzro/crypto';
import { partyIndex, validateSecAggConfig, type SecAggConfig } from './config.js';
import { SecAggError, type SecAggStage } from './errors.js';
import {
  AdvertiseBody,
  MaskedInputBody,
  SECAGG_TYPES,
  ShareKeysBody,
  UnmaskBody,
  UnmaskRequest,
  decodeBytes,
  parseBody,
  parseSigned,
  signBody,
  type SignedAdvertise,
  type SignedMaskedInput,
  type SignedShareKeys,
  type SignedUnmask,
} from './messages.js';
import { accumulate, maskSeed, maskSign, pairwiseMask, selfMask } from './masks.js';
import { topologyOf, type SecAggTopology } from './neighbours.js';

export interface AdvertisedKeys {
  partyId: string;
  index: number;
  cPublicKey: Uint8Array;
  sPublicKey: Uint8Array;
}

/** The pair of shares one party holds of another: of s^SK and of b. */
export interface HeldShares {
  sShare: Uint8Array;
  bShare: Uint8Array;
}

interface ClientCommon {
  config: SecAggConfig;
  partyId: string;
  index: number;
  signingKey: SecretBytes;
}

export type SecAggClientState =
  | (ClientCommon & { stage: 'advertised'; cPrivateKey: SecretBytes; sPrivateKey: SecretBytes })
  | (ClientCommon & {
      stage: 'keys-shared';
      cPrivateKey: SecretBytes;
      sPrivateKey: SecretBytes;
      u1: AdvertisedKeys[];
      bSeed: SecretBytes;
      ownShares: HeldShares;
    })
  | (ClientCommon & { stage: 'input-masked'; u1: AdvertisedKeys[]; u2: string[]; held: Record<string, HeldShares> })
  | (ClientCommon & { stage: 'done' });

export interface ClientStep<M> {
  state: SecAggClientState;
  message: M;
}

const SHARE_PLAINTEXT_LENGTH = 2 * SHAMIR_SHARE_LENGTH;

function expectStage<S extends SecAggClientState['stage']>(
  state: SecAggClientState,
  stage: S,
  at: SecAggStage,
): Extract<SecAggClientState, { stage: S }> {
  if (typeof state !== 'object' || state === null) throw new TypeError('state must be a secure-aggregation client state');
  if (state.stage !== stage) throw new SecAggError('stage_out_of_order', at, `the client is at stage ${state.stage}, not ${stage}`);
  return state as Extract<SecAggClientState, { stage: S }>;
}

function assertThreshold(config: SecAggConfig, count: number, stage: SecAggStage, what: string): void {
  if (count < config.threshold) {
    throw new SecAggError('below_threshold', stage, `${count} ${what}, fewer than the threshold ${config.threshold}: aborting`);
  }
}

// SecAgg+: N[u] (u and its neighbours) must still hold t_k of the parties at this stage.
function assertNeighbourhood(topology: SecAggTopology, count: number, stage: SecAggStage, what: string): void {
  if (topology.kind === 'harary' && count < topology.shareThreshold) {
    throw new SecAggError('below_threshold', stage, `${count} ${what}, fewer than the neighbourhood threshold ${topology.shareThreshold}: aborting`);
  }
}

function shareAad(sessionId: string, from: string, to: string): Uint8Array {
  return canonicalBytes({ type: SECAGG_TYPES.shareCiphertext, sessionId, from, to });
}

function encryptionKey(state: { config: SecAggConfig; partyId: string; cPrivateKey: SecretBytes }, peer: AdvertisedKeys): Uint8Array {
  return pairwiseSeed(state.cPrivateKey, peer.cPublicKey, {
    sessionId: state.config.sessionId,
    parties: [state.partyId, peer.partyId],
    purpose: 'share-encryption',
  });
}

export interface AdvertiseKeysOptions {
  config: SecAggConfig;
  partyId: string;
  /** The party's Ed25519 roster signing key (its public half must match the roster). */
  signingKey: Uint8Array | SecretBytes;
}

/** Stage 0, AdvertiseKeys: two fresh X25519 key pairs (c, s), signed with the roster key. */
export function advertiseKeys(options: AdvertiseKeysOptions): ClientStep<SignedAdvertise> {
  return advertiseKeysWithRng(options, randomBytes);
}

/** Internal: advertiseKeys with an explicit byte source (golden vectors). */
export function advertiseKeysWithRng(options: AdvertiseKeysOptions, rng: RandomSource): ClientStep<SignedAdvertise> {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const config = validateSecAggConfig(options.config);
  const index = partyIndex(config, options.partyId);
  if (index === undefined) throw new SecAggError('unknown_party', 'advertise', `options.partyId ${String(options.partyId)} is not in the roster`);
  const signingKey = options.signingKey instanceof SecretBytes ? options.signingKey : SecretBytes.from(options.signingKey);
  const cPrivateKey = SecretBytes.from(rng(32));
  const sPrivateKey = SecretBytes.from(rng(32));
  const body: AdvertiseBody = {
    type: SECAGG_TYPES.advertise,
    sessionId: config.sessionId,
    partyId: options.partyId,
    cPublicKey: toBase64Url(agreementPublicKey(cPrivateKey)),
    sPublicKey: toBase64Url(agreementPublicKey(sPrivateKey)),
  };
  const message = signBody(signingKey, body);
  return { state: { stage: 'advertised', config, partyId: options.partyId, index, signingKey, cPrivateKey, sPrivateKey }, message };
}

/**
 * Verifies the advertisements the server broadcast (U1): signatures, session, roster, no duplicate party
 * or key, valid X25519 keys, this party's own keys unchanged, |U1| ≥ t. Shared by client and server.
 */
export function verifyAdvertisements(config: SecAggConfig, messages: unknown, stage: SecAggStage): AdvertisedKeys[] {
  if (!Array.isArray(messages)) throw new SecAggError('invalid_message', stage, 'advertisements must be an array');
  const parties = new Set<string>();
  const keys = new Set<string>();
  const u1 = messages.map((raw) => {
    const { body } = parseSigned(config, AdvertiseBody, raw, stage, SECAGG_TYPES.advertise);
    if (parties.has(body.partyId)) throw new SecAggError('duplicate_party', stage, `${body.partyId} advertised twice`);
    parties.add(body.partyId);
    const cPublicKey = decodeBytes(body.cPublicKey, 32, stage, 'cPublicKey');
    const sPublicKey = decodeBytes(body.sPublicKey, 32, stage, 'sPublicKey');
    if (!isValidAgreementPublicKey(cPublicKey) || !isValidAgreementPublicKey(sPublicKey)) {
      throw new SecAggError('invalid_message', stage, `${body.partyId} advertised a low-order X25519 key`);
    }
    for (const key of [body.cPublicKey, body.sPublicKey]) {
      if (keys.has(key)) throw new SecAggError('duplicate_key', stage, `${body.partyId} advertised a key already in use`);
      keys.add(key);
    }
    return { partyId: body.partyId, index: partyIndex(config, body.partyId)!, cPublicKey, sPublicKey };
  });
  assertThreshold(config, u1.length, stage, 'parties advertised keys');
  return u1.sort((a, b) => a.index - b.index);
}

/** Stage 1, ShareKeys: checks U1, Shamir-shares b_u and s_u^SK t-of-n, seals each pair to its recipient. */
export function shareKeys(state: SecAggClientState, advertisements: unknown): ClientStep<SignedShareKeys> {
  return shareKeysWithRng(state, advertisements, randomBytes);
}

/** Internal: shareKeys with an explicit byte source (golden vectors). */
export function shareKeysWithRng(state: SecAggClientState, advertisements: unknown, rng: RandomSource): ClientStep<SignedShareKeys> {
  const current = expectStage(state, 'advertised', 'share-keys');
  const { config, partyId } = current;
  const u1 = verifyAdvertisements(config, advertisements, 'share-keys');
  const own = u1.find((p) => p.partyId === partyId);
  if (own === undefined) throw new SecAggError('inconsistent_request', 'share-keys', 'this party is missing from the advertisements');
  if (!equalBytes(own.cPublicKey, agreementPublicKey(current.cPrivateKey)) || !equalBytes(own.sPublicKey, agreementPublicKey(current.sPrivateKey))) {
    throw new SecAggError('inconsistent_request', 'share-keys', 'the advertisement of this party does not carry its keys');
  }
  const n = config.parties.length;
  const topology = topologyOf(config);
  const peers = u1.filter((p) => p.partyId !== partyId && topology.adjacent(current.index, p.index));
  assertNeighbourhood(topology, peers.length + 1, 'share-keys', 'parties of this neighbourhood advertised keys');
  // Evaluated at every roster index (x = index); only N[u]'s shares leave this function.
  const bSeed = SecretBytes.from(rng(32));
  const sShares = splitSecret(current.sPrivateKey.expose(), { threshold: topology.shareThreshold, shares: n }, rng);
  const bShares = splitSecret(bSeed.expose(), { threshold: topology.shareThreshold, shares: n }, rng);
  const ciphertexts: { to: string; ciphertext: string }[] = [];
  for (const peer of peers) {
    const key = encryptionKey(current, peer);
    const plaintext = concatBytes(sShares[peer.index - 1]!.y, bShares[peer.index - 1]!.y);
    const sealed = sealPairwise(key, plaintext, { sender: partyId, recipient: peer.partyId, aad: shareAad(config.sessionId, partyId, peer.partyId) });
    key.fill(0);
    plaintext.fill(0);
    ciphertexts.push({ to: peer.partyId, ciphertext: toBase64Url(sealed) });
  }
  const ownShares = { sShare: sShares[current.index - 1]!.y, bShare: bShares[current.index - 1]!.y };
  const body: ShareKeysBody = { type: SECAGG_TYPES.shareKeys, sessionId: config.sessionId, partyId, ciphertexts };
  return { state: { ...current, stage: 'keys-shared', u1, bSeed, ownShares }, message: signBody(current.signingKey, body) };
}

/**
 * Verifies the share-keys messages the server forwarded (U2 ⊆ U1): signatures, session, senders in U1,
 * no duplicates, every sender addressed exactly U1 minus itself (SecAgg+: exactly its neighbours in U1),
 * |U2| ≥ t. Shared by client and server.
 */
export function verifyShareKeys(config: SecAggConfig, u1: readonly AdvertisedKeys[], messages: unknown, stage: SecAggStage): SignedShareKeys[] {
  if (!Array.isArray(messages)) throw new SecAggError('invalid_message', stage, 'share-keys messages must be an array');
  const senders = new Set<string>();
  const u1Ids = new Set(u1.map((p) => p.partyId));
  const topology = topologyOf(config);
  const verified = messages.map((raw) => {
    const signed = parseSigned(config, ShareKeysBody, raw, stage, SECAGG_TYPES.shareKeys);
    const { partyId, ciphertexts } = signed.body;
    if (!u1Ids.has(partyId)) throw new SecAggError('unknown_party', stage, `${partyId} did not advertise keys`);
    if (senders.has(partyId)) throw new SecAggError('duplicate_party', stage, `${partyId} shared keys twice`);
    senders.add(partyId);
    const recipients = new Set(ciphertexts.map((c) => c.to));
    if (topology.kind === 'complete') {
      if (recipients.size !== ciphertexts.length || recipients.size !== u1Ids.size - 1 || recipients.has(partyId) || [...recipients].some((r) => !u1Ids.has(r))) {
        throw new SecAggError('invalid_message', stage, `${partyId} must send exactly one ciphertext to every other party of U1`);
      }
    } else {
      const sender = partyIndex(config, partyId)!;
      const expected = u1.filter((p) => p.partyId !== partyId && topology.adjacent(sender, p.index));
      if (recipients.size !== ciphertexts.length || recipients.size !== expected.length || expected.some((p) => !recipients.has(p.partyId))) {
        throw new SecAggError('invalid_message', stage, `${partyId} must send exactly one ciphertext to every neighbour of it in U1`);
      }
    }
    return signed;
  });
  assertThreshold(config, verified.length, stage, 'parties shared keys');
  return verified;
}

/** Stage 2, MaskedInputCollection: opens the shares sent to this party and masks its input. */
export function maskInput(state: SecAggClientState, shareKeysMessages: unknown, input: Uint32Array): ClientStep<SignedMaskedInput> {
  const current = expectStage(state, 'keys-shared', 'masked-input');
  const { config, partyId } = current;
  if (!(input instanceof Uint32Array)) throw new TypeError('input must be a Uint32Array (fixed-point encoded)');
  if (input.length !== config.vectorLength) throw new RangeError(`input must have config.vectorLength (${config.vectorLength}) entries, got ${input.length}`);
  const verified = verifyShareKeys(config, current.u1, shareKeysMessages, 'masked-input');
  const topology = topologyOf(config);
  const indexOf = new Map(current.u1.map((p) => [p.partyId, p.index] as const));
  const held: Record<string, HeldShares> = {};
  for (const { body } of verified) {
    if (body.partyId === partyId) {
      held[partyId] = current.ownShares;
      continue;
    }
    if (!topology.adjacent(current.index, indexOf.get(body.partyId)!)) continue;
    const entry = body.ciphertexts.find((c) => c.to === partyId)!;
    const sender = current.u1.find((p) => p.partyId === body.partyId)!;
    const key = encryptionKey(current, sender);
    let plaintext: Uint8Array;
    try {
      plaintext = openPairwise(key, decodeBytes(entry.ciphertext, undefined, 'masked-input', 'ciphertext'), {
        sender: body.partyId,
        recipient: partyId,
        aad: shareAad(config.sessionId, body.partyId, partyId),
      });
    } catch (cause) {
      throw new SecAggError('decryption_failed', 'masked-input', `the shares from ${body.partyId} could not be opened`, { cause });
    } finally {
      key.fill(0);
    }
    if (plaintext.length !== SHARE_PLAINTEXT_LENGTH) throw new SecAggError('invalid_message', 'masked-input', `the shares from ${body.partyId} have the wrong length`);
    held[body.partyId] = { sShare: plaintext.slice(0, SHAMIR_SHARE_LENGTH), bShare: plaintext.slice(SHAMIR_SHARE_LENGTH) };
  }
  if (held[partyId] === undefined) throw new SecAggError('inconsistent_request', 'masked-input', 'the share-keys message of this party is missing');
  const u2 = verified.map((m) => m.body.partyId);
  assertNeighbourhood(topology, Object.keys(held).length, 'masked-input', 'parties of this neighbourhood shared keys');
  const masked = Uint32Array.from(input);
  accumulate(masked, selfMask(current.bSeed.expose(), config.sessionId, partyId, config.vectorLength), 1);
  for (const peer of current.u1) {
    if (peer.partyId === partyId || !u2.includes(peer.partyId) || !topology.adjacent(current.index, peer.index)) continue;
    const seed = maskSeed(current.sPrivateKey, peer.sPublicKey, config.sessionId, partyId, peer.partyId);
    accumulate(masked, pairwiseMask(seed, config.vectorLength), maskSign(current.index, peer.index));
    seed.fill(0);
  }
  const body: MaskedInputBody = { type: SECAGG_TYPES.maskedInput, sessionId: config.sessionId, partyId, maskedInput: toBase64Url(ringVectorToBytes(masked)) };
  const message = signBody(current.signingKey, body);
  current.cPrivateKey.destroy();
  current.sPrivateKey.destroy();
  current.bSeed.destroy();
  const { config: c, index, signingKey, u1 } = current;
  return { state: { stage: 'input-masked', config: c, partyId, index, signingKey, u1, u2, held }, message };
}

/**
 * Stage 3, Unmasking: answers the server's request. Refuses (both_shares_requested) a request naming
 * one party in both lists, and (inconsistent_request) one whose lists are not exactly U2 split in two
 * or that claims this party dropped; the survivors must be at least t.
 */
export function unmask(state: SecAggClientState, request: unknown): ClientStep<SignedUnmask> {
  const current = expectStage(state, 'input-masked', 'unmask');
  const { config, partyId } = current;
  const parsed = parseBody(UnmaskRequest, request, 'unmask', SECAGG_TYPES.unmaskRequest);
  if (parsed.sessionId !== config.sessionId) throw new SecAggError('wrong_session', 'unmask', 'the unmask request is for another session');
  const survivors = new Set(parsed.selfMaskShares);
  const dropped = new Set(parsed.pairwiseKeyShares);
  if (survivors.size !== parsed.selfMaskShares.length || dropped.size !== parsed.pairwiseKeyShares.length) {
    throw new SecAggError('duplicate_party', 'unmask', 'the unmask request names a party twice in one list');
  }
  for (const id of survivors) {
    if (dropped.has(id)) {
      throw new SecAggError('both_shares_requested', 'unmask', `the request asks for both the self-mask and the pairwise-key share of ${id}: refused`);
    }
  }
  for (const id of [...survivors, ...dropped]) {
    if (!current.u2.includes(id)) throw new SecAggError('inconsistent_request', 'unmask', `${id} did not share keys in this session`);
  }
  if (survivors.size + dropped.size !== current.u2.length) {
    throw new SecAggError('inconsistent_request', 'unmask', 'the request does not account for every party that shared keys');
  }
  if (!survivors.has(partyId)) throw new SecAggError('inconsistent_request', 'unmask', 'the request claims this party dropped');
  assertThreshold(config, survivors.size, 'unmask', 'parties sent masked inputs');
  // SecAgg+: answer for N[u] only (complete graph: everyone), after checking N[u] kept t_k survivors.
  const topology = topologyOf(config);
  const mine = (of: string): boolean => of === partyId || topology.adjacent(current.index, partyIndex(config, of)!);
  const selfMaskOf = parsed.selfMaskShares.filter(mine);
  const pairwiseKeyOf = parsed.pairwiseKeyShares.filter(mine);
  assertNeighbourhood(topology, selfMaskOf.length, 'unmask', 'parties of this neighbourhood sent masked inputs');
  const body: UnmaskBody = {
    type: SECAGG_TYPES.unmask,
    sessionId: config.sessionId,
    partyId,
    selfMaskShares: selfMaskOf.map((of) => ({ of, share: toBase64Url(current.held[of]!.bShare) })),
    pairwiseKeyShares: pairwiseKeyOf.map((of) => ({ of, share: toBase64Url(current.held[of]!.sShare) })),
  };
  const message = signBody(current.signingKey, body);
  return { state: { stage: 'done', config, partyId, index: current.index, signingKey: current.signingKey }, message };
}
