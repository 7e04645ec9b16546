// Two enclave processes on one state directory, as the enclave workers of one deployment run: started at
// once on an empty directory they create ONE simulated CA, and a key destroyed through one is refused by
// the other while it keeps running.
import { afterEach, describe, expect, it } from 'vitest';
import { AttestSessionKeyResult, CreateSessionKeyResult, HelloResult } from '@tenzro/protocol';
import { EnclaveProcess, tempDir } from '../test/enclave-process.js';
import { makeParty, makeTerms } from '../test/session-fixture.js';

let running: EnclaveProcess[] = [];
afterEach(async () => {
  await Promise.all(running.map((enclave) => enclave.stop()));
  running = [];
});

describe('enclave processes sharing a state directory', () => {
  it('started at once on an empty directory, they end up with one CA and serve each other’s keys', async () => {
    const stateDir = await tempDir('tenzro-enclave-shared-');
    running = [EnclaveProcess.start(stateDir), EnclaveProcess.start(stateDir)];
    const [a, b] = running as [EnclaveProcess, EnclaveProcess];
    const [helloA, helloB] = (await Promise.all([a.call('hello'), b.call('hello')])).map((h) => HelloResult.parse(h));
    expect(helloA!.pid).not.toBe(helloB!.pid);
    expect(helloA!.rootPem).toBe(helloB!.rootPem);
    expect(helloA!.moduleId).toBe(helloB!.moduleId);
    expect(helloA!.measurement).toBe(helloB!.measurement);

    const model = helloA!.models.find((m) => m.modelId === 'risk-analyzer-v2')!;
    const parties = await Promise.all(['bankA', 'bankB'].map((bank) => makeParty(`party::${bank}::treasury`)));
    const { terms, sessionId } = makeTerms({ participants: parties, modelId: model.modelId, modelDigest: model.modelDigest });
    const key = CreateSessionKeyResult.parse(await a.call('createSessionKey', { sessionId }));
    const attested = AttestSessionKeyResult.parse(await b.call('attestSessionKey', { sessionId, sealedKey: key.sealedKey, terms }));
    expect(attested.publicKey).toBe(key.publicKey);

    await a.call('destroySessionKey', { sessionId, reason: 'delete_after_inference', ciphertexts: [] });
    const refused = await b.request('attestSessionKey', { sessionId, sealedKey: key.sealedKey, terms });
    expect(refused.ok).toBe(false);
    expect(refused.error?.code).toBe('data_deleted');
  }, 30_000);
});
