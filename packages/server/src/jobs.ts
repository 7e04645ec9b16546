/**
 * The run worker: handles the job queue's `run` jobs (queue/job-queue.ts; pg-boss on PostgreSQL, the
 * embedded queue on SQLite), on every server instance. A job names a run; the handler claims it in one
 * transaction that also moves the session to `running` (the run row locked, so two instances never both
 * claim it), runs it in the enclave while renewing the run's lease, and records the outcome in one
 * transaction: results (one row per recipient), run completed, session completed, `result_released`, and —
 * under delete_after_inference — the crypto-shredding of the inputs. A failure puts the session back to its
 * open status so the run can be asked for again.
 *
 * Delivery is at least once, so the handler is idempotent: a run already completed or failed is left
 * alone, and one whose lease another instance still renews is left to it (the job is retried later, and
 * the reconciler below sends a fresh one if that instance dies). A run whose instance died (its lease
 * lapsed) is claimed again with attempt + 1, up to MAX_RUN_ATTEMPTS; the completion is fenced on the
 * attempt, so a late answer of a superseded attempt is dropped and a run's result is released once.
 * An enclave that stops in the middle of a run (a worker killed) requeues the run for another worker.
 *
 * A secure_aggregation run first goes through its unmask phase (domain/secagg.ts `unmaskPhase`): included =
 * complete ∩ U2, the unmask request published, the survivors' answers awaited; the enclave then gets the
 * included masked inputs and the relayed messages and answers. Completion marks the round `done`.
 *
 * An mpc run first goes through its mpc phase (domain/mpc.ts `mpcPhase`): the compute nodes run the model's
 * program on the included share bundles and the enclave gets their sealed outputs. A coordinator refusal
 * fails the run (mpc_nodes_unavailable / mpc_run_failed, retryable); the nodes, prep id, run tag and down
 * nodes ride in the run's audit entry (run_failed or result_released), never a value.
 */
import { fromBase64Url } from '@tenzro/crypto';
import {
  InferenceParameters,
  TenzroError,
  progressOf,
  promptHash,
  reportHash,
  sha256Tagged,
  type MpcRunInputs,
  type RunResult,
  type SessionStatus,
  type SessionTerms,
} from '@tenzro/protocol';
import { nowIso, type Context } from './context.js';
import { sendAfterCommit } from './queue/after-commit.js';
import type { RunsTable } from './db/schema.js';
import { parseTerms } from './domain/access.js';
import { factsOf, finishShreddingOrQueue, openStatusOf, shredInTransaction } from './domain/lifecycle.js';
import { completeRound, isSecAgg, onRunFailed, unmaskPhase, type SecAggRunInputs } from './domain/secagg.js';
import { forgetMpcSession, isMpc, mpcPhase, runTagOf, type MpcPhaseAudit } from './domain/mpc.js';
import { appendAudit } from './repositories/audit.js';
import { insertResults } from './repositories/results.js';
import { lockRun, renewRunLease, runsInStatus, unattendedRuns, updateRun } from './repositories/runs.js';
import { isEnclaveLost } from './enclave-lost.js';
import { findSession, setSessionStatus } from './repositories/sessions.js';
import type { Executor } from './repositories/executor.js';

export const MAX_RUN_ATTEMPTS = 3;
/** Tries at recording a run's outcome before a database error fails the run. */
const COMPLETE_TRIES = 3;
/** The reconciler sends a run nobody is on a fresh job at most this often (per instance). */
const RESEND_AFTER_MS = 60_000;
/** A queued run older than this with no instance on it gets a fresh job from the reconciler (a lost send). */
export const QUEUED_RUN_GRACE_MS = 10_000;

/**
 * Refusals that fail the run but let a new one be asked for at once (the status alone says otherwise):
 * fewer valid node outputs than the threshold is worth another run once the nodes are back.
 */
const RETRYABLE_CODES: ReadonlySet<string> = new Set(['mpc_below_threshold']);

/** The run is claimed by another instance that still renews its lease: the job is retried later. */
export class RunLeasedError extends Error {
  constructor(runId: string, leaseUntil: string) {
    super(`run ${runId} is leased by another instance until ${leaseUntil}`);
    this.name = 'RunLeasedError';
  }
}

interface Claimed {
  run: RunsTable;
  attempt: number;
  terms: SessionTerms;
}

function runError(code: string, message: string, retryable: boolean): string {
  return JSON.stringify({ code, message, retryable });
}

function addMs(iso: string, ms: number): string {
  return new Date(Date.parse(iso) + ms).toISOString();
}

