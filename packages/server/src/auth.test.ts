// Authentication and tenant isolation (DESIGN §4; RELIABILITY 4 and 6).
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashApiKey } from './domain/tenants.js';
import { PARTY, createTestSession, startTestServer, type TestServer } from './harness.fixture.js';

let t: TestServer;
beforeAll(async () => {
  t = await startTestServer();
});
afterAll(async () => {
  await t?.close();
});

function apiKeyOf(tenant: string): string {
  return t.credentials.parties.find((p) => p.tenantId === tenant)!.apiKey;
}

describe('API keys', () => {
  it('refuses a request without credentials with 401 unauthorized', async () => {
    const response = await t.inject(null, { method: 'GET', url: '/v1/sessions' });
    expect(response.statusCode).toBe(401);
    expect(t.json(response).error.code).toBe('unauthorized');
  });

  it('refuses an unknown key, a revoked key and a wrong tenant with the same 401 body', async () => {
    const unknown = await t.inject(null, {
      method: 'GET',
      url: '/v1/sessions',
      headers: { authorization: 'Bearer tzk_' + 'A'.repeat(43), 'x-tenant-id': 'bankA' },
    });
    const crossTenant = await t.inject(null, {
      method: 'GET',
      url: '/v1/sessions',
      headers: { authorization: `Bearer ${apiKeyOf('bankA')}`, 'x-tenant-id': 'bankB' },
    });
    const noTenant = await t.inject(null, {
      method: 'GET',
      url: '/v1/sessions',
      headers: { authorization: `Bearer ${apiKeyOf('bankA')}` },
    });
    for (const response of [unknown, crossTenant, noTenant]) {
      expect(response.statusCode).toBe(401);
      expect(t.json(response)).toEqual({ error: { code: 'unauthorized', message: 'invalid API key or tenant' } });
    }

    const revokedKey = apiKeyOf('bankC');
    await t.server.ctx.db
      .updateTable('api_keys')
      .set({ revoked_at: new Date().toISOString() })
      .where('key_hash', '=', hashApiKey(revokedKey))
      .execute();
    const revoked = await t.inject(null, {
      method: 'GET',
      url: '/v1/sessions',
      headers: { authorization: `Bearer ${revokedKey}`, 'x-tenant-id': 'bankC' },
    });
    expect(revoked.statusCode).toBe(401);
    expect(t.json(revoked)).toEqual(t.json(unknown));
    await t.server.ctx.db.updateTable('api_keys').set({ revoked_at: null }).where('key_hash', '=', hashApiKey(revokedKey)).execute();
  });

  it('stores only the SHA-256 of each key', async () => {
    const rows = await t.server.ctx.db.selectFrom('api_keys').selectAll().execute();
    expect(rows).toHaveLength(t.credentials.parties.length);
    for (const party of t.credentials.parties) {
      expect(rows.some((r) => r.key_hash === hashApiKey(party.apiKey))).toBe(true);
      expect(JSON.stringify(rows)).not.toContain(party.apiKey);
    }
  });

  it('accepts a key with its own tenant', async () => {
    const response = await t.inject('bankA', { method: 'GET', url: '/v1/sessions' });
    expect(response.statusCode).toBe(200);
    expect(t.json(response)).toEqual({ sessions: [] });
  });
});

