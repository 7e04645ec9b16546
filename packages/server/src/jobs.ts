/**
 * The in-process job runner for inference runs. It polls the runs table (and is woken when a run is
 * queued), claims the oldest queued run with a lease in one transaction that also moves the session to
 * `running`, runs it in the enclave, and records the outcome in one transaction: results (one row per
 * recipient), run completed, session completed, `result_released`, and — under delete_after_inference —
 * the crypto-shredding of the inputs. A failure puts the session back to its open status so the run can be
 * asked for again. At startup, runs a killed server left `running` are queued again (up to 3 attempts).
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
import type { RunsTable } from './db/schema.js';
import { parseTerms } from './domain/access.js';
import { factsOf, finishShredding, openStatusOf, shredInTransaction } from './domain/lifecycle.js';
import { completeRound, isSecAgg, onRunFailed, unmaskPhase, type SecAggRunInputs } from './domain/secagg.js';
import { forgetMpcSession, isMpc, mpcPhase, runTagOf, type MpcPhaseAudit } from './domain/mpc.js';
import { appendAudit } from './repositories/audit.js';
import { insertResults } from './repositories/results.js';
import { findRunById, nextClaimableRun, runsInStatus, updateRun } from './repositories/runs.js';
import { findSession, setSessionStatus } from './repositories/sessions.js';
import type { Executor } from './repositories/executor.js';

export const MAX_RUN_ATTEMPTS = 3;
/** Longer than the enclave's run timeout, so a live run's lease never lapses. */
export const RUN_LEASE_MS = 11 * 60_000;

/**
 * Refusals that fail the run but let a new one be asked for at once (the status alone says otherwise):
 * fewer valid node outputs than the threshold is worth another run once the nodes are back.
 */
const RETRYABLE_CODES: ReadonlySet<string> = new Set(['mpc_below_threshold']);

interface Claimed {
  run: RunsTable;
  attempt: number;
  terms: SessionTerms;
}

