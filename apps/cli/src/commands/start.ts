// `tenzro start`: the server and its supervised enclave process (what `npm start` runs).
import { loadConfig, startServer } from '@tenzro/server';

export async function start(): Promise<void> {
  const server = await startServer(loadConfig(process.env));
  const stop = async (signal: string): Promise<void> => {
    console.log(`${signal}: shutting down`);
    await server.close();
    process.exit(0);
  };
  process.once('SIGINT', () => void stop('SIGINT'));
  process.once('SIGTERM', () => void stop('SIGTERM'));
}
