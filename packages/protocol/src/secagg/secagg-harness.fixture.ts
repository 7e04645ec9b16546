/**
 * Test fixture (not built, not shipped): the in-memory secure-aggregation harness shared by
 * bonawitz-ccs2017-secagg.test.ts and bell-ccs2020-secagg-plus.test.ts. It builds rosters, runs every party
 * and the server through the pure stage functions with dropouts at any stage, and holds the golden-vector
 * plumbing (key capture, party records, replay and self-consistency checks) both files use.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fromBase64Url, randomBytes, ringVectorFromBytes, signingPublicKeyFromPrivate, toHex, type RandomSource } from '@tenzro/crypto';
import { expect } from 'vitest';
import { deterministicRng } from '../../../crypto/src/mask-prg.js';
import { advertiseKeysWithRng, maskInput, shareKeysWithRng, unmask, type ClientStep, type SecAggClientState } from './client.js';
import { validateSecAggConfig, type SecAggConfig, type SecAggGraphSpec } from './config.js';
import { SecAggError } from './errors.js';
import type { SignedAdvertise, SignedMaskedInput, SignedShareKeys, SignedUnmask, UnmaskRequest } from './messages.js';
import { selfMask } from './masks.js';
import { aggregate, collectAdvertisements, collectMaskedInputs, collectSharedKeys, createSecAggServer, type SecAggServerState } from './server.js';

export const SESSION = 'mps_aaaaaaaaaaaaaaaaaaaaaaaaaa';
export const OTHER_SESSION = 'mps_bbbbbbbbbbbbbbbbbbbbbbbbbb';

export interface Roster {
  config: SecAggConfig;
  signingKeys: Uint8Array[];
}

export interface RosterOptions {
  /** The neighbour graph (SecAgg+); none means the complete graph. */
  graph?: SecAggGraphSpec;
  /** Source of the signing keys (randomBytes by default). */
  rng?: RandomSource;
  sessionId?: string;
}

/** n parties `party::bank<i>::agent` with fresh signing keys; the configuration is validated. */
export function makeRoster(n: number, threshold: number, vectorLength: number, options: RosterOptions = {}): Roster {
  const { graph, rng = randomBytes, sessionId = SESSION } = options;
  const signingKeys = Array.from({ length: n }, () => rng(32));
  const config: SecAggConfig = {
    sessionId,
    threshold,
    vectorLength,
    parties: signingKeys.map((key, i) => ({ partyId: `party::bank${i + 1}::agent`, signingPublicKey: signingPublicKeyFromPrivate(key) })),
    ...(graph === undefined ? {} : { graph }),
  };
  return { signingKeys, config: validateSecAggConfig(config) };
}

export function expectSecAggError(fn: () => unknown, code: string): SecAggError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(SecAggError);
    expect((error as SecAggError).code).toBe(code);
    return error as SecAggError;
  }
  throw new Error(`expected SecAggError ${code}`);
}

/** Stage 0 for every party of the roster: one RandomSource for all, or one per party. */
export function advertiseAll(roster: Roster, rng: RandomSource | readonly RandomSource[] = randomBytes): ClientStep<SignedAdvertise>[] {
  const { config } = roster;
  return config.parties.map((p, i) =>
    advertiseKeysWithRng({ config, partyId: p.partyId, signingKey: roster.signingKeys[i]! }, typeof rng === 'function' ? rng : rng[i]!),
  );
}

export interface RunOptions {
  /** Parties (0-based) whose advertisement never arrives. */
  dropAtAdvertise?: number[];
  /** Parties that never send share-keys. */
  dropAtShareKeys?: number[];
  /** Parties that never send their masked input. */
  dropBeforeMasked?: number[];
  /** Parties that send their masked input but never answer the unmask request. */
  dropAfterMasked?: number[];
  rngs?: RandomSource[];
}

export interface Staged {
  clients: (SecAggClientState | undefined)[];
  server: SecAggServerState;
  adverts: SignedAdvertise[];
  shareMessages: SignedShareKeys[];
  masked: SignedMaskedInput[];
  request: UnmaskRequest;
  /** Every message the server received, in order. */
  received: unknown[];
  /** The share-keys messages the server relayed (its stage-1 output). */
  bundle: SignedShareKeys[];
}

export interface Run extends Staged {
  unmasks: SignedUnmask[];
  sum: Uint32Array;
  survivors: string[];
}