function runError(code: string, message: string, retryable: boolean): string {
  return JSON.stringify({ code, message, retryable });
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

export interface JobRunnerOptions {
  pollMs?: number;
}

export class JobRunner {
  readonly #ctx: Context;
  readonly #pollMs: number;
  #timer: NodeJS.Timeout | undefined;
  #busy: Promise<void> | undefined;
  #again = false;
  #closed = false;

  constructor(ctx: Context, options: JobRunnerOptions = {}) {
    this.#ctx = ctx;
    this.#pollMs = options.pollMs ?? 1_000;
  }

  /** Startup recovery: runs left `running` by a killed server are queued again, or failed after 3 attempts. */
  async recover(): Promise<void> {
    const ctx = this.#ctx;
    const at = nowIso(ctx);
    for (const run of await runsInStatus(ctx.db, 'running')) {
      await ctx.db.transaction().execute(async (trx) => {
        if (run.attempts >= MAX_RUN_ATTEMPTS) {
          const session = await findSession(trx, run.session_id);
          const terms = session ? parseTerms(session) : undefined;
          await failRunInTransaction(trx, run, terms, { code: 'run_failed', message: `gave up after ${run.attempts} attempts`, retryable: true }, at);
          return;
        }
        await updateRun(trx, run.id, { status: 'queued', lease_until: null });
        await appendAudit(trx, {
          sessionId: run.session_id,
          type: 'run_requeued',
          actorTenant: null,
          actorParty: null,
          payload: { runId: run.id, attempts: run.attempts },
          at,
        });
      });
    }
  }

  start(): void {
    if (this.#timer || this.#closed) return;
    this.#timer = setInterval(() => this.wake(), this.#pollMs);
    this.#timer.unref();
    this.wake();
  }

  /** Looks for work now; coalesces with a pass already in progress. */
  wake(): void {
    if (this.#closed) return;
    if (this.#busy) {
      this.#again = true;
      return;
    }
    this.#busy = this.#drain().finally(() => {
      this.#busy = undefined;
      if (this.#again && !this.#closed) {
        this.#again = false;
        this.wake();
      }
    });
  }

  /** Resolves when no pass is in progress (tests use it to wait for a run). */
  async idle(): Promise<void> {
    while (this.#busy) await this.#busy;
  }

  async close(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #drain(): Promise<void> {
    for (;;) {
      if (this.#closed) return;
      let claimed: Claimed | undefined;
      try {
        claimed = await this.#claim();
      } catch (error) {
        this.#ctx.logger.error({ err: error }, 'job runner: claiming a run failed');
        return;
      }
      if (!claimed) return;
      await this.#execute(claimed);
    }
  }

  async #claim(): Promise<Claimed | undefined> {
    const ctx = this.#ctx;
    return ctx.db.transaction().execute(async (trx) => {
      for (;;) {
        const at = nowIso(ctx);
        const run = await nextClaimableRun(trx, at);
        if (!run) return undefined;
        const session = await findSession(trx, run.session_id);
        if (!session) {
          await updateRun(trx, run.id, { status: 'failed', finished_at: at, lease_until: null, error_json: runError('not_found', 'session not found', false) });
          continue;
        }
        const terms = parseTerms(session);
        const status = session.status as SessionStatus;
        if (status !== 'ready' && status !== 'running') {
          const code = status === 'expired' ? 'session_expired' : status === 'cancelled' ? 'session_cancelled' : 'session_not_ready';
          await failRunInTransaction(trx, run, terms, { code, message: `the session is ${status}`, retryable: false }, at);
          continue;
        }
        if (run.attempts >= MAX_RUN_ATTEMPTS) {
          await failRunInTransaction(trx, run, terms, { code: 'run_failed', message: `gave up after ${run.attempts} attempts`, retryable: true }, at);
          continue;
        }
        const attempt = run.attempts + 1;
        const leaseUntil = new Date(ctx.clock().getTime() + RUN_LEASE_MS).toISOString();
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
      }
    });
  }

  async #execute({ run, attempt, terms }: Claimed): Promise<void> {
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
        const prepared = await unmaskPhase(ctx, run, terms, facts, { closed: () => this.#closed, leaseMs: RUN_LEASE_MS });
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
    try {
      hashes = await ctx.db.transaction().execute(async (trx) => {
        const current = await findRunById(trx, run.id);
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
    } catch (error) {
      await this.#fail(run, attempt, terms, error, mpcAudit);
      return;
    }
    if (hashes !== undefined && terms.dataPolicy.retentionPolicy === 'delete_after_inference') {
      await finishShredding(ctx, run.session_id, hashes).catch((error: unknown) =>
        ctx.logger.error({ err: error, sessionId: run.session_id }, 'finishing crypto-shredding failed; retried later'),
      );
    } else if (hashes !== undefined && mpcAudit) {
      await forgetMpcSession(ctx, run.session_id, terms); // the session is completed: the nodes drop it
    }
  }

  async #fail(run: RunsTable, attempt: number, terms: SessionTerms, error: unknown, mpcAudit?: MpcPhaseAudit): Promise<void> {
    const ctx = this.#ctx;
    if (this.#closed) return; // shutting down: the run stays `running` and is queued again at the next start
    const tenzro = error instanceof TenzroError ? error : undefined;
    const code = (error as { enclaveCode?: string } | null)?.enclaveCode ?? tenzro?.code ?? 'internal_error';
    const message = tenzro?.message ?? 'the run failed';
    const retryable = tenzro ? tenzro.status >= 500 || RETRYABLE_CODES.has(code) : true;
    if (!tenzro) ctx.logger.error({ err: error, runId: run.id }, 'run failed unexpectedly');
    else ctx.logger.warn({ runId: run.id, code }, 'run failed');
    try {
      await ctx.db.transaction().execute(async (trx) => {
        const current = await findRunById(trx, run.id);
        if (!current || current.status !== 'running' || current.attempts !== attempt) return;
        await failRunInTransaction(trx, current, terms, { code, message, retryable }, nowIso(ctx), { mpc: mpcAudit });
      });
    } catch (writeError) {
      ctx.logger.error({ err: writeError, runId: run.id }, 'recording a failed run failed; it is recovered at the next start');
    }
  }
}
