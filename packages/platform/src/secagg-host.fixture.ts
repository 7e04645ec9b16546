/**
 * Test fixture (not built, not shipped): an in-memory host of the secure-aggregation relay routes
 * (docs/secure-aggregation.md, HTTP table) on top of fake-host.fixture.ts. It checks each stage message
 * with the protocol's own verifiers, closes a stage when every expected party answered (or when the test
 * calls `closeStage()`, standing in for the deadline), stores masked inputs and unmask answers as the
 * sealed bytes it received, and lets the test start runs (`startRun`) and finish them (`finishRun`).
 * `aggregate()` plays the enclave: it opens what was sealed to the session key and runs the server role.
 */
import {
  DATA_INFO,
  fromBase64Url,
  openEnvelope,
  parseStrictJson,
  saltedCommitment,
  utf8Decode,
} from '@tenzro/crypto';
import {
  SECAGG_MASKED_INPUT_SCHEMA,
  SecAggError,
  SecAggMaskedContribution,
  SecAggUnmaskEnvelope,
  aggregate,
  buildUnmaskRequest,
  collectAdvertisements,
  collectMaskedInputs,
  collectSharedKeys,
  createSecAggServer,
  secAggConfigOf,
  verifyAdvertisements,
  type SecAggConfig,
  type SecAggRoundResponse,
  type SecAggRoundStage,
  type SignedAdvertise,
  type SignedShareKeys,
  type UnmaskRequest,
} from '@tenzro/protocol';
import { aggregateLayoutOf, type AggregateLayout } from '@tenzro/models';
import { apiError, json, makeFixture, type Fixture, type RecordedRequest } from './fake-host.fixture.js';

export interface SecAggHost {
  fixture: Fixture;
  config: SecAggConfig;
  layout: AggregateLayout;
  stage: SecAggRoundStage;
  advertised: Map<string, SignedAdvertise>;
  sharedKeys: Map<string, SignedShareKeys>;
  /** The sealed masked-input envelopes, as received. */
  maskedInputs: Map<string, { bytes: Uint8Array; commitment: string }>;
  /** The sealed unmask envelopes of the current run, as received (every POST, in order, per party). */
  unmaskPosts: { partyId: string; runId: string; bytes: Uint8Array }[];
  unmasked: Set<string>;
  unmaskRequest: { runId: string; request: UnmaskRequest } | null;
  runs: Map<string, 'running' | 'completed' | 'failed'>;
  sessionStatus: 'collecting' | 'ready' | 'running' | 'completed' | 'expired';
  error: { code: string; message: string } | null;
  /** Close stages automatically once every expected party answered (default true). */
  autoClose: boolean;
  /** Closes the open stage with what arrived (the deadline); below threshold the round fails. */
  closeStage(): void;
  /** Starts a run: builds the unmask request over U2 with `included` (default: every masked input). */
  startRun(runId: string, included?: string[]): UnmaskRequest;
  /** Ends the current run: completed (round done) or failed (the request is withdrawn). */
  finishRun(status: 'completed' | 'failed'): void;
  /** Publishes an arbitrary unmask request (a lying host). */
  ask(runId: string, request: UnmaskRequest): void;
  /** The enclave's part: opens every masked input and the latest answer of each survivor, and aggregates. */
  aggregate(): Promise<{ sum: Uint32Array; survivors: string[]; contributions: Record<string, SecAggMaskedContribution> }>;
  roundResponse(): SecAggRoundResponse;
}

function partyOf(request: RecordedRequest): string {
  return request.headers['x-tenzro-party-id'] ?? '';
}

function body(request: RecordedRequest): unknown {
  return parseStrictJson(typeof request.body === 'string' ? request.body : utf8Decode(request.body as Uint8Array));
}

