/**
 * The queue settings of a deployment, from its configuration. The expiry of a `run` job covers the longest
 * a healthy run can take (an unmask wait of one secure-aggregation stage, then the enclave's run timeout),
 * plus a minute; a shorter expiry would retry live runs (harmless — the handler sees the renewed lease —
 * but wasteful). A run whose instance died does not wait for that expiry: its lease lapses within
 * `runLeaseMs` and the reconciler sends a fresh job (jobs.ts).
 */
import type { ServerConfig } from '../config.js';
import { MAX_EXPIRE_SECONDS } from './checks.js';
import type { QueueSettings } from './job-queue.js';

export function queueSettingsOf(
  config: Pick<ServerConfig, 'runTimeoutMs' | 'runLeaseMs' | 'secAggStageTimeoutMs' | 'queueMaintenanceSeconds' | 'queuePollingSeconds'>,
): QueueSettings {
  const seconds = (ms: number): number => Math.ceil(ms / 1000);
  return {
    jobs: {
      run: {
        // Capped at the queue's ceiling: a live run past it only gets a duplicate delivery, which sees the lease.
        expireInSeconds: Math.min(MAX_EXPIRE_SECONDS, seconds(config.runTimeoutMs + config.secAggStageTimeoutMs) + 60),
        retryLimit: 5,
        // A duplicate delivery of a run another instance holds waits about one lease before looking again.
        retryDelaySeconds: seconds(config.runLeaseMs),
      },
      'session-expiry': { expireInSeconds: 120, retryLimit: 10, retryDelaySeconds: 30 },
      'finish-shredding': { expireInSeconds: 120, retryLimit: 20, retryDelaySeconds: 30 },
    },
    maintenanceIntervalSeconds: config.queueMaintenanceSeconds,
    pollingIntervalSeconds: config.queuePollingSeconds,
  };
}
