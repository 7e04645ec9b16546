/** Wire schemas the host adds to @tenzro/protocol's: the data upload headers, admin, health. */
import { CommitmentScheme, Commitment, TenantId } from '@tenzro/protocol';
import { z } from 'zod';

/** Headers of POST /v1/sessions/:sessionId/data (the body is the envelope, application/octet-stream). */
export const SubmitDataHeaders = z.object({
  'x-tenzro-data-schema': z.string().min(1).max(100),
  'x-tenzro-commitment': Commitment,
  'x-tenzro-commitment-scheme': CommitmentScheme.default('plain'),
  'content-length': z
    .string()
    .regex(/^\d{1,16}$/)
    .transform(Number)
    .optional(),
});

/** The upload's metadata as the submission pipeline takes it, from the parsed headers. */
export function submissionMeta(headers: z.infer<typeof SubmitDataHeaders>): {
  dataSchema: string;
  commitment: string;
  commitmentScheme: CommitmentScheme;
  contentLength: number | undefined;
} {
  return {
    dataSchema: headers['x-tenzro-data-schema'],
    commitment: headers['x-tenzro-commitment'],
    commitmentScheme: headers['x-tenzro-commitment-scheme'],
    contentLength: headers['content-length'],
  };
}

export const CreateTenantRequest = z.strictObject({ tenantId: TenantId });
export const CreateTenantResponse = z.strictObject({ tenantId: TenantId, apiKey: z.string() });

export const HealthResponse = z.strictObject({
  status: z.literal('ok'),
  enclave: z.enum(['ready', 'unavailable']),
});

export const OpenApiDocument = z.looseObject({ openapi: z.string(), info: z.looseObject({}), paths: z.looseObject({}) });
