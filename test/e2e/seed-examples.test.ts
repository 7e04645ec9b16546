/**
 * The product doc's five code examples, run as written (only their free variables bound) against the
 * platform started as a real process with its real enclave process.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TenzroPlatform, encryptWithSessionKey, hashCommitment, signConsent } from '@tenzro/platform';
import { generateDemoData } from '@tenzro/models';
import { PlatformProcess, type DevParty } from '../support/platform-process.js';
import { actAs } from '../support/parties.js';

const BANKS = ['bankA', 'bankB', 'bankC'];

// ── Example "Creating a Session" (verbatim body; free variables: none beyond the environment) ──
async function creatingASession() {
  const platform = new TenzroPlatform({
    apiKey: process.env.TENZRO_API_KEY!,
    tenantId: process.env.TENZRO_TENANT_ID!,
  });
  // Create a multi-party session
  const session = await platform.ai.createMultiPartySession({
    name: 'Q4 Risk Analysis',
    description: 'Cross-bank transaction risk assessment',
    modelId: 'risk-analyzer-v2',
    // Participants who will contribute data
    participants: [
      'party::bankA::treasury',
      'party::bankB::treasury',
      'party::bankC::treasury',
    ],
    // Observers who can see results but don't contribute data
    observers: [
      'party::regulator::compliance',
    ],
    // Data policy configuration
    dataPolicy: {
      // Minimum participants required to run inference
      minParticipants: 2,
      // How data is combined
      aggregationMethod: 'federated', // 'federated' | 'secure_aggregation' | 'mpc'
      // Security requirements
      encryptionRequired: true,
      attestationRequired: true,
      // Data retention
      retentionPolicy: 'delete_after_inference',
    },
    // Session expiry
    expiresAt: new Date(Date.now() + 24 * 60 * 60 * 1000), // 24 hours
  });
  console.log('Session ID:', session.id);
  console.log('Status:', session.status);
  console.log('Join Code:', session.joinCode);
  return session;
}

// ── Example "Contributing Data" (free variables: platform, session, myTransactionData) ──
async function contributingData(platform: TenzroPlatform, session: { id: string }, myTransactionData: unknown[]) {
  // Get session encryption key
  const sessionKey = await platform.ai.getSessionKey(session.id);
  // Encrypt your data locally (client-side)
  const encryptedData = await encryptWithSessionKey(
    JSON.stringify(myTransactionData),
    sessionKey.publicKey
  );
  // Submit encrypted data
  await platform.ai.submitSessionData({
    sessionId: session.id,
    data: encryptedData,
    dataSchema: 'transaction_records_v1',
    commitment: await hashCommitment(myTransactionData), // For verification
  });
  console.log('Data submitted successfully');
}

// ── Example "Consent Management" (free variables: platform, session, myPrivateKey) ──
async function consentManagement(platform: TenzroPlatform, session: { id: string }, myPrivateKey: string) {
  // Each participant must consent to the inference
  await platform.ai.submitSessionConsent({
    sessionId: session.id,
    consent: {
      dataUsage: true, // Allow data to be used
      resultSharing: true, // Allow results to be shared with other participants
      attestationSharing: true, // Allow TEE attestation to be shared
      retentionAcknowledged: true,
    },
    signature: await signConsent(session.id, myPrivateKey),
  });
  // Check consent status
  const status = await platform.ai.getSessionStatus(session.id);
  console.log('Consented participants:', status.consentedParticipants);
  console.log('Pending consent:', status.pendingConsent);
  return status;
}

// ── Example "Running Inference" (free variables: platform, session) ──
async function runningInference(platform: TenzroPlatform, session: { id: string }) {
  // Once all participants have submitted data and consent, run inference
  const result = await platform.ai.runMultiPartyInference({
    sessionId: session.id,
    prompt: 'Analyze combined transaction patterns for anomalies',
    parameters: {
      maxTokens: 2048,
      temperature: 0.3,
    },
  });
  console.log('Result:', result.content);
  console.log('TEE Attestation:', result.teeAttestation);
  console.log('Participant Count:', result.participantCount);
  console.log('Data Hash:', result.aggregatedDataHash);
  // Each participant receives the same result
  // but cannot see each other's raw data
  return result;
}

// ── Example "Session Lifecycle" (free variables: platform, sessionId) ──
async function sessionLifecycle(platform: TenzroPlatform, sessionId: string) {
  // Monitor session status
  const session = await platform.ai.getMultiPartySession(sessionId);
  console.log('Status:', session.status);
  console.log('Participants:', session.participants);
  console.log('Data submitted:', session.dataSubmittedBy);
  console.log('Consent from:', session.consentedBy);
  return session;
}

describe("the product doc's examples against a real server and enclave", () => {
  let server: PlatformProcess;
  let parties: Record<string, DevParty>;
  const platformOf = (party: DevParty): TenzroPlatform => {
    actAs(server, party);
    return new TenzroPlatform({ apiKey: process.env.TENZRO_API_KEY!, tenantId: process.env.TENZRO_TENANT_ID! });
  };

  beforeAll(async () => {
    server = await PlatformProcess.start();
    parties = Object.fromEntries(server.credentials().parties.map((p) => [p.tenantId, p]));
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('runs the whole flow; all four parties get the same content', async () => {
    actAs(server, parties.bankA!);
    const session = await creatingASession();
    expect(session.id).toMatch(/^mps_[a-z2-7]{26}$/);
    expect(session.status).toBe('created');
    expect(session.joinCode).toMatch(/^[A-Z2-7]{4}-[A-Z2-7]{4}$/);

    const { partitions } = generateDemoData({ banks: BANKS, recordsPerBank: 400, seed: 7 });
    for (const bank of BANKS) {
      const party = parties[bank]!;
      const platform = platformOf(party);
      await contributingData(platform, session, partitions[bank]!);
      const status = await consentManagement(platform, session, party.signingKey.privateKey);
      expect(status.consentedParticipants).toContain(party.partyId);
    }

    const lifecycleBefore = await sessionLifecycle(platformOf(parties.bankB!), session.id);
    expect(lifecycleBefore.status).toBe('ready');
    expect([...lifecycleBefore.dataSubmittedBy].sort()).toEqual(BANKS.map((b) => `party::${b}::treasury`));
    expect([...lifecycleBefore.consentedBy].sort()).toEqual(BANKS.map((b) => `party::${b}::treasury`));

    const result = await runningInference(platformOf(parties.bankA!), session);
    expect(result.participantCount).toBe(3);
    expect(result.aggregatedDataHash).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(result.teeAttestation.verified).toBe(true);
    expect(result.teeAttestation.measurement).toBe(server.credentials().attestation.measurement);
    expect(result.content.length).toBeGreaterThan(50);

    const contents = new Set<string>([result.content]);
    for (const tenant of ['bankB', 'bankC', 'regulator']) {
      const other = await platformOf(parties[tenant]!).ai.getSessionResult(session.id);
      contents.add(other.content);
      expect(other.resultHash).toBe(result.resultHash);
      if (tenant === 'regulator') expect(other.privateFindings).toBeUndefined();
      else expect(other.privateFindings?.flagged).toBeDefined();
    }
    expect(contents.size).toBe(1);

    const lifecycleAfter = await sessionLifecycle(platformOf(parties.regulator!), session.id);
    expect(lifecycleAfter.status).toBe('completed');
    // The host reports where the enclave spent the run's time (it sees timing anyway), nothing more.
    const finalStatus = await platformOf(parties.bankA!).ai.getSessionStatus(session.id);
    expect(finalStatus.lastRun?.status).toBe('completed');
    expect(Object.keys(finalStatus.lastRun?.timings ?? {}).sort()).toEqual(['decryptVerifyMs', 'reportMs', 'trainMs']);
  });
});
