/**
 * The host log: pino, to stdout and to `<dataDir>/logs/server.log`. Request logs carry method, url, status
 * and timing; never bodies, never the Authorization header.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pino, type Logger as PinoLogger } from 'pino';

export type Logger = PinoLogger;

export interface LoggerOptions {
  level: string;
  /** When set, log lines also go to `<dataDir>/logs/server.log`. */
  dataDir?: string;
  /** Write to stdout too (default true). */
  stdout?: boolean;
}

export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers["x-tenzro-admin-key"]',
  'headers.authorization',
  'authorization',
  'apiKey',
  '*.apiKey',
  'privateKey',
  '*.privateKey',
];

export function createLogger(options: LoggerOptions): Logger {
  const streams: pino.StreamEntry[] = [];
  if (options.stdout !== false) streams.push({ stream: process.stdout });
  if (options.dataDir) {
    const directory = join(options.dataDir, 'logs');
    mkdirSync(directory, { recursive: true, mode: 0o700 });
    streams.push({ stream: pino.destination({ dest: join(directory, 'server.log'), mkdir: true, sync: false, mode: 0o600 }) });
  }
  return pino(
    {
      level: options.level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: {
        req: (req: { method?: string; url?: string; id?: string }) => ({ method: req.method, url: req.url, id: req.id }),
        res: (res: { statusCode?: number }) => ({ statusCode: res.statusCode }),
        err: pino.stdSerializers.err,
      },
    },
    streams.length === 0 ? pino.destination('/dev/null') : pino.multistream(streams),
  );
}
