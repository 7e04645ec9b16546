/**
 * Test harness: a real server in-process (app.inject) with a real enclave child process, a fresh data
 * directory, the development bootstrap's four demo tenants and parties, and a movable clock.
 *
 * The database is the embedded SQLite file, or — in the `postgres` test project (vitest.config.ts, which
 * sets TENZRO_TEST_DATABASE=postgres) — a fresh database of the run's shared PostgreSQL cluster, so every
 * feature test runs on both dialects. A restart (the same data directory) gets the same database back.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromBase64Url } from '@tenzro/crypto';
import { signConsentStatement, type ConsentFlags } from '@tenzro/protocol';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { sql } from 'kysely';
import pg from 'pg';
import { inject } from 'vitest';
import { loadConfig } from './config.js';
import type { DevCredentials } from './bootstrap.js';
import { createLogger } from './logger.js';
import { startServer, type RunningServer, type StartOptions } from './server.js';

export type DemoName = 'bankA' | 'bankB' | 'bankC' | 'regulator';

export const PARTY: Record<DemoName, string> = {
  bankA: 'party::bankA::treasury',
  bankB: 'party::bankB::treasury',
  bankC: 'party::bankC::treasury',
  regulator: 'party::regulator::compliance',
};

export interface TestServer {
  server: RunningServer;
  dataDir: string;
  credentials: DevCredentials;
  /** Milliseconds added to the real clock (move time forward to test expiry). */
  clockOffsetMs: number;
  headers(who: DemoName, extra?: Record<string, string>): Record<string, string>;
  inject(who: DemoName | null, options: InjectOptions): Promise<LightMyRequestResponse>;
  json<T = any>(response: LightMyRequestResponse): T;
  consentSignature(who: DemoName, sessionId: string, consent?: ConsentFlags): string;
  close(): Promise<void>;
}

export interface TestServerOptions {
  env?: Record<string, string>;
  start?: StartOptions;
  /** Reuse a data directory (a restart); it is then left in place by close(). */
  dataDir?: string;
  /** DATABASE_URL of the server (a PostgreSQL database, e.g. from postgres.fixture.ts); absent: SQLite in the data dir. */
  databaseUrl?: string;
}

/** Which database the feature tests run on in this test project. */
export const TEST_DATABASE: 'sqlite' | 'postgres' = process.env.TENZRO_TEST_DATABASE === 'postgres' ? 'postgres' : 'sqlite';

const DATABASE_URL_FILE = '.test-database-url';

