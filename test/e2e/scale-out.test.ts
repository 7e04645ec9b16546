// Scale-out (issue 8): two server instances and two enclave workers over one throwaway PostgreSQL cluster,
// each started from the shipped systemd units (deploy/systemd) by a unit runner. Parties hit the instances
// at random. 20 sessions in parallel complete with each run released once and the audit log consistent;
// then kill -9 of one instance and of one worker during runs: the survivors finish every run, none twice,
// none stuck.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { postgresAvailability, startPostgres, type PostgresCluster } from '../../packages/server/src/postgres.fixture.js';
import { BANKS, createSeedSession, demoPartitions, devParties, fillSession, sdkFor } from '../support/flow.js';
import { freePort, repoRoot, type DevCredentials, type PlatformProcess } from '../support/platform-process.js';
import { startUnit } from '../support/systemd-unit.js';

const availability = postgresAvailability();
const UNITS = join(repoRoot, 'deploy', 'systemd');
const RUN_LEASE_MS = 3_000;
const SWEEP_MS = 1_000;
/** A run whose instance died is claimed again within lease + sweep + a poll; generous for a 2-core CI box. */
const PICKUP_BOUND_MS = RUN_LEASE_MS + SWEEP_MS + 1_000;

interface Service {
  name: string;
  child: ChildProcess;
  logFile: string;
  port: number;
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function logOf(service: Service): string {
  try {
    return readFileSync(service.logFile, 'utf8');
  } catch {
    return '';
  }
}

describe.skipIf(!availability.available)('scale-out: two instances and two enclave workers on one PostgreSQL', () => {
  let cluster: PostgresCluster;
  let root: string;
  let databaseUrl: string;
  let db: pg.Client;
  const workers: Service[] = [];
  const servers: Service[] = [];
  let credentials: DevCredentials;
  /** The deployment as the test's parties see it: every request goes to one of the live instances at random. */
  let deployment: PlatformProcess;

  let environmentFiles: Record<string, string>;

  async function startService(unit: string, name: string, port: number, ready: (s: Service) => Promise<unknown>): Promise<Service> {
    const logFile = join(root, `${name}.log`);
    const child = startUnit(join(UNITS, unit), {
      instance: String(port),
      stateRoot: join(root, 'var-lib'),
      environmentFiles,
      workingDirectory: repoRoot,
      logFile,
    });
    const service = { name, child, logFile, port };
    await waitFor(`${name} to be ready`, async () => {
      if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}:\n${logOf(service)}`);
      return (await ready(service)) ? true : undefined;
    });
    return service;
  }

  /** Instances the load balancer sends to: not killed (a killed one is taken out before the signal). */
  const killed = new Set<Service>();
  const live = (): Service[] => servers.filter((s) => !killed.has(s) && s.child.exitCode === null && s.child.signalCode === null);

  beforeAll(async () => {
    cluster = await startPostgres();
    databaseUrl = await cluster.createDatabase();
    root = await mkdtemp(join(tmpdir(), 'tenzro-scale-out-'));
    const shared = join(root, 'var-lib', 'tenzro', 'shared');
    const workerPorts = [await freePort(), await freePort()];
    // The three files of deploy/systemd/*.env.example, with this test's values.
    const files: Record<string, string[]> = {
      'tenzro.env': [
        'TENZRO_ENV=development',
        'TENZRO_LOG_LEVEL=info',
        `TENZRO_SHARED_DIR=${shared}`,
        `TENZRO_ENCLAVE_WORKER_TOKEN=${randomBytes(32).toString('base64url')}`,
        'TENZRO_RUN_TIMEOUT_MS=60000',
      ],
      'server.env': [
        'HOST=127.0.0.1',
        `DATABASE_URL=${databaseUrl}`,
        `TENZRO_ENCLAVE_WORKERS=${workerPorts.map((p) => `tcp://127.0.0.1:${p}`).join(',')}`,
        `TENZRO_RUN_LEASE_MS=${RUN_LEASE_MS}`,
        `TENZRO_SWEEP_INTERVAL_MS=${SWEEP_MS}`,
        'TENZRO_QUEUE_MAINTENANCE_S=1',
        'TENZRO_QUEUE_POLL_S=1',
      ],
      'enclave-worker.env': [`TENZRO_ENCLAVE_STATE_DIR=${join(root, 'var-lib', 'tenzro-enclave', 'state')}`],
    };
    environmentFiles = {};
    for (const [name, lines] of Object.entries(files)) {
      const path = join(root, name);
      await writeFile(path, ['# written by scale-out.test.ts', ...lines, ''].join('\n'), { mode: 0o600 });
      environmentFiles[`/etc/tenzro/${name}`] = path;
    }
    for (const [i, port] of workerPorts.entries()) {
      workers.push(await startService('tenzro-enclave-worker@.service', `worker${i + 1}`, port, async (s) => /enclave worker listening on tcp:\/\//.test(logOf(s))));
    }
    for (const name of ['serverA', 'serverB']) {
      const port = await freePort();
      servers.push(
        await startService('tenzro-server@.service', name, port, async () => {
          try {
            return (await fetch(`http://127.0.0.1:${port}/healthz`)).ok;
          } catch {
            return false;
          }
        }),
      );
    }
    // Instance A (started first) created the development tenants; B found them in the shared database.
    credentials = JSON.parse(readFileSync(join(root, 'var-lib', 'tenzro', `server-${servers[0]!.port}`, 'dev', 'credentials.json'), 'utf8'));
    deployment = {
      get baseUrl() {
        const up = live();
        return `http://127.0.0.1:${up[Math.floor(Math.random() * up.length)]!.port}`;
      },
      credentials: () => credentials,
    } as unknown as PlatformProcess;
    db = new pg.Client({ connectionString: databaseUrl });
    await db.connect();
  }, 180_000);

  afterAll(async () => {
    await db?.end().catch(() => undefined);
    for (const service of [...servers, ...workers]) {
      if (service.child.exitCode === null && service.child.signalCode === null) {
        const exited = new Promise((r) => service.child.once('exit', r));
        service.child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 10_000))]);
        service.child.kill('SIGKILL');
      }
    }
    await cluster?.stop();
    if (root) await rm(root, { recursive: true, force: true });
  }, 60_000);

  /**
   * A request that reached an instance just as it was killed gets no reply; a load balancer retries such a
   * request on another instance, and so does the test (the next probe picks a live one).
   */
  function retryIfUnreachable(error: unknown): undefined {
    if (/no reply from/.test((error as Error).message)) return undefined;
    throw error;
  }

  async function count(query: string, values: unknown[] = []): Promise<number> {
    return Number((await db.query(query, values)).rows[0].n);
  }

  async function auditTypes(sessionId: string): Promise<string[]> {
    return (await db.query('select type from audit_events where session_id = $1 order by seq', [sessionId])).rows.map((r) => r.type as string);
  }

  /** Every recipient (the three banks and the regulator) reads the result, each through a random instance. */
  async function readResults(sessionId: string): Promise<string[]> {
    const parties = devParties(deployment);
    await waitFor(`${sessionId} to complete`, async () => {
      const status = await sdkFor(deployment, parties.bankA!).ai.getSessionStatus(sessionId).catch(retryIfUnreachable);
      if (status === undefined) return undefined;
      if (status.status === 'completed') return true;
      if (status.lastRun?.status === 'failed') throw new Error(`the run of ${sessionId} failed: ${JSON.stringify(status.lastRun.error)}`);
      if (status.status !== 'running' && status.status !== 'ready') throw new Error(`${sessionId} became ${status.status}: ${JSON.stringify(status.lastRun)}`);
      return undefined;
    });
    const hashes: string[] = [];
    for (const who of [...BANKS, 'regulator']) hashes.push((await sdkFor(deployment, parties[who]!).ai.getSessionResult(sessionId)).resultHash);
    return hashes;
  }

  async function expectSessionDoneOnce(sessionId: string): Promise<void> {
    const types = await auditTypes(sessionId);
    expect(types.filter((t) => t === 'data_submitted'), sessionId).toHaveLength(3);
    expect(types.filter((t) => t === 'consent_recorded'), sessionId).toHaveLength(3);
    expect(types.filter((t) => t === 'run_requested'), sessionId).toHaveLength(1);
    expect(types.filter((t) => t === 'result_released'), sessionId).toHaveLength(1);
    expect(types).not.toContain('run_failed');
    const runs = (await db.query('select status, attempts from runs where session_id = $1', [sessionId])).rows;
    expect(runs, sessionId).toEqual([expect.objectContaining({ status: 'completed' })]);
    expect(await count('select count(*) as n from results where session_id = $1', [sessionId])).toBe(4);
    expect(await count('select count(*) as n from submissions where session_id = $1', [sessionId])).toBe(3);
    const session = (await db.query('select status from sessions where id = $1', [sessionId])).rows[0];
    expect(session.status).toBe('completed');
  }

  it('gives each role only its own environment file: no database URL in a worker, no enclave state in an instance', () => {
    const environOf = (service: Service): string => readFileSync(`/proc/${service.child.pid}/environ`, 'utf8');
    for (const worker of workers) {
      expect(environOf(worker)).toContain('TENZRO_ENCLAVE_STATE_DIR=');
      expect(environOf(worker)).not.toContain('DATABASE_URL=');
    }
    for (const server of servers) {
      expect(environOf(server)).toContain('DATABASE_URL=');
      expect(environOf(server)).not.toContain('TENZRO_ENCLAVE_STATE_DIR=');
    }
  });

  it('completes 20 sessions in parallel, each run once, nothing lost, one consistent audit log', async () => {
    const partitions = demoPartitions(300, 5);
    const ids = await Promise.all(
      Array.from({ length: 20 }, async () => {
        const session = await createSeedSession(deployment);
        await fillSession(deployment, session.id, partitions);
        await sdkFor(deployment, devParties(deployment).bankA!).ai.startRun({ sessionId: session.id, prompt: 'Assess the pooled risk' });
        const hashes = await readResults(session.id);
        expect(new Set(hashes).size, 'every recipient got the same attested result').toBe(1);
        return session.id;
      }),
    );
    expect(new Set(ids).size).toBe(20);
    for (const id of ids) await expectSessionDoneOnce(id);
    expect(await count("select count(*) as n from runs where attempts <> 1 and session_id = any($1)", [ids])).toBe(0);

    // Both instances sign the same log (one key in the shared directory) and agree on its head; the log is
    // dense and holds every audit event.
    const bankA = devParties(deployment).bankA!;
    const heads = await Promise.all(
      servers.map(async (s) => {
        const response = await fetch(`http://127.0.0.1:${s.port}/v1/log/tree-head`, { headers: { authorization: `Bearer ${bankA.apiKey}`, 'x-tenant-id': bankA.tenantId } });
        expect(response.status).toBe(200);
        return response.json();
      }),
    );
    const events = await count('select count(*) as n from audit_events');
    expect(await count('select count(distinct log_index) as n from audit_events')).toBe(events);
    expect(await count('select max(log_index) + 1 as n from audit_events')).toBe(events);
    // Nothing is logged any more: both heads cover the whole log and name one root under one key.
    for (const head of heads) expect(head.treeHead).toMatchObject({ logId: heads[0].treeHead.logId, treeSize: events, rootHash: heads[0].treeHead.rootHash });
    // Each party verifies its session's trail against the log, through a random instance.
    for (const id of ids.slice(0, 4)) {
      const verdict = await sdkFor(deployment, devParties(deployment).bankB!).audit.verifySession(id);
      expect(verdict.ok, JSON.stringify(verdict.firstFailure)).toBe(true);
    }
    // Both instances did work: the load balancer's random spread reached each.
    for (const server of servers) expect(logOf(server)).toMatch(/"url":"\/v1\/sessions/);
    // Both workers served enclave calls (the pool spreads by outstanding requests).
    for (const worker of workers) expect(logOf(worker)).toMatch(/"op":"(run|verifySubmission|createSessionKey)"/);
  }, 300_000);

  it('kill -9 of one instance and one worker during runs: the others finish every run, none twice, none stuck', async () => {
    const partitions = demoPartitions(1500, 6);
    const ids = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const session = await createSeedSession(deployment);
        await fillSession(deployment, session.id, partitions);
        return session.id;
      }),
    );
    const parties = devParties(deployment);
    await Promise.all(ids.map((sessionId) => sdkFor(deployment, parties.bankA!).ai.startRun({ sessionId, prompt: 'Assess the pooled risk' })));
    // Kill instance B while it holds a claimed run (its log says which), and worker 1 with it.
    const victim = servers[1]!;
    const heldByVictim = await waitFor('instance B to claim a run', async () => {
      const claimed = [...logOf(victim).matchAll(/"runId":"(run_[a-z0-9]+)".*"msg":"run claimed"/g)].map((m) => m[1]!);
      if (claimed.length === 0) return undefined;
      const running = (await db.query("select id from runs where status = 'running' and id = any($1)", [claimed])).rows.map((r) => r.id as string);
      return running[0];
    });
    const deadWorker = workers[0]!;
    killed.add(victim);
    victim.child.kill('SIGKILL');
    deadWorker.child.kill('SIGKILL');
    const killedAt = Date.now();

    for (const id of ids) await readResults(id);
    const finishedIn = Date.now() - killedAt;
    for (const id of ids) await expectSessionDoneOnce(id);
    // The kills hit live runs, and those were picked up again: by a lapsed lease (the instance) or at once
    // (the worker's enclave stopped under the run).
    const requeued = (
      await db.query("select payload_json from audit_events where type = 'run_requeued' and session_id = any($1)", [ids])
    ).rows.map((r) => JSON.parse(r.payload_json).reason as string);
    expect(requeued, 'the run B held was taken over after its lease').toContain('lease_lapsed');
    const takenOver = (await db.query('select attempts from runs where id = $1', [heldByVictim])).rows[0];
    expect(Number(takenOver.attempts)).toBeGreaterThanOrEqual(2);
    expect(await count("select count(*) as n from runs where status <> 'completed' and session_id = any($1)", [ids])).toBe(0);
    // None stuck: everything finished within the stated pickup bound plus the runs' own time.
    expect(finishedIn).toBeLessThan(PICKUP_BOUND_MS + 60_000);
    console.log(`kill -9: ${requeued.length} run(s) requeued (${requeued.join(', ')}); all ${ids.length} sessions done ${finishedIn} ms after the kills`);
  }, 300_000);
});
