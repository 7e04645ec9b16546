/**
 * An in-memory stand-in for `TenzroPlatform` in the UI tests: sessions in a map, every `platform.ai` call
 * recorded, any call can be held (a deferred answer) or made to fail, and each `watchSession(s)` stream is a
 * controllable queue (`push`, `fail`, `end`) that records its abort signal.
 */
import type { Contribution, InferenceResult, MultiPartySession, SessionEvent } from '@tenzro/platform';
import type { MultiPartyAiClient, PlatformClient } from './platform-context.js';

export const BANK_A = 'party::bankA::treasury';
export const BANK_B = 'party::bankB::treasury';
export const REGULATOR = 'party::regulator::supervision';

export function makeSession(overrides: Partial<MultiPartySession> = {}): MultiPartySession {
  const participants = overrides.participants ?? [BANK_A, BANK_B];
  const observers = overrides.observers ?? [REGULATOR];
  const dataPolicy = overrides.dataPolicy ?? {
    minParticipants: participants.length,
    aggregationMethod: 'federated' as const,
    encryptionRequired: true as const,
    attestationRequired: true,
    retentionPolicy: 'delete_after_inference' as const,
    federatedConfig: { localEpochs: 5, aggregationRounds: 10, differentialPrivacy: { enabled: true, epsilon: 1, delta: 1e-5 } },
  };
  const base: MultiPartySession = {
    id: 'mps_alpha',
    name: 'AML screening',
    description: '',
    modelId: 'risk-analyzer-v2',
    status: 'collecting',
    joinCode: 'JOIN-1234',
    participants,
    observers,
    dataPolicy,
    expiresAt: '2030-01-01T00:00:00.000Z',
    createdAt: '2029-12-01T00:00:00.000Z',
    createdBy: 'bankA',
    dataSubmittedBy: [],
    consentedBy: [],
    yourRoles: ['creator', 'participant'],
    terms: {} as MultiPartySession['terms'],
  };
  return { ...base, ...overrides, participants, observers, dataPolicy };
}

export function makeResult(sessionId: string): InferenceResult {
  return {
    sessionId,
    runId: 'run_1',
    content: 'Two shared counterparties flagged.',
    findings: {},
    teeAttestation: { verified: true, provider: 'simulated', moduleId: 'sim', measurement: 'ab'.repeat(48), timestamp: '2030-01-01T00:00:00.000Z', document: 'doc', reportHash: 'sha256:00' },
    participantCount: 2,
    includedParties: [BANK_A, BANK_B],
    aggregatedDataHash: 'sha256:11',
    resultHash: 'sha256:22',
    report: {} as InferenceResult['report'],
    releasedAt: '2030-01-01T00:00:00.000Z',
  };
}

export function sessionEvent(sessionId: string, status: SessionEvent['status']): SessionEvent {
  return { type: 'session.updated', sessionId, status, at: new Date(0).toISOString() };
}

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: unknown) => void;
}

function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

type Item = { kind: 'event'; event: SessionEvent } | { kind: 'error'; error: Error } | { kind: 'end' };

/** One open event stream, fed by the test. */
export class FakeStream implements AsyncIterable<SessionEvent> {
  readonly #queue: Item[] = [];
  #wake: (() => void) | undefined;
  constructor(
    readonly sessionId: string | undefined,
    readonly signal: AbortSignal,
  ) {
    signal.addEventListener('abort', () => this.#wake?.(), { once: true });
  }
  push(event: SessionEvent): void {
    this.#queue.push({ kind: 'event', event });
    this.#wake?.();
  }
  fail(error: Error = new Error('stream dropped')): void {
    this.#queue.push({ kind: 'error', error });
    this.#wake?.();
  }
  end(): void {
    this.#queue.push({ kind: 'end' });
    this.#wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<SessionEvent> {
    for (;;) {
      if (this.signal.aborted) throw new DOMException('aborted', 'AbortError');
      const item = this.#queue.shift();
      if (item === undefined) {
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
        });
        this.#wake = undefined;
        continue;
      }
      if (item.kind === 'event') yield item.event;
      else if (item.kind === 'error') throw item.error;
      else return;
    }
  }
}

type Method = keyof MultiPartyAiClient;

