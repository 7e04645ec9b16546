// docs/secure-aggregation.md, the party's side: contribute runs stages 0–2 against the host's relay
// routes, participate answers stage 3 once; state is saved before every message; the round's failures,
// a closed stage, a lying host and an aborted wait stop the party with a clear error and nothing sent.
import { DATA_INFO, calibrateSkellam, openEnvelope, parseStrictJson, toBase64Url, utf8Decode } from '@tenzro/crypto';
import { computeStatistics, decodeStatisticSum, generateDemoData, type TransactionRecord } from '@tenzro/models';
import { SECAGG_MASKED_INPUT_SCHEMA, SecAggError, SecAggUnmaskEnvelope, secAggNoiseShare, tenantOfParty, type UnmaskRequest } from '@tenzro/protocol';
import { describe, expect, it } from 'vitest';
import { TenzroApiError } from './errors.js';
import { MEASUREMENT, type RecordedRequest } from './fake-host.fixture.js';
import type { PartyIdentity } from './identity.js';
import { TenzroPlatform } from './platform.js';
import type { ParticipationEvent } from './secagg/party.js';
import { SecureAggregationError } from './secagg/errors.js';
import { MemorySecAggStateStore, secAggStateKey, type SecAggStateStore } from './secagg/state.js';
import { makeSecAggHost, type SecAggHost } from './secagg-host.fixture.js';

const SCHEMA = 'transaction_records_v1';
const demo = generateDemoData({ banks: ['bankA', 'bankB', 'bankC'], recordsPerBank: 100, seed: 7 });
const recordsOf = (party: PartyIdentity): TransactionRecord[] => demo.partitions[tenantOfParty(party.partyId)]!;

function banksOf(host: SecAggHost): PartyIdentity[] {
  return [host.fixture.bankA, host.fixture.bankB, host.fixture.bankC!];
}

function platformFor(host: SecAggHost, party: PartyIdentity, store: SecAggStateStore = new MemorySecAggStateStore(), fetch?: typeof globalThis.fetch): TenzroPlatform {
  return new TenzroPlatform({
    apiKey: 'k',
    tenantId: tenantOfParty(party.partyId),
    baseUrl: 'http://host.test',
    party,
    trustedRoots: [host.fixture.enclave.rootPem],
    expectedMeasurements: [MEASUREMENT],
    fetch: fetch ?? ((input, init) => host.fixture.fetch(input, init)),
    secAggStateStore: store,
  });
}

const posts = (host: SecAggHost, suffix: string, partyId?: string): RecordedRequest[] =>
  host.fixture.requests.filter((r) => r.method === 'POST' && r.path.endsWith(suffix) && (partyId === undefined || r.headers['x-tenzro-party-id'] === partyId));

async function until(condition: () => boolean, timeoutMs = 20_000): Promise<void> {
  const start = Date.now();
  while (!condition()) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not reached');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function openUnmask(host: SecAggHost, bytes: Uint8Array): Promise<SecAggUnmaskEnvelope> {
  return SecAggUnmaskEnvelope.parse(parseStrictJson(utf8Decode(await openEnvelope(host.fixture.sessionKey.privateKey, bytes, { info: DATA_INFO }))));
}

/** Every bank, with its own SDK and state store, contributes concurrently (they are separate organisations). */
async function contributeAll(host: SecAggHost) {
  const banks = banksOf(host);
  const stores = banks.map(() => new MemorySecAggStateStore());
  const platforms = banks.map((bank, i) => platformFor(host, bank, stores[i]));
  const receipts = await Promise.all(
    banks.map((bank, i) => platforms[i]!.ai.contribute({ sessionId: host.fixture.sessionId, data: recordsOf(bank), dataSchema: SCHEMA })),
  );
  return { banks, platforms, receipts, stores };
}

function exactSum(host: SecAggHost): number[] {
  return banksOf(host)
    .map((bank) => computeStatistics(host.layout, recordsOf(bank)))
    .reduce((a, b) => a.map((v, i) => v + b[i]!));
}

