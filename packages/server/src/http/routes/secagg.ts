/**
 * Secure-aggregation routes (docs/secure-aggregation.md), all under /v1/sessions/:sessionId/secagg: the
 * round as relayed, the stage-0/1 messages (JSON), the masked input (octet-stream, the submission
 * pipeline of POST /data) and the unmask answer (octet-stream, a blob sealed to the session key).
 */
import { SecAggRoundResponse, SessionIdParams, SubmissionResponse, TenzroError } from '@tenzro/protocol';
import { z } from 'zod';
import type { Context } from '../../context.js';
import { loadCurrent } from '../../domain/load.js';
import { getRound, maskedInputRules, postStageMessage, postUnmask } from '../../domain/secagg.js';
import { receiveSubmission } from '../../domain/submissions.js';
import { defineRoute, type AnyRouteSpec } from '../route.js';
import { SubmitDataHeaders, submissionMeta } from '../schemas.js';

/**
 * A signed stage message at the boundary: exactly `{ body, signature }`. The body's shape, session, roster
 * membership and signature are then checked by the protocol's own functions (a refusal is secagg_rejected
 * naming the SecAggError code, not a 400), exactly as the parties and the enclave check them.
 */
export const SignedStageMessage = z.strictObject({
  body: z.record(z.string(), z.unknown()),
  signature: z.string().max(200),
});

export const UnmaskHeaders = z.object({
  'content-length': z
    .string()
    .regex(/^\d{1,16}$/)
    .transform(Number)
    .optional(),
});

const STAGE_ERRORS = ['not_found', 'forbidden', 'conflict', 'secagg_rejected', 'secagg_stage_closed', 'session_expired', 'session_cancelled', 'session_completed', 'run_in_progress'] as const;

export function secAggRoutes(ctx: Context): AnyRouteSpec[] {
  /** POST of one relayed stage message (advertise, share-keys): the same route but for its stage. */
  const stageRoute = (stage: 'advertise' | 'share-keys', operationId: string, summary: string): AnyRouteSpec =>
    defineRoute({
      method: 'POST',
      url: `/v1/sessions/:sessionId/secagg/${stage}`,
      operationId,
      summary,
      auth: 'tenant',
      params: SessionIdParams,
      body: { kind: 'json', schema: SignedStageMessage },
      responses: { 202: SecAggRoundResponse },
      errors: [...STAGE_ERRORS],
      handle: async ({ actor, params, body }) => ({
        status: 202,
        body: await postStageMessage(ctx, actor, await loadCurrent(ctx, actor, params.sessionId), stage, body),
      }),
    });

  return [
    defineRoute({
      method: 'GET',
      url: '/v1/sessions/:sessionId/secagg',
      operationId: 'getSecAggRound',
      summary: 'The secure-aggregation round as the host relays it (stage, deadline, who answered, U1 and U2 messages once closed, the unmask request)',
      auth: 'tenant',
      params: SessionIdParams,
      responses: { 200: SecAggRoundResponse },
      errors: ['not_found', 'conflict'],
      handle: async ({ actor, params }) => ({ status: 200, body: await getRound(ctx, await loadCurrent(ctx, actor, params.sessionId)) }),
    }),
    stageRoute('advertise', 'secAggAdvertise', 'Stage 0: the acting participant’s signed advertisement of its two X25519 keys (opens the round)'),
    stageRoute('share-keys', 'secAggShareKeys', 'Stage 1: the acting participant’s signed shares, each sealed to one other party of U1'),
    defineRoute({
      method: 'POST',
      url: '/v1/sessions/:sessionId/secagg/masked-input',
      operationId: 'secAggMaskedInput',
      summary: 'Stage 2: the acting participant’s masked input, sealed to the session key (a salted contribution), streamed',
      auth: 'tenant',
      params: SessionIdParams,
      headers: SubmitDataHeaders,
      body: { kind: 'stream', contentType: 'application/octet-stream' },
      responses: { 201: SubmissionResponse },
      errors: [
        'not_found',
        'forbidden',
        'conflict',
        'already_submitted',
        'secagg_rejected',
        'secagg_stage_closed',
        'run_in_progress',
        'session_completed',
        'session_expired',
        'session_cancelled',
        'unknown_schema',
        'decryption_failed',
        'commitment_mismatch',
        'submission_rejected',
        'payload_too_large',
        'unsupported_media_type',
        'rate_limited',
        'insufficient_storage',
        'enclave_unavailable',
      ],
      handle: async ({ actor, params, headers, stream }) => {
        if (!stream) throw new TenzroError('invalid_request', 'the upload is empty');
        const body = await receiveSubmission(
          ctx,
          actor,
          params.sessionId,
          submissionMeta(headers),
          stream,
          maskedInputRules(ctx),
        );
        return { status: 201, body };
      },
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/sessions/:sessionId/secagg/unmask',
      operationId: 'secAggUnmask',
      summary: 'Stage 3: a survivor’s answer to the published unmask request, sealed to the session key (octet-stream)',
      auth: 'tenant',
      params: SessionIdParams,
      headers: UnmaskHeaders,
      body: { kind: 'stream', contentType: 'application/octet-stream' },
      responses: { 202: SecAggRoundResponse },
      errors: ['not_found', 'forbidden', 'conflict', 'secagg_stage_closed', 'payload_too_large', 'unsupported_media_type', 'rate_limited', 'insufficient_storage'],
      handle: async ({ actor, params, headers, stream }) => {
        if (!stream) throw new TenzroError('invalid_request', 'the upload is empty');
        const loaded = await loadCurrent(ctx, actor, params.sessionId);
        return { status: 202, body: await postUnmask(ctx, actor, loaded, headers['content-length'], stream) };
      },
    }),
  ];
}
