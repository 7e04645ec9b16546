// Bonawitz et al. CCS 2017 / Bell et al. CCS 2020 server role: what it derives must not depend on the order
// the host relayed the messages in. The host builds its unmask request in roster order
// (buildUnmaskRequest) and the parties answer that request; the enclave derives its own from the relayed
// share-keys and masked-input messages and aggregate() accepts only answers to exactly its request, so a
// relay order other than the roster's must still give the same request and the same sum.
import { randomBytes, signingPublicKeyFromPrivate } from '@tenzro/crypto';
import { describe, expect, it } from 'vitest';
import { advertiseKeys, maskInput, shareKeys, unmask, type SecAggClientState } from './client.js';
import { validateSecAggConfig, type SecAggConfig, type SecAggGraphSpec } from './config.js';
import type { SignedMaskedInput, SignedShareKeys, SignedUnmask } from './messages.js';
import { aggregate, collectAdvertisements, collectMaskedInputs, collectSharedKeys, createSecAggServer } from './server.js';
import { buildUnmaskRequest } from './session.js';

const SESSION = 'mps_cccccccccccccccccccccccccc';
const LENGTH = 8;

/** A fixed permutation far from the identity (no party keeps its place for n ≥ 3). */
function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items].reverse();
  out.push(out.shift()!);
  return out;
}

function scenario(n: number, threshold: number, dropBeforeMasked: number[], graph?: SecAggGraphSpec) {
  const signingKeys = Array.from({ length: n }, () => randomBytes(32));
  const config: SecAggConfig = validateSecAggConfig({
    sessionId: SESSION,
    threshold,
    vectorLength: LENGTH,
    parties: signingKeys.map((key, i) => ({ partyId: `party::bank${i + 1}::agent`, signingPublicKey: signingPublicKeyFromPrivate(key) })),
    ...(graph === undefined ? {} : { graph }),
  });
  const ids = config.parties.map((p) => p.partyId);
  const inputs = ids.map((_, i) => Uint32Array.from({ length: LENGTH }, (_, j) => (i + 1) * 1000 + j));
  const clients: SecAggClientState[] = [];

  // stage 0: the host relays the advertisements (order irrelevant here)
  const adverts = ids.map((partyId, i) => {
    const step = advertiseKeys({ config, partyId, signingKey: signingKeys[i]! });
    clients.push(step.state);
    return step.message;
  });
  const host0 = collectAdvertisements(createSecAggServer(config), adverts);
  const shareMessages: SignedShareKeys[] = clients.map((state, i) => {
    const step = shareKeys(state, host0.output);
    clients[i] = step.state;
    return step.message;
  });

  // The host's view, in roster order (GET /secagg relays shareKeys in roster order).
  const hostShared = collectSharedKeys(host0.state, shareMessages);
  const masked: SignedMaskedInput[] = [];
  ids.forEach((_, i) => {
    const step = maskInput(clients[i]!, hostShared.output, inputs[i]!);
    clients[i] = step.state;
    if (!dropBeforeMasked.includes(i)) masked.push(step.message);
  });
  const u2 = hostShared.output.map((m) => m.body.partyId);
  const included = new Set(masked.map((m) => m.body.partyId));
  const hostRequest = buildUnmaskRequest(config, u2, included);

  // The enclave's view: the same messages relayed in a shuffled order.
  const relayed = shuffled(shareMessages);
  expect(relayed.map((m) => m.body.partyId)).not.toEqual(ids);
  const advertised = collectAdvertisements(createSecAggServer(config), shuffled(adverts));
  const shared = collectSharedKeys(advertised.state, relayed);
  expect(shared.rejected).toEqual([]);
  expect(shared.output.map((m) => m.body.partyId)).toEqual(ids); // U2 and the bundle in roster order
  const collected = collectMaskedInputs(shared.state, shuffled(masked));
  expect(collected.rejected).toEqual([]);
  expect(collected.output).toEqual(hostRequest);

  // The parties answer the HOST's request; the enclave aggregates them (relayed shuffled as well).
  const answers: SignedUnmask[] = [];
  ids.forEach((id, i) => {
    if (hostRequest.selfMaskShares.includes(id)) answers.push(unmask(clients[i]!, hostRequest).message);
  });
  const done = aggregate(collected.state, shuffled(answers));
  expect(done.rejected).toEqual([]);
  const expected = new Uint32Array(LENGTH);
  ids.forEach((id, i) => {
    if (included.has(id)) inputs[i]!.forEach((v, j) => (expected[j] = (expected[j]! + v) >>> 0));
  });
  expect(Array.from(done.output.sum)).toEqual(Array.from(expected));
  expect(done.output.survivors).toEqual(ids.filter((id) => included.has(id)));
  return { hostRequest };
}

describe('server role: relay order does not matter', () => {
  it('complete graph: share-keys, masked inputs and answers relayed shuffled still aggregate (with a dropout)', () => {
    const { hostRequest } = scenario(5, 3, [1]);
    expect(hostRequest.pairwiseKeyShares).toEqual(['party::bank2::agent']);
  });

  it('SecAgg+ (forced Harary graph k = 6 over 12 parties): the same', () => {
    const graph: SecAggGraphSpec = { kind: 'harary', k: 6, seed: new Uint8Array(32).fill(7) };
    const { hostRequest } = scenario(12, 8, [3], graph);
    expect(hostRequest.pairwiseKeyShares).toEqual(['party::bank4::agent']);
  });
});
