// Building blocks for feature tests: raw HTTP as a given tenant, and the seed flow through the SDK.
import { TenzroPlatform, encryptWithSessionKey, hashCommitment, signConsent } from '@tenzro/platform';
import { generateDemoData } from '@tenzro/models';
import type { DevParty, PlatformProcess } from './platform-process.js';

export const BANKS = ['bankA', 'bankB', 'bankC'] as const;
export const REGULATOR = 'party::regulator::compliance';

export interface RawResponse {
  status: number;
  body: any;
  headers: Headers;
}

export async function http(
  server: PlatformProcess,
  party: Pick<DevParty, 'apiKey' | 'tenantId'> & { partyId?: string },
  method: string,
  path: string,
  body?: unknown,
  extraHeaders: Record<string, string> = {},
): Promise<RawResponse> {
  const headers: Record<string, string> = {
    authorization: `Bearer ${party.apiKey}`,
    'x-tenant-id': party.tenantId,
    ...extraHeaders,
  };
  let payload: BodyInit | undefined;
  if (body instanceof Uint8Array) {
    payload = body as Uint8Array<ArrayBuffer>;
    headers['content-type'] ??= 'application/octet-stream';
  } else if (body !== undefined) {
    payload = typeof body === 'string' ? body : JSON.stringify(body);
    headers['content-type'] ??= 'application/json';
  }
  const response = await fetch(`${server.baseUrl}${path}`, { method, headers, body: payload });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON
  }
  return { status: response.status, body: parsed, headers: response.headers };
}

export function sdkFor(server: PlatformProcess, party: DevParty): TenzroPlatform {
  return new TenzroPlatform({
    apiKey: party.apiKey,
    tenantId: party.tenantId,
    baseUrl: server.baseUrl,
    party: { partyId: party.partyId, signingKey: party.signingKey, encryptionKey: party.encryptionKey },
    trustedRoots: [server.credentials().attestation.rootPem],
    expectedMeasurements: [server.credentials().attestation.measurement],
  });
}

export function devParties(server: PlatformProcess): Record<string, DevParty> {
  return Object.fromEntries(server.credentials().parties.map((p) => [p.tenantId, p]));
}

export async function createSeedSession(
  server: PlatformProcess,
  options: { minParticipants?: number; expiresAt?: Date; participants?: string[] } = {},
) {
  const parties = devParties(server);
  return sdkFor(server, parties.bankA!).ai.createMultiPartySession({
    name: 'Q4 Risk Analysis',
    description: 'Cross-bank transaction risk assessment',
    modelId: 'risk-analyzer-v2',
    participants: options.participants ?? BANKS.map((b) => `party::${b}::treasury`),
    observers: [REGULATOR],
    dataPolicy: {
      minParticipants: options.minParticipants ?? 2,
      aggregationMethod: 'federated',
      encryptionRequired: true,
      attestationRequired: true,
      retentionPolicy: 'delete_after_inference',
    },
    expiresAt: options.expiresAt ?? new Date(Date.now() + 24 * 60 * 60 * 1000),
  });
}

export function demoPartitions(recordsPerBank = 300, seed = 11) {
  return generateDemoData({ banks: [...BANKS], recordsPerBank, seed }).partitions;
}

/** Encrypts, commits and submits one bank's records the product doc's way. */
export async function submitRecords(server: PlatformProcess, party: DevParty, sessionId: string, records: unknown) {
  const platform = sdkFor(server, party);
  const sessionKey = await platform.ai.getSessionKey(sessionId);
  const encryptedData = await encryptWithSessionKey(JSON.stringify(records), sessionKey.publicKey);
  return platform.ai.submitSessionData({
    sessionId,
    data: encryptedData,
    dataSchema: 'transaction_records_v1',
    commitment: await hashCommitment(records),
  });
}

export async function consent(server: PlatformProcess, party: DevParty, sessionId: string) {
  return sdkFor(server, party).ai.submitSessionConsent({
    sessionId,
    consent: { dataUsage: true, resultSharing: true, attestationSharing: true, retentionAcknowledged: true },
    signature: await signConsent(sessionId, party.signingKey.privateKey),
  });
}

/** Every bank submits and consents. */
export async function fillSession(server: PlatformProcess, sessionId: string, partitions = demoPartitions()) {
  const parties = devParties(server);
  for (const bank of BANKS) {
    await submitRecords(server, parties[bank]!, sessionId, partitions[bank]);
    await consent(server, parties[bank]!, sessionId);
  }
}