describe('contribute and participate on a secure_aggregation session', () => {
  it('masks each bank\'s statistics, answers the run once each, and the enclave unmasks exactly their sum', async () => {
    const host = await makeSecAggHost();
    const { banks, platforms, receipts } = await contributeAll(host);
    expect(host.stage).toBe('awaiting-run');
    for (const [i, bank] of banks.entries()) {
      const receipt = receipts[i]!;
      expect(receipt.partyId).toBe(bank.partyId);
      expect(receipt.recordCount).toBe(0);
      expect(receipt.secagg).toEqual({
        layout: host.layout.id,
        vectorLength: host.layout.ringLength,
        threshold: 2,
        noiseVariance: null,
        advertised: banks.map((b) => b.partyId),
        sharedKeys: banks.map((b) => b.partyId),
      });
      expect(host.maskedInputs.get(bank.partyId)!.commitment).toBe(receipt.commitment);
      expect(posts(host, '/secagg/advertise', bank.partyId)).toHaveLength(1);
      expect(posts(host, '/secagg/share-keys', bank.partyId)).toHaveLength(1);
      expect(posts(host, '/secagg/masked-input', bank.partyId)).toHaveLength(1);
    }
    const upload = posts(host, '/secagg/masked-input')[0]!;
    expect(upload.headers['x-tenzro-data-schema']).toBe(SECAGG_MASKED_INPUT_SCHEMA);
    expect(upload.headers['x-tenzro-commitment-scheme']).toBe('salted');
    expect(upload.headers['content-type']).toBe('application/octet-stream');
    expect(posts(host, '/data')).toHaveLength(0);

    const events: ParticipationEvent[] = [];
    const outcomes = platforms.map((p, i) => p.ai.participate(host.fixture.sessionId, i === 0 ? { onEvent: (e) => events.push(e) } : {}));
    host.startRun('run_1');
    await until(() => host.unmasked.size === 3);
    const { sum, survivors, contributions } = await host.aggregate();
    host.finishRun('completed');
    for (const outcome of await Promise.all(outcomes)) {
      expect(outcome).toMatchObject({ status: 'completed', answeredRuns: ['run_1'], sessionStatus: 'completed' });
    }
    expect(events).toContainEqual({ kind: 'answered', runId: 'run_1', repeated: false });
    expect(events.filter((e) => e.kind === 'stage').map((e) => (e as { stage: string }).stage)).toEqual(['unmask', 'done']);
    expect(survivors).toEqual(banks.map((b) => b.partyId));
    expect(Object.values(contributions).every((c) => c.sourceSchema === SCHEMA && c.noiseVariance === null && c.layout === host.layout.id)).toBe(true);
    expect(decodeStatisticSum(host.layout, sum, 3)).toEqual(exactSum(host));
    expect(posts(host, '/secagg/unmask')).toHaveLength(3);
  });

  it('with noiseAddition each bank adds Sk(μ / (threshold − 1)) (secAggNoiseShare) and declares it; the sum is noised', async () => {
    const host = await makeSecAggHost({ noiseAddition: true });
    const { platforms, receipts } = await contributeAll(host);
    const mu = calibrateSkellam({ epsilon: 1, delta: 1e-5, l1: host.layout.l1Sensitivity, l2: host.layout.l2Sensitivity }).variance;
    const share = secAggNoiseShare(mu, 2);
    expect(share).toBe(mu / (2 - 1)); // not μ / t: a survivor knows and can subtract its own draw
    for (const receipt of receipts) expect(receipt.secagg!.noiseVariance).toBe(share);
    const outcomes = platforms.map((p) => p.ai.participate(host.fixture.sessionId));
    host.startRun('run_1');
    await until(() => host.unmasked.size === 3);
    const { sum, contributions } = await host.aggregate();
    host.finishRun('completed');
    await Promise.all(outcomes);
    expect(Object.values(contributions).map((c) => c.noiseVariance)).toEqual([share, share, share]);
    const noisy = decodeStatisticSum(host.layout, sum, 3);
    const exact = exactSum(host);
    const deviations = noisy.map((v, i) => v - exact[i]!);
    expect(deviations.some((d) => d !== 0)).toBe(true);
    // Three shares of variance μ each: the noise of the sum has standard deviation sqrt(3 μ).
    const sd = Math.sqrt(3 * share);
    expect(deviations.every((d) => Math.abs(d) < 8 * sd)).toBe(true);
  });

  it('saves each stage\'s state and message before sending it; the store never holds the roster signing key', async () => {
    const host = await makeSecAggHost();
    const log: { kind: 'save' | 'post'; key?: string; value?: string; request?: RecordedRequest }[] = [];
    const bank = host.fixture.bankA;
    const inner = new MemorySecAggStateStore();
    const recording: SecAggStateStore = {
      load: (key) => inner.load(key),
      save: async (key, value) => {
        log.push({ kind: 'save', key, value });
        await inner.save(key, value);
      },
      delete: (key) => inner.delete(key),
    };
    const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const before = host.fixture.requests.length;
      const response = await host.fixture.fetch(input, init);
      const request = host.fixture.requests[before];
      if (request && request.method === 'POST' && request.path.includes('/secagg/')) log.push({ kind: 'post', request });
      return response;
    }) as typeof globalThis.fetch;
    const platform = platformFor(host, bank, recording, fetch);
    const others = [host.fixture.bankB, host.fixture.bankC!].map((b) => platformFor(host, b));
    await Promise.all([
      platform.ai.contribute({ sessionId: host.fixture.sessionId, data: recordsOf(bank), dataSchema: SCHEMA }),
      ...others.map((p, i) => p.ai.contribute({ sessionId: host.fixture.sessionId, data: recordsOf([host.fixture.bankB, host.fixture.bankC!][i]!), dataSchema: SCHEMA })),
    ]);
    const participations = [platform, ...others].map((p) => p.ai.participate(host.fixture.sessionId));
    host.startRun('run_1');
    await until(() => host.unmasked.size === 3);
    host.finishRun('completed');
    await Promise.all(participations);

    const savedBefore = (index: number): Record<string, unknown> => {
      const save = log.slice(0, index).reverse().find((e) => e.kind === 'save');
      expect(save).toBeDefined();
      return JSON.parse(save!.value!) as Record<string, unknown>;
    };
    const postIndexes = log.flatMap((e, i) => (e.kind === 'post' ? [i] : []));
    expect(postIndexes.map((i) => log[i]!.request!.path.split('/').pop())).toEqual(['advertise', 'share-keys', 'masked-input', 'unmask']);
    for (const index of postIndexes) {
      const request = log[index]!.request!;
      const saved = savedBefore(index) as { outbox: Record<string, unknown>; answer: { envelope: string } | null; protocol: { stage: string } };
      const stage = request.path.split('/').pop();
      if (stage === 'advertise') expect(saved.outbox.advertise).toEqual(JSON.parse(request.body as string));
      if (stage === 'share-keys') expect(saved.outbox.shareKeys).toEqual(JSON.parse(request.body as string));
      if (stage === 'masked-input') {
        expect((saved.outbox.maskedInput as { envelope: string }).envelope).toBe(toBase64Url(request.body as Uint8Array));
        expect(saved.protocol.stage).toBe('input-masked');
      }
      if (stage === 'unmask') {
        expect(saved.answer!.envelope).toBe(toBase64Url(request.body as Uint8Array));
        expect(saved.protocol.stage).toBe('done');
      }
    }
    for (const entry of log) if (entry.kind === 'save') expect(entry.value).not.toContain(bank.signingKey.privateKey);
    expect(log.filter((e) => e.kind === 'save').every((e) => e.key === secAggStateKey(host.fixture.sessionId, bank.partyId))).toBe(true);
    // The session completed: the state is gone.
    expect(await inner.load(secAggStateKey(host.fixture.sessionId, bank.partyId))).toBeUndefined();
  });
});

