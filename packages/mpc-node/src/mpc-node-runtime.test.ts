// The node session runtime (sessions.ts) in one process, its messages handed straight to the other
// runtimes' mailboxes: a node without --enclave-measurement refuses every run (session_key_unverified,
// preprocessing consumed), sessions are dropped after the TTL (unused preprocessings kept until their
// expiresAt, capped at 7 days), dropped preps are never used again, a step's sends end by half its
// deadlineMs, a peer's `replay` counts as delivered only on a retry, a replayed or second-type message under
// one op is told apart by the mailbox, and the coordinator's choice of survivors after a round.
import { generateEncryptionKeyPair, generateSigningKeyPair, randomBytes, toBase64Url } from '@tenzro/crypto';
import { MPC_TYPES, RISK_ANALYZER_MPC_PROGRAM as PROGRAM, SESSION_TERMS_TYPE, normalizeDataPolicy, sessionIdOf, type MpcMessage, type MpcStartRunRequest, type SessionTerms } from '@tenzro/protocol';
import { describe, expect, it } from 'vitest';
import type { NodeClient } from './client.js';
import { survivorsOfRound } from './coordinator.js';
import { NodeTransportError } from './errors.js';
import { NodeMailbox } from './mailbox.js';
import { MpcControlError, MpcSessionRuntime } from './sessions.js';

/** What a fake link does with one attempt of a message from → to (default: delivers it). */
type Link = (from: number, to: number, attempt: number) => 'deliver' | 'replay' | 'unavailable' | 'hang';

const N = 3;
const T = 2;

