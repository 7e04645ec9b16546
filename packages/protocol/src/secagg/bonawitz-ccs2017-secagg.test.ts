// Secure aggregation (Bonawitz et al. CCS 2017) end to end over the pure stage functions: masks cancel,
// dropouts at every stage, thresholds (RELIABILITY 15–17), a malicious server, forged / replayed /
// wrong-session / duplicate messages, stage order, uniformity of what the server sees, and golden vectors.
import {
  combineShares,
  createFixedPointCodec,
  fromBase64Url,
  randomBytes,
  ringVectorFromBytes,
  signStatement,
  toBase64Url,
  toHex,
} from '@tenzro/crypto';
import { describe, expect, it } from 'vitest';
import { deterministicRng } from '../../../crypto/src/mask-prg.js';
import { maskInput, shareKeysWithRng, unmask, type SecAggClientState } from './client.js';
import type { SecAggConfig } from './config.js';
import { SecAggError } from './errors.js';
import type { SignedAdvertise, SignedMaskedInput, UnmaskRequest } from './messages.js';
import { maskSeed, maskSign, pairwiseMask } from './masks.js';
import { neighbours } from './neighbours.js';
import {
  OTHER_SESSION,
  advertiseAll,
  expectGoldenConsistent,
  expectGoldenFile,
  expectSecAggError,
  goldenRun,
  makeRoster,
  maskedInputOf,
  plainSum,
  randomInputs,
  readGoldenFile,
  runSession,
  runUntilUnmask,
  seedBytes,
  type GoldenFile,
  type GoldenParty,
  type Roster,
  type RunOptions,
  type Staged,
} from './secagg-harness.fixture.js';
import { aggregate, collectAdvertisements, collectMaskedInputs, collectSharedKeys, createSecAggServer, type SecAggServerState } from './server.js';

describe('masks cancel', () => {
  it('the unmasked sum is the plain sum (property, 8 random sessions)', () => {
    for (let run = 0; run < 8; run++) {
      const n = 2 + Math.floor(Math.random() * 6);
      const t = Math.floor(n / 2) + 1 + Math.floor(Math.random() * (n - Math.floor(n / 2)));
      const length = 1 + Math.floor(Math.random() * 64);
      const roster = makeRoster(n, Math.min(Math.max(t, 2), n), length);
      const inputs = randomInputs(n, length);
      const result = runSession(roster, inputs);
      expect(result.sum).toEqual(plainSum(inputs, () => true));
      expect(result.survivors).toHaveLength(n);
    }
  });

  it('decodes real values through the fixed-point codec', () => {
    const codec = createFixedPointCodec({ scale: 16, min: -1000, max: 1000, maxParties: 10 });
    const values = [[1.5, -2, 999.25], [0, 0.5, -1000], [3.25, 4, 0]];
    const roster = makeRoster(3, 2, 3);
    const result = runSession(roster, values.map((v) => codec.encode(v)));
    expect(codec.decodeSum(result.sum, 3)).toEqual([4.75, 2.5, -0.75]);
  });
});

