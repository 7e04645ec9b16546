/** Tenants and their API keys. A key is stored only as the SHA-256 of its text. */
import type { Executor } from './executor.js';
import type { ApiKeysTable } from '../db/schema.js';

export async function insertTenant(db: Executor, id: string, at: string): Promise<void> {
  await db.insertInto('tenants').values({ id, created_at: at }).execute();
}

export async function tenantExists(db: Executor, id: string): Promise<boolean> {
  const row = await db.selectFrom('tenants').select('id').where('id', '=', id).executeTakeFirst();
  return row !== undefined;
}

export async function countTenants(db: Executor): Promise<number> {
  const row = await db.selectFrom('tenants').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

export async function insertApiKey(
  db: Executor,
  key: { id: string; tenantId: string; keyHash: string; at: string },
): Promise<void> {
  await db
    .insertInto('api_keys')
    .values({ id: key.id, tenant_id: key.tenantId, key_hash: key.keyHash, created_at: key.at, revoked_at: null })
    .execute();
}

export async function findApiKeyByHash(db: Executor, keyHash: string): Promise<ApiKeysTable | undefined> {
  return db.selectFrom('api_keys').selectAll().where('key_hash', '=', keyHash).executeTakeFirst();
}

export async function revokeApiKey(db: Executor, id: string, at: string): Promise<void> {
  await db.updateTable('api_keys').set({ revoked_at: at }).where('id', '=', id).execute();
}
