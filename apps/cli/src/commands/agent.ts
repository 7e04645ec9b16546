/**
 * `tenzro agent`: serves a party's side of secure aggregation. It lists the sessions the party is on and,
 * for every open secure_aggregation session where the party has saved client state (it contributed with
 * the same state directory), runs `platform.ai.participate`: it waits for a run's unmask request, answers
 * it once, and stops serving the session when it ends. Without `--once` it keeps listing every
 * `--interval` seconds, so a retried run is answered again (the same answer) and new sessions are picked
 * up. One log line per action; never a key, share or record.
 *
 * The party comes from the development credentials (`--party`, default the first bank) or from a key file
 * (`--key-file`, with `TENZRO_API_KEY`; the tenant is the party id's). The state directory defaults to
 * `secagg-state/` next to the key file (or next to the credentials file): the same place `tenzro demo`
 * keeps it.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { FINAL_STATUSES, tenantOfParty } from '@tenzro/protocol';
import {
  TenzroPlatform,
  loadPartyIdentity,
  secAggStateKey,
  type MultiPartySession,
  type ParticipationEvent,
  type ParticipationOutcome,
} from '@tenzro/platform';
import { credentialsPath, partyOf, readDevCredentials, type DevParty } from '../credentials.js';
import { FileSecAggStateStore } from '../secagg-store.js';
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
  const { platform, partyId, stateDir } = options.keyFile ? await fromKeyFile(options.keyFile, options) : fromCredentials(options);
  const store = new FileSecAggStateStore(stateDir);
  const stop = new AbortController();
  const onStop = (): void => stop.abort(new Error('the agent was stopped'));
  options.signal?.addEventListener('abort', onStop, { once: true });
  if (options.signal?.aborted) onStop();

  log(`agent for ${partyId} at ${platform.baseUrl}; state in ${stateDir}${options.once ? ' (once)' : ''}`);
  const serving = new Map<string, Promise<void>>();
  /** Sessions this agent will not serve again (ended, refused, or nothing left for this party). */
  const finished = new Set<string>();
  let failures = 0;
  let served = 0;

  const serve = (session: MultiPartySession): Promise<void> =>
    platform.ai
      .participate(session.id, { signal: stop.signal, onEvent: (event) => log(`${session.id}: ${describeEvent(event)}`) })
      .then((outcome) => {
        log(`${session.id}: ${describe(outcome)}`);
        if (outcome.status !== 'run_failed') finished.add(session.id);
      })
      .catch((error: unknown) => {
        if (stop.signal.aborted) return;
        const err = error as { code?: string; message?: string };
        log(`${session.id}: refused or failed [${err.code ?? 'error'}] ${err.message ?? String(error)}`);
        finished.add(session.id);
        failures++;
      })
      .finally(() => serving.delete(session.id));

  try {
    while (!stop.signal.aborted) {
      let sessions: MultiPartySession[] = [];
      try {
        sessions = await platform.ai.listMultiPartySessions();
      } catch (error) {
        const err = error as { code?: string; message?: string };
        log(`cannot list sessions [${err.code ?? 'error'}] ${err.message ?? String(error)}`);
        if (options.once) return 1;
      }
      for (const session of sessions) {
        if (serving.has(session.id) || finished.has(session.id)) continue;
        if (session.terms.dataPolicy.aggregationMethod !== 'secure_aggregation' || FINAL_STATUSES.has(session.status)) continue;
        if (!session.participants.includes(partyId)) continue;
        if ((await store.load(secAggStateKey(session.id, partyId))) === undefined) continue;
        log(`${session.id}: serving '${session.name}' (status ${session.status})`);
        served++;
        serving.set(session.id, serve(session));
      }
      if (options.once) {
        while (serving.size > 0) await Promise.all([...serving.values()]);
        if (served === 0) log('no open secure-aggregation session with saved state for this party');
        break;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, interval * 1000);
        stop.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          resolve();
        }, { once: true });
      });
    }
    await Promise.all([...serving.values()]);
  } finally {
    options.signal?.removeEventListener('abort', onStop);
  }
  return failures > 0 ? 1 : 0;
}