describe('participate answers once', () => {
  async function ready(): Promise<{ host: SecAggHost; platforms: TenzroPlatform[]; banks: PartyIdentity[] }> {
    const host = await makeSecAggHost();
    const { platforms, banks } = await contributeAll(host);
    return { host, platforms, banks };
  }

  it('a retried run with the same request gets the same signed answer; any other request is refused, nothing sent', async () => {
    const { host, platforms, banks } = await ready();
    const first = platforms.map((p) => p.ai.participate(host.fixture.sessionId));
    const request = host.startRun('run_1');
    await until(() => host.unmasked.size === 3);
    host.finishRun('failed');
    for (const outcome of await Promise.all(first)) {
      expect(outcome).toMatchObject({ status: 'run_failed', runId: 'run_1', answeredRuns: ['run_1'], error: { code: 'secagg_below_threshold' } });
    }

    const events: ParticipationEvent[] = [];
    const second = platforms.map((p, i) => p.ai.participate(host.fixture.sessionId, i === 0 ? { onEvent: (e) => events.push(e) } : {}));
    host.startRun('run_2');
    await until(() => host.unmasked.size === 3);
    const { sum } = await host.aggregate();
    expect(decodeStatisticSum(host.layout, sum, 3)).toEqual(exactSum(host));
    const answers = async (runId: string) =>
      Promise.all(host.unmaskPosts.filter((p) => p.runId === runId && p.partyId === banks[0]!.partyId).map((p) => openUnmask(host, p.bytes)));
    const [run1] = await answers('run_1');
    const [run2] = await answers('run_2');
    expect(run2!.runId).toBe('run_2');
    expect(run2!.unmask).toEqual(run1!.unmask); // the same signed answer, byte for byte
    expect(events).toContainEqual({ kind: 'answered', runId: 'run_2', repeated: true });

    // The host now claims bankC dropped: that would reveal bankC's pairwise key besides its self mask.
    const sent = posts(host, '/secagg/unmask').length;
    const lying: UnmaskRequest = { ...request, selfMaskShares: [banks[0]!.partyId, banks[1]!.partyId], pairwiseKeyShares: [banks[2]!.partyId] };
    host.ask('run_3', lying);
    const refusals = await Promise.allSettled(second.slice(0, 2));
    for (const refusal of refusals) {
      expect(refusal.status).toBe('rejected');
      const error = (refusal as PromiseRejectedResult).reason as SecAggError;
      expect(error).toBeInstanceOf(SecAggError);
      expect(error.code).toBe('both_shares_requested');
    }
    // bankC is told it dropped: it is not asked, and says so.
    await expect(second[2]!).resolves.toMatchObject({ status: 'excluded', runId: 'run_3' });
    // A request naming fewer parties (no overlap with what was revealed) is refused too.
    host.ask('run_4', { ...request, selfMaskShares: [banks[0]!.partyId, banks[1]!.partyId], pairwiseKeyShares: [] });
    await expect(platforms[0]!.ai.participate(host.fixture.sessionId)).rejects.toMatchObject({ name: 'SecAggError', code: 'inconsistent_request' });
    expect(posts(host, '/secagg/unmask')).toHaveLength(sent);
  });

  it('the protocol refuses a first request asking both shares of one party; the state stays unanswered', async () => {
    const { host, platforms, banks } = await ready();
    const ids = banks.map((b) => b.partyId);
    host.ask('run_1', { type: 'tenzro.secagg.unmask-request/v1', sessionId: host.fixture.sessionId, selfMaskShares: ids, pairwiseKeyShares: [ids[2]!] });
    await expect(platforms[0]!.ai.participate(host.fixture.sessionId)).rejects.toMatchObject({ name: 'SecAggError', code: 'both_shares_requested' });
    expect(posts(host, '/secagg/unmask')).toHaveLength(0);
    // An honest request afterwards is answered normally.
    const outcome = platforms[0]!.ai.participate(host.fixture.sessionId);
    host.startRun('run_2');
    await until(() => host.unmasked.size === 1);
    host.finishRun('completed');
    await expect(outcome).resolves.toMatchObject({ status: 'completed', answeredRuns: ['run_2'] });
  });

  it('returns round_failed and session_ended without answering', async () => {
    const { host, platforms } = await ready();
    host.stage = 'failed';
    host.error = { code: 'secagg_below_threshold', message: 'too few survivors' };
    await expect(platforms[0]!.ai.participate(host.fixture.sessionId)).resolves.toMatchObject({ status: 'round_failed', error: { code: 'secagg_below_threshold' } });

    const other = await ready();
    other.host.fixture.routes.set(`GET /v1/sessions/${other.host.fixture.sessionId}/secagg`, () =>
      new Response(JSON.stringify({ error: { code: 'session_expired', message: 'the session expired' } }), { status: 410 }),
    );
    await expect(other.platforms[1]!.ai.participate(other.host.fixture.sessionId)).resolves.toMatchObject({ status: 'session_ended', error: { code: 'session_expired' } });
  });

  it('stops at once when the signal fires', async () => {
    const { host, platforms } = await ready();
    const controller = new AbortController();
    const waiting = platforms[0]!.ai.participate(host.fixture.sessionId, { signal: controller.signal });
    setTimeout(() => controller.abort(), 100);
    await expect(waiting).rejects.toMatchObject({ name: 'TenzroApiError', code: 'aborted' });
  });
});

