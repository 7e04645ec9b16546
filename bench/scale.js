// Scale-out on one machine (docs/deploy.md): one throwaway PostgreSQL, two enclave workers and one or two
// server instances as child processes (bench/scale-deployment.js), driven over loopback.
//   1. session-status reads with autocannon: one instance, then two (two autocannon runs at once, one per
//      instance, each with half the connections);
//   2. 200 concurrent 1 MiB uploads (valid envelopes of demo records) alternating over the two instances,
//      once as they come (429s counted) and once with clients that retry after Retry-After;
//   3. the seed flow for 20 sessions in parallel, parties on a random instance per request.
import { createRequire } from 'node:module';
import { cpus, totalmem } from 'node:os';
import autocannon from 'autocannon';
import { generateDemoData } from '@tenzro/models';
import { encryptWithSessionKey, hashCommitment, signConsent } from '@tenzro/platform';
import { peakMiB, platformOf } from './flow.js';
import { startDeployment } from './scale-deployment.js';

const AUTOCANNON_VERSION = createRequire(import.meta.url)('autocannon/package.json').version;
const BANKS = ['bankA', 'bankB', 'bankC'];
const RECIPIENTS = [...BANKS, 'regulator'];
const MiB = 1024 * 1024;
const SCHEMA = 'transaction_records_v1';

// ---------------------------------------------------------------------------------------------- helpers

function percentile(values, q) {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const ms = (v) => (v == null ? null : Math.round(v));
const secs = (v) => +(v / 1000).toFixed(2);

/** Runs `fn` over `items` with at most `limit` in flight; results in order. */
async function mapLimit(items, limit, fn) {
  const results = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        results[i] = await fn(items[i], i);
      }
    }),
  );
  return results;
}

/** A table row; every scenario fills the same columns (null where a figure does not apply). */
function row(scenario, fields) {
  return {
    scenario,
    'wall s': null,
    throughput: null,
    unit: null,
    'p50 ms': null,
    'p99 ms': null,
    '2xx': null,
    '429s': null,
    '4xx other': null,
    '5xx': null,
    errors: null,
    ...fields,
  };
}

/**
 * Runs `fn`; says where the CPU went meanwhile (seconds per piece, others' processes, machine busy %) and,
 * with `per(result)` = { n, what }, the CPU per unit of work of the instances, PostgreSQL and the workers.
 */
async function withCpu(deployment, label, notes, fn, per) {
  const before = deployment.cpu();
  const t = performance.now();
  const result = await fn();
  const wall = (performance.now() - t) / 1000;
  const after = deployment.cpu();
  const parts = Object.keys(before)
    .filter((k) => k !== 'machine')
    .map((k) => [k, Math.max(0, after[k] - before[k])]);
  const ours = parts.reduce((sum, [, v]) => sum + v, 0);
  const busy = after.machine.busy - before.machine.busy;
  const total = after.machine.total - before.machine.total;
  let unit = '';
  if (per) {
    const { n, what } = per(result);
    const sum = (prefix) => parts.filter(([k]) => k.startsWith(prefix)).reduce((acc, [, v]) => acc + v, 0);
    const each = (v) => `${((v / n) * 1000).toFixed(1)} ms`;
    unit = `; CPU per ${what} (${n}): instances ${each(sum('server'))}, PostgreSQL ${each(sum('postgres'))}, workers with their enclaves ${each(sum('worker'))}`;
  }
  notes.push(
    `CPU during ${label} (${wall.toFixed(1)} s wall, ${cpus().length} cores): ` +
      parts.map(([k, v]) => `${k} ${v.toFixed(1)} s`).join(', ') +
      `, other processes on the machine (other users' builds and tests, the kernel) ${Math.max(0, busy - ours).toFixed(1)} s; machine busy ${Math.round((busy / total) * 100)}%` +
      unit,
  );
  return result;
}

