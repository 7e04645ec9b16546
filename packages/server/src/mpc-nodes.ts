/**
 * The compute node fleets of the `mpc` method (docs/mpc.md, "Host (server)"): which nodes serve a session
 * of `totalParties` nodes, and, in development, starting them.
 *
 * - Configured (`TENZRO_MPC_NODES` = a JSON file `{ fleets: [{ total, nodes: [{ index, url,
 *   controlTokenFile }] }] }`): nodes run elsewhere; the file is parsed strictly at startup (a ConfigError
 *   names the problem) and each control token read from its file (relative paths: beside the JSON file).
 * - Local (the variable unset and the enclave's provider simulated): the first session that needs a fleet
 *   of `total` nodes starts one (`startLocalFleet`, @tenzro/mpc-node) with its state under
 *   `<dataDir>/mpc-nodes/<total>`, the enclave's simulated CA (one root for enclave and nodes) and the
 *   enclave's measurement; each node is logged (`mpc_node_started`) and `<base>/nodes.json` lists them.
 *   Before each run the fleet restarts nodes that exited; the server stops the fleets when it closes.
 * - Otherwise there are no nodes and `mpc` is not offered.
 */
import { readFile, writeFile, mkdir } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { MPC_MAX_PARTIES } from '@tenzro/crypto';
import { TenzroError } from '@tenzro/protocol';
import { measureNodeBundle, startLocalFleet, type CoordinatedNode } from '@tenzro/mpc-node';
import { z } from 'zod';
import { ConfigError } from './config.js';
import type { EnclavePort } from './enclave-client.js';
import type { Logger } from './logger.js';

const FleetFile = z.strictObject({
  fleets: z
    .array(
      z.strictObject({
        total: z.number().int().min(2).max(MPC_MAX_PARTIES),
        nodes: z
          .array(
            z.strictObject({
              index: z.number().int().min(1).max(MPC_MAX_PARTIES),
              url: z.url({ protocol: /^https?$/ }),
              controlTokenFile: z.string().min(1),
            }),
          )
          .min(2),
      }),
    )
    .min(1),
});

/** A fleet as the coordinator takes it: nodes 1..total in index order. */
export type ConfiguredFleets = ReadonlyMap<number, readonly CoordinatedNode[]>;

