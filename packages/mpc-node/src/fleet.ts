// A local fleet of compute nodes as child processes (the server's development mode, and tests): node i runs
// `node packages/mpc-node/dist/main.js --index i --total n` with its own state dir `baseDir/<i>`, one shared
// CA dir (the enclave's in development: one simulated root), `--peers` = every other node, and
// `--enclave-measurement` = the accepted enclave measurements. Ports are allocated before the first start,
// so every node knows its peers, and kept on restart (a restarted node keeps its keys, loses its triples).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { CoordinatedNode } from './coordinator.js';

/** main.ts's control token file name (not imported: main.js runs when it is the entry point). */
const CONTROL_TOKEN_FILE = 'control-token';

export interface StartLocalFleetOptions {
  total: number;
  /** Node i keeps its keys and control token in `baseDir/<i>`. */
  baseDir: string;
  /** The simulated CA shared by the nodes (in development: the enclave's state dir). */
  caDir: string;
  /** Passed as --enclave-measurement (runs are refused without one). */
  enclaveMeasurements?: string[];
  host?: '127.0.0.1';
  /** The node entry point (default: this package's dist/main.js). */
  nodeEntry?: string;
  /** 'inherit': the nodes' diagnostics (JSON lines, never values) go to this process's stderr (default: kept, last 4 KiB, for start errors). */
  stderr?: 'pipe' | 'inherit';
  /** How long to wait for a node's ready line (default 30 s). */
  readyTimeoutMs?: number;
  /** More flags for node `index`, asked at every start and restart (e.g. `--max-body-bytes`). */
  nodeArgs?: (index: number) => readonly string[];
}

export type FleetNode = CoordinatedNode & { pid: number };

export interface LocalFleet {
  /** index order; `pid` is updated in place when a node is restarted. */
  nodes: FleetNode[];
  /** The node measurement (from the ready lines). */
  measurement: string;
  /** Restarts every node whose process exited; the restarted indices. */
  restartExited(): Promise<number[]>;
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL: a crash) to node `index`'s process. */
  kill(index: number, signal?: NodeJS.Signals): void;
  /** Resolves once node `index`'s current process has exited. */
  exited(index: number): Promise<void>;
}

export class FleetStartError extends Error {
  readonly code = 'mpc_node_start_failed' as const;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'FleetStartError';
  }
}

async function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

interface Running {
  child: ChildProcess;
  exited: boolean;
  exit: Promise<void>;
}

export async function startLocalFleet(options: StartLocalFleetOptions): Promise<LocalFleet> {
  const { total, baseDir, caDir } = options;
  if (!Number.isInteger(total) || total < 2 || total > 255) throw new RangeError('options.total must be an integer from 2 to 255');
  if (typeof baseDir !== 'string' || baseDir.length === 0) throw new TypeError('options.baseDir must be a path');
  if (typeof caDir !== 'string' || caDir.length === 0) throw new TypeError('options.caDir must be a path');
  const host = options.host ?? '127.0.0.1';
  const entry = options.nodeEntry ?? fileURLToPath(new URL('../dist/main.js', import.meta.url)) // from src/ (tests) or dist/;
  const readyTimeoutMs = options.readyTimeoutMs ?? 30_000;
  const measurements = (options.enclaveMeasurements ?? []).join(',');

  const ports: number[] = [];
  while (ports.length < total) {
    const port = await freePort(host);
    if (!ports.includes(port)) ports.push(port);
  }
  const urlOf = (i: number) => `http://${host}:${ports[i - 1]}`;
  const peersOf = (i: number) =>
    ports
      .map((_, j) => j + 1)
      .filter((j) => j !== i)
      .map((j) => `${j}=${urlOf(j)}`)
      .join(',');
  const running = new Map<number, Running>();
  let measurement = '';

  const spawnNode = async (index: number): Promise<{ pid: number; measurement: string }> => {
    const args = [entry, '--index', String(index), '--total', String(total), '--port', String(ports[index - 1]), '--host', host, '--state-dir', join(baseDir, String(index)), '--ca-dir', caDir, '--peers', peersOf(index), '--exit-with-parent'];
    if (measurements) args.push('--enclave-measurement', measurements);
    if (options.nodeArgs) args.push(...options.nodeArgs(index));
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-4096);
      if (options.stderr === 'inherit') process.stderr.write(chunk);
    });
    const state: Running = { child, exited: false, exit: Promise.resolve() };
    state.exit = new Promise<void>((resolve) => {
      child.once('exit', () => {
        state.exited = true;
        resolve();
      });
    });
    running.set(index, state);
    const lines = createInterface({ input: child.stdout! });
    try {
      return await new Promise<{ pid: number; measurement: string }>((resolve, reject) => {
        const timer = setTimeout(() => reject(new FleetStartError(`compute node ${index} sent no ready line in ${readyTimeoutMs} ms`)), readyTimeoutMs);
        lines.once('line', (line) => {
          clearTimeout(timer);
          try {
            const ready = JSON.parse(line) as { event?: string; measurement?: string; pid?: number };
            if (ready.event !== 'ready' || typeof ready.measurement !== 'string') throw new Error('not a ready line');
            resolve({ pid: child.pid!, measurement: ready.measurement });
          } catch (cause) {
            reject(new FleetStartError(`compute node ${index} printed ${JSON.stringify(line.slice(0, 200))}, not its ready line`, { cause }));
          }
        });
        void state.exit.then(() => {
          clearTimeout(timer);
          reject(new FleetStartError(`compute node ${index} exited before it was ready: ${stderr.trim().slice(-1000)}`));
        });
      });
    } catch (error) {
      if (!state.exited) child.kill('SIGKILL');
      throw error;
    } finally {
      lines.on('line', () => undefined); // keep draining stdout
    }
  };

  const nodes: FleetNode[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(
      [...running.values()].map(async (r) => {
        if (r.exited) return;
        r.child.kill('SIGTERM');
        const timer = setTimeout(() => r.child.kill('SIGKILL'), 5000);
        await r.exit;
        clearTimeout(timer);
      }),
    );
  };
  try {
    // node 1 first: it creates the CA when the dir is new; then the others together
    const first = await spawnNode(1);
    measurement = first.measurement;
    const rest = await Promise.all(Array.from({ length: total - 1 }, (_, i) => spawnNode(i + 2)));
    for (const [i, started] of [first, ...rest].entries()) {
      if (started.measurement !== measurement) throw new FleetStartError(`compute node ${i + 1} reports measurement ${started.measurement}, node 1 ${measurement}`);
      const token = (await readFile(join(baseDir, String(i + 1), CONTROL_TOKEN_FILE), 'utf8')).trim();
      nodes.push({ index: i + 1, url: urlOf(i + 1), controlToken: token, pid: started.pid });
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    nodes,
    measurement,
    async restartExited() {
      const exited = nodes.filter((n) => running.get(n.index)?.exited !== false);
      await Promise.all(
        exited.map(async (node) => {
          const started = await spawnNode(node.index);
          node.pid = started.pid;
          node.controlToken = (await readFile(join(baseDir, String(node.index), CONTROL_TOKEN_FILE), 'utf8')).trim();
        }),
      );
      return exited.map((n) => n.index);
    },
    stop,
    kill(index, signal = 'SIGKILL') {
      const r = running.get(index);
      if (!r) throw new RangeError(`no compute node ${index} in this fleet`);
      if (!r.exited) r.child.kill(signal);
    },
    exited(index) {
      const r = running.get(index);
      if (!r) throw new RangeError(`no compute node ${index} in this fleet`);
      return r.exit;
    },
  };
}
