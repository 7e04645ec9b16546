/**
 * Test fixture (not built, not shipped): a fake audit log behind the fake host of `fake-host.fixture.ts`,
 * with real cryptography — events hashed as RFC 9162 leaves, tree heads signed with a test log key,
 * attestations issued by the fixture's simulated enclave. A session of two banks and a regulator goes
 * through the whole product-doc flow, so every check of `verifySession` has something to pass on.
 *
 * Tests lie the way a host can: edit `log.events` without touching the stored leaves (the tree no longer
 * matches), or edit them and `rebuild()` (a dishonest host re-hashing and re-signing a forked history).
 * The session the host reports (`fixture.session`) follows the stage: its status, who submitted, who
 * consented.
 */
import {
  canonicalBytes,
  consistencyProof,
  fromBase64Url,
  generateSigningKeyPair,
  hashCommitment,
  inclusionProof,
  merkleRoot,
  sha256,
  signStatement,
  toBase64Url,
  utf8Encode,
  type SecretBytes,
} from '@tenzro/crypto';
import {
  AUDIT_EVENT_TYPE,
  DELETION_STATEMENT_TYPE,
  TREE_HEAD_TYPE,
  aggregatedDataHash,
  auditLeafHash,
  logIdOf,
  reportHash,
  resultHash,
  sha256Tagged,
  signConsentStatement,
  type AuditEvent,
  type AuditEventKind,
  type DataPolicyInput,
  type DeletionStatement,
  type ResultReport,
  type SignedTreeHead,
} from '@tenzro/protocol';
import { MEASUREMENT, json, makeFixture, type Fixture, type FixtureOptions } from '../fake-host.fixture.js';
import { TenzroPlatform } from '../platform.js';
import type { PartyIdentity } from '../identity.js';
import type { AuditStore } from './store.js';
import { termsHash } from './verify-session.js';

export class FakeLog {
  readonly publicKey: Uint8Array;
  readonly #privateKey: SecretBytes;
  /** Every event of the log, by logIndex. Edit freely; `leaves` keeps what was hashed at append time. */
  events: AuditEvent[] = [];
  leaves: Uint8Array[] = [];
  #clock = Date.parse('2025-01-15T10:00:00.000Z');

  constructor() {
    const pair = generateSigningKeyPair();
    this.publicKey = pair.publicKey;
    this.#privateKey = pair.privateKey;
  }

  get logId(): string {
    return logIdOf(this.publicKey);
  }

