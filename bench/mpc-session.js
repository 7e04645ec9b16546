// The end-to-end `mpc` session (docs/mpc.md) against the real processes: `tenzro start` (server, enclave,
// and the development fleet of 5 compute nodes, threshold 3), 3 banks × N records contributed through the
// SDK (statistics → Shamir shares → one envelope per attested node), consents, and the run (preprocessing
// if none is ready, the program across the node processes, reconstruction in the enclave).
import { generateDemoData } from '@tenzro/models';
import { peakMiB, sdkFor, startPlatform } from './flow.js';

const BANKS = ['bankA', 'bankB', 'bankC'];
const MPC_CONFIG = { protocol: 'shamir_secret_sharing', threshold: 3, totalParties: 5 };

async function runSession(recordsPerBank) {
  const platformProcess = await startPlatform();
  try {
    const sdk = sdkFor(platformProcess);
    const { partitions } = generateDemoData({ banks: BANKS, recordsPerBank, seed: 7 });
    const t0 = performance.now();
    const creator = sdk('bankA').platform;
    const session = await creator.ai.createMultiPartySession({
      name: `mpc bench ${recordsPerBank}`,
      modelId: 'risk-analyzer-v2',
      participants: BANKS.map((b) => `party::${b}::treasury`),
      observers: ['party::regulator::compliance'],
      dataPolicy: { minParticipants: 3, aggregationMethod: 'mpc', mpcConfig: MPC_CONFIG },
    });
    const createMs = performance.now() - t0;
    // The development fleet starts when the first mpc session of its size is created: wait until its 5
    // nodes answer (and are attested), so the contributions below are timed on their own.
    const n0 = performance.now();
    const bankA = platformProcess.credentials.parties.find((p) => p.tenantId === 'bankA');
    for (let i = 0; ; i++) {
      const nonce = Buffer.from(crypto.getRandomValues(new Uint8Array(16))).toString('base64url');
      const reply = await fetch(`${platformProcess.baseUrl}/v1/sessions/${session.id}/mpc/nodes?nonce=${nonce}`, {
        headers: { authorization: `Bearer ${bankA.apiKey}`, 'x-tenant-id': 'bankA' },
      });
      if (reply.ok) break;
      if (i > 600) throw new Error(`the compute nodes did not come up: HTTP ${reply.status}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const nodesMs = performance.now() - n0;
    let contributeMs = 0;
    for (const bank of BANKS) {
      const { platform } = sdk(bank);
      const c0 = performance.now();
      await platform.ai.contribute({ sessionId: session.id, data: partitions[bank], dataSchema: 'transaction_records_v1' });
      contributeMs += performance.now() - c0;
      await platform.ai.consent(session.id);
    }
    const r0 = performance.now();
    const result = await creator.ai.runMultiPartyInference({ sessionId: session.id, prompt: 'Analyze combined transaction patterns for anomalies' });
    const runMs = performance.now() - r0;
    const totalMs = performance.now() - t0;
    return {
      records: `3 × ${recordsPerBank}`,
      nodes: `${MPC_CONFIG.threshold} of ${MPC_CONFIG.totalParties}`,
      'total s': +(totalMs / 1000).toFixed(2),
      'create s': +(createMs / 1000).toFixed(2),
      'nodes up s': +(nodesMs / 1000).toFixed(2),
      'contribute s (3 banks)': +(contributeMs / 1000).toFixed(2),
      'run s': +(runMs / 1000).toFixed(2),
      'server peak MiB': peakMiB(platformProcess.pid),
      participants: result.participantCount,
    };
  } finally {
    await platformProcess.stop();
  }
}

export async function benchMpcSession({ quick }) {
  const sizes = quick ? [2000] : [10_000, 100_000];
  const rows = [];
  for (const size of sizes) rows.push(await runSession(size));
  return {
    rows,
    notes: [
      'nodes up = from session creation until the development fleet (5 node processes, started then) answers with fresh attestations',
      'contribute = validate records + features + 136 statistics + Shamir shares + 5 HPKE envelopes + upload, per bank, sequentially',
      'run = session-key attestation, preprocessing when none is ready, the program across 5 node processes over HTTP, reconstruction and report in the enclave',
    ],
  };
}
