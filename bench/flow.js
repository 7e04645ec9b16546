// The whole seed flow for 3 parties × N records against the real server + enclave processes:
// total time, its split, and the peak memory (VmHWM) of the server and of the enclave.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generateDemoData } from '@tenzro/models';
import { TenzroPlatform, encryptWithSessionKey, hashCommitment, signConsent } from '@tenzro/platform';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const BANKS = ['bankA', 'bankB', 'bankC'];

async function freePort() {
  return new Promise((ok) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

export function peakMiB(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmHWM:'));
    return Math.round(Number(line.split(/\s+/)[1]) / 1024);
  } catch {
    return null;
  }
}

export function childPid(pid) {
  try {
    const children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    return children.length ? Number(children[0]) : null;
  } catch {
    return null;
  }
}

/** The real platform (`tenzro start`, development) on a free port, with its dev credentials. */
export async function startPlatform() {
  const dataDir = mkdtempSync(join(tmpdir(), 'tenzro-bench-'));
  const port = await freePort();
  const child = spawn(process.execPath, [join(repoRoot, 'apps/cli/dist/main.js'), 'start'], {
    env: { ...process.env, PORT: String(port), TENZRO_DATA_DIR: dataDir, TENZRO_ENV: 'development' },
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const baseUrl = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(`${baseUrl}/healthz`)).ok) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 100));
  }
  const credentials = JSON.parse(readFileSync(join(dataDir, 'dev', 'credentials.json'), 'utf8'));
  return {
    baseUrl,
    credentials,
    pid: child.pid,
    stop: async () => {
      await new Promise((ok) => {
        child.once('exit', ok);
        child.kill('SIGTERM');
      });
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** The SDK as dev party `p` at `baseUrl`, trusting the dev credentials' roots and measurements. */
export function platformOf(credentials, p, baseUrl) {
  return new TenzroPlatform({
    apiKey: p.apiKey,
    tenantId: p.tenantId,
    baseUrl,
    party: { partyId: p.partyId, signingKey: p.signingKey, encryptionKey: p.encryptionKey },
    trustedRoots: [credentials.attestation.rootPem],
    expectedMeasurements: [credentials.attestation.measurement],
    ...(credentials.attestation.mpcNodeMeasurement ? { expectedMpcNodeMeasurements: [credentials.attestation.mpcNodeMeasurement] } : {}),
  });
}

/** An SDK client per dev tenant of one platform process. */
export function sdkFor(platformProcess) {
  const { credentials, baseUrl } = platformProcess;
  return (tenant) => {
    const p = credentials.parties.find((x) => x.tenantId === tenant);
    return { party: p, platform: platformOf(credentials, p, baseUrl) };
  };
}

async function runFlow(recordsPerBank) {
  const platformProcess = await startPlatform();
  const sdk = sdkFor(platformProcess);
  const { partitions } = generateDemoData({ banks: BANKS, recordsPerBank, seed: 1 });
  const t0 = performance.now();
  const creator = sdk('bankA').platform;
  const session = await creator.ai.createMultiPartySession({
    name: `bench ${recordsPerBank}`,
    modelId: 'risk-analyzer-v2',
    participants: BANKS.map((b) => `party::${b}::treasury`),
    observers: ['party::regulator::compliance'],
    dataPolicy: { minParticipants: 3, aggregationMethod: 'federated' },
  });
  let encryptMs = 0;
  let uploadMs = 0;
  let bytes = 0;
  for (const bank of BANKS) {
    const { platform, party } = sdk(bank);
    const key = await platform.ai.getSessionKey(session.id);
    const e0 = performance.now();
    const json = JSON.stringify(partitions[bank]);
    const data = await encryptWithSessionKey(json, key.publicKey);
    const commitment = await hashCommitment(partitions[bank]);
    encryptMs += performance.now() - e0;
    bytes += json.length;
    const u0 = performance.now();
    await platform.ai.submitSessionData({ sessionId: session.id, data, dataSchema: 'transaction_records_v1', commitment });
    uploadMs += performance.now() - u0;
    await platform.ai.submitSessionConsent({
      sessionId: session.id,
      consent: { dataUsage: true, resultSharing: true, attestationSharing: true, retentionAcknowledged: true },
      signature: await signConsent(session.id, party.signingKey.privateKey),
    });
  }
  const r0 = performance.now();
  const result = await creator.ai.runMultiPartyInference({ sessionId: session.id, prompt: 'Analyze combined transaction patterns for anomalies' });
  const runMs = performance.now() - r0;
  const totalMs = performance.now() - t0;
  const status = await creator.ai.getSessionStatus(session.id);
  const timings = status.lastRun?.timings ?? {};
  const enclavePid = childPid(platformProcess.pid);
  const row = {
    records: `3 × ${recordsPerBank}`,
    'plaintext MB': +(bytes / 1e6).toFixed(1),
    'total s': +(totalMs / 1000).toFixed(2),
    'encrypt s': +(encryptMs / 1000).toFixed(2),
    'upload+verify s': +(uploadMs / 1000).toFixed(2),
    'run s': +(runMs / 1000).toFixed(2),
    'run decrypt+verify s': timings.decryptVerifyMs != null ? +(timings.decryptVerifyMs / 1000).toFixed(2) : null,
    'run train s': timings.trainMs != null ? +(timings.trainMs / 1000).toFixed(2) : null,
    'run report s': timings.reportMs != null ? +(timings.reportMs / 1000).toFixed(2) : null,
    'server peak MiB': peakMiB(platformProcess.pid),
    'enclave peak MiB': enclavePid ? peakMiB(enclavePid) : null,
    participants: result.participantCount,
  };
  await platformProcess.stop();
  return row;
}

export async function benchFlow({ quick }) {
  const sizes = quick ? [2000] : [10_000, 100_000];
  const rows = [];
  for (const size of sizes) rows.push(await runFlow(size));
  return { rows };
}
