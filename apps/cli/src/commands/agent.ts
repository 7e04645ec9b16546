/**
 * `tenzro agent`: serves a party's side of secure aggregation. It lists the sessions the party is on and,
 * for every open secure_aggregation session where the party has saved client state (it contributed with
 * the same state directory), runs `platform.ai.participate`: it waits for a run's unmask request, answers
 * it once, and stops serving the session when it ends. Without `--once` it keeps listing every
 * `--interval` seconds, so a retried run is answered again (the same answer) and new sessions are picked
 * up. One log line per action; never a key, share or record.
 *
 * A session is finished for the agent only on an outcome (completed, round failed, excluded, left out,
 * session ended) or a refusal (SecAggError, SecureAggregationError, a session record that does not match
 * its terms). Any other failure — the host unreachable, 429, 5xx, the state locked by another process —
 * is logged and the session served again at the next listing (with `--once`, up to ONCE_ATTEMPTS times).
 * Every listing also sweeps the state directory: the party's records of sessions that are final
 * (completed, expired, cancelled) or gone (404) are deleted, so no secret outlives its session.
 *
 * The party comes from the development credentials (`--party`, default the first bank) or from a key file
 * (`--key-file`, with `TENZRO_API_KEY`; the tenant is the party id's). The state directory defaults to
 * `secagg-state/` next to the key file (or next to the credentials file): the same place `tenzro demo`
 * keeps it; the two may run at once (the state store locks each record).
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FINAL_STATUSES, tenantOfParty, type SessionStatus } from '@tenzro/protocol';
import {
  SecAggError,
  SecureAggregationError,
  SessionVerificationError,
  TenzroApiError,
  TenzroPlatform,
  loadPartyIdentity,
  isTransientError,
  parseSecAggStateKey,
  secAggStateKey,
  type MultiPartySession,
  type ParticipationEvent,
  type ParticipationOutcome,
} from '@tenzro/platform';
import { credentialsPath, partyOf, readDevCredentials, type DevParty } from '../credentials.js';
import { FileSecAggStateStore, StateLockError } from '../secagg-store.js';
import { measure } from './measure.js';

export interface AgentOptions {
  /** A party of the development credentials (default: the first bank). */
  party?: string;
  /** A party key file instead of the development credentials (API key from TENZRO_API_KEY). */
  keyFile?: string;
  /** The data directory whose dev/credentials.json to read (default TENZRO_DATA_DIR, else .tenzro). */
  dataDir?: string;
  credentials?: string;
  baseUrl?: string;
  /** The client state directory (default: secagg-state/ next to the key or credentials file). */
  stateDir?: string;
  /** Serve the sessions open now until each ends, then exit (no further listing). */
  once?: boolean;
  /** Seconds between listings (default 5). */
  interval?: number;
  /** Stops the agent (tests; the command wires SIGINT/SIGTERM). */
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** Tests: an SDK instance and its party instead of credentials or a key file (its state store must be
   *  a FileSecAggStateStore on `stateDir`). */
  client?: { platform: TenzroPlatform; partyId: string };
}

/** With `--once`, how many times a session that failed for a reason other than a refusal is served. */
export const ONCE_ATTEMPTS = 3;

/** Codes with which the host says the session is over. */
const ENDED_CODES: ReadonlySet<string> = new Set(['session_expired', 'session_cancelled', 'data_deleted', 'session_completed']);

/** A refusal: the session will not be served again (the protocol, the SDK or the host's evidence said no). */
export function isRefusal(error: unknown): boolean {
  return error instanceof SecAggError || error instanceof SecureAggregationError || error instanceof SessionVerificationError;
}

/** A failure that may pass: no reply, 429, 5xx, or the state locked by another process. */
export function isTransientFailure(error: unknown): boolean {
  return error instanceof StateLockError || isTransientError(error);
}

/**
 * Deletes `partyId`'s state records of sessions that are final or gone: `listed` holds the sessions the host
 * listed (the others are looked up one by one; a 404 or an ended session means gone). Records of sessions in
 * `skip` (being served: participate deletes them itself) are left alone. Returns the sessions swept.
 */