/** Runs stages 0–2 (advertise, share-keys, masked input) in memory; the server must reject nothing. */
export function runUntilUnmask(roster: Roster, inputs: Uint32Array[], options: RunOptions = {}): Staged {
  const { config } = roster;
  const n = config.parties.length;
  const rngs = options.rngs ?? Array.from({ length: n }, () => randomBytes);
  const dropped = (list: number[] | undefined, i: number): boolean => list?.includes(i) ?? false;
  const received: unknown[] = [];
  const clients: (SecAggClientState | undefined)[] = [];
  const adverts: SignedAdvertise[] = [];
  for (let i = 0; i < n; i++) {
    const step = advertiseKeysWithRng({ config, partyId: config.parties[i]!.partyId, signingKey: roster.signingKeys[i]! }, rngs[i]!);
    clients.push(dropped(options.dropAtAdvertise, i) ? undefined : step.state);
    if (!dropped(options.dropAtAdvertise, i)) adverts.push(step.message);
  }
  received.push(...adverts);
  const s0 = collectAdvertisements(createSecAggServer(config), adverts);
  expect(s0.rejected).toEqual([]);
  const shareMessages: SignedShareKeys[] = [];
  for (let i = 0; i < n; i++) {
    if (clients[i] === undefined) continue;
    const step = shareKeysWithRng(clients[i]!, s0.output, rngs[i]!);
    clients[i] = step.state;
    if (!dropped(options.dropAtShareKeys, i)) shareMessages.push(step.message);
  }
  received.push(...shareMessages);
  const s1 = collectSharedKeys(s0.state, shareMessages);
  expect(s1.rejected).toEqual([]);
  const masked: SignedMaskedInput[] = [];
  for (let i = 0; i < n; i++) {
    if (clients[i] === undefined || dropped(options.dropAtShareKeys, i)) continue;
    const step = maskInput(clients[i]!, s1.output, inputs[i]!);
    clients[i] = step.state;
    if (!dropped(options.dropBeforeMasked, i)) masked.push(step.message);
  }
  received.push(...masked);
  const s2 = collectMaskedInputs(s1.state, masked);
  expect(s2.rejected).toEqual([]);
  return { clients, server: s2.state, adverts, shareMessages, masked, request: s2.output, received, bundle: s1.output };
}

/** The unmask answers of every party the request counts as a survivor, less those at the `skip` positions. */
export function answers(roster: Roster, staged: Staged, skip: number[] = []): SignedUnmask[] {
  const out: SignedUnmask[] = [];
  roster.config.parties.forEach((party, i) => {
    if (!staged.request.selfMaskShares.includes(party.partyId)) return;
    const step = unmask(staged.clients[i]!, staged.request);
    if (!skip.includes(i)) out.push(step.message);
  });
  return out;
}

/** The whole protocol: stages 0–2, the unmask answers (less dropAfterMasked) and the aggregate. */
export function runSession(roster: Roster, inputs: Uint32Array[], options: RunOptions = {}): Run {
  const staged = runUntilUnmask(roster, inputs, options);
  const unmasks = answers(roster, staged, options.dropAfterMasked);
  staged.received.push(...unmasks);
  const s3 = aggregate(staged.server, unmasks);
  expect(s3.rejected).toEqual([]);
  return { ...staged, unmasks, sum: s3.output.sum, survivors: s3.output.survivors, server: s3.state };
}

export function randomInputs(n: number, length: number): Uint32Array[] {
  return Array.from({ length: n }, () => new Uint32Array(randomBytes(length * 4).buffer));
}

export function plainSum(inputs: readonly Uint32Array[], include: (i: number) => boolean): Uint32Array {
  const sum = new Uint32Array(inputs[0]!.length);
  inputs.forEach((input, i) => {
    if (include(i)) for (let j = 0; j < sum.length; j++) sum[j] = sum[j]! + input[j]!;
  });
  return sum;
}

