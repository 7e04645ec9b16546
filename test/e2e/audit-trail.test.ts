/**
 * Issue 3 against the real platform (server + enclave processes): the product doc's flow, then
 * `platform.audit.verifySession` from each of the four parties (three banks and the regulator) passes
 * every check; and a host that tampers with its database — an event edited, deleted, reordered or
 * inserted, a tree head re-signed over a forked history, a report whose hash does not match, a consent
 * that does not verify, a commitment missing from the aggregated root — is caught, and the check that
 * catches it is named.
 *
 * To tamper, the test stops the server, edits `<dataDir>/tenzro.db` with better-sqlite3 and restarts it.
 * For a host that rewrites history consistently, it re-hashes the events, rebuilds `merkle_nodes` and signs
 * a new head with the log key in `<dataDir>/log/log-key.json` — everything a dishonest host can do. A
 * client that saw an earlier head detects the fork by consistency; a fresh client is still caught by the
 * content checks. Each case starts again from a copy of the honest database.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InMemoryMerkleLog,
  canonicalBytes,
  canonicalize,
  fromBase64Url,
  leafHash,
  sha256,
  signStatement,
  toBase64Url,
  toHex,
  utf8Encode,
} from '@tenzro/crypto';
import {
  TREE_HEAD_TYPE,
  VERIFICATION_CHECKS,
  logIdOf,
  signConsentStatement,
  type AuditEvent,
  type SessionVerdict,
  type VerificationCheck,
} from '@tenzro/protocol';
import {
  MemoryAuditStore,
  TenzroPlatform,
  encryptWithSessionKey,
  hashCommitment,
  signConsent,
  type AuditStore,
} from '@tenzro/platform';
import { PlatformProcess, repoRoot, type DevParty } from '../support/platform-process.js';
import { BANKS, REGULATOR, createSeedSession, demoPartitions, devParties } from '../support/flow.js';

const run = promisify(execFile);
const cli = join(repoRoot, 'apps', 'cli', 'dist', 'main.js');

function platformFor(server: PlatformProcess, party: DevParty, store: AuditStore): TenzroPlatform {
  const credentials = server.credentials();
  return new TenzroPlatform({
    apiKey: party.apiKey,
    tenantId: party.tenantId,
    baseUrl: server.baseUrl,
    party: { partyId: party.partyId, signingKey: party.signingKey, encryptionKey: party.encryptionKey },
    trustedRoots: [credentials.attestation.rootPem],
    expectedMeasurements: [credentials.attestation.measurement],
    auditStore: store,
  });
}

function expectAllPass(verdict: SessionVerdict, notApplicable: VerificationCheck[]): void {
  expect(verdict.firstFailure, JSON.stringify(verdict.firstFailure)).toBeNull();
  for (const check of verdict.checks) {
    expect(check.status, `${check.check}: ${check.detail}`).toBe(notApplicable.includes(check.check) ? 'not_applicable' : 'passed');
  }
  expect(verdict.checks.map((c) => c.check)).toEqual([...VERIFICATION_CHECKS]);
}

function expectCaught(verdict: SessionVerdict, check: VerificationCheck, detail?: RegExp): void {
  expect(verdict.ok).toBe(false);
  expect(verdict.firstFailure?.check, JSON.stringify(verdict.checks, null, 1)).toBe(check);
  if (detail) expect(verdict.firstFailure?.detail).toMatch(detail);
}


/** One row of `audit_events` as the host stores it (the columns the log uses). */
interface LogRow {
  seq: number;
  session_id: string | null;
  type: string;
  actor_tenant: string | null;
  actor_party: string | null;
  payload_json: string;
  at: string;
  log_index: number;
  session_seq: number | null;
  event_json: string;
  leaf_hash: string;
}

function readLog(db: Database.Database): LogRow[] {
  return db.prepare('SELECT * FROM audit_events WHERE log_index IS NOT NULL ORDER BY log_index').all() as LogRow[];
}

