/**
 * runMultiPartyInference: queues a run (202) that the job runner executes in the enclave. Asking again while
 * one is queued or running returns that run (200), so a retried request never starts a second one.
 */
import {
  TenzroError,
  assertCan,
  promptHash,
  type RunRequest,
  type RunResponse,
  type SessionStatus,
} from '@tenzro/protocol';
import { nowIso, type Context } from '../context.js';
import { sendAfterCommit } from '../queue/after-commit.js';
import { appendAudit } from '../repositories/audit.js';
import { activeRun, findRun, insertRun } from '../repositories/runs.js';
import { findSession } from '../repositories/sessions.js';
import { actingParty, denyAndAudit, rosterRole, type Actor } from './access.js';
import { newId } from './ids.js';
import { loadCurrent } from './load.js';
import { runView } from './views.js';
import { runRefusal } from './secagg.js';

const OPEN_STATUSES: ReadonlySet<string> = new Set(['created', 'collecting', 'awaiting_consent', 'ready']);

export interface RunRequestOutcome {
  created: boolean;
  run: RunResponse;
}

export async function requestRun(ctx: Context, actor: Actor, sessionId: string, request: RunRequest): Promise<RunRequestOutcome> {
  const { row, terms } = await loadCurrent(ctx, actor, sessionId);
  const isCreator = row.tenant_id === actor.tenantId;
  const partyId = actingParty(actor, terms);
  const isParticipant = partyId !== undefined && rosterRole(terms, partyId) === 'participant';
  if (!isCreator && !isParticipant) throw await denyAndAudit(ctx.db, actor, sessionId, partyId, 'run the inference', nowIso(ctx));

  const at = nowIso(ctx);
  const outcome = await ctx.db.transaction().execute(async (trx): Promise<RunRequestOutcome> => {
    const current = await findSession(trx, sessionId);
    if (!current) throw new TenzroError('not_found', 'session not found');
    const existing = await activeRun(trx, sessionId);
    if (!existing && OPEN_STATUSES.has(current.status)) {
      // A secure_aggregation session says which stage holds it back (or that its round failed).
      const secAggRefusal = await runRefusal(trx, sessionId, terms);
      if (secAggRefusal) throw secAggRefusal;
    }
    assertCan('run', current.status as SessionStatus);
    if (existing) return { created: false, run: runView(existing) };
    if (current.status !== 'ready') throw new TenzroError('session_not_ready', `the session is ${current.status}; it must be ready to run`);
    const run = {
      id: newId('run'),
      session_id: sessionId,
      status: 'queued' as const,
      prompt: request.prompt,
      parameters_json: JSON.stringify(request.parameters ?? {}),
      attempts: 0,
      error_json: null,
      lease_until: null,
      created_at: at,
      finished_at: null,
      timings_json: null,
    };
    await insertRun(trx, run);
    await appendAudit(trx, {
      sessionId,
      type: 'run_requested',
      actorTenant: actor.tenantId,
      actorParty: isParticipant ? partyId! : null,
      payload: { runId: run.id, promptHash: promptHash(request.prompt) },
      at,
    });
    return { created: true, run: runView(run) };
  });
  // After the commit: a crash before this send leaves a queued run the reconciler sends again (jobs.ts).
  if (outcome.created) await sendAfterCommit(ctx, 'run', { runId: outcome.run.runId });
  return outcome;
}

export async function getRun(ctx: Context, actor: Actor, sessionId: string, runId: string): Promise<RunResponse> {
  await loadCurrent(ctx, actor, sessionId);
  const run = await findRun(ctx.db, sessionId, runId);
  if (!run) throw new TenzroError('not_found', 'run not found');
  return runView(run);
}
