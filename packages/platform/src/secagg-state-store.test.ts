// The client record a SecAggStateStore keeps (secagg/state.ts): every stage of the protocol state
// round-trips through its JSON form and the protocol continues from the decoded state as from the
// original; the roster signing key is never written; a record of another session or party, or one that
// does not parse, is refused as invalid_state.
import { generateSigningKeyPair, type SecretBytes } from '@tenzro/crypto';
import {
  advertiseKeys,
  aggregate,
  collectAdvertisements,
  collectMaskedInputs,
  collectSharedKeys,
  createSecAggServer,
  maskInput,
  shareKeys,
  unmask,
  type SecAggClientState,
  type SecAggConfig,
} from '@tenzro/protocol';
import { describe, expect, it } from 'vitest';
import { SecureAggregationError } from './secagg/errors.js';
import { MemorySecAggStateStore, decodeClientRecord, encodeClientRecord, type SecAggClientRecord } from './secagg/state.js';
import { TenzroPlatform } from './platform.js';

const SESSION = 'mps_abcdefghijklmnopqrstuvwxyz';
const LENGTH = 8;

function roster(n: number): { config: SecAggConfig; keys: SecretBytes[] } {
  const pairs = Array.from({ length: n }, () => generateSigningKeyPair());
  return {
    keys: pairs.map((p) => p.privateKey),
    config: {
      sessionId: SESSION,
      threshold: 2,
      vectorLength: LENGTH,
      parties: pairs.map((p, i) => ({ partyId: `party::bank${i}::treasury`, signingPublicKey: p.publicKey })),
    },
  };
}

function record(state: SecAggClientState): SecAggClientRecord {
  return {
    sessionId: SESSION,
    partyId: state.partyId,
    layout: 'test/aggregates/v1',
    vectorLength: LENGTH,
    dataSchema: 'transaction_records_v1',
    inputDigest: `sha256:${'0'.repeat(64)}`,
    protocol: state,
    outbox: { advertise: null, shareKeys: null, maskedInput: null },
    receipt: null,
    answer: null,
    answeredRuns: [],
  };
}

/** Encodes and decodes a state, as a crash between two stages would. */
function throughStore(state: SecAggClientState, config: SecAggConfig, signingKey: SecretBytes): SecAggClientState {
  const text = encodeClientRecord(record(state));
  expect(text).not.toContain('signingKey');
  return decodeClientRecord(text, { sessionId: SESSION, partyId: state.partyId, config, signingKey }).protocol;
}

describe('client record encoding', () => {
  it('every stage round-trips and the protocol completes from decoded states', () => {
    const { config, keys } = roster(3);
    const inputs = [0, 1, 2].map((i) => Uint32Array.from({ length: LENGTH }, (_, j) => i * 100 + j));
    const states = config.parties.map((p, i) => advertiseKeys({ config, partyId: p.partyId, signingKey: keys[i]! }));
    const adverts = states.map((s) => s.message);
    let clients = states.map((s, i) => throughStore(s.state, config, keys[i]!));
    const shared = clients.map((c) => shareKeys(c, adverts));
    clients = shared.map((s, i) => throughStore(s.state, config, keys[i]!));
    const masked = clients.map((c, i) => maskInput(c, shared.map((s) => s.message), inputs[i]!));
    clients = masked.map((s, i) => throughStore(s.state, config, keys[i]!));
    expect(clients.every((c) => c.stage === 'input-masked')).toBe(true);

    let server = createSecAggServer(config);
    server = collectAdvertisements(server, adverts).state;
    server = collectSharedKeys(server, shared.map((s) => s.message)).state;
    const collected = collectMaskedInputs(server, masked.map((s) => s.message));
    const answers = clients.map((c) => unmask(c, collected.output));
    const done = answers.map((a, i) => throughStore(a.state, config, keys[i]!));
    expect(done.every((c) => c.stage === 'done')).toBe(true);
    const { output } = aggregate(collected.state, answers.map((a) => a.message));
    expect([...output.sum]).toEqual(Array.from({ length: LENGTH }, (_, j) => 300 + 3 * j));
  });

  it('writes secret bytes explicitly (base64url) and never the roster signing key', () => {
    const { config, keys } = roster(2);
    const step = advertiseKeys({ config, partyId: config.parties[0]!.partyId, signingKey: keys[0]! });
    const text = encodeClientRecord(record(step.state));
    const json = JSON.parse(text) as { type: string; protocol: Record<string, unknown> };
    expect(json.type).toBe('tenzro.secagg.client-record/v1');
    expect(Object.keys(json.protocol).sort()).toEqual(['cPrivateKey', 'index', 'partyId', 'sPrivateKey', 'stage']);
    expect(text).not.toContain(Buffer.from(keys[0]!.expose()).toString('base64url'));
  });

  it('refuses a record of another party or session, or one that does not parse', () => {
    const { config, keys } = roster(2);
    const step = advertiseKeys({ config, partyId: config.parties[0]!.partyId, signingKey: keys[0]! });
    const text = encodeClientRecord(record(step.state));
    const storedKey = (JSON.parse(text) as { protocol: { cPrivateKey: string } }).protocol.cPrivateKey;
    const context = { sessionId: SESSION, partyId: config.parties[1]!.partyId, config, signingKey: keys[1]! };
    const attempts = [
      () => decodeClientRecord(text, context),
      () => decodeClientRecord(text, { ...context, partyId: config.parties[0]!.partyId, sessionId: 'mps_zzzzzzzzzzzzzzzzzzzzzzzzzz' }),
      () => decodeClientRecord('{not json', context),
      () => decodeClientRecord(JSON.stringify({ ...JSON.parse(text), extra: 1 }), { ...context, partyId: config.parties[0]!.partyId }),
      () => decodeClientRecord(text, { ...context, partyId: config.parties[0]!.partyId, config: { ...config, vectorLength: LENGTH + 1 } }),
    ];
    for (const attempt of attempts) {
      expect(attempt).toThrow(SecureAggregationError);
      try {
        attempt();
      } catch (error) {
        expect((error as SecureAggregationError).code).toBe('invalid_state');
        expect((error as Error).message).not.toContain(storedKey);
      }
    }
  });
});

describe('MemorySecAggStateStore and the platform option', () => {
  it('stores strings per key and checks its arguments', async () => {
    const store = new MemorySecAggStateStore();
    await store.save('k', 'v');
    expect(await store.load('k')).toBe('v');
    await store.delete('k');
    expect(await store.load('k')).toBeUndefined();
    await expect(store.save('', 'v')).rejects.toThrow(TypeError);
    await expect(store.save('k', 1 as unknown as string)).rejects.toThrow(/value must be a string/);
  });

  it('options.secAggStateStore must have load, save and delete', () => {
    const base = { apiKey: 'k', tenantId: 'bankA', baseUrl: 'http://h.test', trustedRoots: [], expectedMeasurements: ['ab'.repeat(48)] };
    expect(() => new TenzroPlatform({ ...base, secAggStateStore: { load: async () => undefined } as never })).toThrow(/missing save, delete/);
    expect(() => new TenzroPlatform({ ...base, secAggStateStore: 5 as never })).toThrow(TypeError);
    expect(() => new TenzroPlatform({ ...base, secAggStateStore: new MemorySecAggStateStore() })).not.toThrow();
  });
});
