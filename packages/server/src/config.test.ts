// Server configuration from the environment: DATABASE_URL (issue 8). A PostgreSQL URL is taken as given;
// unset or empty means the embedded SQLite file; a bad one is a ConfigError that names the variable and
// never repeats the URL or its password.
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config.js';

const SECRET = 'hunter2-Zq9';

function refusal(url: string): ConfigError {
  try {
    loadConfig({ DATABASE_URL: url });
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`DATABASE_URL ${url} was accepted`);
}

describe('DATABASE_URL', () => {
  it('is undefined when unset or empty: the embedded SQLite file', () => {
    expect(loadConfig({}).databaseUrl).toBeUndefined();
    expect(loadConfig({ DATABASE_URL: '' }).databaseUrl).toBeUndefined();
  });

  it('takes postgres:// and postgresql:// URLs as given, the unix-socket form included', () => {
    for (const url of [
      `postgres://tenzro:${SECRET}@db.internal:5432/tenzro`,
      'postgresql://tenzro@/tenzro?host=%2Fvar%2Frun%2Fpostgresql&port=5433',
      'postgresql:///tenzro?host=/tmp',
      'POSTGRES://db/tenzro?sslmode=require',
    ]) {
      expect(loadConfig({ DATABASE_URL: url }).databaseUrl).toBe(url);
    }
  });

  it('refuses another scheme, naming the variable and the scheme but not the password', () => {
    const error = refusal(`mysql://root:${SECRET}@db/tenzro`);
    expect(error.code).toBe('invalid_config');
    expect(error.message).toBe('DATABASE_URL must be a postgres:// or postgresql:// URL, not mysql:');
  });

  it('refuses text that is not a URL', () => {
    expect(refusal(`tenzro:${SECRET}@db`).message).toBe('DATABASE_URL must be a postgres:// or postgresql:// URL, not tenzro:');
    expect(refusal(`just ${SECRET}`).message).toBe('DATABASE_URL must be a postgres:// or postgresql:// URL');
    expect(refusal('/var/run/postgresql').message).toBe('DATABASE_URL must be a postgres:// or postgresql:// URL');
  });

  it('refuses a malformed PostgreSQL URL without echoing it', () => {
    for (const url of [`postgres://u:${SECRET}@db:99999/tenzro`, `postgres://u:${SECRET}@[::1/tenzro`]) {
      const error = refusal(url);
      expect(error.message).toMatch(/^DATABASE_URL is not a valid URL/);
      expect(error.message).not.toContain(SECRET);
      expect(error.message).not.toContain('db');
    }
    const port = refusal(`postgresql://u:${SECRET}@/tenzro?host=/tmp&port=abc`);
    expect(port.message).toBe('DATABASE_URL has a port parameter that is not an integer from 1 to 65535');
    const fragment = refusal(`postgresql://u:${SECRET}@db/tenzro#x`);
    expect(fragment.message).toBe('DATABASE_URL must not have a #fragment');
  });
});

