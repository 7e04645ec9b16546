/**
 * Sends a job for work a transaction just committed. A failure to send is logged, not thrown: the change
 * is already committed (the caller's answer must say so), and the sweep finds the work again — queued runs
 * nobody took (JobRunner.reconcile), overdue sessions and owed key destructions (expiry.ts).
 */
import type { Context } from '../context.js';
import type { JobName, JobPayloads, SendOptions } from './job-queue.js';

export async function sendAfterCommit<N extends JobName>(ctx: Pick<Context, 'queue' | 'logger'>, name: N, data: JobPayloads[N], options?: SendOptions): Promise<void> {
  try {
    await ctx.queue.send(name, data, options);
  } catch (error) {
    const fields: Record<string, unknown> = { err: error, job: name, ...data };
    ctx.logger.warn(fields, 'job queue: sending a job failed; the sweep picks the work up');
  }
}
