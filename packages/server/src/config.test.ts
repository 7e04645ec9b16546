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
