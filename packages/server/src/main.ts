#!/usr/bin/env node
/** `node packages/server/dist/main.js`: starts the server from the environment; stops on SIGTERM/SIGINT. */
import { loadConfig } from './config.js';
import { startServer } from './server.js';

async function main(): Promise<void> {
  const server = await startServer(loadConfig(process.env));
  let stopping = false;
  const stop = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    server.ctx.logger.info({ signal }, 'shutting down');
    const force = setTimeout(() => process.exit(1), 15_000);
    force.unref();
    server.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

main().catch((error: unknown) => {
  process.stderr.write(`tenzro server failed to start: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
