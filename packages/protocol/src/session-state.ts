/**
 * The session lifecycle of DESIGN §6 as data: `deriveStatus` computes the status from what has been
 * submitted and consented, and `assertCan` says whether an action is allowed in a status. The server
 * writes the result together with its audit entry in one transaction.
 */
import { TenzroError } from './errors.js';

export const SESSION_STATUSES = [
  'created',
  'collecting',
  'awaiting_consent',
  'ready',
  'running',
  'completed',
  'expired',
  'cancelled',
] as const;
export type SessionStatus = (typeof SESSION_STATUSES)[number];

export const FINAL_STATUSES: ReadonlySet<SessionStatus> = new Set(['completed', 'expired', 'cancelled']);

export interface ProgressFacts {
  participants: readonly string[];
  minParticipants: number;
  dataSubmittedBy: readonly string[];
  consentedBy: readonly string[];
}

export interface Progress {
  /** Participants who have both submitted and consented: the run includes exactly these. */
  complete: string[];
  /** Submitted but not consented, or consented but not submitted. */
  midway: string[];
  pendingData: string[];
  pendingConsent: string[];
}

export function progressOf(facts: ProgressFacts): Progress {
  const submitted = new Set(facts.dataSubmittedBy);
  const consented = new Set(facts.consentedBy);
  const complete: string[] = [];
  const midway: string[] = [];
  for (const party of facts.participants) {
    const s = submitted.has(party);
    const c = consented.has(party);
    if (s && c) complete.push(party);
    else if (s || c) midway.push(party);
  }
  return {
    complete,
    midway,
    pendingData: facts.participants.filter((p) => !submitted.has(p)),
    pendingConsent: facts.participants.filter((p) => !consented.has(p)),
  };
}

/**
 * The open (non-final, not running) status implied by the facts:
 * - `ready` when at least minParticipants are complete and nobody is midway;
 * - `awaiting_consent` when enough data is in (or anyone has submitted and consent is what is missing);
 * - `collecting` once anything has arrived; `created` before.
 */
export function deriveOpenStatus(facts: ProgressFacts): 'created' | 'collecting' | 'awaiting_consent' | 'ready' {
  const progress = progressOf(facts);
  if (progress.complete.length >= facts.minParticipants && progress.midway.length === 0) return 'ready';
  const submittedCount = facts.dataSubmittedBy.length;
  if (submittedCount >= facts.minParticipants) return 'awaiting_consent';
  if (submittedCount > 0 || facts.consentedBy.length > 0) return 'collecting';
  return 'created';
}

export type SessionAction = 'submit' | 'consent' | 'run' | 'cancel' | 'readKey' | 'readResult';

/** Refuses an action in a status where it cannot happen, with the code the API returns. */
export function assertCan(action: SessionAction, status: SessionStatus): void {
  if (status === 'expired') throw new TenzroError('session_expired', 'the session has expired and its data has been deleted');
  if (status === 'cancelled') throw new TenzroError('session_cancelled', 'the session was cancelled and its data has been deleted');
  switch (action) {
    case 'readResult':
      if (status !== 'completed') throw new TenzroError('session_not_ready', `no result yet: the session is ${status}`);
      return;
    case 'readKey':
      if (status === 'completed') throw new TenzroError('session_completed', 'the session is completed; its key no longer accepts data');
      return;
    case 'submit':
    case 'consent':
    case 'cancel':
      if (status === 'running') throw new TenzroError('run_in_progress', `cannot ${action} while the inference is running`);
      if (status === 'completed') throw new TenzroError('session_completed', `cannot ${action}: the session is completed`);
      return;
    case 'run':
      if (status === 'completed') throw new TenzroError('session_completed', 'the session is already completed; read its result');
      if (status !== 'ready' && status !== 'running') {
        throw new TenzroError('session_not_ready', `the session is ${status}; it must be ready to run`);
      }
      return;
  }
}
