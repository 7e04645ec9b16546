/**
 * Instances of one deployment decide leases, expiries and stage deadlines by their own clocks, so those
 * clocks must agree (NTP). On PostgreSQL each instance compares its clock with the database's — the one
 * clock every instance sees — at start and on every sweep: a skew past a third of the run lease could let
 * one instance take over another's live run (or expire a session early), so the instance refuses to start,
 * and logs an error when it drifts there later.
 */
import { sql } from 'kysely';
import type { Db } from './db/database.js';

export class ClockSkewError extends Error {
  readonly code = 'clock_skew' as const;
  constructor(message: string) {
    super(message);
    this.name = 'ClockSkewError';
  }
}

/** This host's clock minus the database's, in ms (measured at the midpoint of one round trip). */
export async function clockSkewMs(db: Db): Promise<number> {
  const before = Date.now();
  const { rows } = await sql<{ now: string }>`select (extract(epoch from clock_timestamp()) * 1000)::text as now`.execute(db);
  const after = Date.now();
  return Math.round((before + after) / 2 - Number(rows[0]!.now));
}

/** The largest skew tolerated: a third of the lease, the renewal period. */
export function maxClockSkewMs(runLeaseMs: number): number {
  return Math.floor(runLeaseMs / 3);
}

export function describeSkew(skewMs: number, limitMs: number): string {
  return `this host's clock is ${Math.abs(skewMs)} ms ${skewMs > 0 ? 'ahead of' : 'behind'} the database's (at most ${limitMs} ms is safe with TENZRO_RUN_LEASE_MS): synchronise the clocks (NTP)`;
}
