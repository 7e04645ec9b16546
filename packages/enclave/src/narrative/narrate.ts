/**
 * The narrative stage of a run (after the model, before the report): the backend the run names (default
 * `deterministic`) writes `shared.content` from the shared findings and their aggregates. Its text then goes
 * through the release policy (@tenzro/models checkRelease, over the same partitions as the model output):
 * a text naming a record identifier fails the run closed with `narrative_refused`; nothing is released.
 */
import { checkRelease, type ReleaseOptions } from '@tenzro/models';
import type { EnclaveContext } from '../context.js';
import { refuse } from '../errors.js';
import { logEvent } from '../log.js';
import { DETERMINISTIC_BACKEND, NarrativeError, type NarrativeRequest } from './backend.js';
import { DEFAULT_BACKENDS } from './registry.js';

interface NarrativeOutput {
  shared: { content: string; findings: Record<string, unknown> };
}

/** The declared aggregates (objects with a boolean `suppressed`) among the findings, keyed by their path. */
export function aggregatesOf(findings: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const found: Record<string, unknown> = {};
  const walk = (value: unknown, path: string): void => {
    if (typeof value !== 'object' || value === null) return;
    if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, `${path}[${i}]`));
      return;
    }
    if (typeof (value as { suppressed?: unknown }).suppressed === 'boolean') {
      found[path] = value;
      return;
    }
    for (const [k, v] of Object.entries(value)) walk(v, path === '' ? k : `${path}.${k}`);
  };
  walk(findings, '');
  return found;
}

export interface NarrateOptions {
  modelId: string;
  prompt: string;
  parameters: { maxTokens?: number | undefined; temperature?: number | undefined; backend?: string | undefined };
  /** What the release policy checks the text against (the run's partitions; records stay here). */
  partitions: Parameters<typeof checkRelease>[1];
  /** The session model's release parameters (minimum group size, record identifiers); defaults when absent. */
  release?: ReleaseOptions;
}

/** `output` with its content written by the chosen backend and checked; and the backend's id. */
export async function narrate<O extends NarrativeOutput>(
  ctx: EnclaveContext,
  output: O,
  options: NarrateOptions,
): Promise<{ output: O; backend: string }> {
  const id = options.parameters.backend ?? DETERMINISTIC_BACKEND;
  const backends = ctx.narrative ?? DEFAULT_BACKENDS;
  const backend = backends.get(options.modelId, id);
  if (!backend) throw refuse('narrative_unavailable', `this enclave does not offer the language-model backend ${JSON.stringify(id)} for the session model`);
  if (backend.id === DETERMINISTIC_BACKEND) return { output, backend: backend.id };

  const findings = structuredClone(output.shared.findings);
  const request: NarrativeRequest = {
    modelId: options.modelId,
    prompt: options.prompt,
    maxTokens: options.parameters.maxTokens,
    temperature: options.parameters.temperature,
    findings,
    aggregates: aggregatesOf(findings),
    draft: output.shared.content,
  };
  let text: string;
  try {
    text = await backend.generate(request);
  } catch (error) {
    if (error instanceof NarrativeError) {
      logEvent('narrative_failed', { backend: backend.id, code: error.code });
      throw refuse('narrative_unavailable', `the language-model backend ${backend.id} failed: ${error.message}; nothing was released`);
    }
    throw error;
  }
  const candidate = { ...output, shared: { ...output.shared, content: text } };
  const verdict = checkRelease({ shared: candidate.shared, privateFindings: {}, privacy: (output as { privacy?: unknown }).privacy } as Parameters<typeof checkRelease>[0], options.partitions, options.release ?? {});
  if (!verdict.ok) {
    logEvent('narrative_refused', { backend: backend.id, violations: verdict.violations.length });
    throw refuse('narrative_refused', `the release policy refused the text of the language-model backend ${backend.id} (it names a record identifier); nothing was released`);
  }
  return { output: candidate, backend: backend.id };
}
