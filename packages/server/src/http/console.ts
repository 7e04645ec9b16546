/**
 * The web console (apps/console, issue 6) served at `/`: the built files of `apps/console/dist` (or
 * TENZRO_CONSOLE_DIR), read-only, with a strict Content-Security-Policy — the page talks only to this
 * origin, loads only its own scripts, and the party's keys never leave it. Paths without a file extension
 * that are not API routes get index.html (the console routes in the page). API paths keep their JSON 404.
 */
import { statSync } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply } from 'fastify';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.map': 'application/json',
};

const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'cross-origin-opener-policy': 'same-origin',
};

/** Where the built console is: TENZRO_CONSOLE_DIR, else apps/console/dist of this checkout. */
export function defaultConsoleDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'apps', 'console', 'dist');
}

const API_PREFIXES = ['/v1/', '/.well-known/', '/openapi.json', '/healthz', '/readyz'];

/** Registers `/` and the console's files when `dir` holds a build; returns whether it did. */
export function registerConsole(app: FastifyInstance, dir: string): boolean {
  const root = resolve(dir);
  try {
    if (!statSync(join(root, 'index.html')).isFile()) return false;
  } catch {
    return false;
  }
  const send = async (reply: FastifyReply, file: string, cache: string): Promise<void> => {
    const body = await readFile(file);
    void reply
      .code(200)
      .headers({ ...SECURITY_HEADERS, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': cache })
      .send(body);
  };
  const index = join(root, 'index.html');
  app.get('/', { config: { auth: 'none' } }, async (_request, reply) => send(reply, index, 'no-cache'));
  app.get('/*', { config: { auth: 'none' } }, async (request, reply) => {
    let path: string;
    try {
      path = decodeURIComponent(request.url.split('?')[0] ?? '/');
    } catch {
      return reply.code(400).send({ error: { code: 'invalid_request', message: 'the path is not valid percent-encoding' } });
    }
    if (API_PREFIXES.some((p) => path.startsWith(p))) {
      return reply.code(404).send({ error: { code: 'not_found', message: 'no such route' } });
    }
    const file = normalize(join(root, path));
    if (file !== root && !file.startsWith(root + sep)) return reply.code(404).send({ error: { code: 'not_found', message: 'no such route' } });
    if (extname(path) === '') return send(reply, index, 'no-cache');
    try {
      if ((await stat(file)).isFile()) return send(reply, file, path.startsWith('/assets/') ? 'public, max-age=31536000, immutable' : 'no-cache');
    } catch {
      // fall through
    }
    return reply.code(404).send({ error: { code: 'not_found', message: 'no such file' } });
  });
  return true;
}