async function failRunInTransaction(
  trx: Executor,
  run: RunsTable,
  terms: SessionTerms | undefined,
  error: { code: string; message: string; retryable: boolean },
  at: string,
  extra: { mpc?: MpcPhaseAudit | undefined } = {},
): Promise<void> {
  await updateRun(trx, run.id, {
    status: 'failed',
    finished_at: at,
    lease_until: null,
    error_json: runError(error.code, error.message, error.retryable),
  });
  if (terms && isSecAgg(terms)) await onRunFailed(trx, run.session_id, run.id, error, at);
  const session = await findSession(trx, run.session_id);
  if (session && session.status === 'running' && terms) {
    const facts = await factsOf(trx, session.id, terms);
    await setSessionStatus(trx, session.id, await openStatusOf(trx, session.id, terms, facts), at);
  }
  await appendAudit(trx, {
    sessionId: run.session_id,
    type: 'run_failed',
    actorTenant: null,
    actorParty: null,
    payload: { runId: run.id, code: error.code, retryable: error.retryable, ...(extra.mpc ? { mpc: { ...extra.mpc } } : {}) },
    at,
  });
}

/** Puts a claimed run back in the queue (its instance or its enclave stopped); the caller sends a job. */
async function requeueInTransaction(trx: Executor, run: RunsTable, at: string, reason: string): Promise<void> {
  await updateRun(trx, run.id, { status: 'queued', lease_until: null });
  await appendAudit(trx, {
    sessionId: run.session_id,
    type: 'run_requeued',
    actorTenant: null,
    actorParty: null,
    payload: { runId: run.id, attempts: run.attempts, reason },
    at,
  });
}

export interface JobRunnerOptions {
  /** Runs this instance executes at once (default 2). */
  concurrency?: number;
}

export class JobRunner {
  readonly #ctx: Context;
  readonly #concurrency: number;
  /** When this instance last sent a fresh job for each unattended run (reconcile). */
  readonly #resent = new Map<string, number>();
  #closed = false;

  constructor(ctx: Context, options: JobRunnerOptions = {}) {
    this.#ctx = ctx;
    this.#concurrency = options.concurrency ?? 2;
  }

  /**
   * Startup recovery. On the embedded database this process is the only one, so runs it left `running` are
   * queued again (or failed after MAX_RUN_ATTEMPTS) at once; on PostgreSQL another instance may own them,
   * so they wait for their lease to lapse (the reconciler). Either way every queued run gets a job (a send
   * lost to a crash between the commit and the send, or a database from before the queue).
   */
  async recover(): Promise<void> {
    const ctx = this.#ctx;
    if (ctx.dialect.name === 'sqlite') {
      const at = nowIso(ctx);
      for (const run of await runsInStatus(ctx.db, 'running')) {
        await ctx.db.transaction().execute(async (trx) => {
          if (run.attempts >= MAX_RUN_ATTEMPTS) {
            const session = await findSession(trx, run.session_id);
            const terms = session ? parseTerms(session) : undefined;
            await failRunInTransaction(trx, run, terms, { code: 'run_failed', message: `gave up after ${run.attempts} attempts`, retryable: true }, at);
            return;
          }
          await requeueInTransaction(trx, run, at, 'restart');
        });
      }
    }
    for (const run of await runsInStatus(ctx.db, 'queued')) await ctx.queue.send('run', { runId: run.id });
  }