/** In the postgres project: the data directory's database (made on first use, found again on a restart). */
async function testDatabaseUrl(dataDir: string): Promise<string | undefined> {
  if (TEST_DATABASE !== 'postgres') return undefined;
  const file = join(dataDir, DATABASE_URL_FILE);
  const existing = await readFile(file, 'utf8').catch(() => undefined);
  if (existing) return existing;
  const admin = inject('postgresAdminUrl');
  const name = `feature_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: admin });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  // The unix-socket form (postgresql://user@/postgres?host=…) is no WHATWG URL: swap the database name.
  const url = admin.replace(/\/postgres(\?|$)/, `/${name}$1`);
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await writeFile(file, url, { mode: 0o600 });
  return url;
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'tenzro-server-test-')));
  const databaseUrl = options.databaseUrl ?? (await testDatabaseUrl(dataDir));
  const env: NodeJS.ProcessEnv = {
    TENZRO_DATA_DIR: dataDir,
    PORT: '0',
    TENZRO_LOG_LEVEL: process.env.TENZRO_TEST_LOG_LEVEL ?? 'warn',
    ...(process.env.TENZRO_ENCLAVE_ENTRY ? { TENZRO_ENCLAVE_ENTRY: process.env.TENZRO_ENCLAVE_ENTRY } : {}),
    ...(databaseUrl !== undefined ? { DATABASE_URL: databaseUrl } : {}),
    ...options.env,
  };
  const config = loadConfig(env);
  const state = { offset: 0 };
  const server = await startServer(config, {
    listen: false,
    logger: createLogger({ level: config.logLevel, dataDir, stdout: process.env.TENZRO_TEST_LOG_STDOUT === '1' }),
    clock: () => new Date(Date.now() + state.offset),
    enclaveStartTimeoutMs: 60_000,
    ...options.start,
  });
  const credentials: DevCredentials = server.credentialsFile
    ? (JSON.parse(await readFile(server.credentialsFile, 'utf8')) as DevCredentials)
    : { baseUrl: server.url, attestation: { rootPem: null, measurement: null }, parties: [] };
  const byTenant = (who: DemoName) => credentials.parties.find((p) => p.tenantId === who)!;

  const harness: TestServer = {
    server,
    dataDir,
    credentials,
    get clockOffsetMs() {
      return state.offset;
    },
    set clockOffsetMs(value: number) {
      state.offset = value;
    },
    headers(who, extra = {}) {
      const party = byTenant(who);
      return { authorization: `Bearer ${party.apiKey}`, 'x-tenant-id': party.tenantId, ...extra };
    },
    async inject(who, request) {
      const headers = { ...(who ? harness.headers(who) : {}), ...(request.headers as Record<string, string> | undefined) };
      return server.app.inject({ ...request, headers });
    },
    json(response) {
      return JSON.parse(response.body);
    },
    consentSignature(who, sessionId, consent) {
      return signConsentStatement(sessionId, fromBase64Url(byTenant(who).signingKey.privateKey), consent);
    },
    async close() {
      await server.close();
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return harness;
}

export interface CreateOptions {
  participants?: DemoName[];
  observers?: DemoName[];
  dataPolicy?: Record<string, unknown>;
  expiresAt?: string;
  creator?: DemoName;
}

export async function createTestSession(t: TestServer, options: CreateOptions = {}): Promise<any> {
  const response = await t.inject(options.creator ?? 'bankA', {
    method: 'POST',
    url: '/v1/sessions',
    payload: {
      name: 'test session',
      modelId: 'risk-analyzer-v2',
      participants: (options.participants ?? ['bankA', 'bankB']).map((n) => PARTY[n]),
      observers: (options.observers ?? ['regulator']).map((n) => PARTY[n]),
      ...(options.dataPolicy ? { dataPolicy: options.dataPolicy } : {}),
      ...(options.expiresAt ? { expiresAt: options.expiresAt } : {}),
    },
  });
  if (response.statusCode !== 201) throw new Error(`createSession: ${response.statusCode} ${response.body}`);
  return JSON.parse(response.body);
}

export const ZERO_COMMITMENT = 'sha256:' + '0'.repeat(64);

export async function uploadData(
  t: TestServer,
  who: DemoName,
  sessionId: string,
  body: Buffer | Uint8Array | NodeJS.ReadableStream,
  headers: Record<string, string> = {},
): Promise<LightMyRequestResponse> {
  return t.inject(who, {
    method: 'POST',
    url: `/v1/sessions/${sessionId}/data`,
    headers: {
      'content-type': 'application/octet-stream',
      'x-tenzro-data-schema': 'transaction_records_v1',
      'x-tenzro-commitment': ZERO_COMMITMENT,
      ...headers,
    },
    payload: body as InjectOptions['payload'],
  });
}

export async function auditTypes(t: TestServer, sessionId: string): Promise<string[]> {
  const rows = await t.server.ctx.db.selectFrom('audit_events').select('type').where('session_id', '=', sessionId).orderBy('seq').execute();
  return rows.map((r) => r.type);
}

/**
 * A real submission: `data` (the product doc's shape, `{ records: [...] }` unless given otherwise) sealed to
 * the session key with HPKE (info DATA_INFO), and its plain commitment.
 */
export async function sealForSession(
  t: TestServer,
  who: DemoName,
  sessionId: string,
  data: unknown,
): Promise<{ envelope: Uint8Array; commitment: string }> {
  const { DATA_INFO, fromBase64Url: b64, hashCommitment, sealEnvelope, utf8Encode } = await import('@tenzro/crypto');
  const key = await t.inject(who, { method: 'GET', url: `/v1/sessions/${sessionId}/key` });
  if (key.statusCode !== 200) throw new Error(`getSessionKey: ${key.statusCode} ${key.body}`);
  const publicKey = b64(JSON.parse(key.body).publicKey);
  const envelope = await sealEnvelope(publicKey, utf8Encode(JSON.stringify(data)), { info: DATA_INFO });
  return { envelope, commitment: await hashCommitment(data) };
}

export async function submitValid(t: TestServer, who: DemoName, sessionId: string, data: unknown): Promise<LightMyRequestResponse> {
  const { envelope, commitment } = await sealForSession(t, who, sessionId, data);
  return uploadData(t, who, sessionId, Buffer.from(envelope), { 'x-tenzro-commitment': commitment });
}

export async function consent(t: TestServer, who: DemoName, sessionId: string): Promise<LightMyRequestResponse> {
  return t.inject(who, {
    method: 'POST',
    url: `/v1/sessions/${sessionId}/consents`,
    payload: {
      consent: { dataUsage: true, resultSharing: true, attestationSharing: true, retentionAcknowledged: true },
      signature: t.consentSignature(who, sessionId),
    },
  });
}

/** Every blob file in the store (not temp files). */
export async function blobFiles(t: TestServer): Promise<string[]> {
  const { readdir } = await import('node:fs/promises');
  const root = t.server.ctx.blobs.root;
  const out: string[] = [];
  for (const entry of await readdir(root, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    for (const name of await readdir(join(root, entry.name))) out.push(entry.name + name);
  }
  return out;
}

/** A small valid contribution for risk-analyzer-v2: an array of transaction_records_v1 records. */
export function demoData(who: DemoName, count = 40): unknown {
  const banks = ['bankA', 'bankB', 'bankC'];
  return Array.from({ length: count }, (_, n) => ({
    transactionId: `${who}-tx-${n}`,
    accountId: `${who}-acct-${n % 7}`,
    counterpartyAccountId: `${banks[n % 3]}-acct-${(n * 5) % 7}`,
    counterpartyBank: banks[n % 3]!,
    amount: 50 + ((n * 7919) % 5000),
    currency: 'EUR',
    direction: n % 2 === 0 ? 'debit' : 'credit',
    timestamp: new Date(Date.UTC(2024, 0, 1 + (n % 28), n % 24, (n * 13) % 60)).toISOString(),
    channel: ['wire', 'ach', 'card', 'cash', 'internal'][n % 5]!,
    country: n % 9 === 0 ? 'CH' : 'DE',
  }));
}

/**
 * Makes the database refuse inserts into `table` (only of audit events of `auditType`, when given) until the
 * returned function is called: a trigger that raises, written for the dialect under test. Tests use it to
 * show a state change and its audit entry commit together or not at all.
 */
export async function refuseInserts(t: TestServer, options: { table: 'audit_events' | 'merkle_nodes'; auditType?: string }): Promise<() => Promise<void>> {
  const db = t.server.ctx.db;
  const name = `refuse_${options.table}`;
  if (options.auditType !== undefined && !/^[a-z_]+$/.test(options.auditType)) throw new TypeError('auditType: a lowercase event kind');
  const when = options.auditType === undefined ? '' : `WHEN (NEW.type = '${options.auditType}')`;
  if (TEST_DATABASE === 'postgres') {
    await sql.raw(`CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'insert refused'; END $$`).execute(db);
    await sql.raw(`CREATE TRIGGER ${name} BEFORE INSERT ON ${options.table} FOR EACH ROW ${when} EXECUTE FUNCTION ${name}()`).execute(db);
    return async () => {
      await sql.raw(`DROP TRIGGER ${name} ON ${options.table}`).execute(db);
      await sql.raw(`DROP FUNCTION ${name}()`).execute(db);
    };
  }
  await sql.raw(`CREATE TRIGGER ${name} BEFORE INSERT ON ${options.table} ${when} BEGIN SELECT RAISE(ABORT, 'insert refused'); END`).execute(db);
  return async () => {
    await sql.raw(`DROP TRIGGER ${name}`).execute(db);
  };
}
