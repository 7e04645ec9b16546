/**
 * Enforces `expiresAt` by the server clock even when nobody calls (DESIGN §6): a timer armed for the next
 * expiry, plus a sweep every 30 s that also catches what the timer missed (clock jumps, restarts). Each
 * overdue session is expired and its data deleted in one transaction; leftover key destructions are
 * retried on the same sweep. The same timer fires at the next secure-aggregation stage deadline, so a
 * stage closes (or its round fails) on time without any request. Each instance runs one; they race
 * harmlessly (every step is idempotent and transactional). Expiry and deletion are also queue jobs
 * (`session-expiry`, `finish-shredding`): this sweep is their backstop, and it has the run worker send
 * fresh jobs for runs nobody is on.
 */
import { nowIso, type Context } from './context.js';
import { enforceExpiry, resumeShredding } from './domain/lifecycle.js';
import { advanceDueRounds } from './domain/secagg.js';
import { nextRoundDeadline } from './repositories/secagg.js';
import { nextExpiry, overdueOpenSessions, overdueRetainedSessions } from './repositories/sessions.js';

export const SWEEP_INTERVAL_MS = 30_000;
/** setTimeout's ceiling; a later expiry is re-armed by the sweep. */
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface ExpiryWatcherOptions {
  sweepIntervalMs?: number;
  /** Run on every sweep: sends fresh jobs for runs nobody is on (JobRunner.reconcile). */
  reconcileRuns?: () => Promise<unknown>;
}

export class ExpiryWatcher {
  readonly #ctx: Context;
  readonly #sweepIntervalMs: number;
  readonly #reconcileRuns: (() => Promise<unknown>) | undefined;
  #sweepTimer: NodeJS.Timeout | undefined;
  #nextTimer: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  #closed = false;

  constructor(ctx: Context, options: ExpiryWatcherOptions = {}) {
    this.#ctx = ctx;
    this.#sweepIntervalMs = options.sweepIntervalMs ?? SWEEP_INTERVAL_MS;
    this.#reconcileRuns = options.reconcileRuns;
  }

  start(): void {
    if (this.#sweepTimer || this.#closed) return;
    this.#sweepTimer = setInterval(() => void this.sweep(), this.#sweepIntervalMs);
    this.#sweepTimer.unref();
    void this.sweep();
  }

  /** Re-arms the one-shot timer for the earliest pending expiry or secure-aggregation stage deadline. */
  async rearm(): Promise<void> {
    if (this.#closed) return;
    let next: string | undefined;
    try {
      const candidates = [await nextExpiry(this.#ctx.db), await nextRoundDeadline(this.#ctx.db)].filter((t): t is string => t !== undefined);
      next = candidates.sort()[0];
    } catch (error) {
      this.#ctx.logger.error({ err: error }, 'expiry: reading the next expiry failed');
      return;
    }
    clearTimeout(this.#nextTimer);
    this.#nextTimer = undefined;
    if (next === undefined || this.#closed) return;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, Date.parse(next) - this.#ctx.clock().getTime()) + 5);
    this.#nextTimer = setTimeout(() => void this.sweep(), delay);
    this.#nextTimer.unref();
  }

  /** Expires every overdue session now; concurrent calls share one pass. */
  sweep(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (!this.#running) {
      this.#running = this.#sweepOnce().finally(() => {
        this.#running = undefined;
      });
    }
    return this.#running;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweepTimer);
    clearTimeout(this.#nextTimer);
    await this.#running?.catch(() => undefined);
  }

  async #sweepOnce(): Promise<void> {
    const ctx = this.#ctx;
    try {
      const now = nowIso(ctx);
      const overdue = [...(await overdueOpenSessions(ctx.db, now)), ...(await overdueRetainedSessions(ctx.db, now))];
      for (const session of overdue) {
        if (this.#closed) return;
        try {
          await enforceExpiry(ctx, session.id);
        } catch (error) {
          ctx.logger.error({ err: error, sessionId: session.id }, 'expiry: enforcing failed; retried at the next sweep');
        }
      }
      if (!this.#closed) await advanceDueRounds(ctx);
      if (!this.#closed) await resumeShredding(ctx, { blobs: false });
      if (!this.#closed && this.#reconcileRuns) await this.#reconcileRuns();
    } catch (error) {
      ctx.logger.error({ err: error }, 'expiry sweep failed');
    }
    if (!this.#closed) await this.rearm();
  }
}
