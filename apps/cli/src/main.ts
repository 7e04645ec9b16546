#!/usr/bin/env node
// The `tenzro` command line: start the platform, make party keys, run the demo (federated, secure
// aggregation or mpc), serve a party's secure-aggregation rounds (agent), print the measurement, verify a
// session's audit trail and watch the log for forks, or run an enclave worker of a scaled-out deployment.
import { Command, InvalidArgumentError } from 'commander';
import { agent } from './commands/agent.js';
import { auditVerify, auditWatch } from './commands/audit.js';
import { DEMO_METHODS, demo, type DemoMethod } from './commands/demo.js';
import { useCaseDemo, type UseCaseDemoOptions } from './commands/demo-use-case.js';
import { enclaveWorker } from './commands/enclave-worker.js';
import { keygen } from './commands/keygen.js';
import { measure } from './commands/measure.js';
import { mpcNodeCommand } from './commands/mpc-node.js';
import { start } from './commands/start.js';

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isSafeInteger(parsed) || parsed <= 0) throw new InvalidArgumentError('must be a positive integer');
  return parsed;
}

function portNumber(value: string): number {
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(parsed) || parsed > 65_535) throw new InvalidArgumentError('must be a port in 0..65535');
  return parsed;
}

function positiveNumber(value: string): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed <= 0) throw new InvalidArgumentError('must be a positive number');
  return parsed;
}

