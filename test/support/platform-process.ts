/**
 * Starts the real platform for feature tests: `node apps/cli/dist/main.js start` as a child process (which
 * supervises its real enclave process), on a free port, in a throwaway data directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, readFileSync, rmSync, type WriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { DevCredentials, DevParty } from 'tenzro';

export type { DevCredentials, DevParty };

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const cliEntry = join(repoRoot, 'apps', 'cli', 'dist', 'main.js');

export async function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

export class PlatformProcess {
  readonly dataDir: string;
  readonly port: number;
  readonly baseUrl: string;
  readonly stdoutPath: string;
  child: ChildProcess | undefined;
  #log: WriteStream | undefined;

  private constructor(dataDir: string, port: number, private readonly extraEnv: Record<string, string>) {
    this.dataDir = dataDir;
    this.port = port;
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.stdoutPath = join(dataDir, 'process-output.log');
  }

  static async start(extraEnv: Record<string, string> = {}): Promise<PlatformProcess> {
    const dataDir = mkdtempSync(join(tmpdir(), 'tenzro-e2e-'));
    const platform = new PlatformProcess(dataDir, await freePort(), extraEnv);
    await platform.startProcess();
    return platform;
  }

  async startProcess(): Promise<void> {
    this.#log = createWriteStream(this.stdoutPath, { flags: 'a' });
    const child = spawn(process.execPath, [cliEntry, 'start'], {
      cwd: repoRoot,
      env: {
        ...process.env,
        PORT: String(this.port),
        HOST: '127.0.0.1',
        TENZRO_DATA_DIR: this.dataDir,
        TENZRO_ENV: 'development',
        ...this.extraEnv,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.pipe(this.#log, { end: false });
    child.stderr!.pipe(this.#log, { end: false });
    this.child = child;
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      if (child.exitCode !== null) throw new Error(`platform exited with ${child.exitCode}:\n${this.output()}`);
      try {
        const response = await fetch(`${this.baseUrl}/healthz`);
        if (response.ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`platform did not become healthy:\n${this.output()}`);
  }

  output(): string {
    try {
      return readFileSync(this.stdoutPath, 'utf8');
    } catch {
      return '';
    }
  }

  credentials(): DevCredentials {
    return JSON.parse(readFileSync(join(this.dataDir, 'dev', 'credentials.json'), 'utf8')) as DevCredentials;
  }

  party(partyId: string): DevParty {
    const party = this.credentials().parties.find((p) => p.partyId === partyId);
    if (!party) throw new Error(`no dev party ${partyId}`);
    return party;
  }

  /** The pids of the server and of its enclave child (found through /proc). */
  enclavePid(): number | undefined {
    const pid = this.child?.pid;
    if (!pid) return undefined;
    try {
      const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
      return children.length ? Number(children[0]) : undefined;
    } catch {
      return undefined;
    }
  }

  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const enclave = this.enclavePid();
    await new Promise<void>((resolveExit) => {
      child.once('exit', () => resolveExit());
      child.kill(signal);
    });
    // A SIGKILLed server cannot stop its enclave; the enclave exits when its stdin closes, but make sure.
    if (enclave && signal === 'SIGKILL') {
      try {
        process.kill(enclave, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  async restart(): Promise<void> {
    await this.kill('SIGKILL');
    await this.startProcess();
  }

  async stop(options: { keepData?: boolean } = {}): Promise<void> {
    await this.kill('SIGTERM');
    this.#log?.end();
    if (!options.keepData) rmSync(this.dataDir, { recursive: true, force: true });
  }
}
