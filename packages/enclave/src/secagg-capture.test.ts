// What the enclave sees under secure aggregation (docs/secure-aggregation.md, Roles), from the capture
// files it writes with TENZRO_ENCLAVE_CAPTURE_DIR under the simulated provider: masked vectors that look
// uniform on Z_2^32 even when every input is zero; shares of which any threshold give back the seed or key
// the party held, fewer are refused, never both kinds for one party; that threshold − 1 shares of the
// production splitSecret are statistically independent of the secret; the DP noise statement with
// noiseAddition; and the capture switch itself.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RESULT_INFO,
  agreementPublicKey,
  combineShares,
  equalBytes,
  fromBase64Url,
  openEnvelope,
  parseStrictJson,
  ringVectorFromBytes,
  ringVectorToBytes,
  calibrateSkellam,
  skellamEpsilon,
  splitSecret,
  utf8Decode,
  type ShamirShare,
} from '@tenzro/crypto';
import { decodeStatisticSum, encodeStatistics } from '@tenzro/models';
import { HelloResult, ResultBody, RunResult } from '@tenzro/protocol';
import { EnclaveProcess, tempDir } from '../test/enclave-process.js';
import { MODEL_ID, hostRequest, plainSum, readJson, runParams, secaggParties, setupRound, unmaskAnswers, type Round } from '../test/secagg-fixture.js';
import type { Party } from '../test/session-fixture.js';
import { CAPTURE_DIR_ENV, CaptureConfigError, CaptureSink, captureSinkFromEnv } from './secagg-capture.js';

/** Upper tail of χ²(df) at z standard deviations (Wilson–Hilferty); z = 5 is p ≈ 3e-7. */
function chiSquareCritical(df: number, z = 5): number {
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

function chiSquare(samples: ArrayLike<number>, bins: number): number {
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < samples.length; i++) counts[samples[i]!]!++;
  const expected = samples.length / bins;
  return counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
}

/** χ² statistics of a ring vector's bytes (256 bins) and of its words' top 4 bits (16 bins). */
function uniformity(vector: Uint32Array): { bytes: number; topBits: number } {
  const bytes = ringVectorToBytes(vector);
  const top = Uint8Array.from(vector, (w) => w >>> 28);
  return { bytes: chiSquare(bytes, 256), topBits: chiSquare(top, 16) };
}

/**
 * Two-sample χ² over `bins` categories (equal sample sizes): Σ (a − b)² / (a + b) over the non-empty
 * bins, with (non-empty bins − 1) degrees of freedom.
 */
function twoSampleChiSquare(a: ArrayLike<number>, b: ArrayLike<number>, bins: number): { statistic: number; df: number } {
  const ca = new Array<number>(bins).fill(0);
  const cb = new Array<number>(bins).fill(0);
  for (let i = 0; i < a.length; i++) ca[a[i]!]!++;
  for (let i = 0; i < b.length; i++) cb[b[i]!]!++;
  let statistic = 0;
  let used = 0;
  for (let i = 0; i < bins; i++) {
    const n = ca[i]! + cb[i]!;
    if (n === 0) continue;
    used++;
    statistic += (ca[i]! - cb[i]!) ** 2 / n;
  }
  return { statistic, df: Math.max(used - 1, 1) };
}

function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items as [T, ...T[]];
  return [...subsets(rest, k - 1).map((s) => [first, ...s]), ...subsets(rest, k)];
}