describe('contribute stops with a clear error and sends nothing it should not', () => {
  it('refuses records that break the data schema, listing the problems; nothing is sent', async () => {
    const host = await makeSecAggHost();
    const platform = platformFor(host, host.fixture.bankA);
    const records = recordsOf(host.fixture.bankA).slice(0, 3).map((r) => ({ ...r }));
    (records[1] as Record<string, unknown>).amount = -5;
    delete (records[2] as Record<string, unknown>).currency;
    const error = await platform.ai.contribute({ sessionId: host.fixture.sessionId, data: records, dataSchema: SCHEMA }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecureAggregationError);
    expect(error).toMatchObject({ code: 'schema_validation_failed' });
    const err = error as SecureAggregationError;
    expect(err.message).toMatch(/record 1 field amount/);
    expect(err.message).toMatch(/record 2 field currency/);
    expect(err.details).toEqual(expect.arrayContaining([expect.objectContaining({ index: 1, field: 'amount' }), expect.objectContaining({ index: 2, field: 'currency' })]));
    await expect(platform.ai.contribute({ sessionId: host.fixture.sessionId, data: records, dataSchema: 'other_schema_v1' })).rejects.toMatchObject({ code: 'unknown_schema' });
    expect(host.fixture.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
  });

  it('reports a failed round with the host\'s reason', async () => {
    const host = await makeSecAggHost();
    host.autoClose = false;
    const contributing = platformFor(host, host.fixture.bankA).ai.contribute({ sessionId: host.fixture.sessionId, data: recordsOf(host.fixture.bankA), dataSchema: SCHEMA });
    await until(() => host.advertised.size === 1);
    host.closeStage(); // the deadline with one advertisement of a threshold of two
    const error = await contributing.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SecureAggregationError);
    expect(error).toMatchObject({ code: 'round_failed', reason: { code: 'secagg_below_threshold' } });
    expect((error as Error).message).toMatch(/secagg_below_threshold/);
  });

  it('a party that arrives after a stage closed is left out and sends nothing', async () => {
    const host = await makeSecAggHost();
    host.autoClose = false;
    const [a, b, c] = banksOf(host);
    const early = [a!, b!].map((bank) => platformFor(host, bank).ai.contribute({ sessionId: host.fixture.sessionId, data: recordsOf(bank), dataSchema: SCHEMA }));
    early.forEach((p) => p.catch(() => undefined));
    await until(() => host.advertised.size === 2);
    host.closeStage();
    await expect(platformFor(host, c!).ai.contribute({ sessionId: host.fixture.sessionId, data: recordsOf(c!), dataSchema: SCHEMA })).rejects.toMatchObject({
      name: 'SecureAggregationError',
      code: 'left_out',
    });
    expect(posts(host, '/secagg/', c!.partyId)).toHaveLength(0);
    host.autoClose = true;
    const receipts = await Promise.all(early);
    expect(receipts.map((r) => r.secagg!.sharedKeys)).toEqual([[a!.partyId, b!.partyId], [a!.partyId, b!.partyId]]);
  });

  it('an aborted wait leaves the saved state; a new SDK instance resumes without computing new keys', async () => {
    const host = await makeSecAggHost();
    const [a, b, c] = banksOf(host);
    const store = new MemorySecAggStateStore();
    const controller = new AbortController();
    const first = platformFor(host, a!, store).ai.contribute({ sessionId: host.fixture.sessionId, data: recordsOf(a!), dataSchema: SCHEMA, signal: controller.signal });
    await until(() => host.advertised.size === 1);
    const advertised = host.advertised.get(a!.partyId);
    controller.abort();
    await expect(first).rejects.toMatchObject({ name: 'TenzroApiError', code: 'aborted' });
    expect(await store.load(secAggStateKey(host.fixture.sessionId, a!.partyId))).toContain('"stage":"advertised"');

    // Different data under the saved state is refused.
    await expect(
      platformFor(host, a!, store).ai.contribute({ sessionId: host.fixture.sessionId, data: recordsOf(b!), dataSchema: SCHEMA }),
    ).rejects.toMatchObject({ code: 'state_mismatch' });

    const resumed = platformFor(host, a!, store).ai.contribute({ sessionId: host.fixture.sessionId, data: recordsOf(a!), dataSchema: SCHEMA });
    const rest = [b!, c!].map((bank) => platformFor(host, bank).ai.contribute({ sessionId: host.fixture.sessionId, data: recordsOf(bank), dataSchema: SCHEMA }));
    const [receipt] = await Promise.all([resumed, ...rest]);
    expect(receipt.secagg!.sharedKeys).toHaveLength(3);
    expect(posts(host, '/secagg/advertise', a!.partyId)).toHaveLength(1);
    expect(host.advertised.get(a!.partyId)).toBe(advertised);
    // Once contributed, contribute answers with the same receipt and sends nothing.
    const again = await platformFor(host, a!, store).ai.contribute({ sessionId: host.fixture.sessionId, data: recordsOf(a!), dataSchema: SCHEMA });
    expect(again.commitment).toBe(receipt.commitment);
    expect(posts(host, '/secagg/masked-input', a!.partyId)).toHaveLength(1);
  });

  it('refuses a round that does not match the terms and the model', async () => {
    const host = await makeSecAggHost();
    host.fixture.routes.set(`GET /v1/sessions/${host.fixture.sessionId}/secagg`, () =>
      new Response(JSON.stringify({ ...host.roundResponse(), threshold: 1 }), { status: 200 }),
    );
    await expect(
      platformFor(host, host.fixture.bankA).ai.contribute({ sessionId: host.fixture.sessionId, data: recordsOf(host.fixture.bankA), dataSchema: SCHEMA }),
    ).rejects.toMatchObject({ code: 'round_mismatch' });
    expect(host.fixture.requests.filter((r) => r.method === 'POST')).toHaveLength(0);
  });
});