export async function makeSecAggHost(
  options: { noiseAddition?: boolean; threshold?: number; differentialPrivacy?: { epsilon: number; delta: number } } = {},
): Promise<SecAggHost> {
  const threshold = options.threshold ?? 2;
  const fixture = await makeFixture(
    {
      minParticipants: Math.max(2, threshold),
      aggregationMethod: 'secure_aggregation',
      secureAggConfig: {
        threshold,
        noiseAddition: options.noiseAddition ?? false,
        ...(options.differentialPrivacy ? { differentialPrivacy: options.differentialPrivacy } : {}),
      },
    },
    { bankC: true },
  );
  const layout = aggregateLayoutOf(fixture.terms.modelId)!;
  const config = secAggConfigOf(fixture.terms, layout.ringLength);
  const roster = fixture.terms.participants.map((p) => p.partyId);
  const base = `/v1/sessions/${fixture.sessionId}`;
  const inRosterOrder = <T>(map: Map<string, T>): T[] => roster.filter((id) => map.has(id)).map((id) => map.get(id)!);
  let u1Closed = false;
  let u2Closed = false;

  const host: SecAggHost = {
    fixture,
    config,
    layout,
    stage: 'advertise',
    advertised: new Map(),
    sharedKeys: new Map(),
    maskedInputs: new Map(),
    unmaskPosts: [],
    unmasked: new Set(),
    unmaskRequest: null,
    runs: new Map(),
    sessionStatus: 'collecting',
    error: null,
    autoClose: true,
    closeStage() {
      const fail = (message: string): void => {
        host.stage = 'failed';
        host.error = { code: 'secagg_below_threshold', message };
      };
      if (host.stage === 'advertise') {
        if (host.advertised.size < config.threshold) return fail('too few parties advertised keys');
        host.stage = 'share-keys';
        u1Closed = true;
      } else if (host.stage === 'share-keys') {
        if (host.sharedKeys.size < config.threshold) return fail('too few parties shared keys');
        host.stage = 'masked-input';
        u2Closed = true;
      } else if (host.stage === 'masked-input') {
        if (host.maskedInputs.size < config.threshold) return fail('too few masked inputs');
        host.stage = 'awaiting-run';
        host.sessionStatus = 'ready';
      }
    },
    startRun(runId, included) {
      const u2 = [...host.sharedKeys.keys()];
      const request = buildUnmaskRequest(config, u2, new Set(included ?? [...host.maskedInputs.keys()]));
      host.ask(runId, request);
      host.runs.set(runId, 'running');
      return request;
    },
    ask(runId, request) {
      host.stage = 'unmask';
      host.sessionStatus = 'running';
      host.unmaskRequest = { runId, request };
      host.unmasked = new Set();
    },
    finishRun(status) {
      const runId = host.unmaskRequest?.runId;
      if (runId !== undefined) host.runs.set(runId, status);
      host.unmaskRequest = null;
      if (status === 'completed') {
        host.stage = 'done';
        host.sessionStatus = 'completed';
      } else {
        host.stage = 'awaiting-run';
        host.sessionStatus = 'ready';
      }
    },
    async aggregate() {
      const privateKey = fixture.sessionKey.privateKey;
      const contributions: Record<string, SecAggMaskedContribution> = {};
      for (const [partyId, { bytes, commitment }] of host.maskedInputs) {
        const opened = parseStrictJson(utf8Decode(await openEnvelope(privateKey, bytes, { info: DATA_INFO }))) as { type: string; salt: string; data: unknown };
        if (opened.type !== 'tenzro.contribution/v1') throw new Error('not a contribution');
        if ((await saltedCommitment(fromBase64Url(opened.salt), opened.data)) !== commitment) throw new Error('commitment mismatch');
        contributions[partyId] = SecAggMaskedContribution.parse(opened.data);
      }
      let state = createSecAggServer(config);
      state = collectAdvertisements(state, inRosterOrder(host.advertised)).state;
      state = collectSharedKeys(state, inRosterOrder(host.sharedKeys)).state;
      state = collectMaskedInputs(state, Object.values(contributions).map((c) => c.maskedInput)).state;
      const latest = new Map<string, Uint8Array>();
      for (const post of host.unmaskPosts) if (post.runId === host.unmaskRequest?.runId) latest.set(post.partyId, post.bytes);
      const answers = [];
      for (const [, bytes] of latest) {
        const envelope = SecAggUnmaskEnvelope.parse(parseStrictJson(utf8Decode(await openEnvelope(privateKey, bytes, { info: DATA_INFO }))));
        answers.push(envelope.unmask);
      }
      const { output, rejected } = aggregate(state, answers);
      if (rejected.length > 0) throw new Error(`the enclave set answers aside: ${JSON.stringify(rejected)}`);
      return { ...output, contributions };
    },
    roundResponse() {
      return {
        sessionId: fixture.sessionId,
        stage: host.stage,
        threshold: config.threshold,
        vectorLength: layout.ringLength,
        layout: layout.id,
        graph: { kind: 'complete' },
        stageDeadline: null,
        advertised: roster.filter((id) => host.advertised.has(id)),
        sharedKeys: roster.filter((id) => host.sharedKeys.has(id)),
        maskedInputs: roster.filter((id) => host.maskedInputs.has(id)),
        unmasked: [...host.unmasked],
        advertisements: u1Closed ? inRosterOrder(host.advertised) : null,
        shareKeys: u2Closed ? inRosterOrder(host.sharedKeys) : null,
        unmaskRequest: host.stage === 'unmask' ? host.unmaskRequest : null,
        error: host.error,
      } as SecAggRoundResponse;
    },
  };

  const round = (status = 200): Response => json(status, host.roundResponse());
  const closed = (): Response => apiError(409, 'secagg_stage_closed', `the ${host.stage} stage is not the one this message belongs to`);
  const rejected = (error: unknown): Response => {
    if (error instanceof SecAggError) return apiError(422, 'secagg_rejected', `${error.code}: ${error.message}`);
    throw error;
  };
  const maybeClose = (count: number, expected: number): void => {
    if (host.autoClose && count >= expected) host.closeStage();
  };

  fixture.routes.set(`GET ${base}/secagg`, () => round());
  fixture.routes.set(`POST ${base}/secagg/advertise`, (request) => {
    if (host.stage !== 'advertise') return closed();
    const message = body(request) as SignedAdvertise;
    try {
      verifyAdvertisements({ ...config, threshold: 1 }, [message], 'advertise');
    } catch (error) {
      return rejected(error);
    }
    if (message.body.partyId !== partyOf(request)) return apiError(403, 'forbidden', 'a party acts for itself only');
    if (host.advertised.has(message.body.partyId)) return apiError(409, 'conflict', 'already advertised');
    host.advertised.set(message.body.partyId, message);
    maybeClose(host.advertised.size, roster.length);
    return round(202);
  });
  fixture.routes.set(`POST ${base}/secagg/share-keys`, (request) => {
    if (host.stage !== 'share-keys') return closed();
    const message = body(request) as SignedShareKeys;
    if (message.body.partyId !== partyOf(request)) return apiError(403, 'forbidden', 'a party acts for itself only');
    if (host.sharedKeys.has(message.body.partyId)) return apiError(409, 'conflict', 'already shared keys');
    host.sharedKeys.set(message.body.partyId, message);
    maybeClose(host.sharedKeys.size, host.advertised.size);
    return round(202);
  });
  fixture.routes.set(`POST ${base}/secagg/masked-input`, (request) => {
    if (host.stage !== 'masked-input') return closed();
    const partyId = partyOf(request);
    if (request.headers['x-tenzro-data-schema'] !== SECAGG_MASKED_INPUT_SCHEMA || request.headers['x-tenzro-commitment-scheme'] !== 'salted') {
      return apiError(422, 'submission_rejected', 'a masked input is filed under the masked-input schema, salted');
    }
    if (host.maskedInputs.has(partyId)) return apiError(409, 'already_submitted', 'already submitted');
    const bytes = request.body as Uint8Array;
    host.maskedInputs.set(partyId, { bytes, commitment: request.headers['x-tenzro-commitment']! });
    maybeClose(host.maskedInputs.size, host.sharedKeys.size);
    return json(201, {
      submissionId: `sub_${host.maskedInputs.size}`,
      sessionId: fixture.sessionId,
      partyId,
      dataSchema: SECAGG_MASKED_INPUT_SCHEMA,
      commitment: request.headers['x-tenzro-commitment'],
      commitmentScheme: 'salted',
      ciphertextHash: `sha256:${'3'.repeat(64)}`,
      size: bytes.length,
      recordCount: 0,
      receivedAt: new Date().toISOString(),
      status: 'collecting',
    });
  });
  fixture.routes.set(`POST ${base}/secagg/unmask`, (request) => {
    if (host.stage !== 'unmask' || host.unmaskRequest === null) return closed();
    const partyId = partyOf(request);
    host.unmaskPosts.push({ partyId, runId: host.unmaskRequest.runId, bytes: request.body as Uint8Array });
    host.unmasked.add(partyId);
    return round(202);
  });
  fixture.routes.set(`GET ${base}/status`, () =>
    json(200, {
      sessionId: fixture.sessionId,
      status: host.sessionStatus,
      participants: roster,
      observers: fixture.terms.observers.map((o) => o.partyId),
      minParticipants: 2,
      dataSubmittedBy: [...host.maskedInputs.keys()],
      consentedParticipants: [],
      pendingData: [],
      pendingConsent: [],
      readyToRun: host.stage === 'awaiting-run',
      expiresAt: fixture.terms.expiresAt,
      lastRun: null,
    }),
  );
  fixture.routes.set(`POST ${base}/data`, () => apiError(422, 'secure_aggregation_required', 'this session aggregates masked statistics: use platform.ai.contribute'));
  // Runs: GET /runs/:runId answers from host.runs.
  const originalFetch = fixture.fetch;
  fixture.fetch = (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const match = url.pathname.match(new RegExp(`^${base}/runs/([^/]+)$`));
    if (match && (init?.method ?? 'GET') === 'GET') {
      const runId = decodeURIComponent(match[1]!);
      const status = host.runs.get(runId);
      if (status === undefined) return apiError(404, 'not_found', 'no such run');
      return json(200, {
        runId,
        sessionId: fixture.sessionId,
        status,
        attempts: 1,
        createdAt: new Date().toISOString(),
        finishedAt: status === 'running' ? null : new Date().toISOString(),
        error: status === 'failed' ? { code: 'secagg_below_threshold', message: 'too few survivors answered', retryable: true } : null,
      });
    }
    return originalFetch(input, init);
  }) as typeof fetch;
  return host;
}
