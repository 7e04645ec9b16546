#!/usr/bin/env node
/**
 * A compute node of the `mpc` method: `node packages/mpc-node/dist/main.js --index i --total n --port p --state-dir dir`
 * (or `tenzro mpc-node …`). `main.js measure` prints the node measurement and exits.
 *
 *   --index i              this node's Shamir x (1..total)
 *   --total n              number of compute nodes
 *   --port p               HTTP port (0: any free one; the ready line says which)
 *   --host h               listen address (default 127.0.0.1)
 *   --state-dir dir        keys (mpc-node-key.json, 0600), control token
 *   --ca-dir dir           simulated attestation CA (default: state dir; share it to share one root)
 *   --peers list           other nodes: `i=url` (pinned index) or `url`, comma-separated
 *   --trust-root files     PEM roots trusted for peers' documents (default: this node's own root)
 *   --expected-measurement hex,…   peers' accepted measurements (default: this node's own)
 *   --enclave-measurement hex,…    accepted enclave measurements for the session key (required for runs)
 *   --max-body-bytes n     largest message body accepted (default 16 MiB; a run's or bundle check's: 4 ×)
 *   --control-token-file f bearer token of the control endpoints (default: state-dir/control-token, created 0600)
 *   --exit-with-parent     stop when the process that started this node exits (development fleets)
 *   --allow-raw-multiply   serve /control/sessions, /control/multiply, /control/mailbox (benchmarks and
 *                          transport tests only; never on a session of the runtime, only ops `mul/…`)
 * stdout: one JSON line {"event":"ready",…} once listening; diagnostics on stderr, never share values.
 */
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { measureNodeBundle, loadSimulatedIssuer } from './attester.js';
import { loadOrCreateIdentity } from './identity.js';
import { PeerDirectory, parsePeerList } from './peers.js';
import { DEFAULT_MAX_BODY_BYTES, createMpcNodeServer } from './server.js';

export const CONTROL_TOKEN_FILE = 'control-token';

function integer(value: string | undefined, name: string, min: number, max: number): number {
  const n = Number(value);
  if (value === undefined || !Number.isInteger(n) || n < min || n > max) throw new RangeError(`--${name} must be an integer from ${min} to ${max}`);
  return n;
}

async function controlToken(path: string): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim();
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
  const token = randomBytes(32).toString('base64url');
  try {
    await writeFile(path, token + '\n', { mode: 0o600, flag: 'wx' });
    return token;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return (await readFile(path, 'utf8')).trim();
    throw error;
  }
}

/** Runs a node until SIGTERM/SIGINT; resolves with the exit code. */
export async function runMpcNode(argv: readonly string[]): Promise<number> {
  if (argv.length === 1 && argv[0] === 'measure') {
    process.stdout.write((await measureNodeBundle()) + '\n');
    return 0;
  }
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    options: {
      index: { type: 'string' },
      total: { type: 'string' },
      port: { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      'state-dir': { type: 'string' },
      'ca-dir': { type: 'string' },
      peers: { type: 'string', default: '' },
      'trust-root': { type: 'string' },
      'expected-measurement': { type: 'string' },
      'enclave-measurement': { type: 'string' },
      'max-body-bytes': { type: 'string' },
      'control-token-file': { type: 'string' },
      'exit-with-parent': { type: 'boolean', default: false },
      'allow-raw-multiply': { type: 'boolean', default: false },
    },
  });
  const total = integer(values.total, 'total', 2, 255);
  const index = integer(values.index, 'index', 1, total);
  const port = integer(values.port, 'port', 0, 65535);
  const stateDir = values['state-dir'];
  if (!stateDir) throw new TypeError('--state-dir is required');
  const maxBodyBytes = values['max-body-bytes'] === undefined ? DEFAULT_MAX_BODY_BYTES : integer(values['max-body-bytes'], 'max-body-bytes', 1024, 2 ** 30);

  const identity = await loadOrCreateIdentity(stateDir);
  const measurement = await measureNodeBundle();
  const issuer = await loadSimulatedIssuer(values['ca-dir'] ?? stateDir, measurement);
  const roots = values['trust-root']
    ? await Promise.all(values['trust-root'].split(',').filter(Boolean).map((file) => readFile(file, 'utf8')))
    : [issuer.rootPem];
  const expectedMeasurements = values['expected-measurement'] ? values['expected-measurement'].split(',').map((m) => m.trim().toLowerCase()) : [measurement];
  const peers = new PeerDirectory({ self: index, total, peers: parsePeerList(values.peers), roots, expectedMeasurements });
  const token = await controlToken(values['control-token-file'] ?? join(stateDir, CONTROL_TOKEN_FILE));
  const enclaveMeasurements = (values['enclave-measurement'] ?? '').split(',').map((m) => m.trim().toLowerCase()).filter(Boolean);
  for (const m of enclaveMeasurements) if (!/^[0-9a-f]{96}$/.test(m)) throw new RangeError('--enclave-measurement must list 96-hex-digit measurements');
  const node = createMpcNodeServer({ index, total, identity, issuer, peers, controlToken: token, maxBodyBytes, roots, enclaveMeasurements, allowRawMultiply: values['allow-raw-multiply'] });
  const bound = await node.listen(port, values.host);
  void peers.refresh(); // attest the peers already up now, not on the first round's messages
  process.stdout.write(`${JSON.stringify({ event: 'ready', index, total, host: values.host, port: bound, measurement, provider: issuer.provider, pid: process.pid })}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    if (values['exit-with-parent']) {
      // A development fleet's nodes must not outlive a server that crashed (kill -9 skips its shutdown).
      const parent = process.ppid;
      setInterval(() => {
        if (process.ppid !== parent) stop();
      }, 1000).unref();
    }
  });
  await node.close();
  return 0;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url.endsWith(process.argv[1].split(/[\\/]/).slice(-2).join('/'));
if (invokedDirectly) {
  runMpcNode(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      const err = error as { code?: string; message?: string };
      process.stderr.write(`mpc-node: ${err.code ? `[${err.code}] ` : ''}${err.message ?? String(error)}\n`);
      process.exitCode = 2;
    },
  );
}
