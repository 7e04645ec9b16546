/**
 * `tenzro demo`: the product doc's scenario against a running server — three banks contribute transaction
 * records, a regulator observes, every party gets the same attested result. Prints the result, the
 * attestation verification, and recall/precision on the demo data's planted patterns, siloed and joint.
 *
 * `--method secure_aggregation`: the same banks, but no record leaves a bank. Each bank (a separate
 * organisation, so they run concurrently) contributes with `platform.ai.contribute`: its SDK computes the
 * model's statistics locally, adds its share of the Skellam noise (`--no-noise` turns it off), masks them
 * with the others (stages 0–2); after consent one bank starts the run while every bank's `participate`
 * answers the unmask request (stage 3). Prints the result, the privacy statement and what the model could
 * and could not analyse from sums alone.
 *
 * `--method mpc`: the product doc's mpc configuration (Shamir secret sharing, threshold 3 of 5 compute
 * nodes, which the development server starts). Each bank's SDK verifies every node's fresh attestation
 * (the node measurement computed from this checkout), Shamir-shares its records' statistic vector and
 * seals one share to each node; after consent one bank runs the inference: the nodes compute on shares and
 * the enclave reconstructs only the program's declared pooled outputs. Prints the result, the attestation
 * and audit-trail verification, and what the model could and could not analyse under mpc.
 */
import { SECURE_AGGREGATION_CAPABILITIES, aggregateLayoutOf, evaluateDetection, generateDemoData, getModel, seededRng } from '@tenzro/models';
import { riskAnalyzerOutputErrorBound } from '@tenzro/protocol';
import {
  FileAuditStore,
  TenzroPlatform,
  encryptWithSessionKey,
  hashCommitment,
  signConsent,
  type Contribution,
  type InferenceResult,
  type MultiPartySession,
  type SecAggStateStore,
} from '@tenzro/platform';
import { credentialsPath, partyOf, readDevCredentials, type DevParty } from '../credentials.js';
import { FileSecAggStateStore } from '../secagg-store.js';
import { defaultAuditStorePath } from './audit.js';
import { defaultSecAggStateDir } from './agent.js';
import { measure, measureMpcNode } from './measure.js';

const BANKS = ['bankA', 'bankB', 'bankC'] as const;
const REGULATOR = 'party::regulator::compliance';

export type DemoMethod = 'federated' | 'secure_aggregation' | 'mpc';
export const DEMO_METHODS: readonly DemoMethod[] = ['federated', 'secure_aggregation', 'mpc'];

/** The product doc's mpc configuration. */
export const DEMO_MPC_CONFIG = Object.freeze({ protocol: 'shamir_secret_sharing' as const, threshold: 3, totalParties: 5 });

export interface DemoOptions {
  records: number;
  seed: number;
  baseUrl?: string;
  credentials?: string;
  /** Default 'federated'. */
  method?: DemoMethod;
  /** secure_aggregation: add Skellam noise (noiseAddition; default true, as in the product doc). */
  noise?: boolean;
  /** secure_aggregation: the client state directory (default: the one `tenzro agent` uses). */
  stateDir?: string;
}

function step(message: string): void {
  console.log(`• ${message}`);
}

interface Trust {
  rootPem: string;
  /** Computed from this checkout by `tenzro measure`, not taken from the host. */
  measurement: string;
  /** mpc: the compute nodes' measurement, computed from this checkout (`tenzro mpc-node measure`). */
  mpcNodeMeasurement?: string;
}