/** Reads and checks a TENZRO_MPC_NODES file. @throws ConfigError naming the file and the problem. */
export async function loadMpcNodesFile(path: string): Promise<ConfiguredFleets> {
  const fail = (message: string, cause?: unknown): never => {
    throw Object.assign(new ConfigError(`TENZRO_MPC_NODES (${path}): ${message}`), cause === undefined ? {} : { cause });
  };
  let text = '';
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    fail(`cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, error);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    fail('is not JSON', error);
  }
  const parsed = FleetFile.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    fail(`${issue.path.join('.') || '(root)'}: ${issue.message}`);
  }
  const fleets = new Map<number, CoordinatedNode[]>();
  for (const [f, fleet] of parsed.data!.fleets.entries()) {
    if (fleets.has(fleet.total)) fail(`fleets.${f}: a second fleet of ${fleet.total} nodes`);
    const indices = fleet.nodes.map((n) => n.index).sort((a, b) => a - b);
    if (indices.length !== fleet.total || indices.some((index, i) => index !== i + 1)) {
      fail(`fleets.${f}: the nodes must be exactly indices 1..${fleet.total}, got ${indices.join(',')}`);
    }
    const nodes: CoordinatedNode[] = [];
    for (const node of [...fleet.nodes].sort((a, b) => a.index - b.index)) {
      const tokenPath = resolve(dirname(path), node.controlTokenFile);
      let controlToken = '';
      try {
        controlToken = (await readFile(tokenPath, 'utf8')).trim();
      } catch (error) {
        fail(`fleets.${f}: node ${node.index}: control token file ${tokenPath} cannot be read`, error);
      }
      if (controlToken === '') fail(`fleets.${f}: node ${node.index}: control token file ${tokenPath} is empty`);
      nodes.push({ index: node.index, url: node.url.replace(/\/+$/, ''), controlToken });
    }
    fleets.set(fleet.total, nodes);
  }
  return fleets;
}

type LocalFleet = Awaited<ReturnType<typeof startLocalFleet>>;

export interface MpcNodesOptions {
  dataDir: string;
  logger: Logger;
  enclave: EnclavePort;
  /** From TENZRO_MPC_NODES; undefined: local fleets when the enclave is simulated. */
  configured?: ConfiguredFleets | undefined;
  /** The enclave's state dir, which holds its simulated CA (local fleets share it). */
  enclaveStateDir: string;
  /** Called with a local fleet's measurement once it started (the development credentials pin it). */
  onFleetStarted?: (measurement: string) => void;
}

/** The fleets of compute nodes the server runs `mpc` sessions on. */
export class MpcNodes {
  readonly #options: MpcNodesOptions;
  readonly #local = new Map<number, Promise<LocalFleet>>();
  readonly #restarting = new Map<number, Promise<void>>();
  #closed = false;

  constructor(options: MpcNodesOptions) {
    this.#options = options;
  }

  /** 'configured' (TENZRO_MPC_NODES), 'local' (development: started here), or 'none'. */
  mode(): 'configured' | 'local' | 'none' {
    if (this.#options.configured) return 'configured';
    return this.#options.enclave.info()?.provider === 'simulated' ? 'local' : 'none';
  }

  /** Whether sessions with `total` compute nodes can be served (configured, or startable here). */
  canServe(total: number): boolean {
    const mode = this.mode();
    if (mode === 'configured') return this.#options.configured!.has(total);
    return mode === 'local';
  }

  /**
   * The nodes of the fleet of `total` (index order), starting a local fleet the first time.
   * @throws TenzroError mpc_nodes_unavailable when there is none or it cannot start.
   */
  async nodes(total: number): Promise<readonly CoordinatedNode[]> {
    const mode = this.mode();
    if (mode === 'configured') {
      const nodes = this.#options.configured!.get(total);
      if (!nodes) throw new TenzroError('mpc_nodes_unavailable', `no fleet of ${total} compute nodes is configured (TENZRO_MPC_NODES)`);
      return nodes;
    }
    if (mode === 'none') throw new TenzroError('mpc_nodes_unavailable', 'no compute nodes are configured (TENZRO_MPC_NODES)');
    const fleet = await this.#localFleet(total);
    return fleet.nodes.map((n) => ({ index: n.index, url: n.url, controlToken: n.controlToken }));
  }

  /** The nodes of a fleet that is configured or already started (never starts one). */
  async started(total: number): Promise<readonly CoordinatedNode[] | undefined> {
    const mode = this.mode();
    if (mode === 'configured') return this.#options.configured!.get(total);
    const started = this.#local.get(total);
    if (mode !== 'local' || !started) return undefined;
    try {
      return (await started).nodes.map((n) => ({ index: n.index, url: n.url, controlToken: n.controlToken }));
    } catch {
      return undefined;
    }
  }

  /**
   * Before a run and before the preprocessing at session creation (development): restarts the local
   * fleet's nodes that exited, keeping their keys. Never throws: a node that cannot restart (its port
   * taken, …) is logged (code only) and stays down, and the caller goes on with the live nodes. Calls for
   * one fleet are serialized (two restarts of one node would race for its port); none after `close`.
   */
  async restartExited(total: number): Promise<void> {
    if (this.mode() !== 'local' || this.#closed) return;
    const previous = this.#restarting.get(total) ?? Promise.resolve();
    const next = previous.then(() => this.#restartExited(total));
    this.#restarting.set(total, next);
    try {
      await next;
    } finally {
      if (this.#restarting.get(total) === next) this.#restarting.delete(total);
    }
  }

  async #restartExited(total: number): Promise<void> {
    const started = this.#local.get(total);
    if (!started || this.#closed) return;
    let fleet: LocalFleet;
    try {
      fleet = await started;
    } catch {
      return; // a fleet that failed to start is started again by nodes()
    }
    const before = new Map(fleet.nodes.map((n) => [n.index, n.pid]));
    try {
      await fleet.restartExited();
    } catch (error) {
      const code = (error as { code?: unknown } | null)?.code;
      this.#options.logger.warn(
        { total, code: typeof code === 'string' ? code : error instanceof Error ? error.name : 'error' },
        'could not restart an exited mpc node; going on with the live nodes',
      );
    }
    if (this.#closed) {
      await fleet.stop().catch(() => undefined); // close() ran while nodes restarted: stop them too
      return;
    }
    const restarted = fleet.nodes.filter((n) => before.get(n.index) !== n.pid);
    if (restarted.length > 0) {
      for (const node of restarted) this.#logStarted(total, node);
      await this.#writeNodesFile(total, fleet);
    }
  }

  /** The local fleet of `total`, when one was started (tests stop and kill its nodes). */
  async localFleet(total: number): Promise<LocalFleet | undefined> {
    return this.#local.get(total);
  }

  /** The node measurement the SDK pins (development credentials): this checkout's node bundle. */
  async measurement(): Promise<string | undefined> {
    try {
      return await measureNodeBundle();
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'could not measure the mpc node bundle');
      return undefined;
    }
  }

  /** Stops the local fleets (also one still starting, and nodes a restart in flight brings back). */
  async close(): Promise<void> {
    this.#closed = true;
    const fleets = [...this.#local.values()];
    this.#local.clear();
    await Promise.all([...this.#restarting.values()].map((p) => p.catch(() => undefined)));
    await Promise.all(
      fleets.map(async (started) => {
        try {
          await (await started).stop();
        } catch {
          // a fleet that never started has nothing to stop
        }
      }),
    );
  }

  #localFleet(total: number): Promise<LocalFleet> {
    if (this.#closed) return Promise.reject(new TenzroError('mpc_nodes_unavailable', 'the server is shutting down'));
    const existing = this.#local.get(total);
    if (existing) return existing;
    const started = this.#startLocal(total);
    this.#local.set(total, started);
    // A fleet that failed to start is tried again by the next session that needs it.
    started.catch(() => {
      if (this.#local.get(total) === started) this.#local.delete(total);
    });
    return started;
  }

  async #startLocal(total: number): Promise<LocalFleet> {
    const { dataDir, logger, enclave, enclaveStateDir } = this.#options;
    const info = enclave.info();
    if (!info) throw new TenzroError('mpc_nodes_unavailable', 'the enclave has not started yet; its measurement is needed to start compute nodes');
    const baseDir = join(dataDir, 'mpc-nodes', String(total));
    await mkdir(baseDir, { recursive: true, mode: 0o700 });
    let fleet: LocalFleet;
    try {
      fleet = await startLocalFleet({ total, baseDir, caDir: enclaveStateDir, enclaveMeasurements: [info.measurement] });
    } catch (error) {
      logger.error({ err: error, total }, 'could not start the local mpc node fleet');
      throw new TenzroError('mpc_nodes_unavailable', `the ${total} local compute nodes could not be started`, { cause: error });
    }
    if (this.#closed) {
      await fleet.stop().catch(() => undefined);
      throw new TenzroError('mpc_nodes_unavailable', 'the server is shutting down');
    }
    for (const node of fleet.nodes) this.#logStarted(total, node);
    await this.#writeNodesFile(total, fleet);
    this.#options.onFleetStarted?.(fleet.measurement);
    return fleet;
  }

  #logStarted(total: number, node: { index: number; pid: number; url: string }): void {
    this.#options.logger.info(
      { event: 'mpc_node_started', total, index: node.index, pid: node.pid, url: node.url },
      `mpc node ${node.index}/${total} started`,
    );
  }

  async #writeNodesFile(total: number, fleet: LocalFleet): Promise<void> {
    const file = join(this.#options.dataDir, 'mpc-nodes', String(total), 'nodes.json');
    const list = fleet.nodes.map((n) => ({ index: n.index, pid: n.pid, url: n.url }));
    await writeFile(file, JSON.stringify(list, null, 2) + '\n', { mode: 0o600 }).catch((error: unknown) =>
      this.#options.logger.warn({ err: error, file }, 'could not write nodes.json'),
    );
  }
}
