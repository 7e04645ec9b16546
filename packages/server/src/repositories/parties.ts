/** Registered parties: public keys only; their private keys never reach the host. */
import type { Executor } from './executor.js';
import type { PartiesTable } from '../db/schema.js';

export async function insertParty(db: Executor, party: PartiesTable): Promise<void> {
  await db.insertInto('parties').values(party).execute();
}

export async function findParty(db: Executor, partyId: string): Promise<PartiesTable | undefined> {
  return db.selectFrom('parties').selectAll().where('party_id', '=', partyId).executeTakeFirst();
}

export async function findParties(db: Executor, partyIds: readonly string[]): Promise<PartiesTable[]> {
  if (partyIds.length === 0) return [];
  return db.selectFrom('parties').selectAll().where('party_id', 'in', [...partyIds]).execute();
}
