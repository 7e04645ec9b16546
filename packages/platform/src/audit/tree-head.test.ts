// Issue 3: signed tree heads (Ed25519 over JCS, RFC 8032) and RFC 9162 §2.1.4 consistency between the head
// a client saw and the next one; `platform.audit.getTreeHead` accepts a head only when both hold.
import { generateSigningKeyPair, toBase64Url } from '@tenzro/crypto';
import { describe, expect, it } from 'vitest';
import { json } from '../fake-host.fixture.js';
import { AuditLogError } from './errors.js';
import { MemoryAuditStore } from './store.js';
import { compareTreeHeads, verifyTreeHeadSignature } from './tree-head.js';
import { FakeLog, makeTrail } from './trail.fixture.js';

function logOf(size: number): FakeLog {
  const log = new FakeLog();
  for (let i = 0; i < size; i++) log.append('access_denied', null, { code: 'forbidden', i });
  return log;
}

describe('verifyTreeHeadSignature', () => {
  it('accepts a head signed by the log key and naming the log', () => {
    const log = logOf(5);
    expect(verifyTreeHeadSignature(log.head(), log.publicKey)).toBe(true);
  });

  it('refuses another key, another logId, an edited head, a malformed signature', () => {
    const log = logOf(5);
    const other = generateSigningKeyPair();
    expect(verifyTreeHeadSignature(log.head(5, other.privateKey), log.publicKey)).toBe(false);
    expect(verifyTreeHeadSignature(log.head(), other.publicKey)).toBe(false);
    expect(verifyTreeHeadSignature(log.head(5, undefined, `sha256:${'0'.repeat(64)}`), log.publicKey)).toBe(false);
    const head = log.head();
    expect(verifyTreeHeadSignature({ ...head, treeHead: { ...head.treeHead, treeSize: 4 } }, log.publicKey)).toBe(false);
    expect(verifyTreeHeadSignature({ ...head, signature: '!' }, log.publicKey)).toBe(false);
  });

  it('checks its arguments', () => {
    const log = logOf(1);
    expect(() => verifyTreeHeadSignature(null as never, log.publicKey)).toThrow(/signedTreeHead/);
    expect(() => verifyTreeHeadSignature(log.head(), 'key' as never)).toThrow(/logPublicKey must be a Uint8Array/);
  });
});

describe('compareTreeHeads', () => {
  it('first, same, extends', () => {
    const log = logOf(7);
    expect(compareTreeHeads(undefined, log.head(7), undefined).status).toBe('first');
    expect(compareTreeHeads(log.head(7), log.head(7), undefined).status).toBe('same');
    for (const from of [1, 2, 3, 4, 6]) {
      expect(compareTreeHeads(log.head(from), log.head(7), log.consistency(from, 7).proof).status).toBe('extends');
    }
  });

  it('a head of size 0 is extended by any tree', () => {
    const empty = new FakeLog();
    const head0 = empty.head(0);
    const log = logOf(3);
    expect(compareTreeHeads({ ...head0, treeHead: { ...head0.treeHead, logId: log.logId } }, log.head(3), undefined).status).toBe('extends');
  });

  it('fork: same size, different roots', () => {
    const log = logOf(4);
    const before = log.head();
    log.events[1] = { ...log.events[1]!, payload: { code: 'rewritten' } };
    log.rebuild();
    expect(compareTreeHeads(before, log.head(), undefined)).toMatchObject({ status: 'fork', detail: expect.stringMatching(/size 4 with different roots/) });
  });

  it('rollback: smaller than the head seen', () => {
    const log = logOf(4);
    expect(compareTreeHeads(log.head(4), log.head(3), undefined).status).toBe('rollback');
  });

  it('inconsistent: a rewritten prefix, a wrong proof, no proof', () => {
    const log = logOf(5);
    const before = log.head(3);
    log.events[0] = { ...log.events[0]!, payload: { code: 'rewritten' } };
    log.rebuild();
    expect(compareTreeHeads(before, log.head(5), log.consistency(3, 5).proof).status).toBe('inconsistent');
    expect(compareTreeHeads(log.head(3), log.head(5), log.consistency(2, 5).proof).status).toBe('inconsistent');
    expect(compareTreeHeads(log.head(3), log.head(5), undefined).status).toBe('inconsistent');
    expect(compareTreeHeads(log.head(3), log.head(5), ['!!']).status).toBe('inconsistent');
  });
});