export class FakePlatform implements PlatformClient {
  partyId: string | undefined = BANK_A;
  readonly sessions = new Map<string, MultiPartySession>();
  readonly calls: Array<{ method: Method; args: unknown[] }> = [];
  readonly streams: FakeStream[] = [];
  readonly #held = new Map<Method, Array<Deferred<unknown>>>();
  readonly #failures = new Map<Method, Error[]>();
  readonly ai: MultiPartyAiClient;

  constructor(sessions: MultiPartySession[] = []) {
    for (const session of sessions) this.sessions.set(session.id, session);
    const call = async <T>(method: Method, args: unknown[], answer: () => T): Promise<T> => {
      this.calls.push({ method, args });
      const held = this.#held.get(method)?.shift();
      if (held) return (await held.promise) as T;
      const failure = this.#failures.get(method)?.shift();
      if (failure) throw failure;
      return answer();
    };
    const get = (id: string): MultiPartySession => {
      const session = this.sessions.get(id);
      if (!session) throw new Error(`session ${id} not found`);
      return session;
    };
    this.ai = {
      createMultiPartySession: (input) =>
        call('createMultiPartySession', [input], () => {
          const session = makeSession({
            id: `mps_${this.sessions.size + 1}`,
            name: input.name,
            modelId: input.modelId,
            participants: input.participants,
            observers: input.observers ?? [],
            status: 'created',
          });
          this.sessions.set(session.id, session);
          return session;
        }),
      getMultiPartySession: (id) => call('getMultiPartySession', [id], () => get(id)),
      listMultiPartySessions: () => call('listMultiPartySessions', [], () => [...this.sessions.values()]),
      getSessionStatus: (id) => call('getSessionStatus', [id], () => ({}) as Awaited<ReturnType<MultiPartyAiClient['getSessionStatus']>>),
      contribute: (input) =>
        call('contribute', [input], () => {
          const session = get(input.sessionId);
          this.update(input.sessionId, { dataSubmittedBy: [...session.dataSubmittedBy, this.partyId ?? ''] });
          return { sessionId: input.sessionId, commitment: 'sha256:00' } as unknown as Contribution;
        }),
      consent: (id) =>
        call('consent', [id], () => {
          const session = get(id);
          this.update(id, { consentedBy: [...session.consentedBy, this.partyId ?? ''] });
          return {} as Awaited<ReturnType<MultiPartyAiClient['consent']>>;
        }),
      runMultiPartyInference: (input) =>
        call('runMultiPartyInference', [input], () => {
          this.update(input.sessionId, { status: 'completed' });
          return makeResult(input.sessionId);
        }),
      getSessionResult: (id) => call('getSessionResult', [id], () => makeResult(id)),
      cancelSession: (id) => call('cancelSession', [id], () => this.update(id, { status: 'cancelled' })),
      watchSession: (id, options) => this.#open(id, options?.signal),
      watchSessions: (options) => this.#open(undefined, options?.signal),
    };
  }

  #open(sessionId: string | undefined, signal: AbortSignal | undefined): AsyncIterable<SessionEvent> {
    this.calls.push({ method: sessionId === undefined ? 'watchSessions' : 'watchSession', args: sessionId === undefined ? [] : [sessionId] });
    const stream = new FakeStream(sessionId, signal ?? new AbortController().signal);
    this.streams.push(stream);
    return stream;
  }

  update(id: string, changes: Partial<MultiPartySession>): MultiPartySession {
    const session = { ...this.sessions.get(id)!, ...changes };
    this.sessions.set(id, session);
    return session;
  }

  /** The next call of `method` waits until the test settles the returned deferred. */
  hold<T = unknown>(method: Method): Deferred<T> {
    const d = deferred<T>();
    const list = this.#held.get(method) ?? [];
    list.push(d as Deferred<unknown>);
    this.#held.set(method, list);
    return d;
  }

  /** The next call of `method` fails with `error`. */
  failNext(method: Method, error: Error): void {
    const list = this.#failures.get(method) ?? [];
    list.push(error);
    this.#failures.set(method, list);
  }

  count(method: Method): number {
    return this.calls.filter((c) => c.method === method).length;
  }

  /** The newest open stream (for one session, or the list's). */
  latestStream(sessionId?: string): FakeStream {
    const stream = [...this.streams].reverse().find((s) => s.sessionId === sessionId);
    if (!stream) throw new Error(`no stream for ${sessionId ?? 'the list'}`);
    return stream;
  }
}