describe('dropouts (RELIABILITY 15)', () => {
  const n = 10;
  const t = 6;
  const length = 32;

  it('n = 10, t = 6: 4 dropouts (2 before, 2 after the masked input) still give the exact sum', () => {
    const roster = makeRoster(n, t, length);
    const inputs = randomInputs(n, length);
    const result = runSession(roster, inputs, { dropBeforeMasked: [1, 4], dropAfterMasked: [0, 9] });
    expect(result.request.pairwiseKeyShares).toEqual([roster.config.parties[1]!.partyId, roster.config.parties[4]!.partyId]);
    expect(result.sum).toEqual(plainSum(inputs, (i) => i !== 1 && i !== 4));
    expect(result.survivors).toHaveLength(8);
  });

  it('dropouts at share-keys and before the masked input are recovered too', () => {
    const roster = makeRoster(n, t, length);
    const inputs = randomInputs(n, length);
    const result = runSession(roster, inputs, { dropAtShareKeys: [2, 3], dropBeforeMasked: [5, 6] });
    expect(result.sum).toEqual(plainSum(inputs, (i) => ![2, 3, 5, 6].includes(i)));
  });

  it('5 dropouts abort with below_threshold and nothing unmasked', () => {
    const roster = makeRoster(n, t, length);
    const inputs = randomInputs(n, length);
    // 5 before the masked input: the server cannot even ask for shares.
    expect(() => runUntilUnmask(roster, inputs, { dropBeforeMasked: [0, 1, 2, 3, 4] })).toThrow(/below_threshold|fewer than the threshold/);
    // 3 before and 2 after: 5 answers, the aggregate refuses before reconstructing anything.
    const staged = runUntilUnmask(roster, inputs, { dropBeforeMasked: [0, 1, 2] });
    const answers = staged.request.selfMaskShares.slice(0, 5).map((id) => {
      const i = roster.config.parties.findIndex((p) => p.partyId === id);
      return unmask(staged.clients[i]!, staged.request).message;
    });
    const error = expectSecAggError(() => aggregate(staged.server, answers), 'below_threshold');
    expect(error.stage).toBe('aggregate');
    expect(staged.server.stage).toBe('unmask'); // no sum was produced
    // 5 at share-keys: the server aborts at stage 1.
    const roster2 = makeRoster(n, t, length);
    expect(() => runUntilUnmask(roster2, randomInputs(n, length), { dropAtShareKeys: [5, 6, 7, 8, 9] })).toThrow(SecAggError);
  });

  it('fewer than t of the shares a party holds do not reconstruct a seed', () => {
    const roster = makeRoster(5, 3, 4);
    const staged = runUntilUnmask(roster, randomInputs(5, 4));
    const target = roster.config.parties[0]!.partyId;
    const shares = staged.clients.slice(0, 2).map((c, i) => {
      if (c?.stage !== 'input-masked') throw new Error('unexpected stage');
      return { x: i + 1, y: c.held[target]!.bShare };
    });
    expect(() => combineShares(shares, 3)).toThrow(/need at least threshold/);
  });
});

describe('a malicious server (RELIABILITY 16) is refused by honest parties', () => {
  function staged(): { roster: Roster; s: Staged } {
    const roster = makeRoster(5, 3, 8);
    return { roster, s: runUntilUnmask(roster, randomInputs(5, 8), { dropBeforeMasked: [4] }) };
  }

  it('asking for both the self-mask and the pairwise-key share of one party', () => {
    const { roster, s } = staged();
    const victim = roster.config.parties[1]!.partyId;
    const request: UnmaskRequest = { ...s.request, pairwiseKeyShares: [...s.request.pairwiseKeyShares, victim] };
    expectSecAggError(() => unmask(s.clients[0]!, request), 'both_shares_requested');
  });

  it('claiming a party dropped after it answered once (a second request)', () => {
    const { roster, s } = staged();
    const first = unmask(s.clients[0]!, s.request);
    const victim = roster.config.parties[1]!.partyId;
    const second: UnmaskRequest = {
      ...s.request,
      selfMaskShares: s.request.selfMaskShares.filter((id) => id !== victim),
      pairwiseKeyShares: [...s.request.pairwiseKeyShares, victim],
    };
    expectSecAggError(() => unmask(first.state, second), 'stage_out_of_order');
  });

  it('requests that omit a party, name an outsider, claim the party itself dropped, or are for another session', () => {
    const { roster, s } = staged();
    const client = s.clients[0]!;
    expectSecAggError(() => unmask(client, { ...s.request, pairwiseKeyShares: [] }), 'inconsistent_request');
    const me = roster.config.parties[0]!.partyId;
    expectSecAggError(
      () => unmask(client, { ...s.request, selfMaskShares: s.request.selfMaskShares.filter((id) => id !== me), pairwiseKeyShares: [...s.request.pairwiseKeyShares, me] }),
      'inconsistent_request',
    );
    expectSecAggError(() => unmask(client, { ...s.request, selfMaskShares: [...s.request.selfMaskShares, 'party::evil::x'] }), 'inconsistent_request');
    expectSecAggError(() => unmask(client, { ...s.request, sessionId: OTHER_SESSION }), 'wrong_session');
    expectSecAggError(() => unmask(client, { ...s.request, selfMaskShares: [me, me] }), 'duplicate_party');
    expectSecAggError(() => unmask(client, { ...s.request, extra: 1 }), 'invalid_message');
  });

  it('a survivor list below the threshold', () => {
    const roster = makeRoster(5, 3, 8);
    const s = runUntilUnmask(roster, randomInputs(5, 8));
    const request: UnmaskRequest = { ...s.request, selfMaskShares: s.request.selfMaskShares.slice(0, 2), pairwiseKeyShares: s.request.selfMaskShares.slice(2) };
    expectSecAggError(() => unmask(s.clients[0]!, request), 'below_threshold');
  });
});