describe('secure-aggregation capture (simulated provider)', () => {
  let enclave: EnclaveProcess;
  let captureDir: string;
  let blobDir: string;
  let parties: Party[];
  let digest: string;

  beforeAll(async () => {
    captureDir = await tempDir('tenzro-enclave-capture-');
    const previous = process.env[CAPTURE_DIR_ENV];
    process.env[CAPTURE_DIR_ENV] = captureDir;
    try {
      enclave = EnclaveProcess.start(await tempDir('tenzro-enclave-capture-state-'));
    } finally {
      if (previous === undefined) delete process.env[CAPTURE_DIR_ENV];
      else process.env[CAPTURE_DIR_ENV] = previous;
    }
    digest = HelloResult.parse(await enclave.call('hello')).models.find((m) => m.modelId === MODEL_ID)!.modelDigest;
    blobDir = await tempDir('tenzro-enclave-capture-blobs-');
    parties = await secaggParties(5);
  });
  afterAll(async () => {
    await enclave.stop();
  });

  async function runAll(round: Round, answering = round.parties.map((p) => p.partyId)) {
    const ids = round.parties.map((p) => p.partyId);
    const included = ids.filter((id) => round.masked.has(id));
    const request = hostRequest(round, included);
    const unmask = await unmaskAnswers(round, blobDir, request, 'run_1', answering.filter((id) => included.includes(id)));
    const reply = await enclave.request('run', runParams(round, { advertisements: round.advertisements, shareKeys: round.shareKeys, unmask }));
    const file = CaptureSink.fileNameOf(round.sessionId, 'run_1');
    return { reply, included, capture: await readJson(join(captureDir, file)) };
  }

  it('captures exactly the masked vectors, opened shares, request and sum', async () => {
    const round = await setupRound(enclave, blobDir, digest, parties, { n: 3, threshold: 2 });
    const { reply, capture } = await runAll(round);
    expect(reply.ok).toBe(true);
    expect(Object.keys(capture).sort()).toEqual(['maskedInputs', 'request', 'runId', 'sessionId', 'shares', 'sum', 'type']);
    expect(capture.maskedInputs.map((m: any) => m.partyId).sort()).toEqual(round.parties.map((p) => p.partyId).sort());
    for (const m of capture.maskedInputs) expect(m.maskedInput).toBe(round.masked.get(m.partyId)!.body.maskedInput);
    // every survivor revealed a self-mask share of every survivor
    expect(capture.shares).toHaveLength(9);
    for (const s of capture.shares) expect(Object.keys(s).sort()).toEqual(['from', 'kind', 'of', 'share']);
    const sum = ringVectorFromBytes(fromBase64Url(capture.sum));
    const ids = round.parties.map((p) => p.partyId);
    expect(decodeStatisticSum(round.layout, sum, 3)).toEqual(plainSum(round, ids));
    expect(JSON.stringify(capture)).not.toMatch(/transactionId|accountId|"records"/);
  });

  it('masked vectors are uniform on Z_2^32 even when every input is zero; any t captured shares rebuild the seed or key the party held, fewer are refused', async () => {
    const round = await setupRound(enclave, blobDir, digest, parties, { n: 5, threshold: 3, zeroInputs: true, dropBeforeMasked: [4] });
    const { reply, included, capture } = await runAll(round);
    expect(reply.ok).toBe(true);
    expect(capture.maskedInputs).toHaveLength(4);

    const bytesCritical = chiSquareCritical(255);
    const topCritical = chiSquareCritical(15);
    for (const m of capture.maskedInputs) {
      const { bytes, topBits } = uniformity(ringVectorFromBytes(fromBase64Url(m.maskedInput)));
      expect(bytes).toBeLessThan(bytesCritical);
      expect(topBits).toBeLessThan(topCritical);
    }
    // the test has power: the unmasked encoding of the same (zero) statistics fails it by far
    const zero = encodeStatistics(round.layout, new Array<number>(round.layout.statisticCount).fill(0));
    expect(uniformity(zero).bytes).toBeGreaterThan(bytesCritical * 10);
    expect(decodeStatisticSum(round.layout, ringVectorFromBytes(fromBase64Url(capture.sum)), 4).every((v) => v === 0)).toBe(true);

    // Shares: one kind per party (self-mask of survivors, pairwise key of the dropped one), never both.
    const index = new Map(round.config.parties.map((p, i) => [p.partyId, i + 1] as const));
    const byOf = new Map<string, any[]>();
    for (const s of capture.shares) byOf.set(s.of, [...(byOf.get(s.of) ?? []), s]);
    for (const [of, shares] of byOf) {
      expect(new Set(shares.map((s) => s.kind)).size).toBe(1);
      expect(shares[0].kind).toBe(included.includes(of) ? 'self-mask' : 'pairwise-key');
    }
    // What the captured shares give: for every survivor's self-mask seed b_u and the dropped party's key
    // s^SK, ANY t of them reconstruct exactly what the party held; the shares of fewer than t parties are
    // refused by combineShares (that they carry no information is the statistical test below).
    const t = round.config.threshold;
    const sharesOf = (of: string): ShamirShare[] => byOf.get(of)!.map((s) => ({ x: index.get(s.from)!, y: fromBase64Url(s.share) }));
    for (const of of included) {
      const seed = round.bSeeds.get(of)!;
      const shares = sharesOf(of);
      expect(shares).toHaveLength(included.length);
      for (const subset of subsets(shares, t)) expect(equalBytes(combineShares(subset, t), seed)).toBe(true);
      for (const subset of subsets(shares, t - 1)) expect(() => combineShares(subset, t)).toThrow(RangeError);
    }
    const dropped = round.parties[4]!.partyId;
    const advertised = fromBase64Url(round.advertisements.find((a) => a.body.partyId === dropped)!.body.sPublicKey);
    const keyShares = sharesOf(dropped);
    expect(keyShares).toHaveLength(included.length);
    for (const subset of subsets(keyShares, t)) expect(equalBytes(agreementPublicKey(combineShares(subset, t)), advertised)).toBe(true);
    for (const subset of subsets(keyShares, t - 1)) expect(() => combineShares(subset, t)).toThrow(RangeError);
  });

  it('t − 1 shares of splitSecret are independent of the secret (two-sample χ²); t shares, or a (t − 1)-threshold split, are not', () => {
    // Two fixed secrets that differ in their low bits (≡ 0 and ≡ 5 mod 8). The view of parties 1 … t − 1 is
    // projected to the low 3 bits of each share (8^(t−1) categories): a leak of the secret through a
    // polynomial of too low a degree shows up there (the shares then satisfy a linear relation whose
    // constant is the secret), while the high bits would hide it (the secrets are < 2^256 in a 521-bit field).
    const t = 3;
    const n = 5;
    const samples = 2000;
    const secretA = new Uint8Array(32);
    const secretB = Uint8Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
    secretB[31] = 0x55;
    const low3 = (share: ShamirShare): number => share.y[share.y.length - 1]! & 7;
    const view = (shares: readonly ShamirShare[], parties: number): number => shares.slice(0, parties).reduce((acc, s) => acc * 8 + low3(s), 0);
    const draw = (secret: Uint8Array, threshold: number, project: (shares: ShamirShare[]) => number): number[] =>
      Array.from({ length: samples }, () => project(splitSecret(secret, { threshold, shares: n })));
    const critical = (df: number): number => chiSquareCritical(df);

    // t − 1 shares of the production split (threshold t): the same distribution for both secrets
    const bins = 8 ** (t - 1);
    const privateView = twoSampleChiSquare(draw(secretA, t, (s) => view(s, t - 1)), draw(secretB, t, (s) => view(s, t - 1)), bins);
    expect(privateView.df).toBeGreaterThan(bins / 2);
    expect(privateView.statistic).toBeLessThan(critical(privateView.df));

    // control 1: the same projection of t − 1 shares of a split with threshold t − 1 (they determine the secret)
    const leaky = twoSampleChiSquare(draw(secretA, t - 1, (s) => view(s, t - 1)), draw(secretB, t - 1, (s) => view(s, t - 1)), bins);
    expect(leaky.statistic).toBeGreaterThan(critical(leaky.df) * 5);

    // control 2: t shares of the production split, projected through their reconstruction (low byte)
    const lowByte = (shares: ShamirShare[]): number => combineShares(shares.slice(0, t), t)[31]!;
    const full = twoSampleChiSquare(draw(secretA, t, lowByte), draw(secretB, t, lowByte), 256);
    expect(full.statistic).toBeGreaterThan(critical(full.df) * 5);
  });

  // Each party adds secAggNoiseShare(μ, t) = μ / (t − 1); the statement's variance is the noise that
  // protects a record against one recipient (the other survivors' shares), share × (survivors − 1) ≥ μ.
  async function noisyRun(n: number, threshold: number) {
    const round = await setupRound(enclave, blobDir, digest, parties, { n, threshold, noiseAddition: true });
    const { reply, capture } = await runAll(round);
    expect(reply.error).toBeUndefined();
    const result = RunResult.parse(reply.result);
    const ids = round.parties.map((p) => p.partyId);
    const noisy = decodeStatisticSum(round.layout, ringVectorFromBytes(fromBase64Url(capture.sum)), n);
    const exact = plainSum(round, ids);
    const share = round.perPartyVariance!;
    const target = round.terms.dataPolicy.secureAggConfig!.differentialPrivacy!;
    const mu = calibrateSkellam({ epsilon: target.epsilon, delta: target.delta, l1: round.layout.l1Sensitivity, l2: round.layout.l2Sensitivity }).variance;
    expect(share).toBeCloseTo(mu / (threshold - 1), 6);
    // the sum carries every survivor's draw: variance n × share
    const total = n * share;
    const diffs = noisy.map((v, i) => v - exact[i]!);
    expect(diffs.some((d) => d !== 0)).toBe(true);
    expect(Math.max(...diffs.map(Math.abs))).toBeLessThan(7 * Math.sqrt(total));
    const meanSquare = diffs.reduce((acc, d) => acc + d * d, 0) / diffs.length;
    expect(meanSquare / total).toBeGreaterThan(0.6);
    expect(meanSquare / total).toBeLessThan(1.4);

    const party = round.parties[0]!;
    const sealed = result.sealedResults.find((s) => s.partyId === party.partyId)!;
    const body = ResultBody.parse(parseStrictJson(utf8Decode(await openEnvelope(party.encryptionPrivateKey, fromBase64Url(sealed.sealed), { info: RESULT_INFO }))));
    const privacy = body.shared.findings.privacy as Record<string, number | string>;
    expect(privacy).toMatchObject({ mechanism: 'skellam', survivors: n, threshold, delta: target.delta });
    const protecting = share * (n - 1);
    expect(protecting).toBeGreaterThanOrEqual(mu * (1 - 1e-12));
    expect(privacy.variance).toBeCloseTo(protecting, 3);
    expect(privacy.epsilon as number).toBeLessThanOrEqual(target.epsilon);
    const expected = skellamEpsilon({ variance: privacy.variance as number, delta: target.delta, l1: round.layout.l1Sensitivity, l2: round.layout.l2Sensitivity });
    expect(privacy.epsilon).toBeCloseTo(expected.epsilon, 9);
    expect(privacy.order).toBe(expected.order);
    return { privacy, target };
  }

  it('with noiseAddition and survivors = threshold = 2, ε is certified at the one other party\'s share (= μ) and is ≤ the target', async () => {
    const { privacy, target } = await noisyRun(2, 2);
    // the worst case: against the other survivor, only this party's μ / (2 − 1) = μ protects a record
    expect(privacy.epsilon as number).toBeLessThanOrEqual(target.epsilon);
    expect(privacy.epsilon as number).toBeGreaterThan(target.epsilon * 0.9);
  });

  it('with noiseAddition and more survivors than the threshold, ε is certified at share × (survivors − 1) and is below the target', async () => {
    const { privacy, target } = await noisyRun(3, 2);
    expect(privacy.epsilon as number).toBeLessThan(target.epsilon);
  });

  it('is off without the variable and refused under any provider but the simulated one', async () => {
    expect(captureSinkFromEnv({}, 'simulated')).toBeUndefined();
    expect(captureSinkFromEnv({ [CAPTURE_DIR_ENV]: '' }, 'simulated')).toBeUndefined();
    expect(captureSinkFromEnv({ [CAPTURE_DIR_ENV]: captureDir }, 'simulated')).toBeInstanceOf(CaptureSink);
    expect(() => captureSinkFromEnv({ [CAPTURE_DIR_ENV]: captureDir }, 'nitro')).toThrow(CaptureConfigError);
    const files = await readdir(captureDir);
    expect(files.every((f) => /^secagg-mps_[a-z2-7]+-[A-Za-z0-9_-]+-[0-9a-f]{12}\.json$/.test(f))).toBe(true);
  });
});
