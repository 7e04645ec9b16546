/**
 * Secure-aggregation test players over the in-process harness: each party runs the client role with the
 * protocol's own stage functions (advertiseKeys, shareKeys, maskInput, unmask) and talks to the routes as a
 * party SDK would: JSON stage messages, the masked input sealed to the session key as a salted contribution
 * (`{ type: 'tenzro.contribution/v1', salt, data: SecAggMaskedContribution }`), the unmask answer sealed
 * as a SecAggUnmaskEnvelope.
 */
import {
  DATA_INFO,
  canonicalize,
  fromBase64Url,
  generateEncryptionKeyPair,
  generateSigningKeyPair,
  randomBytes,
  saltedCommitment,
  sealEnvelope,
  toBase64Url,
  utf8Encode,
} from '@tenzro/crypto';
import {
  CONTRIBUTION_TYPE,
  SECAGG_MASKED_CONTRIBUTION_TYPE,
  SECAGG_MASKED_INPUT_SCHEMA,
  SECAGG_UNMASK_ENVELOPE_TYPE,
  advertiseKeys,
  maskInput,
  secAggConfigOf,
  shareKeys,
  unmask,
  type SecAggClientState,
  type SessionTerms,
  type UnmaskRequest,
} from '@tenzro/protocol';
import type { LightMyRequestResponse } from 'fastify';
import { PARTY, type DemoName, type TestServer } from './harness.fixture.js';

export interface Player {
  /** The tenant whose API key the player uses. */
  tenant: DemoName;
  partyId: string;
  signingKey: Uint8Array;
  /** Headers naming the acting party (needed when the tenant has several parties on the roster). */
  headers: Record<string, string>;
  state?: SecAggClientState;
}

/** The demo party of a tenant, with its roster signing key from the development credentials. */
export function demoPlayer(t: TestServer, tenant: DemoName): Player {
  const entry = t.credentials.parties.find((p) => p.partyId === PARTY[tenant])!;
  return { tenant, partyId: entry.partyId, signingKey: fromBase64Url(entry.signingKey.privateKey), headers: { 'x-tenzro-party-id': entry.partyId } };
}

/** Registers one more party of `tenant` (`party::<tenant>::<name>`) with fresh keys. */
export async function extraPlayer(t: TestServer, tenant: DemoName, name: string): Promise<Player> {
  const signing = generateSigningKeyPair();
  const encryption = await generateEncryptionKeyPair();
  const partyId = `party::${tenant}::${name}`;
  const response = await t.inject(tenant, {
    method: 'POST',
    url: '/v1/parties',
    payload: { partyId, signingKey: toBase64Url(signing.publicKey), encryptionKey: toBase64Url(encryption.publicKey) },
  });
  if (response.statusCode !== 201 && response.statusCode !== 409) throw new Error(`register ${partyId}: ${response.statusCode} ${response.body}`);
  return { tenant, partyId, signingKey: signing.privateKey.expose().slice(), headers: { 'x-tenzro-party-id': partyId } };
}

export interface SecAggSessionOptions {
  threshold: number;
  minParticipants?: number;
  observers?: DemoName[];
  retentionPolicy?: 'delete_after_inference' | 'retain_until_expiry';
  creator?: DemoName;
}

export async function createSecAggSession(t: TestServer, players: Player[], options: SecAggSessionOptions): Promise<any> {
  const creator = options.creator ?? players[0]!.tenant;
  const response = await t.inject(creator, {
    method: 'POST',
    url: '/v1/sessions',
    payload: {
      name: 'secure aggregation',
      modelId: 'risk-analyzer-v2',
      participants: players.map((p) => p.partyId),
      observers: (options.observers ?? ['regulator']).map((n) => PARTY[n]),
      dataPolicy: {
        aggregationMethod: 'secure_aggregation',
        secureAggConfig: { threshold: options.threshold, noiseAddition: false },
        ...(options.minParticipants !== undefined ? { minParticipants: options.minParticipants } : {}),
        ...(options.retentionPolicy ? { retentionPolicy: options.retentionPolicy } : {}),
      },
    },
  });
  if (response.statusCode !== 201) throw new Error(`createSession: ${response.statusCode} ${response.body}`);
  return JSON.parse(response.body);
}

export function configOf(terms: SessionTerms, vectorLength: number) {
  return secAggConfigOf(terms, vectorLength);
}

export async function getRound(t: TestServer, player: Player | DemoName, sessionId: string): Promise<LightMyRequestResponse> {
  const who = typeof player === 'string' ? player : player.tenant;
  const headers = typeof player === 'string' ? {} : player.headers;
  return t.inject(who, { method: 'GET', url: `/v1/sessions/${sessionId}/secagg`, headers });
}

export async function post(t: TestServer, player: Player, sessionId: string, path: string, payload: unknown): Promise<LightMyRequestResponse> {
  return t.inject(player.tenant, { method: 'POST', url: `/v1/sessions/${sessionId}/secagg/${path}`, headers: player.headers, payload: payload as object });
}

/** Stage 0 for `player`: keeps the client state, returns the signed message (not sent). */
export function advertiseMessage(player: Player, terms: SessionTerms, vectorLength: number): unknown {
  const step = advertiseKeys({ config: configOf(terms, vectorLength), partyId: player.partyId, signingKey: player.signingKey });
  player.state = step.state;
  return step.message;
}

export function shareKeysMessage(player: Player, advertisements: unknown): unknown {
  const step = shareKeys(player.state!, advertisements);
  player.state = step.state;
  return step.message;
}