describe('forged, replayed, wrong-session and duplicate messages (RELIABILITY 17)', () => {
  function advertised(roster: Roster): { states: SecAggClientState[]; adverts: SignedAdvertise[] } {
    const steps = advertiseAll(roster);
    return { states: steps.map((s) => s.state), adverts: steps.map((s) => s.message) };
  }

  it('clients refuse a forged signature, another session, a duplicate party, a reused key, fewer than t', () => {
    const roster = makeRoster(4, 3, 4);
    const { states, adverts } = advertised(roster);
    const forged = { ...adverts[1]!, body: { ...adverts[1]!.body, cPublicKey: adverts[2]!.body.sPublicKey } };
    expectSecAggError(() => shareKeysWithRng(states[0]!, [adverts[0], forged, adverts[2], adverts[3]], randomBytes), 'invalid_signature');
    const swapped = { ...adverts[1]!, signature: adverts[2]!.signature };
    expectSecAggError(() => shareKeysWithRng(states[0]!, [adverts[0], swapped, adverts[2], adverts[3]], randomBytes), 'invalid_signature');
    // Replay from another session with the same roster: validly signed, wrong session.
    const other = advertised({ ...roster, config: { ...roster.config, sessionId: OTHER_SESSION } });
    expectSecAggError(() => shareKeysWithRng(states[0]!, [adverts[0], other.adverts[1], adverts[2]], randomBytes), 'wrong_session');
    expectSecAggError(() => shareKeysWithRng(states[0]!, [adverts[0], adverts[1], adverts[1]], randomBytes), 'duplicate_party');
    // Party 2 (colluding) re-advertises party 1's key, validly signed by itself.
    const reuse = { ...adverts[2]!.body, cPublicKey: adverts[1]!.body.cPublicKey };
    const reused = { body: reuse, signature: toBase64Url(signStatement(roster.signingKeys[2]!, reuse)) };
    expectSecAggError(() => shareKeysWithRng(states[0]!, [adverts[0], adverts[1], reused], randomBytes), 'duplicate_key');
    expectSecAggError(() => shareKeysWithRng(states[0]!, [adverts[0], adverts[1]], randomBytes), 'below_threshold');
    // An outsider's message.
    const outsider = { ...adverts[1]!, body: { ...adverts[1]!.body, partyId: 'party::evil::x' } };
    expectSecAggError(() => shareKeysWithRng(states[0]!, [adverts[0], outsider, adverts[2]], randomBytes), 'unknown_party');
    // Omitting the party itself.
    expectSecAggError(() => shareKeysWithRng(states[0]!, [adverts[1], adverts[2], adverts[3]], randomBytes), 'inconsistent_request');
  });

  it('the server sets aside bad messages and still checks the threshold', () => {
    const roster = makeRoster(4, 3, 4);
    const { adverts } = advertised(roster);
    const forged = { ...adverts[1]!, body: { ...adverts[1]!.body, sPublicKey: adverts[1]!.body.cPublicKey } };
    const step = collectAdvertisements(createSecAggServer(roster.config), [adverts[0], forged, adverts[2], adverts[2], adverts[3], 'junk']);
    expect(step.rejected.map((r) => [r.index, r.code])).toEqual([
      [1, 'invalid_signature'],
      [3, 'duplicate_key'],
      [5, 'invalid_message'],
    ]);
    expect(step.output).toHaveLength(3);
    expectSecAggError(() => collectAdvertisements(createSecAggServer(roster.config), [adverts[0], forged, adverts[2]]), 'below_threshold');
  });

  it('a share-keys bundle with a tampered ciphertext or a replayed message is refused', () => {
    const roster = makeRoster(3, 2, 4);
    const s = runUntilUnmask(roster, randomInputs(3, 4));
    expect(s.bundle).toHaveLength(3);
    // Run a fresh session to stage 2 and tamper with what party 1 receives.
    const roster2 = makeRoster(3, 2, 4);
    const { states, adverts } = advertised(roster2);
    const shared = states.map((st) => shareKeysWithRng(st, adverts, randomBytes));
    const bundle = shared.map((x) => x.message);
    // Server re-signs nothing: swapping a ciphertext breaks the signature.
    const tampered = { ...bundle[1]!, body: { ...bundle[1]!.body, ciphertexts: [...bundle[1]!.body.ciphertexts].reverse() } };
    expectSecAggError(() => maskInput(shared[0]!.state, [bundle[0], tampered, bundle[2]], new Uint32Array(4)), 'invalid_signature');
    // A share-keys message from the earlier session (same roster ids, different keys) fails.
    expectSecAggError(() => maskInput(shared[0]!.state, [bundle[0], s.bundle[1], bundle[2]], new Uint32Array(4)), 'invalid_signature');
    // A ciphertext sealed by a colluding party under the wrong key fails to open.
    const wrongKey = { ...bundle[1]!.body, ciphertexts: bundle[1]!.body.ciphertexts.map((c) => ({ ...c, ciphertext: toBase64Url(randomBytes(148)) })) };
    const resigned = { body: wrongKey, signature: toBase64Url(signStatement(roster2.signingKeys[1]!, wrongKey)) };
    expectSecAggError(() => maskInput(shared[0]!.state, [bundle[0], resigned, bundle[2]], new Uint32Array(4)), 'decryption_failed');
    expect(() => maskInput(shared[0]!.state, bundle, new Uint32Array(3))).toThrow(/config\.vectorLength/);
  });

  it('every pair of stages out of order is refused (clients and server)', () => {
    const roster = makeRoster(3, 2, 4);
    const { config } = roster;
    const input = new Uint32Array(4);
    const a = advertiseAll(roster);
    const adverts = a.map((x) => x.message);
    const b = a.map((x) => shareKeysWithRng(x.state, adverts, randomBytes));
    const shares = b.map((x) => x.message);
    const c = b.map((x) => maskInput(x.state, shares, input));
    const masked = c.map((x) => x.message);
    const s0 = collectAdvertisements(createSecAggServer(config), adverts);
    const s1 = collectSharedKeys(s0.state, shares);
    const s2 = collectMaskedInputs(s1.state, masked);
    const d = c.map((x) => unmask(x.state, s2.output));
    const unmasks = d.map((x) => x.message);
    const s3 = aggregate(s2.state, unmasks);
    expect(s3.output.sum).toEqual(new Uint32Array(4));

    // Client: each stage function on a state of every other stage.
    const clientStates = [a[0]!.state, b[0]!.state, c[0]!.state, d[0]!.state];
    const clientCalls: ((st: SecAggClientState) => unknown)[] = [
      (st) => shareKeysWithRng(st, adverts, randomBytes),
      (st) => maskInput(st, shares, input),
      (st) => unmask(st, s2.output),
    ];
    clientStates.forEach((state, i) =>
      clientCalls.forEach((call, j) => {
        if (i !== j) expectSecAggError(() => call(state), 'stage_out_of_order');
      }),
    );
    // Client: messages of every other stage at the right state.
    const messagesByStage = [adverts, shares, masked, unmasks] as unknown[][];
    messagesByStage.forEach((messages, k) => {
      if (k !== 0) expectSecAggError(() => shareKeysWithRng(a[0]!.state, messages, randomBytes), 'stage_out_of_order');
      if (k !== 1) expectSecAggError(() => maskInput(b[0]!.state, messages, input), 'stage_out_of_order');
      expectSecAggError(() => unmask(c[0]!.state, (messages[0] as { body: unknown }).body), 'stage_out_of_order');
    });

    // Server: each stage function on a state of every other stage; wrong-stage messages set aside.
    const serverStates: SecAggServerState[] = [createSecAggServer(config), s0.state, s1.state, s2.state, s3.state];
    const serverCalls = [collectAdvertisements, collectSharedKeys, collectMaskedInputs, aggregate] as const;
    serverStates.forEach((state, i) =>
      serverCalls.forEach((call, j) => {
        if (i !== j) expectSecAggError(() => call(state, messagesByStage[j]), 'stage_out_of_order');
      }),
    );
    serverCalls.forEach((call, j) =>
      messagesByStage.forEach((messages, k) => {
        if (k === j) return;
        expectSecAggError(() => call(serverStates[j]!, messages), 'below_threshold');
        const step = call(serverStates[j]!, [...messagesByStage[j]!, messages[0]]);
        expect(step.rejected.map((r) => [r.index, r.code])).toEqual([[3, 'stage_out_of_order']]);
      }),
    );
  });

  it('server rejects wrong-stage messages with stage_out_of_order in `rejected`', () => {
    const roster = makeRoster(3, 2, 4);
    const s = runSession(roster, randomInputs(3, 4));
    const server = createSecAggServer(roster.config);
    try {
      collectAdvertisements(server, [...s.masked]);
    } catch (error) {
      expect((error as SecAggError).code).toBe('below_threshold');
    }
    const mixed = collectAdvertisements(server, [...s.adverts, s.masked[0], s.unmasks[0]]);
    expect(mixed.rejected.map((r) => r.code)).toEqual(['stage_out_of_order', 'stage_out_of_order']);
  });
});

