import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';
import { POSTGRES_BIN } from './packages/server/src/dev/postgres-cluster.js';

const ALL_TESTS = ['packages/*/src/**/*.test.ts', 'packages/*/src/**/*.test.tsx', 'apps/*/src/**/*.test.ts', 'test/**/*.test.ts'];

/**
 * The server's feature tests (each starts a real server through harness.fixture.ts) run twice: on the
 * embedded SQLite file and on PostgreSQL (issue 8: every feature test on both dialects). The files that
 * start their own clusters already cover PostgreSQL themselves and are not repeated.
 */
const SERVER_FEATURE_TESTS = [
  'access',
  'auth',
  'consent-revocation',
  'expiry',
  'faults',
  'http-input',
  'lifecycle',
  'logging',
  'model-registry',
  'mpc-nodes-config',
  'mpc-routes',
  'mpc-runs',
  'secagg-neighbourhoods',
  'secagg-rounds',
  'secagg-runs',
  'secagg-sweep',
  'session-events',
  'session-key',
  'transparency-log',
  'uploads',
].map((name) => `packages/server/src/${name}.test.ts`);

// Without PostgreSQL's binaries (a developer machine) the second pass is left out; CI installs them, and
// its PostgreSQL tests refuse to skip (postgres.fixture.ts).
const withPostgres = process.env.CI === 'true' || existsSync(`${POSTGRES_BIN}/initdb`);

export default defineConfig({
  test: {
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two files at a time on this 2-core machine (vitest's default leaves one core idle): the suite is
    // mostly waiting on child processes (enclaves, nodes, PostgreSQL, a browser).
    maxWorkers: 2,
    reporters: ['default', './test/support/summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'sqlite', include: ALL_TESTS } },
      ...(withPostgres
        ? [
            {
              extends: true as const,
              test: {
                name: 'postgres',
                include: SERVER_FEATURE_TESTS,
                env: { TENZRO_TEST_DATABASE: 'postgres' },
                globalSetup: ['./test/support/postgres-global-setup.ts'],
              },
            },
          ]
        : []),
    ],
  },
});
