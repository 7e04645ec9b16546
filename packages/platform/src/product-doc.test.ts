// The product doc's examples, run as written (free variables bound) against the fake host: the SDK is
// configured only by `{ apiKey, tenantId }` plus the environment (TENZRO_PARTY_KEY, development
// credentials), and uses the global fetch.
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MEASUREMENT, json, makeFixture, submissionReceipt, type Fixture } from './fake-host.fixture.js';
import { TenzroPlatform, encryptWithSessionKey, hashCommitment, signConsent } from './index.js';

const ENV = ['TENZRO_API_KEY', 'TENZRO_TENANT_ID', 'TENZRO_PARTY_KEY', 'TENZRO_CREDENTIALS', 'TENZRO_DATA_DIR', 'TENZRO_BASE_URL'] as const;
let saved: (string | undefined)[] = [];
beforeEach(() => {
  saved = ENV.map((name) => process.env[name]);
  for (const name of ENV) delete process.env[name];
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  ENV.forEach((name, i) => {
    if (saved[i] === undefined) delete process.env[name];
    else process.env[name] = saved[i];
  });
});

function host(fixture: Fixture): void {
  const { sessionId } = fixture;
  const state = { submitted: [] as string[], consented: [] as string[] };
  const status = () => ({
    sessionId,
    status: state.consented.length === 2 ? 'ready' : 'collecting',
    participants: fixture.session.participants,
    observers: fixture.session.observers,
    minParticipants: 2,
    dataSubmittedBy: state.submitted,
    consentedParticipants: state.consented,
    pendingData: fixture.session.participants.filter((p) => !state.submitted.includes(p)),
    pendingConsent: fixture.session.participants.filter((p) => !state.consented.includes(p)),
    readyToRun: state.consented.length === 2,
    expiresAt: fixture.terms.expiresAt,
    lastRun: null,
  });
  const run = (done: boolean) => ({
    runId: 'run_1',
    sessionId,
    status: done ? 'completed' : 'running',
    attempts: 1,
    createdAt: new Date().toISOString(),
    finishedAt: done ? new Date().toISOString() : null,
    error: null,
  });
  fixture.routes.set('POST /v1/sessions', () => json(201, fixture.session));
  fixture.routes.set(`GET /v1/sessions/${sessionId}`, () =>
    json(200, { ...fixture.session, dataSubmittedBy: state.submitted, consentedBy: state.consented, status: status().status }),
  );
  fixture.routes.set(`POST /v1/sessions/${sessionId}/data`, (request) => {
    state.submitted.push(request.headers['x-tenzro-party-id']!);
    return submissionReceipt(fixture, request, request.headers['x-tenzro-party-id']);
  });
  fixture.routes.set(`POST /v1/sessions/${sessionId}/consents`, (request) => {
    const partyId = request.headers['x-tenzro-party-id']!;
    state.consented.push(partyId);
    return json(201, { sessionId, partyId, ...JSON.parse(request.body as string), receivedAt: new Date().toISOString(), status: 'collecting' });
  });
  fixture.routes.set(`GET /v1/sessions/${sessionId}/status`, () => json(200, status()));
  fixture.routes.set(`POST /v1/sessions/${sessionId}/runs`, () => json(202, run(false)));
  fixture.routes.set(`GET /v1/sessions/${sessionId}/runs/run_1`, () => json(200, run(true)));
  fixture.routes.set(`GET /v1/sessions/${sessionId}/result`, async () => json(200, await fixture.sealedResult(fixture.bankA)));
}