function platformFor(party: DevParty, baseUrl: string, trust: Trust, secAggStateStore?: SecAggStateStore): TenzroPlatform {
  return new TenzroPlatform({
    ...(secAggStateStore ? { secAggStateStore } : {}),
    ...(trust.mpcNodeMeasurement ? { expectedMpcNodeMeasurements: [trust.mpcNodeMeasurement] } : {}),
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
  const method = options.method ?? 'federated';
  if (!DEMO_METHODS.includes(method)) throw new RangeError(`--method must be one of ${DEMO_METHODS.join(', ')}`);
  if (method === 'secure_aggregation') return secureAggregationDemo(options);
  if (method === 'mpc') return mpcDemo(options);
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

/** The secure_aggregation scenario (see the module header). */
/**
 * The secure_aggregation and mpc demos' common ending: every other party fetches the result, then the
 * shared content and the attestation are printed. Returns what decides the exit code.
 */
async function printAggregateResult(
  result: InferenceResult,
  sessionId: string,
  banks: readonly DevParty[],
  regulator: DevParty,
  baseUrl: string,
  trust: Trust,
  measurement: string,
): Promise<{ sameContent: boolean; anyPrivate: boolean; measurementMatches: boolean }> {
  const results = new Map<string, InferenceResult>([[banks[0]!.partyId, result]]);
  for (const party of [...banks.slice(1), regulator]) {
    results.set(party.partyId, await platformFor(party, baseUrl, trust).ai.getSessionResult(sessionId));
  }
  const sameContent = [...results.values()].every((r) => r.content === result.content && r.resultHash === result.resultHash);
  const anyPrivate = [...results.values()].some((r) => (r.privateFindings?.flagged.length ?? 0) > 0);

  console.log('\n── Result (shared with every party) ──');
  console.log(result.content);
  console.log('\n── Attestation ──');
  console.log(`provider ${result.teeAttestation.provider} (${result.teeAttestation.moduleId})`);
  const measurementMatches = result.teeAttestation.measurement === measurement;
  console.log(`measurement ${result.teeAttestation.measurement} → ${measurementMatches ? 'match' : 'MISMATCH'} (tenzro measure of this checkout)`);
  console.log(`report attestation verified: ${result.teeAttestation.verified}; participants ${result.participantCount}`);
  console.log(`aggregatedDataHash ${result.aggregatedDataHash}`);
  console.log(`all ${results.size} parties received the same result: ${sameContent ? 'yes' : 'NO'}`);
  return { sameContent, anyPrivate, measurementMatches };
}

async function secureAggregationDemo(options: DemoOptions): Promise<void> {
  const credentialsFile = options.credentials ?? credentialsPath();
  const credentials = readDevCredentials(credentialsFile);
  const baseUrl = options.baseUrl ?? process.env.TENZRO_BASE_URL ?? credentials.baseUrl;
  const measurement = measure();
  const trust: Trust = { rootPem: credentials.attestation.rootPem, measurement };
  const noise = options.noise ?? true;
  const stateDir = options.stateDir ?? defaultSecAggStateDir(credentialsFile);
  const store = new FileSecAggStateStore(stateDir);
  step(`expected enclave measurement (tenzro measure): ${measurement.slice(0, 24)}…`);
  const banks = BANKS.map((tenant) => partyOf(credentials, `party::${tenant}::treasury`));
  const regulator = partyOf(credentials, REGULATOR);
  // Each bank is its own organisation with its own SDK; they share this machine's state directory only
  // because the demo runs them all here (records are keyed by session and party).
  const platforms = banks.map((bank) => platformFor(bank, baseUrl, trust, store));

  step(`generating ${options.records} transactions per bank (seed ${options.seed}) with planted patterns`);
  const { partitions } = generateDemoData({ banks: [...BANKS], recordsPerBank: options.records, seed: options.seed });

  const session: MultiPartySession = await platforms[0]!.ai.createMultiPartySession({
    name: 'Q4 Risk Analysis',
    description: 'Cross-bank transaction risk assessment (secure aggregation)',
    modelId: 'risk-analyzer-v2',
    participants: banks.map((b) => b.partyId),
    observers: [REGULATOR],
    dataPolicy: {
      minParticipants: 2,
      aggregationMethod: 'secure_aggregation',
      secureAggConfig: { threshold: 2, noiseAddition: noise },
      encryptionRequired: true,
      attestationRequired: true,
      retentionPolicy: 'delete_after_inference',
    },
    expiresAt: new Date(Date.now() + 24 * 60 * 60 * 1000),
  });
  const secure = session.terms.dataPolicy.secureAggConfig!;
  const dp = secure.differentialPrivacy;
  step(`session ${session.id} created: secure aggregation, threshold ${secure.threshold} of ${banks.length}, ` +
    (dp ? `Skellam noise for (ε = ${dp.epsilon}, δ = ${dp.delta})` : 'no noise'));
  step(`client state kept in ${stateDir} (\`tenzro agent\` can answer for these banks from there; each record is locked while in use)`);

  step('the banks contribute concurrently: statistics computed locally, noise share added, masked (stages 0–2)');
  const started = Date.now();
  const receipts: Contribution[] = await Promise.all(
    banks.map((bank, i) =>
      platforms[i]!.ai.contribute({ sessionId: session.id, data: partitions[bank.tenantId]!, dataSchema: 'transaction_records_v1' }),
    ),
  );
  banks.forEach((bank, i) => {
    const info = receipts[i]!.secagg!;
    const noiseText = info.noiseVariance === null ? 'no noise' : `noise share variance ${info.noiseVariance.toFixed(1)} = μ/(threshold − 1)`;
    step(`${bank.partyId}: ${partitions[bank.tenantId]!.length} records → ${info.vectorLength} masked ring elements (${noiseText}); masked with ${info.sharedKeys.length - 1} other banks`);
  });
  step(`masking rounds done in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  for (const [i, bank] of banks.entries()) {
    await platforms[i]!.ai.consent(session.id);
    step(`${bank.partyId}: consent signed`);
  }

  // One bank runs the inference; every bank answers the unmask request of the run (stage 3).
  const participations = banks.map((bank, i) =>
    platforms[i]!.ai.participate(session.id, {
      onEvent: (event) => {
        if (event.kind === 'answered') step(`${bank.partyId}: answered the unmask request of run ${event.runId}`);
      },
    }),
  );
  participations.forEach((p) => p.catch(() => undefined));
  const runStarted = Date.now();
  const result = await platforms[0]!.ai.runMultiPartyInference({
    sessionId: session.id,
    prompt: 'Analyze combined transaction patterns for anomalies',
    parameters: { maxTokens: 2048, temperature: 0.3 },
  });
  step(`inference completed in ${((Date.now() - runStarted) / 1000).toFixed(1)} s`);
  const outcomes = await Promise.all(participations);
  step(`participation: ${banks.map((b, i) => `${b.tenantId} ${outcomes[i]!.status}`).join(', ')}`);
  const leftover = (await store.keys()).filter((key) => key.startsWith(`secagg/${session.id}/`));
  step(`client state of the session ${leftover.length === 0 ? 'deleted from' : `still in (${leftover.length} records)`} ${stateDir}`);

  const { sameContent, anyPrivate, measurementMatches } = await printAggregateResult(result, session.id, banks, regulator, baseUrl, trust, measurement);

  console.log('\n── Privacy ──');
  console.log('the enclave saw only masked vectors (uniform on Z_2^32) and their sum: no record, no bank\'s own statistics');
  const privacy = result.findings.privacy as Record<string, unknown> | undefined;
  if (privacy && privacy.mechanism === 'skellam') {
    console.log(
      `sum noised with Skellam variance ${Number(privacy.variance).toFixed(1)} from ${String(privacy.survivors)} banks (threshold ${String(privacy.threshold)}): ` +
        `(ε = ${Number(privacy.epsilon).toFixed(3)}, δ = ${String(privacy.delta)})-DP per record (RDP order ${String(privacy.order)})`,
    );
  } else if (privacy) {
    console.log(`noise: ${String(privacy.mechanism)} — the sum is exact; secure aggregation hides each bank's vector, not what the sum reveals`);
  } else {
    console.log('the result states no privacy mechanism');
  }
  console.log(`per-transaction findings sent to any party: ${anyPrivate ? 'YES (unexpected)' : 'none'}`);

  const layout = aggregateLayoutOf('risk-analyzer-v2');
  console.log(`\n── What the model could analyse (from ${layout ? `${layout.statisticCount} summed statistics, layout ${layout.id}` : 'summed statistics'}) ──`);
  for (const line of SECURE_AGGREGATION_CAPABILITIES.analysed) console.log(`  + ${line}`);
  console.log('── What it could not (needs record-level data: use federated) ──');
  for (const line of SECURE_AGGREGATION_CAPABILITIES.requiresRecordLevelData) console.log(`  - ${line}`);
  console.log(`\nverify the evidence: npm run tenzro -- audit verify ${session.id} --party ${banks[1]!.partyId}`);
  const allCompleted = outcomes.every((o) => o.status === 'completed');
  if (!sameContent || !measurementMatches || result.teeAttestation.verified !== true || anyPrivate || !allCompleted) process.exitCode = 1;
}

/** The mpc scenario (see the module header): 3 banks, 5 compute nodes, threshold 3. */
async function mpcDemo(options: DemoOptions): Promise<void> {
  const credentials = readDevCredentials(options.credentials);
  const baseUrl = options.baseUrl ?? process.env.TENZRO_BASE_URL ?? credentials.baseUrl;
  const measurement = measure();
  const mpcNodeMeasurement = measureMpcNode();
  const trust: Trust = { rootPem: credentials.attestation.rootPem, measurement, mpcNodeMeasurement };
  step(`expected enclave measurement (tenzro measure): ${measurement.slice(0, 24)}…`);
  step(`expected compute-node measurement (tenzro mpc-node measure): ${mpcNodeMeasurement.slice(0, 24)}…`);
  const banks = BANKS.map((tenant) => partyOf(credentials, `party::${tenant}::treasury`));
  const regulator = partyOf(credentials, REGULATOR);
  const platforms = banks.map((bank) => platformFor(bank, baseUrl, trust));

  step(`generating ${options.records} transactions per bank (seed ${options.seed}) with planted patterns`);
  const { partitions } = generateDemoData({ banks: [...BANKS], recordsPerBank: options.records, seed: options.seed });

  const session: MultiPartySession = await platforms[0]!.ai.createMultiPartySession({
    name: 'Q4 Risk Analysis',
    description: 'Cross-bank transaction risk assessment (multi-party computation)',
    modelId: 'risk-analyzer-v2',
    participants: banks.map((b) => b.partyId),
    observers: [REGULATOR],
    dataPolicy: {
      minParticipants: 2,
      aggregationMethod: 'mpc',
      mpcConfig: { ...DEMO_MPC_CONFIG },
      encryptionRequired: true,
      attestationRequired: true,
      retentionPolicy: 'delete_after_inference',
    },
    expiresAt: new Date(Date.now() + 24 * 60 * 60 * 1000),
  });
  const mpc = session.terms.dataPolicy.mpcConfig!;
  step(`session ${session.id} created: mpc (${mpc.protocol}), threshold ${mpc.threshold} of ${mpc.totalParties} compute nodes`);

  const started = Date.now();
  for (const [i, bank] of banks.entries()) {
    const receipt = await platforms[i]!.ai.contribute({ sessionId: session.id, data: partitions[bank.tenantId]!, dataSchema: 'transaction_records_v1' });
    step(
      `${bank.partyId}: ${receipt.mpc!.nodes} node attestations verified; ${partitions[bank.tenantId]!.length} records → statistic vector ` +
        `Shamir-shared (${receipt.mpc!.threshold} of ${receipt.mpc!.nodes}), one share sealed to each node; commitment ${receipt.commitment.slice(0, 23)}…`,
    );
    await platforms[i]!.ai.consent(session.id);
    step(`${bank.partyId}: consent signed`);
  }
  step(`contributions done in ${((Date.now() - started) / 1000).toFixed(1)} s`);

  const runStarted = Date.now();
  const result = await platforms[0]!.ai.runMultiPartyInference({
    sessionId: session.id,
    prompt: 'Analyze combined transaction patterns for anomalies',
    parameters: { maxTokens: 2048, temperature: 0.3 },
  });
  step(`inference completed in ${((Date.now() - runStarted) / 1000).toFixed(1)} s (nodes computed on shares; the enclave reconstructed the declared outputs)`);

  const { sameContent, anyPrivate, measurementMatches } = await printAggregateResult(result, session.id, banks, regulator, baseUrl, trust, measurement);

  const findings = result.findings as Record<string, any>;
  const nodes = findings.computeNodes as { total?: number; threshold?: number; used?: number[] } | undefined;
  console.log('\n── Multi-party computation ──');
  if (nodes) console.log(`compute nodes: ${nodes.total} (threshold ${nodes.threshold}); output shares reconstructed from nodes ${(nodes.used ?? []).join(', ')}`);
  const fixedPoint = findings.fixedPoint as { statement?: string } | undefined;
  console.log(fixedPoint?.statement ?? `fixed-point error bound: ${riskAnalyzerOutputErrorBound(mpc.threshold)} units of 2^-8 per output`);
  console.log(`per-transaction findings sent to any party: ${anyPrivate ? 'YES (unexpected)' : 'none'}`);
  const capabilities = findings.capabilities as { analysed?: string[]; notPossibleUnderMpc?: string[] } | undefined;
  console.log('── What the model could analyse (the program\'s declared pooled outputs) ──');
  for (const line of capabilities?.analysed ?? []) console.log(`  + ${line}`);
  console.log('── What it could not under mpc ──');
  for (const line of capabilities?.notPossibleUnderMpc ?? []) console.log(`  - ${line}`);

  // The audit trail, as one bank verifies it (inclusion of its own commitment, the signed tree heads).
  const verdict = await platforms[1]!.audit.verifySession(session.id);
  console.log('\n── Audit trail ──');
  console.log(`verified as ${banks[1]!.partyId}: ${verdict.firstFailure === null ? 'every check passed' : `FAILED at ${verdict.firstFailure.check}: ${verdict.firstFailure.detail}`}`);
  console.log(`\nverify the evidence: npm run tenzro -- audit verify ${session.id} --party ${banks[1]!.partyId}`);
  if (!sameContent || !measurementMatches || result.teeAttestation.verified !== true || anyPrivate || verdict.firstFailure !== null) process.exitCode = 1;
}