const eventOf = (row: LogRow): AuditEvent => JSON.parse(row.event_json) as AuditEvent;

/** The row of `sessionId`'s `nth` event of `kind` (by `partyId` when given). */
function findRow(db: Database.Database, sessionId: string, kind: string, partyId?: string): LogRow {
  const row = readLog(db).find((r) => {
    const event = eventOf(r);
    return event.sessionId === sessionId && event.kind === kind && (partyId === undefined || event.payload.partyId === partyId || event.actor.partyId === partyId);
  });
  if (!row) throw new Error(`no ${kind} event${partyId ? ` of ${partyId}` : ''} in the log`);
  return row;
}

/** A careless host: edits what it serves (event_json) and leaves the Merkle tree as it was. */
function editEventJson(db: Database.Database, row: LogRow, change: (event: AuditEvent) => AuditEvent): AuditEvent {
  const event = change(eventOf(row));
  db.prepare('UPDATE audit_events SET event_json = ?, payload_json = ? WHERE seq = ?').run(canonicalize(event), JSON.stringify(event.payload), row.seq);
  return event;
}

/**
 * A dishonest host rewriting history consistently: the log becomes `events` (edited, dropped, inserted,
 * reordered), renumbered (logIndex and each session's sessionSeq), re-hashed, with every Merkle node rebuilt
 * and a new head signed with the host's own log key.
 */
