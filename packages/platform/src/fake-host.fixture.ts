/**
 * Test fixture (not built, not shipped): a fake host behind a fake `fetch`, with real cryptography — a
 * session whose id is the hash of its terms, a session key attested by the enclave's SimulatedNsm, and a
 * result report attested and sealed to each party exactly as the enclave does it. Tests change the
 * routes or the material to make the host lie, and record every request to check its shape.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  RESULT_INFO,
  canonicalize,
  fromBase64Url,
  generateEncryptionKeyPair,
  sealEnvelope,
  toBase64Url,
  utf8Encode,
  type EncryptionKeyPair,
} from '@tenzro/crypto';
import {
  RESULT_BODY_TYPE,
  RESULT_REPORT_TYPE,
  SESSION_TERMS_TYPE,
  normalizeDataPolicy,
  reportDigest,
  resultHash,
  sessionIdOf,
  sessionKeyUserData,
  type DataPolicyInput,
  type MultiPartySession,
  type ResultReport,
  type SealedResultResponse,
  type SessionTerms,
  type SharedResult,
} from '@tenzro/protocol';
import { SimulatedNsm } from '../../enclave/src/attestation/index.js';
import { generatePartyIdentity, type PartyIdentity } from './identity.js';

export const MEASUREMENT = 'ab'.repeat(48);

export interface RecordedRequest {
  method: string;
  url: string;
  path: string;
  headers: Record<string, string>;
  body: Uint8Array | string | undefined;
}

export type Route = (request: RecordedRequest) => Response | Promise<Response>;

export function json(status: number, value: unknown): Response {
  return new Response(JSON.stringify(value), { status, headers: { 'content-type': 'application/json' } });
}

export function apiError(status: number, code: string, message: string, details?: unknown[]): Response {
  return json(status, { error: { code, message, ...(details ? { details } : {}) } });
}

let sharedNsm: Promise<SimulatedNsm> | undefined;
let otherNsm: Promise<SimulatedNsm> | undefined;

/** The fixture's simulated enclave (one CA per test process). */
export function nsm(): Promise<SimulatedNsm> {
  sharedNsm ??= SimulatedNsm.loadOrCreate({ stateDir: mkdtempSync(join(tmpdir(), 'tenzro-sdk-')), measurement: MEASUREMENT });
  return sharedNsm;
}

/** A second, unrelated simulated CA: documents from it must not be trusted. */
export function rogueNsm(): Promise<SimulatedNsm> {
  otherNsm ??= SimulatedNsm.loadOrCreate({ stateDir: mkdtempSync(join(tmpdir(), 'tenzro-sdk-rogue-')), measurement: MEASUREMENT });
  return otherNsm;
}

export interface FixtureOptions {
  /** Put a third bank on the roster (the product doc's session has three). */
  bankC?: boolean;
  /** Default: 24 h after the fixture is made. */
  expiresAt?: string;
}

export interface Fixture {
  enclave: SimulatedNsm;
  bankA: PartyIdentity;
  bankB: PartyIdentity;
  bankC: PartyIdentity | undefined;
  regulator: PartyIdentity;
  terms: SessionTerms;
  sessionId: string;
  session: MultiPartySession;
  sessionKey: EncryptionKeyPair;
  keyAttestation: string;
  routes: Map<string, Route>;
  requests: RecordedRequest[];
  fetch: typeof fetch;
  /** A sealed result for `recipient` as the enclave would produce it; `tamper` edits the parts. */
  sealedResult(recipient: PartyIdentity, tamper?: ResultTamper): Promise<SealedResultResponse>;
}

export interface ResultTamper {
  shared?: SharedResult;
  /** The shared result sealed in the body (default: the one the report hashes). */
  sealedShared?: SharedResult;
  report?: Partial<ResultReport>;
  /** The report the attestation binds (default: the report sent). */
  attestedReport?: ResultReport;
  privateFindings?: { flagged: { transactionId: string; score: number; reasons: string[] }[] };
  sealTo?: PartyIdentity;
  bodyRecipient?: string;
}