/** Parties of the development tenants, an SDK client per call on the instance given (or a random one). */
function partiesOf(deployment) {
  const { credentials, servers } = deployment;
  const byTenant = Object.fromEntries(credentials.parties.map((p) => [p.tenantId, p]));
  const randomBase = () => servers[Math.floor(Math.random() * servers.length)].baseUrl;
  const sdk = (tenant, baseUrl = randomBase()) => platformOf(credentials, byTenant[tenant], baseUrl);
  const headers = (tenant) => ({ authorization: `Bearer ${byTenant[tenant].apiKey}`, 'x-tenant-id': tenant });
  return { byTenant, sdk, headers };
}

function createSession(parties, name, baseUrl) {
  return parties.sdk('bankA', baseUrl).ai.createMultiPartySession({
    name,
    modelId: 'risk-analyzer-v2',
    participants: BANKS.map((b) => `party::${b}::treasury`),
    observers: ['party::regulator::compliance'],
    dataPolicy: { minParticipants: 3, aggregationMethod: 'federated', encryptionRequired: true, attestationRequired: true },
    expiresAt: new Date(Date.now() + 60 * 60 * 1000),
  });
}

// -------------------------------------------------------------------------------------- 1. status reads

function cannon(url, headers, connections, duration) {
  return new Promise((ok, fail) => {
    autocannon({ url, headers, connections, duration }, (error, result) => (error ? fail(error) : ok(result)));
  });
}

function served(result) {
  return result['1xx'] + result['2xx'] + result['3xx'] + result['4xx'] + result['5xx'];
}

async function transactionsSoFar(db) {
  return Number((await db.query('select xact_commit + xact_rollback as n from pg_stat_database where datname = current_database()')).rows[0].n);
}

async function benchStatusReads(deployment, parties, { connections, duration }, notes) {
  const [a, b] = deployment.servers;
  const session = await createSession(parties, 'status reads', a.baseUrl);
  const path = `/v1/sessions/${session.id}/status`;
  const headers = parties.headers('bankA');
  // Warm-up (not reported): JIT, connection pools, prepared plans on both instances.
  await Promise.all([cannon(a.baseUrl + path, headers, 4, 1), cannon(b.baseUrl + path, headers, 4, 1)]);

  await new Promise((r) => setTimeout(r, 1_100)); // PostgreSQL flushes its statistics at most once a second
  const x0 = await transactionsSoFar(deployment.db);
  const perRead = (results) => ({ n: [results].flat().reduce((sum, r) => sum + served(r), 0), what: 'status read' });
  const one = await withCpu(deployment, 'status reads on 1 instance', notes, () => cannon(a.baseUrl + path, headers, connections, duration), perRead);
  await new Promise((r) => setTimeout(r, 1_100));
  const x1 = await transactionsSoFar(deployment.db);
  notes.push(`PostgreSQL transactions per status read: ${((x1 - x0) / served(one)).toFixed(1)} (pg_stat_database over the 1-instance run, background jobs included)`);
  const half = Math.floor(connections / 2);
  const two = await withCpu(deployment, 'status reads on 2 instances', notes, () =>
    Promise.all([cannon(a.baseUrl + path, headers, half, duration), cannon(b.baseUrl + path, headers, connections - half, duration)]),
    perRead,
  );
  notes.push(`autocannon non2xx: ${one.non2xx} on 1 instance, ${two[0].non2xx} + ${two[1].non2xx} on 2 instances`);
  const statusRow = (scenario, results) =>
    row(scenario, {
      'wall s': Math.max(...results.map((r) => r.duration)),
      throughput: Math.round(results.reduce((sum, r) => sum + served(r) / r.duration, 0)),
      unit: 'req/s',
      'p50 ms': Math.max(...results.map((r) => r.latency.p50)),
      'p99 ms': Math.max(...results.map((r) => r.latency.p99)),
      '2xx': results.reduce((sum, r) => sum + r['2xx'], 0),
      '429s': results.reduce((sum, r) => sum + (r.statusCodeStats?.['429']?.count ?? 0), 0),
      '4xx other': results.reduce((sum, r) => sum + r['4xx'] - (r.statusCodeStats?.['429']?.count ?? 0), 0),
      '5xx': results.reduce((sum, r) => sum + r['5xx'], 0),
      errors: results.reduce((sum, r) => sum + r.errors + r.timeouts, 0),
    });
  return [
    statusRow(`status reads, 1 instance (${connections} conn)`, [one]),
    statusRow(`status reads, 2 instances (${half}+${connections - half} conn)`, two),
  ];
}