function chiSquareTopByte(values: Uint32Array): number {
  const counts = new Array<number>(256).fill(0);
  for (const v of values) counts[v >>> 24]! += 1;
  const expected = values.length / 256;
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
}

function chiSquareLowByte(values: Uint32Array): number {
  const counts = new Array<number>(256).fill(0);
  for (const v of values) counts[v & 0xff]! += 1;
  const expected = values.length / 256;
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
}

describe('what the server sees', () => {
  it('every masked vector it receives is uniform on Z_2^32, even for constant inputs (chi-square)', () => {
    const length = 8192;
    const roster = makeRoster(4, 3, length);
    const inputs = Array.from({ length: 4 }, (_, i) => new Uint32Array(length).fill(i === 0 ? 0 : 0x7fffffff));
    const result = runSession(roster, inputs, { dropBeforeMasked: [3] });
    const maskedReceived = result.received.filter((m): m is SignedMaskedInput => (m as SignedMaskedInput).body?.type === 'tenzro.secagg.masked-input/v1');
    expect(maskedReceived).toHaveLength(3);
    for (const m of maskedReceived) {
      const vector = ringVectorFromBytes(fromBase64Url(m.body.maskedInput));
      // df = 255: P(χ² > 341) ≈ 0.0003 under uniformity.
      expect(chiSquareTopByte(vector)).toBeLessThan(341);
      expect(chiSquareLowByte(vector)).toBeLessThan(341);
    }
    // No other message the server received carries a vector or a seed in the clear.
    for (const m of result.received) {
      const text = JSON.stringify(m);
      expect(text).not.toContain(toBase64Url(new Uint8Array(64)));
    }
    expect(result.sum).toEqual(plainSum(inputs, (i) => i !== 3));
  });
});

