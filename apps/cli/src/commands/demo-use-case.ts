/**
 * `tenzro demo --use-case <name> [--method federated|secure_aggregation|mpc]`: one use-case model
 * (docs/use-case-models.md) end to end against a running server. The model's demo generator plants a
 * ground truth in three organisations' data; each organisation contributes through its own SDK
 * (`platform.ai.contribute`: encrypted records under federated, masked statistics under
 * secure_aggregation, Shamir shares to the attested compute nodes under mpc), consents, and one of them
 * runs the inference. Every party (and the observer, if the use case has one) gets the same attested
 * result; the printout compares the findings with the planted truth.
 *
 * Noise is off unless `--dp` is given (federated: DP with ε = 1, δ = 1e-5 on the summed statistics;
 * secure_aggregation: the parties' Skellam noise), so the exact figures can be compared with the truth.
 */
import { writeFile } from 'node:fs/promises';
import { USE_CASE_SPECS, type UseCaseName } from '@tenzro/models';
import { TenzroPlatform, type InferenceResult, type MultiPartySession } from '@tenzro/platform';
import { credentialsPath, partyOf, readDevCredentials, type DevParty } from '../credentials.js';
import { FileSecAggStateStore } from '../secagg-store.js';
import { defaultSecAggStateDir } from './agent.js';
import { measure, measureMpcNode } from './measure.js';

export type UseCaseMethod = 'federated' | 'secure_aggregation' | 'mpc';

type DataPolicyInput = NonNullable<Parameters<TenzroPlatform['ai']['createMultiPartySession']>[0]['dataPolicy']>;

export interface UseCaseDemoOptions {
  useCase: Exclude<UseCaseName, 'risk-analysis'>;
  method: UseCaseMethod;
  /** Records per organisation (default: the generator's). */
  records?: number;
  seed: number;
  baseUrl?: string;
  credentials?: string;
  /** Add differential-privacy noise (default false: exact figures). */
  dp?: boolean;
  stateDir?: string;
  /** Write the outcome (figures, recovered, checks) as JSON to this file. */
  json?: string;
}

/** Who plays which role in each use case's demo (development tenants, packages/server bootstrap.ts). */
const CAST: Record<UseCaseDemoOptions['useCase'], { participants: string[]; observers: string[]; label: string }> = {
  'supply-chain': {
    participants: ['party::vendorA::planning', 'party::vendorB::planning', 'party::vendorC::planning'],
    observers: [],
    label: 'Supply-chain allocation',
  },
  'healthcare-research': {
    participants: ['party::hospitalA::research', 'party::hospitalB::research', 'party::hospitalC::research'],
    observers: [],
    label: 'Pooled treatment-outcome study',
  },
  compliance: {
    participants: ['party::bankA::treasury', 'party::bankB::treasury', 'party::bankC::treasury'],
    observers: ['party::regulator::compliance'],
    label: 'Consortium rule check',
  },
};

const MPC_CONFIG = Object.freeze({ protocol: 'shamir_secret_sharing' as const, threshold: 3, totalParties: 5 });

function step(message: string): void {
  console.log(`• ${message}`);
}

/** The organisation id the demo generator uses for a party: its tenant (e.g. `vendorA`). */
function organisationOf(party: DevParty): string {
  return party.tenantId;
}

export interface UseCaseDemoOutcome {
  useCase: string;
  method: UseCaseMethod;
  sessionId: string;
  modelId: string;
  recovered: boolean;
  figures: Record<string, number | string | boolean>;
  sameResultForAll: boolean;
  measurementMatches: boolean;
  attestationVerified: boolean;
  recipients: number;
  /** `findings.privacy.mechanism` of the shared result (e.g. 'gaussian', 'skellam', 'none'). */
  privacyMechanism: string | null;
  content: string;
}

function privacyMechanismOf(findings: Record<string, unknown>): string | null {
  const privacy = findings.privacy;
  if (typeof privacy !== 'object' || privacy === null) return null;
  const mechanism = (privacy as Record<string, unknown>).mechanism;
  return typeof mechanism === 'string' ? mechanism : null;
}