// ------------------------------------------------------------------------------------------- 2. uploads

/** One bank's demo records, cut so that the sealed envelope is about 1 MiB; and its commitment. */
async function mebibytePartitions() {
  const { partitions } = generateDemoData({ banks: BANKS, recordsPerBank: 4200, seed: 8 });
  const out = {};
  for (const bank of BANKS) {
    const all = partitions[bank];
    const perRecord = JSON.stringify(all).length / all.length;
    const records = all.slice(0, Math.floor((MiB - 256) / perRecord));
    out[bank] = { records, json: JSON.stringify(records), commitment: await hashCommitment(records) };
  }
  return out;
}

/** `count` upload slots over fresh sessions × banks, each with its sealed ~1 MiB body, made before timing. */
async function prepareUploads(deployment, parties, data, count, label) {
  const { servers } = deployment;
  const sessionCount = Math.ceil(count / BANKS.length);
  const sessions = await mapLimit(Array.from({ length: sessionCount }), 8, (_, i) => createSession(parties, `${label} ${i}`, servers[i % servers.length].baseUrl));
  // One verified key fetch per session (the key is the session's, the same for its three banks).
  const keys = await mapLimit(sessions, 8, (s, i) => parties.sdk('bankA', servers[i % servers.length].baseUrl).ai.getSessionKey(s.id));
  const slots = sessions.flatMap((s, i) => BANKS.map((bank) => ({ sessionId: s.id, bank, publicKey: keys[i].publicKey }))).slice(0, count);
  for (const slot of slots) {
    slot.body = Buffer.from(await encryptWithSessionKey(data[slot.bank].json, slot.publicKey), 'base64url');
    slot.commitment = data[slot.bank].commitment;
  }
  return { sessionIds: sessions.map((s) => s.id), slots };
}

async function uploadOnce(baseUrl, headers, slot) {
  const t = performance.now();
  try {
    const response = await fetch(`${baseUrl}/v1/sessions/${slot.sessionId}/data`, {
      method: 'POST',
      headers: {
        ...headers,
        'content-type': 'application/octet-stream',
        'x-tenzro-data-schema': SCHEMA,
        'x-tenzro-commitment': slot.commitment,
        'x-tenzro-commitment-scheme': 'plain',
      },
      body: slot.body,
    });
    const text = await response.text();
    let code = null;
    try {
      code = JSON.parse(text)?.error?.code ?? null;
    } catch {
      // not JSON
    }
    return { status: response.status, code, retryAfter: response.headers.get('retry-after'), ms: performance.now() - t };
  } catch (error) {
    return { status: 0, code: error?.cause?.code ?? error?.code ?? String(error), retryAfter: null, ms: performance.now() - t };
  }
}

/**
 * Fires every slot at once, alternating over the instances. With `retry`, a 429 waits its Retry-After (a
 * connection error 1 s) and tries the same instance again, until stored.
 */
async function fireUploads(deployment, parties, slots, { retry }) {
  const { servers } = deployment;
  const t0 = performance.now();
  const outcomes = await Promise.all(
    slots.map(async (slot, i) => {
      const baseUrl = servers[i % servers.length].baseUrl;
      const headers = parties.headers(slot.bank);
      let rateLimited = 0;
      let errors = 0;
      let missingRetryAfter = 0;
      for (let attempt = 1; ; attempt++) {
        const result = await uploadOnce(baseUrl, headers, slot);
        if (result.status === 429) {
          rateLimited++;
          if (result.retryAfter === null) missingRetryAfter++;
        }
        if (result.status === 0) errors++;
        const again = retry && (result.status === 429 || result.status === 0) && attempt < 100;
        if (!again) {
          return { ...result, attempts: attempt, rateLimited, errors, missingRetryAfter, doneMs: performance.now() - t0, bytes: slot.body.length };
        }
        const waitS = result.status === 429 ? Number(result.retryAfter ?? 1) : 1;
        await new Promise((r) => setTimeout(r, waitS * 1000));
      }
    }),
  );
  return { outcomes, wallMs: performance.now() - t0 };
}

