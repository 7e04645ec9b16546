/**
 * `tenzro demo`: the product doc's scenario against a running server — three banks contribute transaction
 * records, a regulator observes, every party gets the same attested result. Prints the result, the
 * attestation verification, and recall/precision on the demo data's planted patterns, siloed and joint.
 */
import { evaluateDetection, generateDemoData, getModel, seededRng } from '@tenzro/models';
import { FileAuditStore, TenzroPlatform, encryptWithSessionKey, hashCommitment, signConsent, type InferenceResult } from '@tenzro/platform';
import { partyOf, readDevCredentials, type DevParty } from '../credentials.js';
import { defaultAuditStorePath } from './audit.js';
import { measure } from './measure.js';

const BANKS = ['bankA', 'bankB', 'bankC'] as const;
const REGULATOR = 'party::regulator::compliance';

export interface DemoOptions {
  records: number;
  seed: number;
  baseUrl?: string;
  credentials?: string;
}

function step(message: string): void {
  console.log(`• ${message}`);
}

interface Trust {
  rootPem: string;
  /** Computed from this checkout by `tenzro measure`, not taken from the host. */
  measurement: string;
}

function platformFor(party: DevParty, baseUrl: string, trust: Trust): TenzroPlatform {
  return new TenzroPlatform({
    apiKey: party.apiKey,
    tenantId: party.tenantId,
    baseUrl,
    party: { partyId: party.partyId, signingKey: party.signingKey, encryptionKey: party.encryptionKey },
    trustedRoots: [trust.rootPem],
    expectedMeasurements: [trust.measurement],
    // The same client store `tenzro audit verify` reads: it remembers each party's own commitment and the
    // last tree head seen, so a later verification can check inclusion and consistency.
    auditStore: new FileAuditStore(defaultAuditStorePath()),
  });
}

export async function demo(options: DemoOptions): Promise<void> {
  const credentials = readDevCredentials(options.credentials);
  const baseUrl = options.baseUrl ?? process.env.TENZRO_BASE_URL ?? credentials.baseUrl;
  const measurement = measure();
  const trust: Trust = { rootPem: credentials.attestation.rootPem, measurement };
  step(`expected enclave measurement (tenzro measure): ${measurement.slice(0, 24)}…`);
  const banks = BANKS.map((tenant) => partyOf(credentials, `party::${tenant}::treasury`));
  const regulator = partyOf(credentials, REGULATOR);

  step(`generating ${options.records} transactions per bank (seed ${options.seed}) with planted patterns`);
  const { partitions, truth } = generateDemoData({ banks: [...BANKS], recordsPerBank: options.records, seed: options.seed });

  const creator = platformFor(banks[0]!, baseUrl, trust);
  const session = await creator.ai.createMultiPartySession({
    name: 'Q4 Risk Analysis',
    description: 'Cross-bank transaction risk assessment',
    modelId: 'risk-analyzer-v2',
    participants: banks.map((b) => b.partyId),
    observers: [REGULATOR],
    dataPolicy: {
      minParticipants: 2,
      aggregationMethod: 'federated',
      encryptionRequired: true,
      attestationRequired: true,
      retentionPolicy: 'delete_after_inference',
    },
    expiresAt: new Date(Date.now() + 24 * 60 * 60 * 1000),
  });
  step(`session ${session.id} created (join code ${session.joinCode}, status ${session.status})`);

  for (const bank of banks) {
    const platform = platformFor(bank, baseUrl, trust);
    const sessionKey = await platform.ai.getSessionKey(session.id);
    const records = partitions[bank.tenantId]!;
    const encryptedData = await encryptWithSessionKey(JSON.stringify(records), sessionKey.publicKey);
    await platform.ai.submitSessionData({
      sessionId: session.id,
      data: encryptedData,
      dataSchema: 'transaction_records_v1',
      commitment: await hashCommitment(records),
    });
    await platform.ai.submitSessionConsent({
      sessionId: session.id,
      consent: { dataUsage: true, resultSharing: true, attestationSharing: true, retentionAcknowledged: true },
      signature: await signConsent(session.id, bank.signingKey.privateKey),
    });
    step(`${bank.partyId}: key attested (${sessionKey.verified.provider}), ${records.length} records encrypted, submitted, consented`);
  }

  const status = await creator.ai.getSessionStatus(session.id);
  step(`status ${status.status}; consented: ${status.consentedParticipants.join(', ')}`);

  const started = Date.now();
  const result = await creator.ai.runMultiPartyInference({
    sessionId: session.id,
    prompt: 'Analyze combined transaction patterns for anomalies',
    parameters: { maxTokens: 2048, temperature: 0.3 },
  });
  step(`inference completed in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const results = new Map<string, InferenceResult>([[banks[0]!.partyId, result]]);
  for (const party of [...banks.slice(1), regulator]) {
    results.set(party.partyId, await platformFor(party, baseUrl, trust).ai.getSessionResult(session.id));
  }
  const sameContent = [...results.values()].every((r) => r.content === result.content && r.resultHash === result.resultHash);

  console.log('\n── Result (shared with every party) ──');
  console.log(result.content);
  console.log('\n── Attestation ──');
  console.log(`provider ${result.teeAttestation.provider} (${result.teeAttestation.moduleId})`);
  console.log(`measurement ${result.teeAttestation.measurement}`);
  const measurementMatches = result.teeAttestation.measurement === measurement;
  console.log(`expected    ${measurement} → ${measurementMatches ? 'match' : 'MISMATCH'} (tenzro measure of this checkout)`);
  console.log(`report attestation verified: ${result.teeAttestation.verified}; participants ${result.participantCount}`);
  console.log(`aggregatedDataHash ${result.aggregatedDataHash}`);
  console.log(`all ${results.size} parties received the same result: ${sameContent ? 'yes' : 'NO'}`);

  const jointFlags = banks.flatMap((bank) => results.get(bank.partyId)?.privateFindings?.flagged ?? []);
  const model = getModel('risk-analyzer-v2')!;
  const federated = { localEpochs: 5, aggregationRounds: 10, differentialPrivacy: { enabled: true, epsilon: 1, delta: 1e-5 } };
  const siloedFlags = [];
  for (const bank of banks) {
    // Each bank may run the model on its own data alone: that is the baseline multi-party analysis beats.
    const own = await model.run({
      method: 'federated',
      partitions: [{ partyId: bank.partyId, records: partitions[bank.tenantId]! }],
      federated,
      prompt: 'siloed baseline',
      parameters: {},
      rng: seededRng(options.seed),
    });
    siloedFlags.push(...(own.privateFindings[bank.partyId]?.flagged ?? []));
  }
  const evaluation = evaluateDetection({ joint: jointFlags, siloed: siloedFlags }, truth);
  console.log('\n── Detection on the planted patterns ──');
  console.log(`joint   recall ${evaluation.joint.recall.toFixed(3)}  precision ${evaluation.joint.precision.toFixed(3)}`);
  console.log(`siloed  recall ${evaluation.siloed.recall.toFixed(3)}  precision ${evaluation.siloed.precision.toFixed(3)}`);
  console.log(`\nverify the evidence: npm run tenzro -- audit verify ${session.id} --party ${banks[1]!.partyId}`);
  if (!sameContent || !measurementMatches || result.teeAttestation.verified !== true) process.exitCode = 1;
}