describe('platform.audit.getTreeHead', () => {
  it('verifies, remembers, and accepts a consistent successor', async () => {
    const trail = await makeTrail('created');
    const store = new MemoryAuditStore();
    const audit = trail.platform(trail.fixture.regulator, { auditStore: store }).audit;
    const first = await audit.getTreeHead();
    expect(await store.getTreeHead(trail.log.logId)).toEqual(first);
    trail.log.append('access_denied', null, { code: 'forbidden' });
    const second = await audit.getTreeHead();
    expect(second.treeHead.treeSize).toBe(first.treeHead.treeSize + 1);
    expect(await store.getTreeHead(trail.log.logId)).toEqual(second);
    expect(trail.fixture.requests.filter((r) => r.path === '/.well-known/tenzro-log-key')).toHaveLength(1);
  });

  it('throws tree_head_inconsistent (reason fork) for a re-signed history of the same size', async () => {
    const trail = await makeTrail('created');
    const audit = trail.platform(trail.fixture.regulator).audit;
    const seen = await audit.getTreeHead();
    trail.log.events[0] = { ...trail.log.events[0]!, payload: { tenantId: 'mallory' } };
    trail.log.rebuild();
    const error = await audit.getTreeHead().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AuditLogError);
    expect(error).toMatchObject({ code: 'tree_head_inconsistent', reason: 'fork', previous: seen });
  });

  it('throws tree_head_inconsistent (reason inconsistent) when the rewritten log grew', async () => {
    const trail = await makeTrail('created');
    const audit = trail.platform(trail.fixture.regulator).audit;
    await audit.getTreeHead();
    trail.log.events[0] = { ...trail.log.events[0]!, payload: { tenantId: 'mallory' } };
    trail.log.rebuild();
    trail.log.append('access_denied', null, { code: 'forbidden' });
    await expect(audit.getTreeHead()).rejects.toMatchObject({ code: 'tree_head_inconsistent', reason: 'inconsistent' });
  });

  it('throws tree_head_signature_invalid for a head the log key did not sign', async () => {
    const trail = await makeTrail('created');
    const other = generateSigningKeyPair();
    trail.fixture.routes.set('GET /v1/log/tree-head', () => json(200, trail.log.head(undefined, other.privateKey)));
    await expect(trail.platform(trail.fixture.regulator).audit.getTreeHead()).rejects.toMatchObject({ code: 'tree_head_signature_invalid' });
  });

  it('refuses a served log key whose logId is not its hash, or that is not the pinned key', async () => {
    const trail = await makeTrail('created');
    const other = generateSigningKeyPair();
    await expect(
      trail.platform(trail.fixture.regulator, { logPublicKey: toBase64Url(other.publicKey) }).audit.getLogKey(),
    ).rejects.toMatchObject({ code: 'log_key_mismatch' });
    trail.fixture.routes.set('GET /.well-known/tenzro-log-key', () =>
      json(200, { logId: `sha256:${'0'.repeat(64)}`, algorithm: 'Ed25519', publicKey: toBase64Url(trail.log.publicKey) }),
    );
    await expect(trail.platform(trail.fixture.regulator).audit.getTreeHead()).rejects.toMatchObject({ code: 'log_key_invalid' });
  });

  it('getConsistencyProof checks its arguments and the reply', async () => {
    const trail = await makeTrail('created');
    const audit = trail.platform(trail.fixture.regulator).audit;
    await expect(audit.getConsistencyProof(0, 2)).rejects.toThrow(RangeError);
    await expect(audit.getConsistencyProof(3, 2)).rejects.toThrow(/must not exceed/);
    await expect(audit.getConsistencyProof('1' as never, 2)).rejects.toThrow(TypeError);
    expect((await audit.getConsistencyProof(1, 3)).proof.length).toBeGreaterThan(0);
    trail.fixture.routes.set('GET /v1/log/consistency', () => json(200, { from: 1, to: 2, proof: [] }));
    await expect(audit.getConsistencyProof(1, 3)).rejects.toMatchObject({ code: 'invalid_response' });
  });
});
