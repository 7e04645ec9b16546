// The web console served at `/` from a build directory: its files with a strict CSP, index.html for the
// console's own paths, API paths keeping their JSON 404, and nothing outside the directory.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerConsole } from './http/console.js';

let dir: string;
const app = Fastify();
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tenzro-console-'));
  await mkdir(join(dir, 'assets'));
  await writeFile(join(dir, 'index.html'), '<!doctype html><title>console</title>');
  await writeFile(join(dir, 'assets', 'app-1.js'), 'console.log(1)');
  await writeFile(join(dir, '..', 'secret.txt'), 'outside');
  expect(registerConsole(app, dir)).toBe(true);
});
afterAll(async () => {
  await app.close();
  await rm(join(dir, '..', 'secret.txt'), { force: true });
  await rm(dir, { recursive: true, force: true });
});

describe('the console at /', () => {
  it('serves index.html at / and at console paths, with a CSP that keeps the page on this origin', async () => {
    for (const url of ['/', '/sessions/mps_x', '/sign-in']) {
      const r = await app.inject({ method: 'GET', url });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-type']).toMatch(/^text\/html/);
      expect(r.body).toContain('<title>console</title>');
      expect(r.headers['content-security-policy']).toContain("connect-src 'self'");
      expect(r.headers['content-security-policy']).toContain("script-src 'self'");
    }
  });

  it('serves hashed assets as immutable, and 404s a missing file', async () => {
    const r = await app.inject({ method: 'GET', url: '/assets/app-1.js' });
    expect(r.statusCode).toBe(200);
    expect(r.headers['content-type']).toMatch(/^text\/javascript/);
    expect(r.headers['cache-control']).toContain('immutable');
    expect((await app.inject({ method: 'GET', url: '/assets/missing.js' })).statusCode).toBe(404);
  });

  it('keeps API paths as JSON 404s and never serves a file outside its directory', async () => {
    const api = await app.inject({ method: 'GET', url: '/v1/nope' });
    expect(api.statusCode).toBe(404);
    expect(api.json().error.code).toBe('not_found');
    for (const url of ['/../secret.txt', '/%2e%2e/secret.txt', '/assets/%2e%2e/%2e%2e/secret.txt']) {
      const r = await app.inject({ method: 'GET', url });
      expect(r.body).not.toContain('outside');
    }
  });

  it('registers nothing when there is no build', () => {
    expect(registerConsole(Fastify(), join(dir, 'missing'))).toBe(false);
  });
});