describe('submitSessionData on a secure_aggregation session', () => {
  it('surfaces the host\'s refusal as TenzroApiError secure_aggregation_required with its message', async () => {
    const host = await makeSecAggHost();
    const platform = platformFor(host, host.fixture.bankA);
    const error = await platform.ai
      .submitSessionData({ sessionId: host.fixture.sessionId, data: new Uint8Array([1, 2, 3]), dataSchema: SCHEMA, commitment: `sha256:${'a'.repeat(64)}` })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TenzroApiError);
    expect(error).toMatchObject({ code: 'secure_aggregation_required', status: 422, message: 'this session aggregates masked statistics: use platform.ai.contribute' });
  });

  it('refuses up front, without a request, once the session record is known', async () => {
    const host = await makeSecAggHost();
    const platform = platformFor(host, host.fixture.bankA);
    await platform.ai.getMultiPartySession(host.fixture.sessionId);
    const error = await platform.ai
      .submitSessionData({ sessionId: host.fixture.sessionId, data: new Uint8Array([1, 2, 3]), dataSchema: SCHEMA, commitment: `sha256:${'a'.repeat(64)}` })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TenzroApiError);
    expect(error).toMatchObject({ code: 'secure_aggregation_required', status: 422 });
    expect((error as Error).message).toMatch(/platform\.ai\.contribute/);
    expect(posts(host, '/data')).toHaveLength(0);
  });
});