async function rewriteHistory(db: Database.Database, dataDir: string, change: (events: AuditEvent[]) => AuditEvent[]): Promise<void> {
  const rows = readLog(db);
  const events = change(rows.map(eventOf));
  const sequence = new Map<string, number>();
  const merkle = new InMemoryMerkleLog();
  const renumbered = events.map((event, logIndex) => {
    let sessionSeq: number | null = null;
    if (event.sessionId !== null) {
      sessionSeq = sequence.get(event.sessionId) ?? 0;
      sequence.set(event.sessionId, sessionSeq + 1);
    }
    const next: AuditEvent = { ...event, logIndex, sessionSeq };
    const json = canonicalize(next);
    const leaf = leafHash(utf8Encode(json));
    merkle.append(leaf);
    return { event: next, json, leaf };
  });
  const nodes: { level: number; idx: number; hash: Uint8Array }[] = [];
  for (let level = 0; 2 ** level <= merkle.size; level++) {
    const keys = Array.from({ length: Math.floor(merkle.size / 2 ** level) }, (_, index) => ({ level, index }));
    const hashes = await merkle.readNodes(keys);
    keys.forEach((key, i) => nodes.push({ level, idx: key.index, hash: hashes[i]! }));
  }
  const keyFile = JSON.parse(readFileSync(join(dataDir, 'log', 'log-key.json'), 'utf8')) as { publicKey: string; privateKey: string };
  const treeHead = {
    type: TREE_HEAD_TYPE,
    logId: logIdOf(fromBase64Url(keyFile.publicKey)),
    treeSize: merkle.size,
    rootHash: toBase64Url(merkle.root()),
    timestamp: new Date().toISOString(),
  };
  const signature = toBase64Url(signStatement(fromBase64Url(keyFile.privateKey), treeHead));
  db.transaction(() => {
    db.prepare('DELETE FROM audit_events WHERE log_index IS NOT NULL').run();
    const insert = db.prepare(
      `INSERT INTO audit_events (session_id, type, actor_tenant, actor_party, payload_json, at, log_index, session_seq, event_json, leaf_hash)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    for (const { event, json, leaf } of renumbered) {
      insert.run(event.sessionId, event.kind, event.actor.tenantId, event.actor.partyId, JSON.stringify(event.payload), event.at, event.logIndex, event.sessionSeq, json, toHex(leaf));
    }
    db.prepare('DELETE FROM merkle_nodes').run();
    const node = db.prepare('INSERT INTO merkle_nodes (level, idx, hash) VALUES (?, ?, ?)');
    for (const n of nodes) node.run(n.level, n.idx, Buffer.from(n.hash));
    db.prepare('DELETE FROM tree_heads').run();
    db.prepare('INSERT INTO tree_heads (log_id, tree_size, root_hash, timestamp, signature) VALUES (?, ?, ?, ?, ?)').run(
      treeHead.logId,
      treeHead.treeSize,
      treeHead.rootHash,
      treeHead.timestamp,
      signature,
    );
  })();
}

const isEvent = (sessionId: string, kind: string, partyId?: string) => (event: AuditEvent): boolean =>
  event.sessionId === sessionId && event.kind === kind && (partyId === undefined || event.payload.partyId === partyId);

describe('audit trail (issue 3)', () => {
  let server: PlatformProcess;
  let parties: Record<string, DevParty>;
  let everyone: DevParty[];
  let sessionId: string;
  /** Each party's audit store, kept across the whole flow (its own commitments and the heads it saw). */
  const stores = new Map<string, MemoryAuditStore>();
  const dbPath = (): string => join(server.dataDir, 'tenzro.db');
  let honestCopy: string;

  const sdk = (party: DevParty, store: AuditStore = stores.get(party.partyId)!) => platformFor(server, party, store);

  beforeAll(async () => {
    server = await PlatformProcess.start();
    parties = devParties(server);
    everyone = [...BANKS.map((b) => parties[b]!), server.party(REGULATOR)];
    for (const party of everyone) stores.set(party.partyId, new MemoryAuditStore());

    // The product doc's flow: create, each bank encrypts, commits, submits and consents, run, results.
    const session = await createSeedSession(server);
    sessionId = session.id;
    for (const party of everyone) await sdk(party).audit.getTreeHead(); // every party notes the log early
    const partitions = demoPartitions(200, 7);
    for (const bank of BANKS) {
      const platform = sdk(parties[bank]!);
      const sessionKey = await platform.ai.getSessionKey(sessionId);
      const records = partitions[bank];
      const encryptedData = await encryptWithSessionKey(JSON.stringify(records), sessionKey.publicKey);
      await platform.ai.submitSessionData({
        sessionId,
        data: encryptedData,
        dataSchema: 'transaction_records_v1',
        commitment: await hashCommitment(records),
      });
      await platform.ai.submitSessionConsent({
        sessionId,
        consent: { dataUsage: true, resultSharing: true, attestationSharing: true, retentionAcknowledged: true },
        signature: await signConsent(sessionId, parties[bank]!.signingKey.privateKey),
      });
    }
    await sdk(parties.bankA!).ai.runMultiPartyInference({
      sessionId,
      prompt: 'Analyze combined transaction patterns for anomalies',
      parameters: { maxTokens: 2048, temperature: 0.3 },
    });
    // delete_after_inference: the key and ciphertexts are destroyed right after the run, and attested.
    const deadline = Date.now() + 60_000;
    for (;;) {
      const trail = await sdk(parties.bankA!).audit.getSessionTrail(sessionId);
      if (trail.entries.some((e) => e.event.kind === 'deletion_attested')) break;
      if (Date.now() > deadline) throw new Error(`no deletion_attested: ${trail.entries.map((e) => e.event.kind).join(', ')}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  });

  afterAll(async () => {
    await server?.stop();
    if (honestCopy) rmSync(join(honestCopy, '..'), { recursive: true, force: true });
  });

  it('every one of the four parties verifies the session: all checks pass', async () => {
    for (const party of everyone) {
      const verdict = await sdk(party).audit.verifySession(sessionId);
      const observer = party.partyId === REGULATOR;
      expectAllPass(verdict, observer ? ['own_commitment_included'] : []);
      if (!observer) expect(verdict.checks.find((c) => c.check === 'own_commitment_included')?.detail).toMatch(/among the included parties/);
      expect(verdict.checks.find((c) => c.check === 'tree_consistency')?.detail).toMatch(/consistency proof verified/);
    }
    const trail = await sdk(parties.bankB!).audit.getSessionTrail(sessionId);
    const kinds = trail.entries.map((e) => e.event.kind);
    for (const kind of ['session_created', 'key_issued', 'data_submitted', 'consent_recorded', 'run_started', 'result_released', 'deletion_attested']) {
      expect(kinds).toContain(kind);
    }
    expect(kinds[0]).toBe('session_created');
  });

  it('tenzro audit verify prints the verdict and exits 0; tenzro audit watch prints heads', async () => {
    const storeDir = mkdtempSync(join(tmpdir(), 'tenzro-audit-cli-'));
    const env = { ...process.env, TENZRO_DATA_DIR: server.dataDir, TENZRO_BASE_URL: server.baseUrl };
    const verify = await run(process.execPath, [cli, 'audit', 'verify', sessionId, '--party', 'party::bankC::treasury', '--store', join(storeDir, 's.json')], { env });
    expect(verify.stdout).toMatch(/✓ tree_head_signature/);
    expect(verify.stdout).toMatch(/– tree_consistency/);
    expect(verify.stdout).toMatch(/✓ deletion_statement/);
    expect(verify.stdout).toMatch(/verdict: every check passed/);
    const watch = await run(process.execPath, [cli, 'audit', 'watch', '--interval', '0.1', '--count', '2', '--store', join(storeDir, 's.json')], { env });
    expect(watch.stdout).toMatch(/head size \d+ root /);
    // A store that first saw another log key at this host: the watcher reports the key change (exit 2).
    const rotated = join(storeDir, 'rotated.json');
    writeFileSync(rotated, JSON.stringify({ version: 1, treeHeads: {}, commitments: {}, logKeys: { [server.baseUrl.replace(/\/+$/, '')]: 'A'.repeat(43) } }));
    const changed = await run(process.execPath, [cli, 'audit', 'watch', '--interval', '0.1', '--count', '1', '--store', rotated], { env }).then(
      () => ({ code: 0, stdout: '' }),
      (error: { code: number; stdout: string }) => error,
    );
    expect(changed.code).toBe(2);
    expect(changed.stdout).toMatch(/LOG KEY CHANGED \[log_key_mismatch\]/);
    rmSync(storeDir, { recursive: true, force: true });
  });

  describe('a host that tampers with its database is caught, and the check is named', () => {
    const bankA = (): DevParty => parties.bankA!;
    const bankB = (): string => parties.bankB!.partyId;
    const bankC = (): string => parties.bankC!.partyId;
    /** A client that never saw this log: consistency cannot catch a rewrite, only the content checks. */
    const fresh = (party: DevParty) => sdk(party, new MemoryAuditStore());
    /** A copy of the store of a party that followed the whole flow (it saw the honest head). */
    const seasoned = async (party: DevParty): Promise<TenzroPlatform> => {
      const copy = new MemoryAuditStore();
      const original = stores.get(party.partyId)!;
      const logId = (await sdk(party).audit.getLogKey()).logId;
      await copy.putTreeHead(logId, (await original.getTreeHead(logId))!);
      const commitment = await original.getCommitment(sessionId, party.partyId);
      if (commitment) await copy.putCommitment(sessionId, party.partyId, commitment);
      return sdk(party, copy);
    };

    /** A full copy of the store of a party that followed the whole flow: heads, log key, commitments, sessions. */
    const copyOf = async (party: DevParty): Promise<MemoryAuditStore> => {
      const original = stores.get(party.partyId)!;
      const copy = new MemoryAuditStore();
      const logId = (await sdk(party).audit.getLogKey()).logId;
      await copy.putTreeHead(logId, (await original.getTreeHead(logId))!);
      await copy.putLogKey(server.baseUrl.replace(/\/+$/, ''), (await original.getLogKey(server.baseUrl.replace(/\/+$/, '')))!);
      const commitment = await original.getCommitment(sessionId, party.partyId);
      if (commitment) await copy.putCommitment(sessionId, party.partyId, commitment);
      const memory = await original.getSessionMemory(sessionId);
      expect(memory?.lastEvent).toBeDefined();
      await copy.putSessionMemory(sessionId, memory!);
      return copy;
    };

    /** Stops the server, puts back the honest database, applies `edit`, starts the server again. */
    async function tamper(edit: (db: Database.Database) => void | Promise<void>): Promise<void> {
      await server.kill('SIGTERM');
      for (const suffix of ['-wal', '-shm']) rmSync(dbPath() + suffix, { force: true });
      copyFileSync(honestCopy, dbPath());
      const db = new Database(dbPath());
      try {
        await edit(db);
        db.pragma('wal_checkpoint(TRUNCATE)');
      } finally {
        db.close();
      }
      await server.startProcess();
    }

    beforeAll(async () => {
      // Every party has verified the honest log (and so remembers its head); keep a copy of that database.
      for (const party of everyone) expect((await sdk(party).audit.verifySession(sessionId)).ok).toBe(true);
      await server.kill('SIGTERM');
      const db = new Database(dbPath());
      db.pragma('wal_checkpoint(TRUNCATE)');
      db.close();
      honestCopy = join(mkdtempSync(join(tmpdir(), 'tenzro-honest-')), 'tenzro.db');
      copyFileSync(dbPath(), honestCopy);
      await server.startProcess();
    });

    it('an event edited in the database: event_inclusion, naming the logIndex', async () => {
      let logIndex = -1;
      await tamper((db) => {
        const row = findRow(db, sessionId, 'consent_recorded', bankB());
        logIndex = row.log_index;
        editEventJson(db, row, (event) => ({ ...event, at: '2020-01-01T00:00:00.000Z' }));
      });
      for (const party of everyone) {
        expectCaught(await (await seasoned(party)).audit.verifySession(sessionId), 'event_inclusion', new RegExp(`consent_recorded event at logIndex ${logIndex} `));
      }
    });

    it('an event deleted from the database: trail_complete', async () => {
      await tamper((db) => {
        db.prepare('DELETE FROM audit_events WHERE seq = ?').run(findRow(db, sessionId, 'consent_recorded', bankB()).seq);
      });
      expectCaught(await (await seasoned(bankA())).audit.verifySession(sessionId), 'trail_complete', /sessionSeq/);
      expectCaught(await fresh(server.party(REGULATOR)).audit.verifySession(sessionId), 'trail_complete', /sessionSeq/);
    });

    it('two events reordered in the database: event_inclusion', async () => {
      await tamper((db) => {
        const a = findRow(db, sessionId, 'data_submitted', bankB());
        const b = findRow(db, sessionId, 'consent_recorded', bankB());
        const swap = db.prepare('UPDATE audit_events SET log_index = ? WHERE seq = ?');
        swap.run(-1, a.seq);
        swap.run(a.log_index, b.seq);
        swap.run(b.log_index, a.seq);
      });
      const verdict = await (await seasoned(bankA())).audit.verifySession(sessionId);
      expectCaught(verdict, 'event_inclusion');
      expect(verdict.checks.find((c) => c.check === 'trail_complete')?.status).toBe('failed');
    });

    it('an event inserted into the session in the database: event_inclusion', async () => {
      await tamper((db) => {
        // The host passes another row off as an event of this session: a cancellation nobody asked for.
        const rows = readLog(db);
        const victim = rows.find((r) => r.session_id === null)!;
        const last = Math.max(...rows.filter((r) => r.session_id === sessionId).map((r) => r.session_seq!));
        const forged: AuditEvent = { ...eventOf(victim), sessionId, sessionSeq: last + 1, kind: 'session_cancelled', payload: { reason: 'forged' } };
        db.prepare('UPDATE audit_events SET session_id = ?, session_seq = ?, type = ?, event_json = ? WHERE seq = ?').run(
          sessionId, last + 1, 'session_cancelled', canonicalize(forged), victim.seq,
        );
      });
      expectCaught(await fresh(parties.bankC!).audit.verifySession(sessionId), 'event_inclusion', /session_cancelled event at logIndex/);
    });

    it('a tree head re-signed over a forked history: tree_consistency for a client that saw the earlier head, fork reported by tenzro audit watch', async () => {
      // Before the fork, a watcher notes the honest head.
      const storeDir = mkdtempSync(join(tmpdir(), 'tenzro-audit-watch-'));
      const env = { ...process.env, TENZRO_DATA_DIR: server.dataDir, TENZRO_BASE_URL: server.baseUrl };
      const watchArgs = [cli, 'audit', 'watch', '--interval', '0.1', '--store', join(storeDir, 'store.json')];
      await run(process.execPath, [...watchArgs, '--count', '1'], { env });

      // Same size, one event rewritten (bankB's consent, signed with a key that is not on the roster).
      await tamper((db) =>
        rewriteHistory(db, server.dataDir, (events) =>
          events.map((event) =>
            isEvent(sessionId, 'consent_recorded', bankB())(event)
              ? { ...event, payload: { ...event.payload, signature: signConsentStatement(sessionId, fromBase64Url(parties.bankC!.signingKey.privateKey)) } }
              : event,
          ),
        ),
      );
      for (const party of everyone) {
        expectCaught(await (await seasoned(party)).audit.verifySession(sessionId), 'tree_consistency', /^fork: two heads of size/);
      }
      await expect((await seasoned(bankA())).audit.getTreeHead()).rejects.toMatchObject({ code: 'tree_head_inconsistent', reason: 'fork' });
      const watched = await run(process.execPath, watchArgs, { env }).then(
        () => ({ code: 0, stdout: '' }),
        (error: { code: number; stdout: string }) => error,
      );
      expect(watched.code).toBe(2);
      expect(watched.stdout).toMatch(/FORK \(fork\)/);
      rmSync(storeDir, { recursive: true, force: true });

      // A consent whose signature does not verify: a fresh client, which consistency cannot help, still catches it.
      expectCaught(await fresh(server.party(REGULATOR)).audit.verifySession(sessionId), 'consent_signatures', /party::bankB::treasury .* does not verify/);
    });

    it('a history rewritten and then extended: tree_consistency (the consistency proof fails); a commitment missing from the aggregated root: aggregated_data_hash', async () => {
      await tamper((db) => rewriteHistory(db, server.dataDir, (events) => events.filter((event) => !isEvent(sessionId, 'data_submitted', bankC())(event))));
      await createSeedSession(server); // the log grows past the size the parties saw
      for (const party of everyone) {
        expectCaught(await (await seasoned(party)).audit.verifySession(sessionId), 'tree_consistency', /^inconsistent: the consistency proof/);
      }
      // A fresh client: the session state still lists bankC as submitted, so the trail is incomplete; the
      // aggregated root is not that of the logged commitments either.
      const verdict = await fresh(server.party(REGULATOR)).audit.verifySession(sessionId);
      expectCaught(verdict, 'trail_complete', /party::bankC::treasury submitted data, but the trail has no data_submitted/);
      expect(verdict.checks.find((c) => c.check === 'aggregated_data_hash')).toMatchObject({
        status: 'failed',
        detail: expect.stringMatching(/included party party::bankC::treasury has 0 data_submitted/),
      });
    });

    it('a logged commitment swapped for another: aggregated_data_hash, and the party sees its own is not the logged one', async () => {
      const other = await hashCommitment('not what bankC submitted');
      await tamper((db) =>
        rewriteHistory(db, server.dataDir, (events) =>
          events.map((event) => (isEvent(sessionId, 'data_submitted', bankC())(event) ? { ...event, payload: { ...event.payload, commitment: other } } : event)),
        ),
      );
      const ownCommitment = await stores.get(bankC())!.getCommitment(sessionId, bankC());
      expect(ownCommitment).toBeDefined();
      const verdict = await fresh(parties.bankC!).audit.verifySession(sessionId, { ownCommitment: ownCommitment! });
      expectCaught(verdict, 'aggregated_data_hash', /Merkle root of the logged commitments/);
      expect(verdict.checks.find((c) => c.check === 'own_commitment_included')).toMatchObject({ status: 'failed' });
    });

    it('the session\'s last events deleted (result_released … deletion_attested) and the tree re-signed: trail_complete', async () => {
      const lastKinds = new Set(['result_released', 'data_destroyed', 'key_destroyed', 'deletion_attested']);
      await tamper((db) => rewriteHistory(db, server.dataDir, (events) => events.filter((event) => !(event.sessionId === sessionId && lastKinds.has(event.kind)))));
      const trail = await fresh(parties.bankA!).audit.getSessionTrail(sessionId);
      expect(trail.entries.at(-1)?.event.kind).toBe('run_started');
      // A client that knows the session is completed (the host's own session state says so).
      expectCaught(await fresh(server.party(REGULATOR)).audit.verifySession(sessionId), 'trail_complete', /reports the session completed, but the trail has no result_released/);
      // A client that saw the full trail: the log shrank under it, and the trail ends before what it saw.
      for (const party of everyone) {
        const verdict = await sdk(party, await copyOf(party)).audit.verifySession(sessionId);
        expectCaught(verdict, 'tree_consistency', /^rollback/);
        expect(verdict.checks.find((c) => c.check === 'trail_complete')).toMatchObject({ status: 'failed', detail: expect.stringMatching(/events were dropped from its end/) });
      }
      // The same client's memory of the session alone (no head of this log) is enough.
      const memoryOnly = new MemoryAuditStore();
      await memoryOnly.putSessionMemory(sessionId, (await stores.get(bankC())!.getSessionMemory(sessionId))!);
      expectCaught(await sdk(parties.bankC!, memoryOnly).audit.verifySession(sessionId), 'trail_complete', /events were dropped from its end/);
    });

    it('a result report whose hash does not match: result_report', async () => {
      await tamper((db) =>
        rewriteHistory(db, server.dataDir, (events) =>
          events.map((event) =>
            isEvent(sessionId, 'result_released')(event) ? { ...event, payload: { ...event.payload, reportHash: `sha256:${'0'.repeat(64)}` } } : event,
          ),
        ),
      );
      expectCaught(await fresh(parties.bankB!).audit.verifySession(sessionId), 'result_report', /reportHash is not the hash of the logged report/);
    });

    it('a result report rewritten with a matching hash: result_report for a recipient (not the report it received)', async () => {
      await tamper((db) =>
        rewriteHistory(db, server.dataDir, (events) =>
          events.map((event) => {
            if (!isEvent(sessionId, 'result_released')(event)) return event;
            const report = { ...(event.payload.report as Record<string, unknown>), releasedAt: '2020-01-01T00:00:00.000Z' };
            return { ...event, payload: { ...event.payload, report, reportHash: `sha256:${toHex(sha256(canonicalBytes(report)))}` } };
          }),
        ),
      );
      const verdict = await fresh(server.party(REGULATOR)).audit.verifySession(sessionId);
      expectCaught(verdict, 'result_report', /differs from the logged report/);
      expect(verdict.checks.find((c) => c.check === 'result_attestation')).toMatchObject({ status: 'failed', detail: expect.stringMatching(/user_data_mismatch/) });
    });

    it('a consent moved after the result (reordered and re-signed): consent_signatures', async () => {
      await tamper((db) =>
        rewriteHistory(db, server.dataDir, (events) => {
          const moved = events.find(isEvent(sessionId, 'consent_recorded', bankC()))!;
          const rest = events.filter((event) => event !== moved);
          const released = rest.findIndex(isEvent(sessionId, 'result_released'));
          return [...rest.slice(0, released + 1), moved, ...rest.slice(released + 1)];
        }),
      );
      expectCaught(
        await fresh(parties.bankA!).audit.verifySession(sessionId),
        'consent_signatures',
        /included party party::bankC::treasury has no full consent logged before the run started/,
      );
    });
  });
});
