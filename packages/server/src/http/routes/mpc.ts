/**
 * mpc routes (docs/mpc.md), under /v1/sessions/:sessionId/mpc, roster parties only: the session's compute
 * nodes, freshly attested (a party verifies every one before it seals shares to them), and a
 * participant's share bundle (JSON, read raw so its bytes count against the upload limit, checked by the
 * compute nodes, filed as the party's submission). Another method's session: 409 not_mpc_session.
 */
import { MpcNodesQuery, MpcNodesResponse, SessionIdParams, SubmissionResponse, TenzroError } from '@tenzro/protocol';
import { z } from 'zod';
import type { Context } from '../../context.js';
import { getMpcNodes, submitMpcShares } from '../../domain/mpc.js';
import { defineRoute, type AnyRouteSpec } from '../route.js';

export const MpcSharesHeaders = z.object({
  'content-length': z
    .string()
    .regex(/^\d{1,16}$/)
    .transform(Number)
    .optional(),
});

export function mpcRoutes(ctx: Context): AnyRouteSpec[] {
  return [
    defineRoute({
      method: 'GET',
      url: '/v1/sessions/:sessionId/mpc/nodes',
      operationId: 'getMpcNodes',
      summary: 'The session’s compute nodes, each with an attestation document made for this request (nonce bound)',
      auth: 'tenant',
      params: SessionIdParams,
      query: MpcNodesQuery,
      responses: { 200: MpcNodesResponse },
      errors: ['invalid_request', 'not_found', 'forbidden', 'not_mpc_session', 'mpc_nodes_unavailable'],
      handle: async ({ actor, params, query }) => ({ status: 200, body: await getMpcNodes(ctx, actor, params.sessionId, query.nonce) }),
    }),
    defineRoute({
      method: 'POST',
      url: '/v1/sessions/:sessionId/mpc/shares',
      operationId: 'submitMpcShares',
      summary: 'The acting participant’s signed share bundle (one envelope per compute node), filed as its submission',
      auth: 'tenant',
      params: SessionIdParams,
      headers: MpcSharesHeaders,
      body: { kind: 'stream', contentType: 'application/json' },
      responses: { 201: SubmissionResponse },
      errors: [
        'invalid_request',
        'not_found',
        'forbidden',
        'invalid_json',
        'not_mpc_session',
        'already_submitted',
        'run_in_progress',
        'session_completed',
        'session_expired',
        'session_cancelled',
        'unknown_schema',
        'submission_rejected',
        'mpc_share_refused',
        'payload_too_large',
        'unsupported_media_type',
        'rate_limited',
        'insufficient_storage',
        'enclave_unavailable',
      ],
      handle: async ({ actor, params, headers, stream }) => {
        if (!stream) throw new TenzroError('invalid_request', 'the upload is empty');
        return { status: 201, body: await submitMpcShares(ctx, actor, params.sessionId, headers['content-length'], stream) };
      },
    }),
  ];
}
