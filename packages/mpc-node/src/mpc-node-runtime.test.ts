// The node session runtime (sessions.ts) in one process, its messages handed straight to the other
// runtimes' mailboxes: a node without --enclave-measurement refuses every run (session_key_unverified,
// preprocessing consumed), sessions are dropped after the TTL, and a replayed or second-type message under
// one op is told apart by the mailbox.
import { generateEncryptionKeyPair, generateSigningKeyPair, randomBytes, toBase64Url } from '@tenzro/crypto';
import { MPC_TYPES, RISK_ANALYZER_MPC_PROGRAM as PROGRAM, SESSION_TERMS_TYPE, normalizeDataPolicy, sessionIdOf, type MpcMessage, type MpcStartRunRequest, type SessionTerms } from '@tenzro/protocol';
import { describe, expect, it } from 'vitest';
import type { NodeClient } from './client.js';
import { NodeMailbox } from './mailbox.js';
import { MpcControlError, MpcSessionRuntime } from './sessions.js';

const N = 3;
const T = 2;

async function makeRuntimes(clock: { now: number }, enclaveMeasurements: string[] = []): Promise<MpcSessionRuntime[]> {
  const runtimes: MpcSessionRuntime[] = [];
  const mailboxes: NodeMailbox[] = [];
  for (let index = 1; index <= N; index++) {
    const hpke = await generateEncryptionKeyPair();
    const signing = generateSigningKeyPair();
    const mailbox = new NodeMailbox();
    mailboxes.push(mailbox);
    const client = { send: async (message: MpcMessage, to: number) => mailboxes[to - 1]!.record(message) } as unknown as NodeClient;
    runtimes.push(
      new MpcSessionRuntime({
        index,
        total: N,
        identity: { hpkePublicKey: hpke.publicKey, hpkePrivateKey: hpke.privateKey, signingPublicKey: signing.publicKey, signingPrivateKey: signing.privateKey },
        mailbox,
        client,
        roots: [],
        enclaveMeasurements,
        ttlMs: 60_000,
        now: () => clock.now,
      }),
    );
  }
  return runtimes;
}

function terms(): SessionTerms {
  const key = generateSigningKeyPair();
  return {
    type: SESSION_TERMS_TYPE,
    tenantId: 'bankA',
    name: 'runtime test',
    description: '',
    modelId: 'risk-analyzer-v2',
    modelDigest: `sha256:${'0'.repeat(64)}`,
    participants: [{ partyId: 'party::bankA::alice', signingKey: toBase64Url(key.publicKey), encryptionKey: toBase64Url(randomBytes(32)) }],
    observers: [],
    dataPolicy: normalizeDataPolicy({ aggregationMethod: 'mpc', mpcConfig: { protocol: 'shamir_secret_sharing', threshold: T, totalParties: N } }, 1),
    expiresAt: '2099-01-01T00:00:00.000Z',
    createdAt: '2025-11-25T00:00:00.000Z',
    nonce: toBase64Url(randomBytes(16)),
  };
}

async function preprocessAll(runtimes: MpcSessionRuntime[], sessionId: string, prepId: string): Promise<number> {
  for (const rt of runtimes) rt.preprocess({ sessionId, prepId, programId: PROGRAM.id, threshold: T, totalParties: N });
  const senders = runtimes.map((_, i) => i + 1);
  for (let round = 0; ; round++) {
    const answers = await Promise.all(runtimes.map((rt) => rt.step({ sessionId, tag: prepId, round, senders })));
    for (const a of answers) expect(a.delivered).toEqual(senders);
    if (answers.every((a) => a.phase === 'done')) return round + 1;
  }
}

describe('node session runtime (in process)', () => {
  it('makes triples in 3 rounds; without an accepted enclave measurement a run is refused and its preprocessing consumed', async () => {
    const clock = { now: 0 };
    const runtimes = await makeRuntimes(clock);
    const t = terms();
    const sessionId = sessionIdOf(t);
    expect(await preprocessAll(runtimes, sessionId, 'prep-1')).toBe(3);
    expect(runtimes[0]!.preprocessed(sessionId)).toEqual({ prepIds: ['prep-1'] });
    const request = { sessionId, runTag: 'run-1.1', programId: PROGRAM.id, terms: t, prepId: 'prep-1', sessionKey: { publicKey: 'AAAA', attestation: 'AAAA' }, bundles: [] } as unknown as MpcStartRunRequest;
    const error = await runtimes[0]!.startRun(request).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MpcControlError);
    expect(error).toMatchObject({ code: 'session_key_unverified', status: 403, message: expect.stringContaining('--enclave-measurement') });
    expect(runtimes[0]!.preprocessed(sessionId)).toEqual({ prepIds: [] });
    await expect(runtimes[0]!.startRun(request)).rejects.toMatchObject({ code: 'unknown_prep', status: 409 });
    // terms of another session: invalid_terms (on node 2, whose prep is still there)
    await expect(runtimes[1]!.startRun({ ...request, terms: terms() })).rejects.toMatchObject({ code: 'invalid_terms', status: 422 });
  });

  it('drops a session unused for the TTL (its preprocessings and its mailbox)', async () => {
    const clock = { now: 0 };
    const runtimes = await makeRuntimes(clock);
    const sessionId = sessionIdOf(terms());
    await preprocessAll(runtimes, sessionId, 'prep-1');
    clock.now = 59_000;
    expect(runtimes[0]!.preprocessed(sessionId)).toEqual({ prepIds: ['prep-1'] });
    clock.now = 59_000 + 60_001;
    expect(runtimes[0]!.preprocessed(sessionId)).toEqual({ prepIds: [] });
    await expect(runtimes[0]!.step({ sessionId, tag: 'prep-1', round: 3, senders: [1] })).rejects.toMatchObject({ code: 'unknown_run' });
  });

  it('mailbox: one sender may send two message types under one op (a truncation); the same type twice is a replay', () => {
    const mailbox = new NodeMailbox();
    const sessionId = 'mps_aaaaaaaaaaaaaaaaaaaaaaaaaa';
    mailbox.openSession(sessionId);
    const vector = { field: undefined } as never;
    mailbox.record({ type: MPC_TYPES.truncPair, sessionId, op: 'r:3:trunc', from: 2, to: 1, r: vector, rHigh: vector });
    mailbox.record({ type: MPC_TYPES.open, sessionId, op: 'r:3:trunc', from: 2, share: vector });
    expect(() => mailbox.record({ type: MPC_TYPES.open, sessionId, op: 'r:3:trunc', from: 2, share: vector })).toThrow(expect.objectContaining({ code: 'replay' }));
    expect(mailbox.take(sessionId, 'r:3:trunc', MPC_TYPES.open, [1, 2]).map((m) => m.type)).toEqual([MPC_TYPES.open]);
    expect(mailbox.take(sessionId, 'r:3:trunc', MPC_TYPES.open, [1, 2])).toEqual([]);
    // taken messages stay claimed
    expect(() => mailbox.record({ type: MPC_TYPES.open, sessionId, op: 'r:3:trunc', from: 2, share: vector })).toThrow(expect.objectContaining({ code: 'replay' }));
  });
});
