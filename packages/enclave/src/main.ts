#!/usr/bin/env node
/**
 * The enclave process: `node packages/enclave/dist/main.js`.
 *
 *   main.js           serve the framed channel on stdin/stdout until stdin closes
 *   main.js measure [--gguf <file>]
 *                     print the measurement of this checkout's enclave bundle and exit; with the local
 *                     language model <file> (default: TENZRO_LLM_GGUF, as the serving enclave measures it)
 *
 * Environment: TENZRO_ENCLAVE_STATE_DIR (required to serve) — where the simulated provider keeps its CA
 * and root secret, and the key store its tombstones. TENZRO_ENCLAVE_CAPTURE_DIR (tests only, simulated
 * provider only; any other provider refuses to start) — where secure-aggregation runs write what they
 * received (secagg-capture.ts). TENZRO_MPC_NODE_MEASUREMENTS (optional) — compute-node measurements accepted
 * besides this checkout's node bundle (mpc-node-trust.ts). TENZRO_LLM_* (optional) — an OpenAI-compatible
 * language-model endpoint inside the trust boundary (narrative/openai-compatible.ts). TENZRO_LLM_GGUF*
 * (optional) — a local GGUF model run in this process (narrative/local-gguf.ts), measured with the bundle.
 * stdout carries reply frames only; diagnostics go to stderr and never carry data, keys or plaintext.
 */
import { SimulatedNsm } from './attestation/simulated-nsm.js';
import { ChannelError, serveChannel } from './channel.js';
import { createHandler } from './dispatch.js';
import { KeyStore } from './key-store.js';
import { logError, logEvent } from './log.js';
import { MeasureError, measureBundle } from './measure.js';
import { ggufPathFromEnv } from './narrative/local-gguf.js';
import { NarrativeBackends } from './narrative/registry.js';
import { NarrativeConfigError } from './narrative/openai-compatible.js';
import { MpcNodeTrustError, acceptedMpcNodeMeasurements } from './mpc-node-trust.js';
import { CaptureConfigError, captureSinkFromEnv, type CaptureSink } from './secagg-capture.js';

/** How often the enclave drops cached keys that another enclave of the deployment destroyed. */
const PURGE_INTERVAL_MS = 5_000;

async function serve(): Promise<number> {
  const stateDir = process.env.TENZRO_ENCLAVE_STATE_DIR;
  if (!stateDir) {
    process.stderr.write('TENZRO_ENCLAVE_STATE_DIR must name the enclave state directory\n');
    return 2;
  }
  let measurement: string;
  try {
    measurement = await measureBundle(undefined, { gguf: ggufPathFromEnv(process.env) });
  } catch (error) {
    if (!(error instanceof MeasureError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  const nsm = await SimulatedNsm.loadOrCreate({ stateDir, measurement });
  let capture: CaptureSink | undefined;
  try {
    capture = captureSinkFromEnv(process.env, nsm.provider);
  } catch (error) {
    if (!(error instanceof CaptureConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  let mpcNodeMeasurements: string[];
  try {
    mpcNodeMeasurements = await acceptedMpcNodeMeasurements(process.env);
  } catch (error) {
    if (!(error instanceof MpcNodeTrustError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  let narrative: NarrativeBackends;
  try {
    narrative = await NarrativeBackends.fromEnv(process.env);
  } catch (error) {
    if (!(error instanceof NarrativeConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
  // The GGUF model was measured, then read into memory by path: measured again now that its weights are
  // loaded, so a file swapped between the two cannot run under the attested measurement.
  const gguf = ggufPathFromEnv(process.env);
  if (gguf !== undefined && (await measureBundle(undefined, { gguf })) !== measurement) {
    process.stderr.write('the GGUF model changed while the enclave loaded it: the loaded weights are not the measured ones\n');
    await narrative.close();
    return 2;
  }
  let keys: KeyStore;
  try {
    keys = await KeyStore.open({ nsm, stateDir });
  } catch (error) {
    await narrative.close();
    throw error;
  }
  logEvent('ready', { provider: nsm.provider, measurement, pid: process.pid, capture: capture !== undefined, mpcNodeMeasurements: mpcNodeMeasurements.length, narrativeBackends: narrative.ids().join(',') });
  // Keys destroyed through another enclave worker (a shared state directory) leave this one's memory too.
  const purge = setInterval(() => {
    keys.purgeDestroyed().catch((error: unknown) => logError('tombstone_refresh_failed', error));
  }, PURGE_INTERVAL_MS);
  purge.unref();
  try {
    await serveChannel(process.stdin, process.stdout, createHandler({ nsm, keys, capture, mpcNodeMeasurements, narrative }));
  } catch (error) {
    if (error instanceof ChannelError) {
      logEvent('channel_closed', { reason: error.code });
      return 1;
    }
    throw error;
  } finally {
    clearInterval(purge);
    keys.close();
    await narrative.close();
  }
  logEvent('stopped', {});
  return 0;
}

async function main(argv: string[]): Promise<number> {
  if (argv[0] === 'measure' && (argv.length === 1 || (argv.length === 3 && argv[1] === '--gguf' && argv[2] !== ''))) {
    const gguf = argv.length === 3 ? argv[2] : ggufPathFromEnv(process.env);
    try {
      process.stdout.write((await measureBundle(undefined, { gguf })) + '\n');
    } catch (error) {
      if (!(error instanceof MeasureError)) throw error;
      process.stderr.write(`${error.message}\n`);
      return 2;
    }
    return 0;
  }
  if (argv.length > 0) {
    process.stderr.write('usage: main.js [measure [--gguf <file>]]\n');
    return 2;
  }
  return serve();
}

process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  // the host went away: nothing left to answer
  logEvent('stdout_closed', { code: error.code ?? 'unknown' });
  process.exit(1);
});

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    logError('main', error);
    process.exitCode = 1;
  },
);