describe('product doc examples', () => {
  it('create → key → encrypt → submit → consent → status → run → monitor', async () => {
    // The SDK checks that the created session's terms are the ones asked for, expiresAt included: the
    // fake host's session is made for exactly the doc's request, at a frozen instant.
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const fixture = await makeFixture(
      { minParticipants: 2, aggregationMethod: 'federated', encryptionRequired: true, attestationRequired: true, retentionPolicy: 'delete_after_inference' },
      { bankC: true, expiresAt: new Date(Date.now() + 24 * 60 * 60 * 1000).toISOString() },
    );
    host(fixture);
    vi.stubGlobal('fetch', fixture.fetch);
    const dir = mkdtempSync(join(tmpdir(), 'tenzro-doc-'));
    mkdirSync(join(dir, 'dev'));
    writeFileSync(
      join(dir, 'dev', 'credentials.json'),
      JSON.stringify({ baseUrl: 'http://localhost:8787', attestation: { rootPem: fixture.enclave.rootPem, measurement: MEASUREMENT }, parties: [] }),
    );
    writeFileSync(join(dir, 'party.json'), JSON.stringify(fixture.bankA));
    process.env.TENZRO_DATA_DIR = dir;
    process.env.TENZRO_PARTY_KEY = join(dir, 'party.json');
    process.env.TENZRO_API_KEY = 'api-key-of-bankA';
    process.env.TENZRO_TENANT_ID = 'bankA';
    const myTransactionData = [{ transactionId: 't1', amount: 10 }];
    const myPrivateKey = fixture.bankA.signingKey.privateKey;
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);

    // ── Creating a Session (as written) ──
    const platform = new TenzroPlatform({
      apiKey: process.env.TENZRO_API_KEY!,
      tenantId: process.env.TENZRO_TENANT_ID!,
    });
    const session = await platform.ai.createMultiPartySession({
      name: 'Q4 Risk Analysis',
      description: 'Cross-bank transaction risk assessment',
      modelId: 'risk-analyzer-v2',
      participants: ['party::bankA::treasury', 'party::bankB::treasury', 'party::bankC::treasury'],
      observers: ['party::regulator::compliance'],
      dataPolicy: {
        minParticipants: 2,
        aggregationMethod: 'federated',
        encryptionRequired: true,
        attestationRequired: true,
        retentionPolicy: 'delete_after_inference',
      },
      expiresAt: new Date(Date.now() + 24 * 60 * 60 * 1000),
    });
    console.log('Session ID:', session.id);
    console.log('Status:', session.status);
    console.log('Join Code:', session.joinCode);

    // ── Contributing Data ──
    const sessionKey = await platform.ai.getSessionKey(session.id);
    const encryptedData = await encryptWithSessionKey(JSON.stringify(myTransactionData), sessionKey.publicKey);
    await platform.ai.submitSessionData({
      sessionId: session.id,
      data: encryptedData,
      dataSchema: 'transaction_records_v1',
      commitment: await hashCommitment(myTransactionData),
    });

    // ── Consent Management ──
    await platform.ai.submitSessionConsent({
      sessionId: session.id,
      consent: { dataUsage: true, resultSharing: true, attestationSharing: true, retentionAcknowledged: true },
      signature: await signConsent(session.id, myPrivateKey),
    });
    const status = await platform.ai.getSessionStatus(session.id);
    console.log('Consented participants:', status.consentedParticipants);
    console.log('Pending consent:', status.pendingConsent);

    // ── Running Inference ──
    const result = await platform.ai.runMultiPartyInference({
      sessionId: session.id,
      prompt: 'Analyze combined transaction patterns for anomalies',
      parameters: { maxTokens: 2048, temperature: 0.3 },
    });
    console.log('Result:', result.content);
    console.log('TEE Attestation:', result.teeAttestation);
    console.log('Participant Count:', result.participantCount);
    console.log('Data Hash:', result.aggregatedDataHash);

    // ── Session Lifecycle ──
    const monitored = await platform.ai.getMultiPartySession(session.id);
    console.log('Status:', monitored.status);
    console.log('Participants:', monitored.participants);
    console.log('Data submitted:', monitored.dataSubmittedBy);
    console.log('Consent from:', monitored.consentedBy);

    log.mockRestore();
    expect(sessionKey.verified).toMatchObject({ verified: true, provider: 'simulated', measurement: MEASUREMENT });
    expect(status.consentedParticipants).toEqual(['party::bankA::treasury']);
    expect(result.teeAttestation.verified).toBe(true);
    expect(result.content).toBe('Two cross-bank rings found.');
    expect(monitored.dataSubmittedBy).toEqual(['party::bankA::treasury']);
    expect(fixture.requests.every((r) => r.url.startsWith('http://localhost:8787/v1/'))).toBe(true);
    expect(fixture.requests.every((r) => r.headers['authorization'] === 'Bearer api-key-of-bankA')).toBe(true);
  });
});