export async function sessionPublicKey(t: TestServer, player: Player, sessionId: string): Promise<Uint8Array> {
  const key = await t.inject(player.tenant, { method: 'GET', url: `/v1/sessions/${sessionId}/key`, headers: player.headers });
  if (key.statusCode !== 200) throw new Error(`getSessionKey: ${key.statusCode} ${key.body}`);
  return fromBase64Url(JSON.parse(key.body).publicKey);
}

export interface SealedMaskedInput {
  envelope: Uint8Array;
  commitment: string;
}

/** Stage 2 for `player`: masks `vector` and seals the salted contribution to the session key. */
export async function sealMaskedInput(
  t: TestServer,
  player: Player,
  sessionId: string,
  shareKeysMessages: unknown,
  vector: Uint32Array,
  layout: string,
): Promise<SealedMaskedInput> {
  const step = maskInput(player.state!, shareKeysMessages, vector);
  player.state = step.state;
  const data = {
    type: SECAGG_MASKED_CONTRIBUTION_TYPE,
    layout,
    sourceSchema: 'transaction_records_v1',
    noiseVariance: null,
    maskedInput: step.message,
  };
  const salt = randomBytes(32);
  const commitment = await saltedCommitment(salt, data);
  const plaintext = utf8Encode(canonicalize({ type: CONTRIBUTION_TYPE, salt: toBase64Url(salt), data }));
  const envelope = await sealEnvelope(await sessionPublicKey(t, player, sessionId), plaintext, { info: DATA_INFO });
  return { envelope, commitment };
}

export async function postMaskedInput(
  t: TestServer,
  player: Player,
  sessionId: string,
  sealed: SealedMaskedInput,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return t.inject(player.tenant, {
    method: 'POST',
    url: `/v1/sessions/${sessionId}/secagg/masked-input`,
    headers: {
      ...player.headers,
      'content-type': 'application/octet-stream',
      'x-tenzro-data-schema': SECAGG_MASKED_INPUT_SCHEMA,
      'x-tenzro-commitment': sealed.commitment,
      'x-tenzro-commitment-scheme': 'salted',
      ...headers,
    },
    payload: Buffer.from(sealed.envelope),
  });
}

/** Stage 3 for `player`: answers the request and seals the envelope to the session key. */
export async function sealUnmask(t: TestServer, player: Player, sessionId: string, runId: string, request: UnmaskRequest): Promise<Uint8Array> {
  const step = unmask(player.state!, request);
  player.state = step.state;
  const document = { type: SECAGG_UNMASK_ENVELOPE_TYPE, sessionId, runId, unmask: step.message };
  return sealEnvelope(await sessionPublicKey(t, player, sessionId), utf8Encode(canonicalize(document)), { info: DATA_INFO });
}

export async function postUnmask(t: TestServer, player: Player, sessionId: string, envelope: Uint8Array): Promise<LightMyRequestResponse> {
  return t.inject(player.tenant, {
    method: 'POST',
    url: `/v1/sessions/${sessionId}/secagg/unmask`,
    headers: { ...player.headers, 'content-type': 'application/octet-stream' },
    payload: Buffer.from(envelope),
  });
}

export function randomVector(length: number): Uint32Array {
  const bytes = randomBytes(length * 4);
  return new Uint32Array(bytes.buffer, bytes.byteOffset, length).slice();
}

export async function consentAs(t: TestServer, player: Player, sessionId: string): Promise<LightMyRequestResponse> {
  const { signConsentStatement } = await import('@tenzro/protocol');
  return t.inject(player.tenant, {
    method: 'POST',
    url: `/v1/sessions/${sessionId}/consents`,
    headers: player.headers,
    payload: {
      consent: { dataUsage: true, resultSharing: true, attestationSharing: true, retentionAcknowledged: true },
      signature: signConsentStatement(sessionId, player.signingKey),
    },
  });
}

/**
 * Plays stages 0–2 for `players` (all of them answer every stage unless left out in `skip`), returning
 * the round after the masked-input stage. `vectors` default to random ones.
 */
export async function playInputs(
  t: TestServer,
  session: { id: string; terms: SessionTerms },
  players: Player[],
  options: { vectors?: Map<string, Uint32Array>; skipShareKeys?: string[]; skipMaskedInput?: string[] } = {},
): Promise<any> {
  const first = await getRound(t, players[0]!, session.id);
  const { vectorLength, layout } = JSON.parse(first.body);
  for (const player of players) {
    const response = await post(t, player, session.id, 'advertise', advertiseMessage(player, session.terms, vectorLength));
    if (response.statusCode !== 202) throw new Error(`advertise ${player.partyId}: ${response.statusCode} ${response.body}`);
  }
  let round = JSON.parse((await getRound(t, players[0]!, session.id)).body);
  for (const player of players) {
    if (options.skipShareKeys?.includes(player.partyId)) continue;
    const response = await post(t, player, session.id, 'share-keys', shareKeysMessage(player, round.advertisements));
    if (response.statusCode !== 202) throw new Error(`share-keys ${player.partyId}: ${response.statusCode} ${response.body}`);
  }
  round = JSON.parse((await getRound(t, players[0]!, session.id)).body);
  for (const player of players) {
    if (options.skipShareKeys?.includes(player.partyId) || options.skipMaskedInput?.includes(player.partyId)) continue;
    const vector = options.vectors?.get(player.partyId) ?? randomVector(vectorLength);
    const sealed = await sealMaskedInput(t, player, session.id, round.shareKeys, vector, layout);
    const response = await postMaskedInput(t, player, session.id, sealed);
    if (response.statusCode !== 201) throw new Error(`masked-input ${player.partyId}: ${response.statusCode} ${response.body}`);
  }
  return JSON.parse((await getRound(t, players[0]!, session.id)).body);
}
