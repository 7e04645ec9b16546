/**
 * `deterministic` (the default): the narrative the model itself writes from its findings, unchanged.
 * No language model runs; the same findings and parameters give the same text.
 */
import { DETERMINISTIC_BACKEND, type NarrativeBackend, type NarrativeRequest } from './backend.js';

export const deterministicBackend: NarrativeBackend = {
  id: DETERMINISTIC_BACKEND,
  generate: async (request: NarrativeRequest) => request.draft,
};