export async function makeFixture(policy: DataPolicyInput = { minParticipants: 2 }, options: FixtureOptions = {}): Promise<Fixture> {
  const enclave = await nsm();
  const bankA = await generatePartyIdentity('party::bankA::treasury');
  const bankB = await generatePartyIdentity('party::bankB::treasury');
  const bankC = options.bankC ? await generatePartyIdentity('party::bankC::treasury') : undefined;
  const banks = bankC ? [bankA, bankB, bankC] : [bankA, bankB];
  const regulator = await generatePartyIdentity('party::regulator::compliance');
  const now = new Date();
  const terms: SessionTerms = {
    type: SESSION_TERMS_TYPE,
    tenantId: 'bankA',
    name: 'Q4 Risk Analysis',
    description: 'Cross-bank transaction risk assessment',
    modelId: 'risk-analyzer-v2',
    modelDigest: `sha256:${'0'.repeat(64)}`,
    participants: banks.map((p) => ({
      partyId: p.partyId,
      signingKey: p.signingKey.publicKey,
      encryptionKey: p.encryptionKey.publicKey,
    })),
    observers: [{ partyId: regulator.partyId, encryptionKey: regulator.encryptionKey.publicKey }],
    dataPolicy: normalizeDataPolicy(policy, banks.length),
    expiresAt: options.expiresAt ?? new Date(now.getTime() + 86_400_000).toISOString(),
    createdAt: now.toISOString(),
    nonce: toBase64Url(new Uint8Array(16).fill(7)),
  };
  const sessionId = sessionIdOf(terms);
  const session: MultiPartySession = {
    id: sessionId,
    name: terms.name,
    description: terms.description,
    modelId: terms.modelId,
    status: 'created',
    joinCode: 'ABCD-EFGH',
    participants: terms.participants.map((p) => p.partyId),
    observers: terms.observers.map((o) => o.partyId),
    dataPolicy: terms.dataPolicy,
    expiresAt: terms.expiresAt,
    createdAt: terms.createdAt,
    createdBy: 'bankA',
    dataSubmittedBy: [],
    consentedBy: [],
    yourRoles: ['creator', 'participant'],
    terms,
  };
  const sessionKey = await generateEncryptionKeyPair();
  const keyAttestation = toBase64Url(await enclave.issue({ publicKey: sessionKey.publicKey, userData: sessionKeyUserData(sessionId) }));

  const routes = new Map<string, Route>();
  const requests: RecordedRequest[] = [];
  const fixture: Fixture = {
    enclave,
    bankA,
    bankB,
    bankC,
    regulator,
    terms,
    sessionId,
    session,
    sessionKey,
    keyAttestation,
    routes,
    requests,
    fetch: (async (input: string | URL | Request, init?: RequestInit) => {
      const url = new URL(String(input));
      const headers: Record<string, string> = {};
      new Headers(init?.headers).forEach((value, key) => {
        headers[key] = value;
      });
      const rawBody = init?.body;
      const body =
        rawBody === undefined || rawBody === null
          ? undefined
          : typeof rawBody === 'string'
            ? rawBody
            : new Uint8Array(rawBody as Uint8Array);
      const request: RecordedRequest = { method: init?.method ?? 'GET', url: url.href, path: url.pathname, headers, body };
      requests.push(request);
      if (init?.signal?.aborted) throw init.signal.reason;
      const route = routes.get(`${request.method} ${request.path}`);
      if (!route) return apiError(404, 'not_found', `no route ${request.method} ${request.path}`);
      return route(request);
    }) as typeof fetch,
    async sealedResult(recipient, tamper = {}) {
      const shared: SharedResult = tamper.shared ?? { content: 'Two cross-bank rings found.', findings: { rings: 2 } };
      const report: ResultReport = {
        type: RESULT_REPORT_TYPE,
        sessionId,
        runId: 'run_1',
        modelId: terms.modelId,
        modelDigest: terms.modelDigest,
        promptHash: `sha256:${'1'.repeat(64)}`,
        parameters: { maxTokens: 2048, temperature: 0.3 },
        participantCount: 2,
        includedParties: [bankA.partyId, bankB.partyId],
        aggregatedDataHash: `sha256:${'2'.repeat(64)}`,
        resultHash: resultHash(shared),
        releasedAt: new Date().toISOString(),
        ...tamper.report,
      };
      const attestation = await enclave.issue({ userData: reportDigest(tamper.attestedReport ?? report) });
      const body = {
        type: RESULT_BODY_TYPE,
        sessionId,
        runId: report.runId,
        recipient: tamper.bodyRecipient ?? recipient.partyId,
        shared: tamper.sealedShared ?? shared,
        ...(tamper.privateFindings ? { privateFindings: tamper.privateFindings } : {}),
      };
      const sealTo = tamper.sealTo ?? recipient;
      const sealed = await sealEnvelope(fromBase64Url(sealTo.encryptionKey.publicKey), utf8Encode(canonicalize(body)), { info: RESULT_INFO });
      return {
        sessionId,
        runId: report.runId,
        recipient: recipient.partyId,
        report,
        attestation: toBase64Url(attestation),
        sealedResult: toBase64Url(sealed),
      };
    },
  };
  routes.set(`GET /v1/sessions/${sessionId}`, () => json(200, session));
  routes.set(`GET /v1/sessions/${sessionId}/key`, () =>
    json(200, {
      sessionId,
      publicKey: toBase64Url(sessionKey.publicKey),
      suite: 'DHKEM(X25519,HKDF-SHA256)/HKDF-SHA256/AES-256-GCM',
      attestation: keyAttestation,
      expiresAt: terms.expiresAt,
    }),
  );
  return fixture;
}

export function submissionReceipt(fixture: Fixture, request: RecordedRequest, partyId = fixture.bankA.partyId): Response {
  return json(201, {
    submissionId: 'sub_1',
    sessionId: fixture.sessionId,
    partyId,
    dataSchema: request.headers['x-tenzro-data-schema'],
    commitment: request.headers['x-tenzro-commitment'],
    commitmentScheme: request.headers['x-tenzro-commitment-scheme'],
    ciphertextHash: `sha256:${'3'.repeat(64)}`,
    size: request.body instanceof Uint8Array ? request.body.length : 0,
    recordCount: 2,
    receivedAt: new Date().toISOString(),
    status: 'collecting',
  });
}