  append(kind: AuditEventKind, sessionId: string | null, payload: Record<string, unknown>, partyId: string | null = null): AuditEvent {
    const sessionSeq = sessionId === null ? null : this.events.filter((e) => e.sessionId === sessionId).length;
    this.#clock += 1000;
    const event: AuditEvent = {
      type: AUDIT_EVENT_TYPE,
      logIndex: this.events.length,
      sessionId,
      sessionSeq,
      kind,
      actor: { tenantId: partyId ? partyId.split('::')[1]! : null, partyId },
      at: new Date(this.#clock).toISOString(),
      payload,
    };
    this.events.push(event);
    this.leaves.push(auditLeafHash(event));
    return event;
  }

  /** What a dishonest host does: re-hash the (edited) events, renumber them, and sign the new tree. */
  rebuild(): void {
    const sequence = new Map<string, number>();
    this.events = this.events.map((event, logIndex) => {
      const next = { ...event, logIndex };
      if (event.sessionId !== null) {
        const seq = sequence.get(event.sessionId) ?? 0;
        sequence.set(event.sessionId, seq + 1);
        next.sessionSeq = seq;
      }
      return next;
    });
    this.leaves = this.events.map(auditLeafHash);
  }

  /** A head over the first `size` leaves, signed with `key` (default: the log key). */
  head(size = this.leaves.length, key: SecretBytes = this.#privateKey, logId = this.logId): SignedTreeHead {
    const treeHead = {
      type: TREE_HEAD_TYPE,
      logId,
      treeSize: size,
      rootHash: toBase64Url(merkleRoot(this.leaves.slice(0, size))),
      timestamp: new Date(this.#clock).toISOString(),
    } as const;
    return { treeHead, signature: toBase64Url(signStatement(key, treeHead)) };
  }

  trail(sessionId: string, size = this.leaves.length, signedTreeHead = this.head(size)) {
    const leaves = this.leaves.slice(0, size);
    return {
      sessionId,
      signedTreeHead,
      entries: this.events
        .slice(0, size)
        .filter((event) => event.sessionId === sessionId)
        .map((event) => ({
          event,
          proof: event.logIndex < leaves.length ? inclusionProof(leaves, event.logIndex).map(toBase64Url) : [],
        })),
    };
  }

  consistency(from: number, to: number) {
    return { from, to, proof: consistencyProof(this.leaves.slice(0, to), from, to).map(toBase64Url) };
  }
}

export interface TrailFixture {
  fixture: Fixture;
  log: FakeLog;
  sessionId: string;
  commitments: Record<string, string>;
  ciphertextHashes: Record<string, string>;
  report: ResultReport;
  /** The result each reader gets from GET /result (default: sealed over the last released report). */
  resultReport: Map<string, ResultReport>;
  released?: ResultReport;
  /** Replace the served trail (default: the log's current trail). */
  serveTrail?: () => unknown;
  platform(reader: PartyIdentity, options?: { auditStore?: AuditStore; logPublicKey?: string; measurements?: string[] }): TenzroPlatform;
  /** Appends the result_released event for `report` (with a fresh attestation of it). */
  release(report: ResultReport, options?: { attestedReport?: ResultReport; reportHash?: string }): Promise<void>;
  /** Appends a deletion_attested event; `attestedStatement` lets the attestation bind another statement. */
  deletion(statement: DeletionStatement, attestedStatement?: DeletionStatement): Promise<void>;
}

export type FlowStage = 'created' | 'submitted' | 'released' | 'deleted';

/**
 * A session of bankA and bankB (participants) and the regulator (observer), taken through `stage`:
 * created (+ key issued), submitted (+ data and consent of both banks), released (+ run and result),
 * deleted (+ the attested deletion of the key and both ciphertexts). Unrelated events are interleaved.
 */
export async function makeTrail(
  stage: FlowStage = 'deleted',
  options: FixtureOptions & { policy?: DataPolicyInput } = {},
): Promise<TrailFixture> {
  const { policy, ...fixtureOptions } = options;
  const fixture = await makeFixture(policy, fixtureOptions);
  const { sessionId, enclave } = fixture;
  const log = new FakeLog();
  const banks = [fixture.bankA, fixture.bankB];

  log.append('tenant_created', null, { tenantId: 'bankA' });
  log.append('session_created', sessionId, { termsHash: termsHash(fixture.terms) }, fixture.bankA.partyId);
  const keyDocument = fromBase64Url(fixture.keyAttestation);
  log.append('key_issued', sessionId, {
    publicKey: toBase64Url(fixture.sessionKey.publicKey),
    attestation: fixture.keyAttestation,
    attestationDigest: sha256Tagged(keyDocument),
  });

  const commitments: Record<string, string> = {};
  const ciphertextHashes: Record<string, string> = {};
  for (const [index, bank] of banks.entries()) {
    commitments[bank.partyId] = await hashCommitment([{ bank: bank.partyId, amount: 100 + index }]);
    ciphertextHashes[bank.partyId] = sha256Tagged(utf8Encode(`ciphertext of ${bank.partyId}`));
  }

  const report: ResultReport = {
    type: 'tenzro.result/v1',
    sessionId,
    runId: 'run_1',
    modelId: fixture.terms.modelId,
    modelDigest: fixture.terms.modelDigest,
    promptHash: `sha256:${'1'.repeat(64)}`,
    parameters: { maxTokens: 2048, temperature: 0.3 },
    participantCount: 2,
    includedParties: banks.map((b) => b.partyId),
    aggregatedDataHash: aggregatedDataHash(banks.map((b) => ({ partyId: b.partyId, commitment: commitments[b.partyId]! }))),
    // What the fake host's sealed results carry by default.
    resultHash: resultHash({ content: 'Two cross-bank rings found.', findings: { rings: 2 } }),
    releasedAt: '2025-01-15T10:05:00.000Z',
  };

  const trail: TrailFixture = {
    fixture,
    log,
    sessionId,
    commitments,
    ciphertextHashes,
    report,
    resultReport: new Map(),
    platform(reader, options = {}) {
      return new TenzroPlatform({
        apiKey: 'k',
        tenantId: reader.partyId.split('::')[1]!,
        baseUrl: 'http://host.test',
        party: reader,
        trustedRoots: [enclave.rootPem],
        expectedMeasurements: options.measurements ?? [MEASUREMENT],
        fetch: fixture.fetch,
        ...(options.auditStore ? { auditStore: options.auditStore } : {}),
        ...(options.logPublicKey ? { logPublicKey: options.logPublicKey } : {}),
      });
    },
    async release(released, options = {}) {
      trail.released = released;
      fixture.session.status = 'completed';
      const attestation = await enclave.issue({ userData: sha256(canonicalBytes(options.attestedReport ?? released)) });
      log.append('run_started', sessionId, { runId: released.runId });
      log.append('result_released', sessionId, {
        runId: released.runId,
        report: released,
        reportHash: options.reportHash ?? reportHash(released),
        attestation: toBase64Url(attestation),
        attestationDigest: sha256Tagged(attestation),
        includedParties: [...released.includedParties],
      });
    },
    async deletion(statement, attestedStatement) {
      const attestation = await enclave.issue({ userData: sha256(canonicalBytes(attestedStatement ?? statement)) });
      log.append('key_destroyed', sessionId, {});
      log.append('deletion_attested', sessionId, { statement, attestation: toBase64Url(attestation) });
    },
  };

  fixture.routes.set('GET /.well-known/tenzro-log-key', () =>
    json(200, { logId: log.logId, algorithm: 'Ed25519', publicKey: toBase64Url(log.publicKey) }),
  );
  fixture.routes.set('GET /v1/log/tree-head', () => json(200, log.head()));
  fixture.routes.set('GET /v1/log/consistency', (request) => {
    const url = new URL(request.url);
    return json(200, log.consistency(Number(url.searchParams.get('from')), Number(url.searchParams.get('to'))));
  });
  fixture.routes.set(`GET /v1/sessions/${sessionId}/result`, async (request) => {
    const reader = [fixture.bankA, fixture.bankB, fixture.regulator].find((p) => p.partyId === request.headers['x-tenzro-party-id'])!;
    const served = trail.resultReport.get(reader.partyId) ?? trail.released ?? report;
    return json(200, await fixture.sealedResult(reader, { report: { ...served } }));
  });
  fixture.routes.set(`GET /v1/sessions/${sessionId}/trail`, () => json(200, trail.serveTrail ? trail.serveTrail() : log.trail(sessionId)));

  if (stage === 'created') return trail;

  for (const bank of banks) {
    log.append('session_joined', sessionId, {}, bank.partyId);
    log.append(
      'data_submitted',
      sessionId,
      {
        partyId: bank.partyId,
        commitment: commitments[bank.partyId],
        commitmentScheme: 'plain',
        ciphertextHash: ciphertextHashes[bank.partyId],
      },
      bank.partyId,
    );
    log.append('access_denied', null, { code: 'forbidden' });
    log.append(
      'consent_recorded',
      sessionId,
      {
        partyId: bank.partyId,
        consent: { dataUsage: true, resultSharing: true, attestationSharing: true, retentionAcknowledged: true },
        signature: signConsentStatement(sessionId, fromBase64Url(bank.signingKey.privateKey)),
      },
      bank.partyId,
    );
  }
  fixture.session.status = 'ready';
  fixture.session.dataSubmittedBy = banks.map((b) => b.partyId);
  fixture.session.consentedBy = banks.map((b) => b.partyId);
  if (stage === 'submitted') return trail;

  await trail.release(report);
  if (stage === 'released') return trail;

  await trail.deletion({
    type: DELETION_STATEMENT_TYPE,
    sessionId,
    destroyed: { sessionKey: true, ciphertexts: banks.map((b) => ciphertextHashes[b.partyId]!) },
    reason: 'delete_after_inference',
    destroyedAt: '2025-01-15T10:05:01.000Z',
  });
  return trail;
}
