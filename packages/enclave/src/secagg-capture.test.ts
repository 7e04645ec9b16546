// What the enclave sees under secure aggregation (docs/secure-aggregation.md, Roles), from the capture
// files it writes with TENZRO_ENCLAVE_CAPTURE_DIR under the simulated provider: masked vectors that look
// uniform on Z_2^32 even when every input is zero, shares of which fewer than threshold reveal nothing and
// never both kinds for one party; the DP noise statement with noiseAddition; and the capture switch itself.
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RESULT_INFO, combineShares, equalBytes, fromBase64Url, openEnvelope, parseStrictJson, ringVectorFromBytes, ringVectorToBytes, skellamEpsilon, utf8Decode } from '@tenzro/crypto';
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

  it('masked vectors are uniform on Z_2^32 even when every input is zero; t − 1 captured shares of a seed do not reconstruct it', async () => {
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
    // For every survivor's self-mask seed b_u: every t − 1 of the captured shares fail to give b_u, any t give it.
    const t = round.config.threshold;
    for (const of of included) {
      const seed = round.bSeeds.get(of)!;
      const shares = byOf.get(of)!.map((s) => ({ x: index.get(s.from)!, y: fromBase64Url(s.share) }));
      expect(shares.length).toBeGreaterThanOrEqual(t);
      for (const subset of subsets(shares, t - 1)) {
        let recovered: Uint8Array | undefined;
        try {
          recovered = combineShares(subset, t - 1);
        } catch {
          recovered = undefined;
        }
        expect(recovered !== undefined && equalBytes(recovered, seed)).toBe(false);
      }
      expect(equalBytes(combineShares(shares.slice(0, t), t), seed)).toBe(true);
    }
  });

  it('with noiseAddition the sum carries Skellam noise and the result states ε ≤ target at survivors × the per-party variance', async () => {
    const round = await setupRound(enclave, blobDir, digest, parties, { n: 3, threshold: 2, noiseAddition: true });
    const { reply, capture } = await runAll(round);
    expect(reply.error).toBeUndefined();
    const result = RunResult.parse(reply.result);
    const ids = round.parties.map((p) => p.partyId);
    const noisy = decodeStatisticSum(round.layout, ringVectorFromBytes(fromBase64Url(capture.sum)), 3);
    const exact = plainSum(round, ids);
    const variance = 3 * round.perPartyVariance!;
    const sd = Math.sqrt(variance);
    const diffs = noisy.map((v, i) => v - exact[i]!);
    expect(diffs.some((d) => d !== 0)).toBe(true);
    expect(Math.max(...diffs.map(Math.abs))).toBeLessThan(7 * sd);
    const meanSquare = diffs.reduce((acc, d) => acc + d * d, 0) / diffs.length;
    expect(meanSquare / variance).toBeGreaterThan(0.6);
    expect(meanSquare / variance).toBeLessThan(1.4);

    const party = round.parties[0]!;
    const sealed = result.sealedResults.find((s) => s.partyId === party.partyId)!;
    const body = ResultBody.parse(parseStrictJson(utf8Decode(await openEnvelope(party.encryptionPrivateKey, fromBase64Url(sealed.sealed), { info: RESULT_INFO }))));
    const privacy = body.shared.findings.privacy as Record<string, number | string>;
    const target = round.terms.dataPolicy.secureAggConfig!.differentialPrivacy!;
    expect(privacy).toMatchObject({ mechanism: 'skellam', survivors: 3, threshold: 2, delta: target.delta });
    expect(privacy.variance).toBeCloseTo(variance, 3);
    expect(privacy.epsilon as number).toBeLessThanOrEqual(target.epsilon);
    const expected = skellamEpsilon({ variance, delta: target.delta, l1: round.layout.l1Sensitivity, l2: round.layout.l2Sensitivity });
    expect(privacy.epsilon).toBeCloseTo(expected.epsilon, 9);
    expect(privacy.order).toBe(expected.order);
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