/** A 32-byte seed: the UTF-8 label, truncated or zero-padded. */
export function seedBytes(label: string): Uint8Array {
  const out = new Uint8Array(32);
  out.set(new TextEncoder().encode(label).subarray(0, 32));
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Golden vectors: fixed seeds through the internal deterministic entry points, replayed byte for byte.

const GOLDEN_DIR = fileURLToPath(new URL('../../../../test/golden/secagg/', import.meta.url));

interface PartySecrets {
  c: Uint8Array;
  s: Uint8Array;
  b: Uint8Array;
}

/**
 * The private keys and self-mask seed of every party, captured by replaying stages 0–1 from the same rng
 * seeds (a state past share-keys no longer holds them).
 */
function captureSecrets(roster: Roster, rngSeeds: readonly Uint8Array[]): PartySecrets[] {
  const rngs = rngSeeds.map((s) => deterministicRng(s));
  const steps = advertiseAll(roster, rngs);
  const adverts = steps.map((s) => s.message);
  return steps.map((a, i) => {
    const b = shareKeysWithRng(a.state, adverts, rngs[i]!);
    if (b.state.stage !== 'keys-shared') throw new Error('unexpected');
    return { c: b.state.cPrivateKey.expose().slice(), s: b.state.sPrivateKey.expose().slice(), b: b.state.bSeed.expose().slice() };
  });
}

export interface GoldenRun {
  roster: Roster;
  run: Run;
  /** The party ids, in roster order. */
  ids: string[];
  /** The parties whose share-keys message the server received (U2). */
  u2: string[];
  secrets: PartySecrets[];
  /** Per party: signing keys, rng seed, input, c / s key pairs, self-mask seed and self mask, as recorded. */
  partyKeys: Record<string, unknown>[];
  /** What a golden file records of the run itself: who shared keys, survived and dropped, the messages, the sum. */
  record: Record<string, unknown>;
}

/**
 * A deterministic session: signing keys from `<label>/signing`, party i's rng from `<label>/party/<i + 1>`,
 * party i (0-based) holding (i + 1) · 1000 + j at position j.
 */
export function goldenRun(label: string, n: number, threshold: number, length: number, options: RunOptions & { graph?: SecAggGraphSpec } = {}): GoldenRun {
  const { graph, ...runOptions } = options;
  const roster = makeRoster(n, threshold, length, { ...(graph === undefined ? {} : { graph }), rng: deterministicRng(seedBytes(`${label}/signing`)) });
  const rngSeeds = Array.from({ length: n }, (_, i) => seedBytes(`${label}/party/${i + 1}`));
  const inputs = Array.from({ length: n }, (_, i) => Uint32Array.from({ length }, (_, j) => (i + 1) * 1000 + j));
  const secrets = captureSecrets(roster, rngSeeds);
  const run = runSession(roster, inputs, { ...runOptions, rngs: rngSeeds.map((s) => deterministicRng(s)) });
  const ids = roster.config.parties.map((p) => p.partyId);
  const partyKeys = ids.map((partyId, i) => {
    const advert = run.adverts[i]!.body;
    return {
      signingPrivateKey: toHex(roster.signingKeys[i]!),
      signingPublicKey: toHex(roster.config.parties[i]!.signingPublicKey),
      rngSeed: toHex(rngSeeds[i]!),
      input: Array.from(inputs[i]!),
      cPrivateKey: toHex(secrets[i]!.c),
      cPublicKey: toHex(fromBase64Url(advert.cPublicKey)),
      sPrivateKey: toHex(secrets[i]!.s),
      sPublicKey: toHex(fromBase64Url(advert.sPublicKey)),
      selfMaskSeed: toHex(secrets[i]!.b),
      selfMask: Array.from(selfMask(secrets[i]!.b, roster.config.sessionId, partyId, length)),
    };
  });
  const record = {
    sharedKeys: run.shareMessages.map((m) => m.body.partyId),
    survivors: run.survivors,
    dropped: run.request.pairwiseKeyShares,
    unmaskRequest: run.request,
    messages: { advertise: run.adverts, shareKeys: run.shareMessages, maskedInput: run.masked, unmask: run.unmasks },
    sum: Array.from(run.sum),
  };
  return { roster, run, ids, u2: record.sharedKeys, secrets, partyKeys, record };
}

/** Party `partyId`'s masked input as the server received it, or null when it never arrived. */
export function maskedInputOf(run: Run, partyId: string): number[] | null {
  const masked = run.masked.find((m) => m.body.partyId === partyId);
  return masked ? Array.from(ringVectorFromBytes(fromBase64Url(masked.body.maskedInput))) : null;
}

/** Compares `text` with GOLDEN_DIR/file (UPDATE_GOLDEN=1 rewrites the file first). */
export function expectGoldenFile(file: string, text: string): void {
  const path = `${GOLDEN_DIR}${file}`;
  if (process.env.UPDATE_GOLDEN === '1') {
    mkdirSync(GOLDEN_DIR, { recursive: true });
    writeFileSync(path, text);
  }
  expect(existsSync(path)).toBe(true);
  expect(text).toBe(readFileSync(path, 'utf8'));
}

export interface GoldenParty {
  partyId: string;
  input: number[];
  selfMask: number[];
  pairwiseMasks: { sign: number; mask: number[] }[];
  maskedInput: number[] | null;
}

export interface GoldenFile<P extends GoldenParty> {
  parties: P[];
  survivors: string[];
  sum: number[];
}

export function readGoldenFile<G>(file: string): G {
  return JSON.parse(readFileSync(`${GOLDEN_DIR}${file}`, 'utf8')) as G;
}

/**
 * What a second implementation would check: each masked input is input + self mask + Σ sign · pairwise
 * mask, and the sum is the sum of the survivors' inputs. `eachParty` runs first for every party.
 */
export function expectGoldenConsistent<P extends GoldenParty>(golden: GoldenFile<P>, eachParty: (party: P) => void = () => {}): void {
  const expected = new Uint32Array(golden.sum.length);
  for (const party of golden.parties) {
    eachParty(party);
    if (party.maskedInput === null) continue;
    const y = Uint32Array.from(party.input);
    for (let j = 0; j < y.length; j++) {
      y[j] = y[j]! + party.selfMask[j]!;
      for (const pm of party.pairwiseMasks) y[j] = pm.sign === 1 ? y[j]! + pm.mask[j]! : y[j]! - pm.mask[j]!;
    }
    expect(Array.from(y)).toEqual(party.maskedInput);
    if (golden.survivors.includes(party.partyId)) for (let j = 0; j < y.length; j++) expected[j] = expected[j]! + party.input[j]!;
  }
  expect(Array.from(expected)).toEqual(golden.sum);
}