export async function useCaseDemo(options: UseCaseDemoOptions): Promise<UseCaseDemoOutcome> {
  const spec = USE_CASE_SPECS.find((s) => s.useCase === options.useCase);
  if (!spec) throw new RangeError(`unknown use case ${options.useCase}`);
  const cast = CAST[options.useCase];
  const credentialsFile = options.credentials ?? credentialsPath();
  const credentials = readDevCredentials(credentialsFile);
  const baseUrl = options.baseUrl ?? process.env.TENZRO_BASE_URL ?? credentials.baseUrl;
  const measurement = measure();
  const mpcNodeMeasurement = options.method === 'mpc' ? measureMpcNode() : undefined;
  step(`expected enclave measurement (tenzro measure): ${measurement.slice(0, 24)}…`);
  const store = new FileSecAggStateStore(options.stateDir ?? defaultSecAggStateDir(credentialsFile));
  const platformFor = (party: DevParty): TenzroPlatform =>
    new TenzroPlatform({
      apiKey: party.apiKey,
      tenantId: party.tenantId,
      baseUrl,
      party: { partyId: party.partyId, signingKey: party.signingKey, encryptionKey: party.encryptionKey },
      trustedRoots: [credentials.attestation.rootPem],
      expectedMeasurements: [measurement],
      ...(mpcNodeMeasurement ? { expectedMpcNodeMeasurements: [mpcNodeMeasurement] } : {}),
      secAggStateStore: store,
    });
  const parties = cast.participants.map((id) => partyOf(credentials, id));
  const observers = cast.observers.map((id) => partyOf(credentials, id));
  const platforms = parties.map(platformFor);

  const demo = spec.generateDemo({
    parties: parties.map(organisationOf),
    seed: options.seed,
    ...(options.records === undefined ? {} : { recordsPerParty: options.records }),
  });
  const recordsOf = (party: DevParty): unknown[] => demo.partitions.find((p) => p.partyId === organisationOf(party))!.records;
  step(`${spec.id}: generated ${parties.map((p) => `${recordsOf(p).length} records for ${organisationOf(p)}`).join(', ')} (seed ${options.seed}), with a planted ground truth`);

  const dataPolicy: DataPolicyInput = {
    // three: with two, each party could subtract its own statistics from an exact sum and learn the other's
    minParticipants: 3,
    aggregationMethod: options.method,
    encryptionRequired: true,
    attestationRequired: true,
    retentionPolicy: 'delete_after_inference',
  };
  if (options.method === 'federated') {
    dataPolicy.federatedConfig = { differentialPrivacy: { enabled: options.dp === true, epsilon: 1, delta: 1e-5 } };
  } else if (options.method === 'secure_aggregation') {
    dataPolicy.secureAggConfig = { threshold: 2, noiseAddition: options.dp === true };
  } else {
    dataPolicy.mpcConfig = { ...MPC_CONFIG };
  }
  const session: MultiPartySession = await platforms[0]!.ai.createMultiPartySession({
    name: cast.label,
    description: `${spec.id} demo (${options.method})`,
    modelId: spec.id,
    participants: parties.map((p) => p.partyId),
    observers: observers.map((o) => o.partyId),
    dataPolicy,
    expiresAt: new Date(Date.now() + 24 * 60 * 60 * 1000),
  });
  step(`session ${session.id} created: ${options.method}, model ${spec.id} (${session.terms.modelDigest.slice(0, 19)}…)`);

  // Under secure_aggregation the organisations contribute concurrently (the masking rounds need them all).
  const contributeOne = async (i: number): Promise<void> => {
    const party = parties[i]!;
    const receipt = await platforms[i]!.ai.contribute({ sessionId: session.id, data: recordsOf(party), dataSchema: spec.schema.id });
    const how = receipt.mpc ? `statistics Shamir-shared to ${receipt.mpc.nodes} attested nodes` : receipt.secagg ? `statistics masked (${receipt.secagg.vectorLength} ring elements)` : 'records sealed to the attested session key';
    step(`${party.partyId}: ${recordsOf(party).length} records → ${how}`);
    await platforms[i]!.ai.consent(session.id);
  };
  if (options.method === 'secure_aggregation') await Promise.all(parties.map((_, i) => contributeOne(i)));
  else for (let i = 0; i < parties.length; i++) await contributeOne(i);

  const participations =
    options.method === 'secure_aggregation' ? parties.map((_, i) => platforms[i]!.ai.participate(session.id)) : [];
  participations.forEach((p) => p.catch(() => undefined));
  const started = Date.now();
  const result = await platforms[0]!.ai.runMultiPartyInference({
    sessionId: session.id,
    prompt: `Summarise the ${options.useCase} findings for the participants`,
    parameters: { maxTokens: 1024, temperature: 0 },
  });
  step(`inference completed in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  await Promise.all(participations);

  const results = new Map<string, InferenceResult>([[parties[0]!.partyId, result]]);
  for (const party of [...parties.slice(1), ...observers]) results.set(party.partyId, await platformFor(party).ai.getSessionResult(session.id));
  const sameResultForAll = [...results.values()].every((r) => r.resultHash === result.resultHash && r.content === result.content);
  const measurementMatches = result.teeAttestation.measurement === measurement;

  console.log('\n── Result (shared with every party) ──');
  console.log(result.content);
  console.log('\n── Attestation ──');
  console.log(`measurement ${result.teeAttestation.measurement} → ${measurementMatches ? 'match' : 'MISMATCH'} (tenzro measure of this checkout)`);
  console.log(`report attestation verified: ${result.teeAttestation.verified}; participants ${result.participantCount}`);
  console.log(`all ${results.size} recipients received the same result: ${sameResultForAll ? 'yes' : 'NO'}`);
  for (const party of parties) {
    const own = results.get(party.partyId)?.privateFindings as { summary?: unknown } | undefined;
    if (own?.summary) console.log(`${party.partyId} privately: ${JSON.stringify(own.summary)}`);
  }

  const evaluation = spec.evaluateDemo(demo.truth, result.findings);
  console.log('\n── Planted ground truth ──');
  for (const [name, value] of Object.entries(evaluation.figures)) console.log(`  ${name}: ${String(value)}`);
  console.log(`recovered: ${evaluation.recovered ? 'yes' : 'NO'}`);

  const outcome: UseCaseDemoOutcome = {
    useCase: options.useCase,
    method: options.method,
    sessionId: session.id,
    modelId: spec.id,
    recovered: evaluation.recovered,
    figures: evaluation.figures,
    sameResultForAll,
    measurementMatches,
    attestationVerified: result.teeAttestation.verified === true,
    recipients: results.size,
    privacyMechanism: privacyMechanismOf(result.findings),
    content: result.content,
  };
  if (options.json) await writeFile(options.json, JSON.stringify(outcome, null, 2) + '\n');
  if (!evaluation.recovered || !sameResultForAll || !measurementMatches || result.teeAttestation.verified !== true) process.exitCode = 1;
  return outcome;
}