describe('the complete graph', () => {
  it('an explicit { kind: "complete" } graph is the same protocol, byte for byte, as no graph', () => {
    const transcript = (graph: boolean): string => {
      const roster = makeRoster(5, 3, 6, { rng: deterministicRng(seedBytes('complete/signing')) });
      const config: SecAggConfig = graph ? { ...roster.config, graph: { kind: 'complete' } } : roster.config;
      const rngs = Array.from({ length: 5 }, (_, i) => deterministicRng(seedBytes(`complete/party/${i}`)));
      const inputs = Array.from({ length: 5 }, (_, i) => Uint32Array.from({ length: 6 }, (_, j) => i * 10 + j));
      const run = runSession({ ...roster, config }, inputs, { dropBeforeMasked: [2], dropAfterMasked: [4], rngs });
      return JSON.stringify({ a: run.adverts, s: run.shareMessages, m: run.masked, u: run.unmasks, sum: Array.from(run.sum) });
    };
    expect(transcript(true)).toBe(transcript(false));
  });
});

describe('SecAgg+ neighbours (Bell et al. CCS 2020)', () => {
  it('is a symmetric k-regular graph, the same for every party', () => {
    const seed = randomBytes(32);
    const n = 25;
    const k = 6;
    for (let i = 1; i <= n; i++) {
      const mine = neighbours(i, n, k, seed);
      expect(new Set(mine).size).toBe(k);
      expect(mine).not.toContain(i);
      for (const j of mine) expect(neighbours(j, n, k, seed)).toContain(i);
    }
    expect(neighbours(1, n, k, seed)).toEqual(neighbours(1, n, k, seed));
    expect(() => neighbours(1, n, 3, seed)).toThrow(/k must be an even integer/);
    expect(() => neighbours(0, n, 4, seed)).toThrow(/partyIndex/);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Golden vectors: fixed seeds through the internal deterministic entry points, replayed byte for byte.

function goldenSession(n: number, threshold: number, length: number, options: RunOptions): unknown {
  const { roster, run, ids, u2, secrets, partyKeys, record } = goldenRun(`golden/${n}`, n, threshold, length, options);
  const parties = ids.map((partyId, i) => ({
    partyId,
    index: i + 1,
    ...partyKeys[i],
    pairwiseMasks: u2.includes(partyId)
      ? ids
          .map((peer, j) => ({ peer, j }))
          .filter(({ peer }) => peer !== partyId && u2.includes(peer))
          .map(({ peer, j }) => {
            const seed = maskSeed(secrets[i]!.s, fromBase64Url(run.adverts[j]!.body.sPublicKey), roster.config.sessionId, partyId, peer);
            return { peer, sign: maskSign(i + 1, j + 1), seed: toHex(seed), mask: Array.from(pairwiseMask(seed, length)) };
          })
      : [],
    sharedKeys: u2.includes(partyId),
    maskedInput: maskedInputOf(run, partyId),
  }));
  return {
    description:
      'Secure aggregation (Bonawitz et al. CCS 2017) known-answer data. Ring Z_2^32. Self mask = expandMask(selfMaskSeed, length, "tenzro.secagg.self-mask/v1|<sessionId>|<partyId>"); pairwise seed = pairwiseSeed(sPrivateKey, peer sPublicKey, {sessionId, parties, purpose: "mask"}); pairwise mask = expandMask(seed, length, "tenzro.secagg.pairwise-mask/v1"); maskedInput = input + selfMask + Σ sign · pairwise mask (sign = +1 if own index > peer index). sum = Σ over survivors of input. Private keys are test keys.',
    sessionId: roster.config.sessionId,
    threshold,
    vectorLength: length,
    parties,
    ...record,
  };
}

const GOLDEN_CASES = [
  { file: 'three-parties.json', n: 3, t: 2, length: 6, options: {} },
  { file: 'five-parties.json', n: 5, t: 3, length: 6, options: { dropBeforeMasked: [4], dropAfterMasked: [1] } },
];

describe('golden vectors (test/golden/secagg)', () => {
  for (const { file, n, t, length, options } of GOLDEN_CASES) {
    it(`${file} replays byte for byte`, () => {
      expectGoldenFile(file, `${JSON.stringify(goldenSession(n, t, length, options), null, 2)}\n`);
    });

    it(`${file} is self-consistent (what a second implementation would check)`, () => {
      expectGoldenConsistent(readGoldenFile<GoldenFile<GoldenParty>>(file));
    });
  }
});