export async function sweepSecAggState(input: {
  store: FileSecAggStateStore;
  platform: TenzroPlatform;
  partyId: string;
  listed: ReadonlyMap<string, MultiPartySession>;
  skip?: ReadonlySet<string>;
  log: (line: string) => void;
}): Promise<string[]> {
  const { store, platform, partyId, listed, log } = input;
  const swept: string[] = [];
  for (const key of await store.keys()) {
    const parsed = parseSecAggStateKey(key);
    if (parsed === undefined || parsed.partyId !== partyId || input.skip?.has(parsed.sessionId)) continue;
    const { sessionId } = parsed;
    let status: SessionStatus | 'gone';
    const session = listed.get(sessionId);
    if (session !== undefined) {
      status = session.status;
    } else {
      try {
        status = (await platform.ai.getMultiPartySession(sessionId)).status;
      } catch (error) {
        if (error instanceof TenzroApiError && (error.status === 404 || ENDED_CODES.has(error.code))) {
          status = 'gone';
        } else {
          const err = error as { code?: string; message?: string };
          log(`${sessionId}: cannot check whether the session is over, its state is kept [${err.code ?? 'error'}] ${err.message ?? String(error)}`);
          continue;
        }
      }
    }
    if (status !== 'gone' && !FINAL_STATUSES.has(status)) continue;
    await store.withLock(key, () => store.delete(key));
    swept.push(sessionId);
    log(`${sessionId}: deleted the saved secure-aggregation state (session ${status})`);
  }
  return swept;
}

/** The state directory `tenzro demo` and `tenzro agent` share for the development parties. */
export function defaultSecAggStateDir(credentialsFile = credentialsPath()): string {
  return join(dirname(credentialsFile), 'secagg-state');
}

interface AgentParty {
  platform: TenzroPlatform;
  partyId: string;
  stateDir: string;
}

function fromCredentials(options: AgentOptions): AgentParty {
  const file = options.credentials ?? (options.dataDir ? join(options.dataDir, 'dev', 'credentials.json') : credentialsPath());
  const credentials = readDevCredentials(file);
  const party: DevParty | undefined =
    options.party !== undefined ? partyOf(credentials, options.party) : credentials.parties.find((p) => p.tenantId.startsWith('bank'));
  if (!party) throw new Error('the development credentials name no bank: pass --party');
  const stateDir = options.stateDir ?? defaultSecAggStateDir(file);
  const platform = new TenzroPlatform({
    apiKey: party.apiKey,
    tenantId: party.tenantId,
    baseUrl: options.baseUrl ?? process.env.TENZRO_BASE_URL ?? credentials.baseUrl,
    party: { partyId: party.partyId, signingKey: party.signingKey, encryptionKey: party.encryptionKey },
    trustedRoots: [credentials.attestation.rootPem],
    expectedMeasurements: [measure()],
    secAggStateStore: new FileSecAggStateStore(stateDir),
  });
  return { platform, partyId: party.partyId, stateDir };
}

async function fromKeyFile(keyFile: string, options: AgentOptions): Promise<AgentParty> {
  const identity = await loadPartyIdentity(readFileSync(keyFile, 'utf8'));
  if (options.party !== undefined && options.party !== identity.partyId) {
    throw new Error(`--party ${options.party} is not the party of ${keyFile} (${identity.partyId})`);
  }
  const apiKey = process.env.TENZRO_API_KEY;
  if (!apiKey) throw new Error('--key-file needs the API key of the party\'s tenant in TENZRO_API_KEY');
  const stateDir = options.stateDir ?? join(dirname(keyFile), 'secagg-state');
  const platform = new TenzroPlatform({
    apiKey,
    tenantId: tenantOfParty(identity.partyId),
    ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
    party: identity,
    secAggStateStore: new FileSecAggStateStore(stateDir),
  });
  return { platform, partyId: identity.partyId, stateDir };
}

function describe(outcome: ParticipationOutcome): string {
  const run = outcome.runId ? ` (run ${outcome.runId})` : '';
  const why = outcome.error ? `: [${outcome.error.code}] ${outcome.error.message}` : '';
  return `${outcome.status}${run}${why}`;
}

function describeEvent(event: ParticipationEvent): string {
  switch (event.kind) {
    case 'stage':
      return `round stage ${event.stage}`;
    case 'answered':
      return `answered the unmask request of run ${event.runId}${event.repeated ? ' (the same answer again)' : ''}`;
  }
}

