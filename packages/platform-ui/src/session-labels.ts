/** Human words for the lifecycle (DESIGN §6) and the aggregation methods; one place, so every view agrees. */
import type { MultiPartySession, SessionStatus } from '@tenzro/platform';

export type AggregationMethod = MultiPartySession['dataPolicy']['aggregationMethod'];

const STATUS_LABELS: Record<SessionStatus, string> = {
  created: 'Created',
  collecting: 'Collecting data',
  awaiting_consent: 'Awaiting consent',
  ready: 'Ready to run',
  running: 'Running',
  completed: 'Completed',
  expired: 'Expired',
  cancelled: 'Cancelled',
};

const METHOD_LABELS: Record<AggregationMethod, string> = {
  federated: 'Federated learning',
  secure_aggregation: 'Secure aggregation',
  mpc: 'Secure multi-party computation',
};

export function statusLabel(status: SessionStatus): string {
  return STATUS_LABELS[status] ?? status;
}

export function methodLabel(method: AggregationMethod): string {
  return METHOD_LABELS[method] ?? method;
}

/** Statuses in which data may be submitted and consent given (protocol `assertCan`). */
export function isOpen(status: SessionStatus): boolean {
  return status === 'created' || status === 'collecting' || status === 'awaiting_consent' || status === 'ready';
}

export function joinClassNames(...names: Array<string | undefined | false>): string {
  return names.filter((name): name is string => typeof name === 'string' && name.length > 0).join(' ');
}