async function makeRuntimes(clock: { now: number }, enclaveMeasurements: string[] = [], link?: Link): Promise<MpcSessionRuntime[]> {
  const runtimes: MpcSessionRuntime[] = [];
  const mailboxes: NodeMailbox[] = [];
  const attempts = new Map<string, number>();
  for (let index = 1; index <= N; index++) {
    const hpke = await generateEncryptionKeyPair();
    const signing = generateSigningKeyPair();
    const mailbox = new NodeMailbox();
    mailboxes.push(mailbox);
    const send = async (message: MpcMessage, to: number): Promise<void> => {
      const key = `${message.op}\n${message.type}\n${message.from}\n${to}`;
      const attempt = (attempts.get(key) ?? 0) + 1;
      attempts.set(key, attempt);
      const what = link?.(message.from, to, attempt) ?? 'deliver';
      if (what === 'hang') return new Promise<void>(() => undefined);
      if (what === 'unavailable') throw new NodeTransportError('peer_unavailable', 'down');
      if (what === 'replay') throw new NodeTransportError('replay', 'already sent');
      mailboxes[to - 1]!.record(message);
    };
    const client = { send } as unknown as NodeClient;
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

async function preprocessAll(runtimes: MpcSessionRuntime[], sessionId: string, prepId: string, expiresAt?: string): Promise<number> {
  for (const rt of runtimes) rt.preprocess({ sessionId, prepId, programId: PROGRAM.id, threshold: T, totalParties: N, ...(expiresAt ? { expiresAt } : {}) });
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

  it('keeps a complete, unused preprocessing until its expiresAt (capped at 7 days) past the session TTL', async () => {
    const start = Date.parse('2030-01-01T00:00:00.000Z');
    const clock = { now: start };
    const runtimes = await makeRuntimes(clock);
    const sessionId = sessionIdOf(terms());
    const hour = 3_600_000;
    await preprocessAll(runtimes, sessionId, 'prep-ttl');
    await preprocessAll(runtimes, sessionId, 'prep-10h', new Date(start + 10 * hour).toISOString());
    await preprocessAll(runtimes, sessionId, 'prep-30d', new Date(start + 30 * 24 * hour).toISOString());
    clock.now = start + 2 * hour;
    expect(runtimes[0]!.preprocessed(sessionId)).toEqual({ prepIds: ['prep-10h', 'prep-30d'] });
    clock.now = start + 10 * hour + 1;
    expect(runtimes[0]!.preprocessed(sessionId)).toEqual({ prepIds: ['prep-30d'] });
    clock.now = start + 7 * 24 * hour + 1;
    expect(runtimes[0]!.knows(sessionId)).toBe(false);
    expect(runtimes[0]!.preprocessed(sessionId)).toEqual({ prepIds: [] });
  });

  it('a dropped preprocessing is gone for good: no run takes it, its prepId is not accepted again', async () => {
    const clock = { now: 0 };
    const runtimes = await makeRuntimes(clock);
    const t = terms();
    const sessionId = sessionIdOf(t);
    await preprocessAll(runtimes, sessionId, 'prep-1');
    runtimes[0]!.dropPrep(sessionId, 'prep-1');
    runtimes[0]!.dropPrep(sessionId, 'prep-1'); // idempotent
    expect(runtimes[0]!.preprocessed(sessionId)).toEqual({ prepIds: [] });
    const request = { sessionId, runTag: 'run-1.1', programId: PROGRAM.id, terms: t, prepId: 'prep-1', sessionKey: { publicKey: 'AAAA', attestation: 'AAAA' }, bundles: [] } as unknown as MpcStartRunRequest;
    await expect(runtimes[0]!.startRun(request)).rejects.toMatchObject({ code: 'unknown_prep' });
    expect(() => runtimes[0]!.preprocess({ sessionId, prepId: 'prep-1', programId: PROGRAM.id, threshold: T, totalParties: N })).toThrow(expect.objectContaining({ code: 'tag_in_use' }));
    // a dropped run tag is refused too (a late start after the coordinator's DELETE)
    runtimes[1]!.dropRun(sessionId, 'run-1.1');
    await expect(runtimes[1]!.startRun(request)).rejects.toMatchObject({ code: 'tag_in_use' });
    expect(runtimes[1]!.preprocessed(sessionId)).toEqual({ prepIds: ['prep-1'] }); // refused before the prep is touched
  });

  it("a step's sends end by half its deadlineMs: a hung peer is reported undelivered, not waited for", async () => {
    const runtimes = await makeRuntimes({ now: 0 }, [], (_from, to) => (to === 3 ? 'hang' : 'deliver'));
    const sessionId = sessionIdOf(terms());
    for (const rt of runtimes) rt.preprocess({ sessionId, prepId: 'prep-1', programId: PROGRAM.id, threshold: T, totalParties: N });
    const started = Date.now();
    const answer = await runtimes[0]!.step({ sessionId, tag: 'prep-1', round: 0, senders: [1, 2, 3], deadlineMs: 800 });
    const elapsed = Date.now() - started;
    expect(answer.delivered).toEqual([1, 2]);
    expect(elapsed).toBeGreaterThanOrEqual(350);
    expect(elapsed).toBeLessThan(750);
  });

  it("a peer's replay answer counts as delivered on a retry, never on the first attempt", async () => {
    // 1 → 2: replay at once (another message holds the slot); 1 → 3: unavailable, then replay (the first got in)
    const link: Link = (from, to, attempt) => (from !== 1 ? 'deliver' : to === 2 ? 'replay' : to === 3 && attempt === 1 ? 'unavailable' : to === 3 ? 'replay' : 'deliver');
    const runtimes = await makeRuntimes({ now: 0 }, [], link);
    const sessionId = sessionIdOf(terms());
    for (const rt of runtimes) rt.preprocess({ sessionId, prepId: 'prep-1', programId: PROGRAM.id, threshold: T, totalParties: N });
    expect((await runtimes[0]!.step({ sessionId, tag: 'prep-1', round: 0, senders: [1, 2, 3] })).delivered).toEqual([1, 3]);
  });

  it('coordinator: after a round, a receiver the others could not reach is down, not the healthy senders', () => {
    const all = [1, 2, 3, 4, 5];
    const full = all.map((index) => ({ index, delivered: all }));
    expect(survivorsOfRound(full)).toEqual(all);
    // node 5's mailbox is broken: every other sender misses it
    expect(survivorsOfRound(all.map((index) => ({ index, delivered: index === 5 ? all : [1, 2, 3, 4] })))).toEqual([1, 2, 3, 4]);
    // node 2 reaches nobody: the sender is down
    expect(survivorsOfRound(all.map((index) => ({ index, delivered: index === 2 ? [2] : all })))).toEqual([1, 3, 4, 5]);
    // one link 1 → 4 failed: one of its ends goes (the receiver), the rest stay consistent
    expect(survivorsOfRound(all.map((index) => ({ index, delivered: index === 1 ? [1, 2, 3, 5] : all })))).toEqual([1, 2, 3, 5]);
    // node 3 missed two receivers: the sender goes rather than two receivers
    expect(survivorsOfRound(all.map((index) => ({ index, delivered: index === 3 ? [1, 2, 3] : all })))).toEqual([1, 2, 4, 5]);
    // only the answering nodes count (node 5 did not answer; nobody reached it)
    expect(survivorsOfRound([1, 2, 3].map((index) => ({ index, delivered: [1, 2, 3] })))).toEqual([1, 2, 3]);
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
