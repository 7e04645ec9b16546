/**
 * Test support: a throwaway PostgreSQL cluster (dev/postgres-cluster.ts), started by the test that needs it.
 *
 * Where the binaries are missing: with CI=true `postgresAvailability()` throws (a CI without PostgreSQL is
 * a broken CI); otherwise it says why the PostgreSQL tests are skipped.
 */
import {
  postgresBinaries,
  startPostgresCluster,
  type PostgresAvailability,
  type PostgresCluster,
  type PostgresClusterOptions,
} from './dev/postgres-cluster.js';

export { POSTGRES_BIN, type PostgresAvailability, type PostgresCluster } from './dev/postgres-cluster.js';

/** Whether the PostgreSQL tests can run here; throws under CI=true when they cannot. */
export function postgresAvailability(): PostgresAvailability {
  const availability = postgresBinaries();
  if (!availability.available && process.env.CI === 'true') {
    throw new Error(`${availability.reason}: CI must run the PostgreSQL tests (.ci/run installs them)`);
  }
  return availability;
}

export async function startPostgres(options: PostgresClusterOptions = {}): Promise<PostgresCluster> {
  const availability = postgresAvailability();
  if (!availability.available) throw new Error(availability.reason);
  return startPostgresCluster(options);
}
