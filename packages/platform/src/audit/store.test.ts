// The audit store: the last tree head a client accepted per log, and its parties' own commitments.
// Both implementations are held to the same behaviour.
import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { AuditStoreError, FileAuditStore, MemoryAuditStore, type AuditStore } from './store.js';
import { FakeLog } from './trail.fixture.js';

const SESSION = `mps_${'a'.repeat(26)}`;
const PARTY = 'party::bankA::treasury';
const COMMITMENT = `sha256:${'1'.repeat(64)}`;

const stores: [string, () => AuditStore][] = [
  ['MemoryAuditStore', () => new MemoryAuditStore()],
  ['FileAuditStore', () => new FileAuditStore(join(mkdtempSync(join(tmpdir(), 'tenzro-audit-')), 'nested', 'store.json'))],
];

for (const [name, make] of stores) {
  describe(name, () => {
    it('keeps tree heads per log and commitments per session and party', async () => {
      const store = make();
      const log = new FakeLog();
      log.append('tenant_created', null, {});
      expect(await store.getTreeHead(log.logId)).toBeUndefined();
      await store.putTreeHead(log.logId, log.head());
      expect(await store.getTreeHead(log.logId)).toEqual(log.head());
      expect(await store.getTreeHead('sha256:other')).toBeUndefined();
      expect(await store.getCommitment(SESSION, PARTY)).toBeUndefined();
      await Promise.all([store.putCommitment(SESSION, PARTY, COMMITMENT), store.putCommitment(SESSION, 'party::bankB::treasury', COMMITMENT)]);
      expect(await store.getCommitment(SESSION, PARTY)).toBe(COMMITMENT);
      expect(await store.getCommitment(SESSION, 'party::bankB::treasury')).toBe(COMMITMENT);
      expect(await store.getCommitment(SESSION, '__proto__')).toBeUndefined();
    });

    it('copies what it is given and what it returns', async () => {
      const store = make();
      const log = new FakeLog();
      const head = log.head();
      await store.putTreeHead(log.logId, head);
      (head.treeHead as { treeSize: number }).treeSize = 99;
      const read = (await store.getTreeHead(log.logId))!;
      expect(read.treeHead.treeSize).toBe(0);
      (read.treeHead as { treeSize: number }).treeSize = 98;
      expect((await store.getTreeHead(log.logId))!.treeHead.treeSize).toBe(0);
    });

    it('keeps the first log key per host and what it remembers of each session (fields merged)', async () => {
      const store = make();
      const key = 'A'.repeat(43);
      expect(await store.getLogKey('https://host.test')).toBeUndefined();
      await store.putLogKey('https://host.test', key);
      expect(await store.getLogKey('https://host.test')).toBe(key);
      expect(await store.getLogKey('https://other.test')).toBeUndefined();
      expect(await store.getSessionMemory(SESSION)).toBeUndefined();
      await store.putSessionMemory(SESSION, { lastEvent: { sessionSeq: 7, leafHash: 'B'.repeat(43) } });
      await store.putSessionMemory(SESSION, { reportHash: COMMITMENT });
      expect(await store.getSessionMemory(SESSION)).toEqual({ lastEvent: { sessionSeq: 7, leafHash: 'B'.repeat(43) }, reportHash: COMMITMENT });
      await store.putSessionMemory(SESSION, { lastEvent: { sessionSeq: 9, leafHash: 'C'.repeat(43) } });
      expect(await store.getSessionMemory(SESSION)).toEqual({ lastEvent: { sessionSeq: 9, leafHash: 'C'.repeat(43) }, reportHash: COMMITMENT });
      await expect(store.putLogKey('https://host.test', 'short')).rejects.toThrow(/publicKey must be a 32-byte key/);
      await expect(store.putSessionMemory(SESSION, { lastEvent: { sessionSeq: -1, leafHash: 'x' } })).rejects.toThrow(TypeError);
      await expect(store.putSessionMemory(SESSION, { reportHash: 'nope' })).rejects.toThrow(/memory must be a SessionMemory/);
    });

    it('checks its arguments', async () => {
      const store = make();
      await expect(store.getTreeHead('')).rejects.toThrow(/logId must be a non-empty string/);
      await expect(store.putTreeHead('x', { treeHead: {} } as never)).rejects.toThrow(/signedTreeHead must be a SignedTreeHead/);
      await expect(store.putCommitment(SESSION, PARTY, 'sha256:abc')).rejects.toThrow(/commitment must be/);
      await expect(store.getCommitment(SESSION, '')).rejects.toThrow(/partyId/);
    });
  });
}

describe('FileAuditStore', () => {
  it('persists across instances, in a 0600 file', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tenzro-audit-')), 'store.json');
    await new FileAuditStore(path).putCommitment(SESSION, PARTY, COMMITMENT);
    expect(await new FileAuditStore(path).getCommitment(SESSION, PARTY)).toBe(COMMITMENT);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ version: 1 });
  });

  it('reads a file written before log keys and session memories were kept', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tenzro-audit-')), 'store.json');
    writeFileSync(path, JSON.stringify({ version: 1, treeHeads: {}, commitments: { [SESSION]: { [PARTY]: COMMITMENT } } }));
    const store = new FileAuditStore(path);
    expect(await store.getCommitment(SESSION, PARTY)).toBe(COMMITMENT);
    expect(await store.getLogKey('https://host.test')).toBeUndefined();
    await store.putSessionMemory(SESSION, { reportHash: COMMITMENT });
    expect(await new FileAuditStore(path).getSessionMemory(SESSION)).toEqual({ reportHash: COMMITMENT });
  });

  it('refuses a file it cannot parse instead of starting over', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'tenzro-audit-')), 'store.json');
    writeFileSync(path, '{"version":2}');
    await expect(new FileAuditStore(path).getCommitment(SESSION, PARTY)).rejects.toBeInstanceOf(AuditStoreError);
    writeFileSync(path, 'not json');
    await expect(new FileAuditStore(path).putCommitment(SESSION, PARTY, COMMITMENT)).rejects.toMatchObject({ code: 'audit_store_unavailable' });
    expect(readFileSync(path, 'utf8')).toBe('not json');
    expect(() => new FileAuditStore('')).toThrow(TypeError);
  });
});