function uploadRow(scenario, { outcomes, wallMs }, { retry }) {
  const ok = outcomes.filter((o) => o.status >= 200 && o.status < 300);
  const acceptedMiB = ok.reduce((sum, o) => sum + o.bytes, 0) / MiB;
  const times = outcomes.map((o) => (retry ? o.doneMs : o.ms));
  return row(scenario, {
    'wall s': secs(wallMs),
    throughput: +(acceptedMiB / (wallMs / 1000)).toFixed(1),
    unit: 'MiB/s accepted',
    'p50 ms': ms(percentile(times, 0.5)),
    'p99 ms': ms(percentile(times, 0.99)),
    '2xx': ok.length,
    '429s': retry ? outcomes.reduce((sum, o) => sum + o.rateLimited, 0) : outcomes.filter((o) => o.status === 429).length,
    '4xx other': outcomes.filter((o) => o.status >= 400 && o.status < 500 && o.status !== 429).length,
    '5xx': outcomes.filter((o) => o.status >= 500).length,
    errors: retry ? outcomes.reduce((sum, o) => sum + o.errors, 0) : outcomes.filter((o) => o.status === 0).length,
  });
}

function otherCodes(outcomes) {
  const counts = {};
  for (const o of outcomes) {
    if (o.status === 429 || (o.status >= 200 && o.status < 300)) continue;
    const key = `${o.status} ${o.code}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return Object.entries(counts).map(([k, n]) => `${n}× ${k}`).join(', ');
}

/**
 * Until `stop` resolves, every 250 ms: a status read (database only) and a key fetch (an enclave attestation)
 * on a session of its own, on the first instance; their latencies.
 */
async function probeLatencies(deployment, parties, sessionId, stop) {
  const base = deployment.servers[0].baseUrl;
  const headers = parties.headers('bankA');
  const status = [];
  const key = [];
  let stopped = false;
  stop.then(() => (stopped = true));
  while (!stopped) {
    for (const [path, into] of [[`/v1/sessions/${sessionId}/status`, status], [`/v1/sessions/${sessionId}/key`, key]]) {
      const t = performance.now();
      try {
        const response = await fetch(base + path, { headers });
        await response.arrayBuffer();
        into.push(response.ok ? performance.now() - t : Infinity);
      } catch {
        into.push(Infinity);
      }
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const text = (values) => `p50 ${ms(percentile(values, 0.5))} ms, max ${ms(Math.max(...values))} ms (${values.length})`;
  return { status: text(status), key: text(key) };
}

async function storedCount(deployment, sessionIds) {
  return Number((await deployment.db.query('select count(*) as n from submissions where session_id = any($1)', [sessionIds])).rows[0].n);
}

async function benchUploads(deployment, parties, { count }, notes) {
  const data = await mebibytePartitions();
  const probeSession = await createSession(parties, 'latency probe', deployment.servers[0].baseUrl);
  let idleDone;
  const idle = probeLatencies(deployment, parties, probeSession.id, new Promise((r) => (idleDone = r)));
  await new Promise((r) => setTimeout(r, 2_500));
  idleDone();
  const idleLatency = await idle;
  const rows = [];
  for (const retry of [false, true]) {
    const label = retry ? 'uploads, retry after Retry-After' : 'uploads, as they come';
    const p0 = performance.now();
    const prepared = await prepareUploads(deployment, parties, data, count, label);
    const prepMs = performance.now() - p0;
    const meanMiB = prepared.slots.reduce((sum, s) => sum + s.body.length, 0) / prepared.slots.length / MiB;
    let burstDone;
    const probe = retry ? undefined : probeLatencies(deployment, parties, probeSession.id, new Promise((r) => (burstDone = r)));
    const fired = await withCpu(
      deployment,
      label,
      notes,
      () => fireUploads(deployment, parties, prepared.slots, { retry }),
      (f) => ({ n: f.outcomes.filter((o) => o.status >= 200 && o.status < 300).length, what: 'accepted upload' }),
    );
    burstDone?.();
    if (probe) {
      const during = await probe;
      notes.push(
        `head-of-line check (a status read and a key fetch every 250 ms on instance A): idle before the uploads: status ${idleLatency.status}, key ${idleLatency.key}; ` +
          `during the burst: status ${during.status}, key ${during.key}. A key fetch is an enclave call (attestSessionKey) and waits behind the queued verifySubmission calls on its worker.`,
      );
    }
    const scenario = retry
      ? `${count} × ${meanMiB.toFixed(2)} MiB uploads, retried until stored`
      : `${count} × ${meanMiB.toFixed(2)} MiB uploads at once`;
    rows.push(uploadRow(scenario, fired, { retry }));
    const stored = await storedCount(deployment, prepared.sessionIds);
    const accepted = fired.outcomes.filter((o) => o.status >= 200 && o.status < 300).length;
    const missing = fired.outcomes.reduce((sum, o) => sum + o.missingRetryAfter, 0);
    const attempts = fired.outcomes.map((o) => o.attempts);
    notes.push(
      `${scenario}: ${prepared.sessionIds.length} sessions × ${BANKS.length} banks, bodies sealed before timing (${secs(prepMs)} s to create the sessions, fetch one verified key per session and seal); ` +
        `${stored} submissions in the database for ${accepted} 2xx replies; 429s without Retry-After: ${missing}` +
        (retry ? `; attempts per upload p50 ${percentile(attempts, 0.5)}, max ${Math.max(...attempts)}; the 429s column counts every 429 reply over the retries; p50/p99 = time from the common start until that upload was stored` : '; p50/p99 = per-request latency over all replies') +
        (otherCodes(fired.outcomes) ? `; other outcomes: ${otherCodes(fired.outcomes)}` : ''),
    );
  }
  return rows;
}

// ---------------------------------------------------------------------------------------- 3. seed flow

async function oneSession(parties, partitions, index) {
  const t0 = performance.now();
  const session = await createSession(parties, `seed flow ${index}`);
  const sessionId = session.id;
  await Promise.all(
    BANKS.map(async (bank) => {
      const party = parties.byTenant[bank];
      const key = await parties.sdk(bank).ai.getSessionKey(sessionId);
      const data = await encryptWithSessionKey(partitions[bank].json, key.publicKey);
      await parties.sdk(bank).ai.submitSessionData({ sessionId, data, dataSchema: SCHEMA, commitment: partitions[bank].commitment });
      await parties.sdk(bank).ai.submitSessionConsent({
        sessionId,
        consent: { dataUsage: true, resultSharing: true, attestationSharing: true, retentionAcknowledged: true },
        signature: await signConsent(sessionId, party.signingKey.privateKey),
      });
    }),
  );
  await parties.sdk('bankA').ai.startRun({ sessionId, prompt: 'Assess the pooled risk' });
  const deadline = Date.now() + 240_000;
  for (;;) {
    const status = await parties.sdk('bankA').ai.getSessionStatus(sessionId);
    if (status.status === 'completed') break;
    if (status.lastRun?.status === 'failed') throw new Error(`the run of ${sessionId} failed: ${JSON.stringify(status.lastRun.error)}`);
    if (Date.now() > deadline) throw new Error(`${sessionId} did not complete (${status.status})`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const hashes = await Promise.all(RECIPIENTS.map(async (who) => (await parties.sdk(who).ai.getSessionResult(sessionId)).resultHash));
  if (new Set(hashes).size !== 1) throw new Error(`${sessionId}: the recipients got different results`);
  return { sessionId, ms: performance.now() - t0 };
}

async function checkDoneOnce(db, ids) {
  const problems = [];
  const audit = (await db.query('select session_id, type, count(*) as n from audit_events where session_id = any($1) group by session_id, type', [ids])).rows;
  const counts = new Map(ids.map((id) => [id, {}]));
  for (const r of audit) counts.get(r.session_id)[r.type] = Number(r.n);
  const runs = (await db.query('select session_id, status, attempts from runs where session_id = any($1)', [ids])).rows;
  let once = 0;
  for (const id of ids) {
    const c = counts.get(id);
    const own = runs.filter((r) => r.session_id === id);
    const ok =
      c.data_submitted === 3 &&
      c.consent_recorded === 3 &&
      c.run_requested === 1 &&
      c.result_released === 1 &&
      !c.run_failed &&
      own.length === 1 &&
      own[0].status === 'completed' &&
      Number(own[0].attempts) === 1;
    if (ok) once++;
    else problems.push(`${id}: audit ${JSON.stringify(c)}, runs ${JSON.stringify(own)}`);
  }
  return { once, problems };
}

async function benchSeedFlow(deployment, parties, { sessions, recordsPerBank }, notes) {
  const { partitions: raw } = generateDemoData({ banks: BANKS, recordsPerBank, seed: 5 });
  const partitions = {};
  for (const bank of BANKS) partitions[bank] = { json: JSON.stringify(raw[bank]), commitment: await hashCommitment(raw[bank]) };
  const t0 = performance.now();
  const settled = await withCpu(
    deployment,
    'the seed flow',
    notes,
    () => Promise.allSettled(Array.from({ length: sessions }, (_, i) => oneSession(parties, partitions, i))),
    (all) => ({ n: all.filter((x) => x.status === 'fulfilled').length, what: 'session' }),
  );
  const wallMs = performance.now() - t0;
  const done = settled.filter((s) => s.status === 'fulfilled').map((s) => s.value);
  const failed = settled.filter((s) => s.status === 'rejected').map((s) => String(s.reason?.message ?? s.reason));
  const check = await checkDoneOnce(deployment.db, done.map((d) => d.sessionId));
  const times = done.map((d) => d.ms);
  notes.push(
    `seed flow: ${sessions} sessions started together, each: create, 3 banks (in parallel) fetch the key, seal ${recordsPerBank} records, upload, consent; ` +
      `run; poll status every 200 ms; all 4 recipients read and verify the result. Every SDK call goes to a random instance. ` +
      `Runs completed exactly once (1 completed run row with attempts = 1; audit: 3 data_submitted, 3 consent_recorded, 1 run_requested, 1 result_released, no run_failed): ${check.once}/${sessions}` +
      (failed.length ? `; FAILED sessions: ${failed.slice(0, 3).join(' | ')}` : '') +
      (check.problems.length ? `; problems: ${check.problems.slice(0, 3).join(' | ')}` : ''),
  );
  return [
    row(`seed flow, ${sessions} sessions in parallel (3 × ${recordsPerBank} records)`, {
      'wall s': secs(wallMs),
      throughput: +((done.length / wallMs) * 60_000).toFixed(1),
      unit: 'sessions/min',
      'p50 ms': ms(percentile(times, 0.5)),
      'p99 ms': ms(percentile(times, 0.99)),
      errors: failed.length,
    }),
  ];
}

// --------------------------------------------------------------------------------------------- logs

/** Warnings and errors in the instances' logs, and the enclave requests each worker served. */
function logFindings(deployment) {
  const findings = [];
  for (const server of deployment.servers) {
    const counts = new Map();
    for (const line of server.log().split('\n')) {
      if (!line.trim()) continue;
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        const key = `(not JSON) ${line.slice(0, 160)}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        continue;
      }
      if (typeof entry.level === 'number' && entry.level < 40) continue;
      const key = `level ${entry.level} "${entry.msg}"${entry.err?.message ? ` err: ${String(entry.err.message).slice(0, 160)}` : ''}${entry.code ? ` code ${entry.code}` : ''}`;
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    const list = [...counts.entries()].sort((a, b) => b[1] - a[1]);
    findings.push(
      list.length
        ? `${server.name} log (warn and above): ${list.slice(0, 8).map(([k, n]) => `${n}× ${k}`).join('; ')}`
        : `${server.name} log: no warnings or errors`,
    );
  }
  for (const worker of deployment.workers) {
    const ops = new Map();
    const problems = new Map();
    for (const line of worker.log().split('\n')) {
      let entry;
      try {
        entry = JSON.parse(line);
      } catch {
        continue;
      }
      if (entry.msg === 'enclave worker: request') {
        const o = ops.get(entry.op) ?? { n: 0, ms: [], failed: 0 };
        o.n++;
        o.ms.push(entry.ms);
        if (!entry.ok) o.failed++;
        ops.set(entry.op, o);
      } else if (entry.level >= 40) {
        const key = `level ${entry.level} "${entry.msg}"`;
        problems.set(key, (problems.get(key) ?? 0) + 1);
      }
    }
    const opText = [...ops.entries()]
      .map(([op, o]) => `${op} ${o.n} (p50 ${percentile(o.ms, 0.5)} ms, max ${Math.max(...o.ms)} ms${o.failed ? `, ${o.failed} refused` : ''})`)
      .join(', ');
    const problemText = [...problems.entries()].map(([k, n]) => `${n}× ${k}`).join('; ');
    findings.push(`${worker.name} served: ${opText || 'nothing'}${problemText ? `; warnings: ${problemText}` : ''}`);
  }
  return findings;
}