describe('tenant isolation', () => {
  it('refuses to register a party named under another tenant (403), and writes nothing', async () => {
    const response = await t.inject('bankA', {
      method: 'POST',
      url: '/v1/parties',
      payload: { partyId: 'party::bankB::intruder', signingKey: 'A'.repeat(43), encryptionKey: 'A'.repeat(43) },
    });
    expect(response.statusCode).toBe(403);
    expect(t.json(response).error.code).toBe('forbidden');
    const row = await t.server.ctx.db.selectFrom('parties').select('party_id').where('party_id', '=', 'party::bankB::intruder').executeTakeFirst();
    expect(row).toBeUndefined();
  });

  it('registers a party of the caller’s own tenant', async () => {
    const signingKey = randomBytes(32).toString('base64url');
    const encryptionKey = randomBytes(32).toString('base64url');
    const response = await t.inject('bankA', {
      method: 'POST',
      url: '/v1/parties',
      payload: { partyId: 'party::bankA::audit', signingKey, encryptionKey },
    });
    expect(response.statusCode).toBe(201);
    expect(t.json(response)).toMatchObject({ partyId: 'party::bankA::audit', tenantId: 'bankA' });
    const again = await t.inject('bankA', {
      method: 'POST',
      url: '/v1/parties',
      payload: { partyId: 'party::bankA::audit', signingKey, encryptionKey },
    });
    expect(again.statusCode).toBe(409);
  });

  it('refuses a tenant acting for another tenant’s party (403) and stores nothing', async () => {
    const session = await createTestSession(t);
    const consent = await t.inject('bankA', {
      method: 'POST',
      url: `/v1/sessions/${session.id}/consents`,
      headers: { 'x-tenzro-party-id': PARTY.bankB },
      payload: {
        consent: { dataUsage: true, resultSharing: true, attestationSharing: true, retentionAcknowledged: true },
        signature: t.consentSignature('bankB', session.id),
      },
    });
    expect(consent.statusCode).toBe(403);
    expect(t.json(consent).error.code).toBe('forbidden');
    const upload = await t.inject('bankA', {
      method: 'POST',
      url: `/v1/sessions/${session.id}/data`,
      headers: {
        'x-tenzro-party-id': PARTY.bankB,
        'content-type': 'application/octet-stream',
        'x-tenzro-data-schema': 'transaction_records_v1',
        'x-tenzro-commitment': 'sha256:' + '0'.repeat(64),
      },
      payload: Buffer.from('ciphertext'),
    });
    expect(upload.statusCode).toBe(403);
    const consents = await t.server.ctx.db.selectFrom('consents').selectAll().where('session_id', '=', session.id).execute();
    const submissions = await t.server.ctx.db.selectFrom('submissions').selectAll().where('session_id', '=', session.id).execute();
    expect(consents).toEqual([]);
    expect(submissions).toEqual([]);
    expect(await t.server.ctx.blobs.tempFiles()).toEqual([]);
  });

  it('a key of one tenant never lists another tenant’s sessions', async () => {
    await createTestSession(t, { creator: 'bankA', participants: ['bankA'], observers: [] });
    const list = await t.inject('bankC', { method: 'GET', url: '/v1/sessions' });
    expect(list.statusCode).toBe(200);
    expect(t.json(list).sessions).toEqual([]);
    const mine = t.json(await t.inject('bankB', { method: 'GET', url: '/v1/sessions' })).sessions;
    for (const session of mine) expect([...session.participants, ...session.observers].some((p: string) => p.includes('::bankB::')) || session.createdBy === 'bankB').toBe(true);
  });
});

describe('admin route', () => {
  it('does not exist without TENZRO_ADMIN_KEY', async () => {
    const response = await t.inject(null, { method: 'POST', url: '/v1/admin/tenants', payload: { tenantId: 'bankZ' } });
    expect(response.statusCode).toBe(404);
  });

  it('in production: no default credentials; the admin key creates a tenant whose key is shown once', async () => {
    const adminKey = 'admin-' + randomBytes(24).toString('hex');
    const prod = await startTestServer({ env: { TENZRO_ENV: 'production', TENZRO_ADMIN_KEY: adminKey } });
    try {
      expect(prod.server.credentialsFile).toBeUndefined();
      expect(await prod.server.ctx.db.selectFrom('tenants').selectAll().execute()).toEqual([]);
      const wrong = await prod.inject(null, {
        method: 'POST',
        url: '/v1/admin/tenants',
        headers: { authorization: 'Bearer ' + 'x'.repeat(adminKey.length) },
        payload: { tenantId: 'hospital' },
      });
      expect(wrong.statusCode).toBe(401);
      const created = await prod.inject(null, {
        method: 'POST',
        url: '/v1/admin/tenants',
        headers: { authorization: `Bearer ${adminKey}` },
        payload: { tenantId: 'hospital' },
      });
      expect(created.statusCode).toBe(201);
      const { apiKey, tenantId } = prod.json(created);
      expect(tenantId).toBe('hospital');
      const list = await prod.inject(null, {
        method: 'GET',
        url: '/v1/sessions',
        headers: { authorization: `Bearer ${apiKey}`, 'x-tenant-id': 'hospital' },
      });
      expect(list.statusCode).toBe(200);
      const twice = await prod.inject(null, {
        method: 'POST',
        url: '/v1/admin/tenants',
        headers: { authorization: `Bearer ${adminKey}` },
        payload: { tenantId: 'hospital' },
      });
      expect(twice.statusCode).toBe(409);
      const keys = await prod.server.ctx.db.selectFrom('api_keys').selectAll().execute();
      expect(JSON.stringify(keys)).not.toContain(apiKey);
    } finally {
      await prod.close();
    }
  });
});