function demoMethod(value: string): DemoMethod {
  if (!(DEMO_METHODS as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${DEMO_METHODS.join(', ')}`);
  return value as DemoMethod;
}

const USE_CASES = ['risk-analysis', 'supply-chain', 'healthcare-research', 'compliance'] as const;
type UseCaseOption = (typeof USE_CASES)[number];

function useCaseName(value: string): UseCaseOption {
  if (!(USE_CASES as readonly string[]).includes(value)) throw new InvalidArgumentError(`must be one of ${USE_CASES.join(', ')}`);
  return value as UseCaseOption;
}

const program = new Command('tenzro').description('Tenzro multi-party inference').showHelpAfterError();

program
  .command('start')
  .description('start the server and its enclave (PORT, default 8787; TENZRO_DATA_DIR, default .tenzro)')
  .action(start);

program
  .command('keygen <partyId>')
  .description('write a party key file (Ed25519 signing key, X25519 encryption key)')
  .option('-o, --out <file>', 'where to write it')
  .option('-f, --force', 'overwrite an existing file')
  .action(keygen);

program
  .command('demo')
  .description(
    "run the product doc's scenario (three banks and a regulator) against a running server; --method mpc: " +
      'Shamir shares to 5 attested compute nodes, threshold 3 (the dev server starts the nodes)',
  )
  .option('--use-case <name>', `use case: ${USE_CASES.join(' | ')} (default risk-analysis: the product doc's scenario)`, useCaseName, 'risk-analysis')
  .option('-n, --records <count>', 'records per organisation (default: 2000 transactions per bank; the use-case generator\'s own size otherwise)', positiveInteger)
  .option('--seed <seed>', 'demo data seed', positiveInteger, 42)
  .option('--base-url <url>', 'server URL (default: from the development credentials)')
  .option('--credentials <file>', 'development credentials file (default: $TENZRO_DATA_DIR/dev/credentials.json)')
  .option('--method <method>', `aggregation method: ${DEMO_METHODS.join(' | ')} (mpc: threshold 3 of 5 compute nodes)`, demoMethod, 'federated')
  .option('--no-noise', 'secure_aggregation: no Skellam noise on the sum (noiseAddition false)')
  .option('--state-dir <dir>', 'secure_aggregation: client state directory (default: secagg-state/ next to the credentials)')
  .option('--dp', 'use cases other than risk-analysis: add differential-privacy noise (federated: Gaussian, ε = 1; secure_aggregation: Skellam); off by default so the figures are exact')
  .option('--json <file>', 'use cases other than risk-analysis: write the outcome (figures against the planted truth) as JSON')
  .action(async (options: { useCase: UseCaseOption; records?: number; seed: number; baseUrl?: string; credentials?: string; method: DemoMethod; noise: boolean; stateDir?: string; dp?: boolean; json?: string }) => {
    if (options.useCase === 'risk-analysis') {
      await demo({ ...options, records: options.records ?? 2000 });
      return;
    }
    const useCaseOptions: UseCaseDemoOptions = {
      useCase: options.useCase,
      method: options.method,
      seed: options.seed,
      dp: options.dp === true,
      ...(options.records === undefined ? {} : { records: options.records }),
      ...(options.baseUrl === undefined ? {} : { baseUrl: options.baseUrl }),
      ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
      ...(options.stateDir === undefined ? {} : { stateDir: options.stateDir }),
      ...(options.json === undefined ? {} : { json: options.json }),
    };
    await useCaseDemo(useCaseOptions);
  });

program
  .command('agent')
  .description("answer a party's secure-aggregation unmask requests (stage 3) in every open session it contributed to")
  .option('--party <partyId>', 'the party (default: the first bank in the development credentials)')
  .option('--key-file <file>', 'a party key file instead of the development credentials (API key in TENZRO_API_KEY)')
  .option('--data-dir <dir>', 'data directory whose dev/credentials.json to use (default: $TENZRO_DATA_DIR or .tenzro)')
  .option('--credentials <file>', 'development credentials file (default: $TENZRO_DATA_DIR/dev/credentials.json)')
  .option('--state-dir <dir>', 'client state directory (default: secagg-state/ next to the key or credentials file)')
  .option('--base-url <url>', 'server URL (default: from the development credentials)')
  .option('--interval <seconds>', 'seconds between session listings', positiveNumber, 5)
  .option('--once', 'serve the sessions open now until each ends, then exit')
  .action(async (options: { party?: string; keyFile?: string; dataDir?: string; credentials?: string; stateDir?: string; baseUrl?: string; interval: number; once?: boolean }) => {
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    process.once('SIGTERM', () => stop.abort());
    process.exitCode = await agent({ ...options, signal: stop.signal });
  });

program
  .command('measure')
  .description('print the enclave measurement (pcrs[0], SHA-384 of the enclave bundle) of this checkout')
  .option('--gguf <file>', "the enclave's local language model (TENZRO_LLM_GGUF), measured with the bundle (default: $TENZRO_LLM_GGUF)")
  .action((options: { gguf?: string }) => {
    console.log(measure(options.gguf === undefined ? {} : { gguf: options.gguf }));
  });


program.addCommand(mpcNodeCommand());

program
  .command('enclave-worker')
  .description(
    'run one enclave worker: an attested enclave whose channel server instances reach over TCP ' +
      '(TENZRO_ENCLAVE_WORKER_TOKEN and TENZRO_ENCLAVE_STATE_DIR required; see docs/deploy.md)',
  )
  .option('--host <host>', 'interface to listen on', '127.0.0.1')
  .option('--port <port>', 'TCP port (0: any free port, printed when ready)', portNumber, 7400)
  .action(async (options: { host: string; port: number }) => {
    const code = await enclaveWorker(options);
    if (code !== undefined) process.exitCode = code;
  });

const audit = program.command('audit').description("check the host's audit log: session trails and tree heads");

audit
  .command('verify <sessionId>')
  .description("verify a session's audit trail offline, as one party of the development credentials (exit 1 on a failed check)")
  .option('--party <partyId>', 'the party to verify as (default: the first bank in the credentials)')
  .option('--commitment <commitment>', 'the commitment this party submitted, if the audit store does not hold it')
  .option('--store <file>', 'audit store: last tree head seen, own commitments (default: $TENZRO_DATA_DIR/client/audit-store.json)')
  .option('--base-url <url>', 'server URL (default: from the development credentials)')
  .option('--credentials <file>', 'development credentials file (default: $TENZRO_DATA_DIR/dev/credentials.json)')
  .action(async (sessionId: string, options: { party?: string; commitment?: string; store?: string; baseUrl?: string; credentials?: string }) => {
    process.exitCode = await auditVerify(sessionId, options);
  });

audit
  .command('watch')
  .description('follow signed tree heads; report a fork (same size, different roots, or an inconsistent pair) and exit 2')
  .option('--interval <seconds>', 'seconds between polls', positiveNumber, 5)
  .option('--count <n>', 'stop after n heads', positiveInteger)
  .option('--party <partyId>', 'the party whose API key to use (default: the first bank in the credentials)')
  .option('--store <file>', 'audit store holding the last head seen (default: $TENZRO_DATA_DIR/client/audit-store.json)')
  .option('--base-url <url>', 'server URL (default: from the development credentials)')
  .option('--credentials <file>', 'development credentials file (default: $TENZRO_DATA_DIR/dev/credentials.json)')
  .action(async (options: { interval: number; count?: number; party?: string; store?: string; baseUrl?: string; credentials?: string }) => {
    process.exitCode = await auditWatch(options);
  });

program.parseAsync(process.argv).catch((error: unknown) => {
  const err = error as { code?: string; message?: string };
  console.error(`tenzro: ${err.code ? `[${err.code}] ` : ''}${err.message ?? String(error)}`);
  process.exit(1);
});