// ---------------------------------------------------------------------------------------------- bench

export async function benchScale({ quick }) {
  const settings = quick
    ? { connections: 20, duration: 3, uploads: 100, sessions: 20, recordsPerBank: 300 }
    : { connections: 20, duration: 10, uploads: 200, sessions: 20, recordsPerBank: 300 };
  const cpu = cpus();
  const notes = [
    `machine: ${cpu.length} CPUs (${cpu[0]?.model ?? 'unknown'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}. ` +
      'PostgreSQL, both server instances, both enclave workers (each with its enclave process) and the load generator (autocannon / fetch, in this process) share these cores, ' +
      'so a second instance cannot show linear scaling here: the figures show that a second instance works and what the shared pieces cost, not the capacity of a real deployment.',
    `deployment: 1 PostgreSQL (throwaway, fsync off), 2 enclave workers (tcp, shared state dir), 2 instances (TENZRO_ENV=development, log level warn, defaults otherwise: upload gate TENZRO_MAX_CONCURRENT_UPLOADS=32 per instance).`,
  ];
  const t0 = performance.now();
  const deployment = await startDeployment({ instances: 2, workers: 2 });
  const rows = [];
  try {
    notes.push(`startup (cluster, 2 workers, 2 instances in turn): ${secs(deployment.startupMs)} s`);
    const parties = partiesOf(deployment);
    rows.push(...(await benchStatusReads(deployment, parties, settings, notes)));
    notes.push(
      `status reads: GET /v1/sessions/:id/status as bankA with autocannon ${AUTOCANNON_VERSION} (in this process), ${settings.connections} connections for ${settings.duration} s each after a 1 s warm-up; ` +
        'two instances = two autocannon runs at once, one per instance, half the connections each: throughput summed, p50 and p99 the worse of the two. throughput = replies / duration.',
    );
    rows.push(...(await benchUploads(deployment, parties, { count: settings.uploads }, notes)));
    notes.push(
      'uploads: Node fetch (undici), not autocannon: every request has its own session, headers and body, and the second variant needs a per-request Retry-After loop. ' +
        'Requests alternate over the two instances; a 429 is retried on the same instance. MiB/s = bytes accepted (2xx) / wall time from the first send to the last reply.',
    );
    rows.push(...(await benchSeedFlow(deployment, parties, settings, notes)));
    notes.push(
      `peak memory (VmHWM): ${deployment.servers.map((s) => `${s.name} ${peakMiB(s.pid)} MiB`).join(', ')}, ${deployment.workers.map((w) => `${w.name} ${peakMiB(w.pid)} MiB (its enclave child not counted)`).join(', ')}`,
    );
    notes.push(...logFindings(deployment));
  } finally {
    await deployment.stop();
  }
  notes.push(`whole scale bench: ${secs(performance.now() - t0)} s`);
  return { rows, notes };
}