  /** Starts taking `run` jobs from the queue. */
  async start(): Promise<void> {
    if (this.#closed) return;
    await this.#ctx.queue.work('run', ({ runId }) => this.handleRunJob(runId), { concurrency: this.#concurrency });
  }

  /**
   * Sends a fresh job for every run nobody is on: queued longer than QUEUED_RUN_GRACE_MS (a lost send), or
   * running with a lapsed lease (its instance died). Called by the expiry sweep; jobs are idempotent, so a
   * duplicate costs one read.
   */
  async reconcile(): Promise<number> {
    const ctx = this.#ctx;
    const now = nowIso(ctx);
    const unattended = await unattendedRuns(ctx.db, now, addMs(now, -QUEUED_RUN_GRACE_MS));
    // One fresh job per run and RESEND_AFTER_MS, not one per sweep: a backlog would otherwise fill the queue.
    const seen = Date.now();
    for (const runId of this.#resent.keys()) if (!unattended.some((r) => r.id === runId)) this.#resent.delete(runId);
    const due = unattended.filter((r) => seen - (this.#resent.get(r.id) ?? -Infinity) >= RESEND_AFTER_MS);
    for (const run of due) {
      await ctx.queue.send('run', { runId: run.id });
      this.#resent.set(run.id, seen);
    }
    if (due.length > 0) ctx.logger.info({ runs: due.map((r) => r.id) }, 'job runner: sent jobs for unattended runs');
    return due.length;
  }

  /** Stops taking jobs; a run in progress here stays `running` and is picked up after its lease lapses. */
  async close(): Promise<void> {
    this.#closed = true;
  }

  /**
   * The `run` job: claim the run if nobody is on it, execute it, record the outcome. Idempotent. Throws
   * RunLeasedError when another instance holds a live lease (the queue retries the job later).
   */
  async handleRunJob(runId: string): Promise<void> {
    if (this.#closed) throw new Error('the job runner is closed');
    const claimed = await this.#claim(runId);
    if (!claimed) return;
    this.#ctx.logger.info({ runId, attempt: claimed.attempt }, 'run claimed');
    await this.#execute(claimed);
  }

  async #claim(runId: string): Promise<Claimed | undefined> {
    const ctx = this.#ctx;
    return ctx.db.transaction().execute(async (trx) => {
      const at = nowIso(ctx);
      const run = await lockRun(trx, runId);
      if (!run) return undefined;
      if (run.status === 'running' && run.lease_until !== null && run.lease_until >= at) throw new RunLeasedError(run.id, run.lease_until);
      if (run.status !== 'queued' && run.status !== 'running') return undefined; // done already: a duplicate delivery
      const session = await findSession(trx, run.session_id);
      if (!session) {
        await updateRun(trx, run.id, { status: 'failed', finished_at: at, lease_until: null, error_json: runError('not_found', 'session not found', false) });
        return undefined;
      }
      const terms = parseTerms(session);
      const status = session.status as SessionStatus;
      if (status !== 'ready' && status !== 'running') {
        const code = status === 'expired' ? 'session_expired' : status === 'cancelled' ? 'session_cancelled' : 'session_not_ready';
        await failRunInTransaction(trx, run, terms, { code, message: `the session is ${status}`, retryable: false }, at);
        return undefined;
      }
      if (run.attempts >= MAX_RUN_ATTEMPTS) {
        await failRunInTransaction(trx, run, terms, { code: 'run_failed', message: `gave up after ${run.attempts} attempts`, retryable: true }, at);
        return undefined;
      }
      if (run.status === 'running') await requeueInTransaction(trx, run, at, 'lease_lapsed');
      const attempt = run.attempts + 1;
      const leaseUntil = addMs(at, ctx.config.runLeaseMs);
      await updateRun(trx, run.id, { status: 'running', attempts: attempt, lease_until: leaseUntil });
      if (status !== 'running') await setSessionStatus(trx, session.id, 'running', at);
      await appendAudit(trx, {
        sessionId: session.id,
        type: 'run_started',
        actorTenant: null,
        actorParty: null,
        payload: { runId: run.id, promptHash: promptHash(run.prompt), attempt },
        at,
      });
      return { run: { ...run, status: 'running', attempts: attempt, lease_until: leaseUntil }, attempt, terms };
    });
  }

  /** Renews the run's lease every third of it while `work` runs, so no other instance claims a live run. */
  async #withLease<T>(run: RunsTable, attempt: number, work: () => Promise<T>): Promise<T> {
    const ctx = this.#ctx;
    let superseded = false;
    const renew = async (): Promise<void> => {
      if (superseded) return;
      try {
        // false: the lease moved on (another instance claimed the run after a lapse); this attempt's
        // outcome will be dropped by the fence in #complete.
        if (!(await renewRunLease(ctx.db, run.id, attempt, addMs(nowIso(ctx), ctx.config.runLeaseMs)))) {
          superseded = true;
          ctx.logger.warn({ runId: run.id, attempt }, 'job runner: this attempt lost its lease; its outcome will be dropped');
        }
      } catch (error) {
        ctx.logger.warn({ err: error, runId: run.id }, 'job runner: renewing a run lease failed');
      }
    };
    const timer = setInterval(() => void renew(), Math.max(500, Math.floor(ctx.config.runLeaseMs / 3)));
    timer.unref();
    try {
      return await work();
    } finally {
      clearInterval(timer);
    }
  }

  async #execute(claimed: Claimed): Promise<void> {
    await this.#withLease(claimed.run, claimed.attempt, () => this.#executeLeased(claimed));
  }

  async #executeLeased({ run, attempt, terms }: Claimed): Promise<void> {
    const ctx = this.#ctx;
    const sessionId = run.session_id;
    let outcome: RunResult;
    let included: string[];
    const mpcAudit: MpcPhaseAudit | undefined = isMpc(terms) ? { runTag: runTagOf(run.id, attempt) } : undefined;
    try {
      const session = await findSession(ctx.db, sessionId);
      if (!session) throw new TenzroError('not_found', 'session not found');
      if (session.sealed_key === null) throw new TenzroError('data_deleted', 'the session key has been destroyed');
      const facts = await factsOf(ctx.db, sessionId, terms);
      included = progressOf(facts).complete;
      if (included.length < terms.dataPolicy.minParticipants) {
        throw new TenzroError('session_not_ready', `only ${included.length} participants have submitted and consented`);
      }
      let secagg: SecAggRunInputs | undefined;
      if (isSecAgg(terms)) {
        const prepared = await unmaskPhase(ctx, run, terms, facts, { closed: () => this.#closed });
        if (!prepared) return; // shutting down while waiting: the run stays `running` and is requeued at the next start
        ({ included, secagg } = prepared);
        if (included.length < terms.dataPolicy.minParticipants) {
          throw new TenzroError('session_not_ready', `only ${included.length} parties of U2 have sent a masked input and consented`);
        }
      }
      const inSet = new Set(included);
      // On a secure_aggregation session every submission is a masked input (plain uploads are refused); on an
      // mpc session every submission is a share bundle.
      const submissions = facts.submissions.filter((s) => inSet.has(s.party_id) && s.deleted_at === null);
      let mpc: MpcRunInputs | undefined;
      if (mpcAudit) mpc = await mpcPhase(ctx, run, attempt, session, terms, submissions, mpcAudit);
      outcome = await ctx.enclave.call('run', {
        runId: run.id,
        sessionId,
        sealedKey: session.sealed_key,
        terms,
        submissions: submissions.map((s) => ({
            partyId: s.party_id,
            blobPath: ctx.blobs.path(s.blob_hash),
            commitment: s.commitment,
            commitmentScheme: s.commitment_scheme as 'plain' | 'salted',
            dataSchema: s.data_schema,
          })),
        consents: facts.consents
          .filter((c) => inSet.has(c.party_id))
          .map((c) => ({ partyId: c.party_id, consent: JSON.parse(c.consent_json), signature: c.signature })),
        prompt: run.prompt,
        parameters: InferenceParameters.parse(JSON.parse(run.parameters_json)),
        ...(secagg ? { secagg } : {}),
        ...(mpc ? { mpc } : {}),
      });
      this.#checkOutcome(run, terms, included, outcome);
    } catch (error) {
      await this.#fail(run, attempt, terms, error, mpcAudit);
      return;
    }
    await this.#complete(run, attempt, terms, outcome, mpcAudit);
  }

  /** The host cannot read the results, but it can refuse a reply that is not about this run. */
  #checkOutcome(run: RunsTable, terms: SessionTerms, included: string[], outcome: RunResult): void {
    const { report } = outcome;
    if (report.sessionId !== run.session_id || report.runId !== run.id) {
      throw new TenzroError('internal_error', 'the enclave answered for another run');
    }
    const allowed = new Set([...included, ...terms.observers.map((o) => o.partyId)]);
    const seen = new Set<string>();
    for (const sealed of outcome.sealedResults) {
      if (!allowed.has(sealed.partyId) || seen.has(sealed.partyId)) {
        throw new TenzroError('internal_error', 'the enclave sealed a result for a party that is not a recipient');
      }
      seen.add(sealed.partyId);
    }
  }

  async #complete(run: RunsTable, attempt: number, terms: SessionTerms, outcome: RunResult, mpcAudit?: MpcPhaseAudit): Promise<void> {
    const ctx = this.#ctx;
    const at = nowIso(ctx);
    let hashes: string[] | undefined;
    // The enclave's answer exists only here: a database error that is not a refusal (a dropped connection, a
    // failover) is retried a few times before the run is failed and its result thrown away.
    const record = (): Promise<string[] | undefined> =>
      ctx.db.transaction().execute(async (trx) => {
        const current = await lockRun(trx, run.id);
        if (!current || current.status !== 'running' || current.attempts !== attempt) return undefined; // superseded
        const session = await findSession(trx, run.session_id);
        if (!session || session.status !== 'running') {
          const status = session?.status ?? 'missing';
          await failRunInTransaction(trx, current, terms, { code: status === 'expired' ? 'session_expired' : 'session_not_ready', message: `the session became ${status} during the run`, retryable: false }, at);
          return undefined;
        }
        await insertResults(
          trx,
          outcome.sealedResults.map((sealed) => ({
            session_id: session.id,
            run_id: run.id,
            party_id: sealed.partyId,
            sealed_blob_hash: null,
            sealed_inline: sealed.sealed,
            report_json: JSON.stringify(outcome.report),
            attestation: outcome.attestation,
            created_at: at,
          })),
        );
        await updateRun(trx, run.id, {
          status: 'completed',
          finished_at: at,
          lease_until: null,
          error_json: null,
          timings_json: JSON.stringify(outcome.timings),
        });
        await setSessionStatus(trx, session.id, 'completed', at);
        if (isSecAgg(terms)) await completeRound(trx, session.id, run.id, at);
        await appendAudit(trx, {
          sessionId: session.id,
          type: 'result_released',
          actorTenant: null,
          actorParty: null,
          // The whole attested report rides in the trail (ResultReleasedPayload): observers can check it
          // without opening a result.
          payload: {
            runId: run.id,
            report: outcome.report,
            reportHash: reportHash(outcome.report),
            attestation: outcome.attestation,
            attestationDigest: sha256Tagged(fromBase64Url(outcome.attestation, 'attestation')),
            includedParties: outcome.report.includedParties,
            recipients: outcome.sealedResults.map((s) => s.partyId),
            ...(mpcAudit ? { mpc: { ...mpcAudit } } : {}),
          },
          at,
        });
        if (terms.dataPolicy.retentionPolicy !== 'delete_after_inference') return [];
        return shredInTransaction(trx, session.id, 'delete_after_inference', { tenantId: null, partyId: null }, at);
      });
    for (let tries = 1; ; tries++) {
      try {
        hashes = await record();
        break;
      } catch (error) {
        if (tries < COMPLETE_TRIES && !(error instanceof TenzroError) && !this.#closed) {
          ctx.logger.warn({ err: error, runId: run.id, tries }, 'job runner: recording a result failed; retrying');
          await new Promise((r) => setTimeout(r, 250 * tries));
          continue;
        }
        await this.#fail(run, attempt, terms, error, mpcAudit);
        return;
      }
    }
    if (hashes !== undefined && terms.dataPolicy.retentionPolicy === 'delete_after_inference') {
      await finishShreddingOrQueue(ctx, run.session_id, hashes);
    } else if (hashes !== undefined && mpcAudit) {
      await forgetMpcSession(ctx, run.session_id, terms); // the session is completed: the nodes drop it
    }
  }

  async #fail(run: RunsTable, attempt: number, terms: SessionTerms, error: unknown, mpcAudit?: MpcPhaseAudit): Promise<void> {
    const ctx = this.#ctx;
    if (this.#closed) return; // shutting down: the run stays `running` and is claimed again once its lease lapses
    if (isEnclaveLost(error) && attempt < MAX_RUN_ATTEMPTS) {
      // The enclave (a worker) stopped under the run: another one serves it.
      ctx.logger.warn({ runId: run.id, attempt }, 'the enclave stopped during a run; the run is queued again');
      try {
        const requeued = await ctx.db.transaction().execute(async (trx) => {
          const current = await lockRun(trx, run.id);
          if (!current || current.status !== 'running' || current.attempts !== attempt) return false;
          await requeueInTransaction(trx, current, nowIso(ctx), 'enclave_stopped');
          return true;
        });
        if (requeued) await sendAfterCommit(ctx, 'run', { runId: run.id });
        return;
      } catch (writeError) {
        ctx.logger.error({ err: writeError, runId: run.id }, 'requeueing a run failed; it is claimed again once its lease lapses');
        return;
      }
    }
    const tenzro = error instanceof TenzroError ? error : undefined;
    const code = (error as { enclaveCode?: string } | null)?.enclaveCode ?? tenzro?.code ?? 'internal_error';
    const message = tenzro?.message ?? 'the run failed';
    const retryable = tenzro ? tenzro.status >= 500 || RETRYABLE_CODES.has(code) : true;
    if (!tenzro) ctx.logger.error({ err: error, runId: run.id }, 'run failed unexpectedly');
    else ctx.logger.warn({ runId: run.id, code }, 'run failed');
    try {
      await ctx.db.transaction().execute(async (trx) => {
        const current = await lockRun(trx, run.id);
        if (!current || current.status !== 'running' || current.attempts !== attempt) return;
        await failRunInTransaction(trx, current, terms, { code, message, retryable }, nowIso(ctx), { mpc: mpcAudit });
      });
    } catch (writeError) {
      ctx.logger.error({ err: writeError, runId: run.id }, 'recording a failed run failed; it is claimed again once its lease lapses');
    }
  }
}