describe('scale-out settings', () => {
  const TOKEN = 'w'.repeat(32);

  it('defaults: one shared directory = the data directory, no workers, a 30 s lease, a 10 min run timeout', () => {
    const config = loadConfig({ TENZRO_DATA_DIR: '/srv/tenzro' });
    expect(config.sharedDir).toBe('/srv/tenzro');
    expect(config.enclaveWorkers).toBeUndefined();
    expect(config.runLeaseMs).toBe(30_000);
    expect(config.runTimeoutMs).toBe(600_000);
    expect(config.sweepIntervalMs).toBe(30_000);
    expect(loadConfig({ TENZRO_DATA_DIR: '/a', TENZRO_SHARED_DIR: '/b', DATABASE_URL: 'postgres://db/t' }).sharedDir).toBe('/b');
  });

  it('takes tcp://host:port workers with their token', () => {
    const config = loadConfig({ TENZRO_ENCLAVE_WORKERS: 'tcp://10.0.0.5:7401, tcp://[::1]:7402', TENZRO_ENCLAVE_WORKER_TOKEN: TOKEN });
    expect(config.enclaveWorkers).toEqual(['tcp://10.0.0.5:7401', 'tcp://[::1]:7402']);
    expect(config.enclaveWorkerToken).toBe(TOKEN);
  });

  it('refuses a worker address that is not tcp://host:port, a repeated one, or workers without a (long enough) token, never echoing the token', () => {
    const refused = (env: NodeJS.ProcessEnv): string => {
      try {
        loadConfig(env);
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        return (error as ConfigError).message;
      }
      throw new Error('accepted');
    };
    for (const bad of ['http://h:1', 'tcp://h', 'tcp://h:1/x', 'h:1', 'tcp://u@h:1', 'tcp://h:0', 'tcp://h:1?x=1', 'tcp://h:1#x']) {
      expect(refused({ TENZRO_ENCLAVE_WORKERS: bad, TENZRO_ENCLAVE_WORKER_TOKEN: TOKEN })).toMatch(/^TENZRO_ENCLAVE_WORKERS: .* is not a tcp:\/\/host:port address$/);
    }
    expect(refused({ TENZRO_ENCLAVE_WORKERS: 'tcp://h:1,tcp://h:1', TENZRO_ENCLAVE_WORKER_TOKEN: TOKEN })).toBe('TENZRO_ENCLAVE_WORKERS names a worker twice');
    expect(refused({ TENZRO_ENCLAVE_WORKERS: 'tcp://h:1' })).toBe('TENZRO_ENCLAVE_WORKERS needs TENZRO_ENCLAVE_WORKER_TOKEN');
    const short = refused({ TENZRO_ENCLAVE_WORKERS: 'tcp://h:1', TENZRO_ENCLAVE_WORKER_TOKEN: 'short-secret' });
    expect(short).toBe('TENZRO_ENCLAVE_WORKER_TOKEN must be 32 to 1024 characters');
    expect(short).not.toContain('short-secret');
    expect(refused({ TENZRO_DATA_DIR: '/a', TENZRO_SHARED_DIR: '/b' })).toBe(
      'TENZRO_SHARED_DIR is for several instances over one PostgreSQL: set DATABASE_URL too, or leave it unset',
    );
    expect(refused({ TENZRO_RUN_LEASE_MS: '100' })).toBe('TENZRO_RUN_LEASE_MS must be between 1500 and 3600000, got 100');
    expect(refused({ TENZRO_ENCLAVE_MEASUREMENT: 'AB'.repeat(48) })).toBe('TENZRO_ENCLAVE_MEASUREMENT must be 96 lowercase hex characters (`tenzro measure` prints it)');
    expect(loadConfig({ TENZRO_ENCLAVE_MEASUREMENT: 'ab'.repeat(48) }).enclaveMeasurement).toBe('ab'.repeat(48));
  });
});

describe('a new TENZRO_SHARED_DIR on an existing deployment', () => {
  it('is refused while the data directory holds a log key, an enclave root or blobs the shared one lacks', async () => {
    const { mkdtemp, mkdir, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const { join } = await import('node:path');
    const { assertSharedStateInPlace } = await import('./shared-dir.js');
    const root = await mkdtemp(join(tmpdir(), 'tenzro-shared-dir-'));
    try {
      const dataDir = join(root, 'data');
      const sharedDir = join(root, 'shared');
      await mkdir(join(dataDir, 'log'), { recursive: true });
      await mkdir(join(sharedDir, 'blobs'), { recursive: true }); // an empty store holds nothing
      expect(() => assertSharedStateInPlace({ dataDir, sharedDir })).not.toThrow();
      await writeFile(join(dataDir, 'log', 'log-key.json'), '{}');
      await mkdir(join(dataDir, 'blobs', 'ab'), { recursive: true });
      expect(() => assertSharedStateInPlace({ dataDir, sharedDir })).toThrow(ConfigError);
      expect(() => assertSharedStateInPlace({ dataDir, sharedDir })).toThrow(/lacks log\/log-key\.json, blobs, which TENZRO_DATA_DIR/);
      await mkdir(join(sharedDir, 'log'), { recursive: true });
      await writeFile(join(sharedDir, 'log', 'log-key.json'), '{}');
      await mkdir(join(sharedDir, 'blobs', 'cd'), { recursive: true });
      expect(() => assertSharedStateInPlace({ dataDir, sharedDir })).not.toThrow();
      expect(() => assertSharedStateInPlace({ dataDir, sharedDir: dataDir })).not.toThrow();
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
