// Global setup of the `postgres` test project (vitest.config.ts): one throwaway PostgreSQL cluster for the
// whole run. Each test server (harness.fixture.ts) creates its own database in it, so tests stay isolated.
import type { TestProject } from 'vitest/node';
import { startPostgres } from '../../packages/server/src/postgres.fixture.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A URL of the shared cluster's maintenance database, for CREATE DATABASE. */
    postgresAdminUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startPostgres({ maxConnections: 300 });
  project.provide('postgresAdminUrl', cluster.adminUrl);
  return () => cluster.stop();
}