/** Serves the party's secure-aggregation sessions; returns the exit status (1 when a session errored). */
export async function agent(options: AgentOptions = {}): Promise<number> {
  const log = options.log ?? ((line: string) => console.log(`${new Date().toISOString()} ${line}`));
  const interval = options.interval ?? 5;
  if (!Number.isFinite(interval) || interval <= 0) throw new RangeError('--interval must be a positive number of seconds');
  const { platform, partyId, stateDir } = options.client
    ? { ...options.client, stateDir: options.stateDir ?? '' }
    : options.keyFile
      ? await fromKeyFile(options.keyFile, options)
      : fromCredentials(options);
  if (stateDir === '') throw new TypeError('options.stateDir is required with options.client');
  const store = new FileSecAggStateStore(stateDir);
  const stop = new AbortController();
  const onStop = (): void => stop.abort(new Error('the agent was stopped'));
  options.signal?.addEventListener('abort', onStop, { once: true });
  if (options.signal?.aborted) onStop();

  log(`agent for ${partyId} at ${platform.baseUrl}; state in ${stateDir}${options.once ? ' (once)' : ''}`);
  const serving = new Map<string, Promise<void>>();
  /** Sessions this agent will not serve again (ended, refused, or nothing left for this party). */
  const finished = new Set<string>();
  /** Times each session was served (for --once). */
  const attempts = new Map<string, number>();
  /** With --once: the sessions of the first listing, still to be served to the end. */
  let onceSet: Set<string> | undefined;
  let failures = 0;
  let served = 0;
  let listingFailures = 0;

  const serve = (session: MultiPartySession): Promise<void> =>
    platform.ai
      .participate(session.id, { signal: stop.signal, onEvent: (event) => log(`${session.id}: ${describeEvent(event)}`) })
      .then((outcome) => {
        log(`${session.id}: ${describe(outcome)}`);
        if (outcome.status !== 'run_failed' || options.once) finished.add(session.id);
      })
      .catch((error: unknown) => {
        if (stop.signal.aborted) return;
        const err = error as { code?: string; message?: string };
        const what = `[${err.code ?? 'error'}] ${err.message ?? String(error)}`;
        if (isRefusal(error)) {
          log(`${session.id}: refused ${what}`);
          finished.add(session.id);
          failures++;
          return;
        }
        const transient = isTransientFailure(error);
        if (options.once && (attempts.get(session.id) ?? 0) >= ONCE_ATTEMPTS) {
          log(`${session.id}: failed ${what}; gave up after ${ONCE_ATTEMPTS} attempts`);
          finished.add(session.id);
          failures++;
          return;
        }
        // Not counted as a failure unless --once gives up on it: the next listing serves the session again.
        log(`${session.id}: failed ${what}; ${transient ? 'the host may be unavailable, ' : ''}serving it again at the next listing`);
      })
      .finally(() => serving.delete(session.id));

  const pause = (): Promise<void> =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, interval * 1000);
      stop.signal.addEventListener('abort', () => {
        clearTimeout(timer);
        resolve();
      }, { once: true });
    });

  try {
    while (!stop.signal.aborted) {
      let sessions: MultiPartySession[] | undefined;
      try {
        sessions = await platform.ai.listMultiPartySessions();
        listingFailures = 0;
      } catch (error) {
        const err = error as { code?: string; message?: string };
        log(`cannot list sessions [${err.code ?? 'error'}] ${err.message ?? String(error)}`);
        listingFailures++;
        if (options.once && (listingFailures >= ONCE_ATTEMPTS || !isTransientFailure(error))) return 1;
      }
      if (sessions !== undefined) {
        const listed = new Map(sessions.map((s) => [s.id, s] as const));
        try {
          await sweepSecAggState({ store, platform, partyId, listed, skip: new Set(serving.keys()), log });
        } catch (error) {
          const err = error as { code?: string; message?: string };
          log(`cannot sweep the state directory [${err.code ?? 'error'}] ${err.message ?? String(error)}`);
        }
        const eligible: MultiPartySession[] = [];
        for (const session of sessions) {
          if (finished.has(session.id)) continue;
          if (session.terms.dataPolicy.aggregationMethod !== 'secure_aggregation' || FINAL_STATUSES.has(session.status)) continue;
          if (!session.participants.includes(partyId)) continue;
          if ((await store.load(secAggStateKey(session.id, partyId))) === undefined) continue;
          eligible.push(session);
        }
        onceSet ??= options.once ? new Set(eligible.map((s) => s.id)) : undefined;
        for (const session of eligible) {
          if (serving.has(session.id) || (onceSet !== undefined && !onceSet.has(session.id))) continue;
          const attempt = (attempts.get(session.id) ?? 0) + 1;
          attempts.set(session.id, attempt);
          log(`${session.id}: serving '${session.name}' (status ${session.status})${attempt > 1 ? ` (attempt ${attempt})` : ''}`);
          if (attempt === 1) served++;
          serving.set(session.id, serve(session));
        }
        if (onceSet !== undefined) {
          // Sessions of the first listing that ended, lost their state or were swept are done with.
          const open = new Set(eligible.map((s) => s.id));
          for (const id of onceSet) if (!open.has(id) && !serving.has(id)) onceSet.delete(id);
        }
      }
      if (options.once) {
        while (serving.size > 0) await Promise.all([...serving.values()]);
        if (onceSet !== undefined) for (const id of onceSet) if (finished.has(id)) onceSet.delete(id);
        if (onceSet !== undefined && onceSet.size === 0) {
          if (served === 0) log('no open secure-aggregation session with saved state for this party');
          break;
        }
      }
      await pause();
    }
    await Promise.all([...serving.values()]);
  } finally {
    options.signal?.removeEventListener('abort', onStop);
  }
  return failures > 0 ? 1 : 0;
}
