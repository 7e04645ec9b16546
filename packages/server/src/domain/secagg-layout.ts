/**
 * The statistic layout a secure_aggregation session's masked vectors follow: its id and its ring vector
 * length (SecAggRoundResponse.layout / vectorLength), fixed on the round when the session is created.
 *
 * The enclave's `hello` does not carry it (EnclaveModel has no layout field), so the host reads it from
 * @tenzro/models `aggregateLayoutOf(modelId)`: pure data, the same declaration the enclave and the SDK
 * use. A model without a layout cannot run secure aggregation.
 */
import { aggregateLayoutOf } from '@tenzro/models';

export interface SecAggLayout {
  /** The layout id, e.g. `risk-analyzer-v2/aggregates/v1`. */
  layout: string;
  /** Entries of every masked vector over Z_2^32 (the layout's ringLength). */
  vectorLength: number;
  /** Largest |noise| one party may add to one statistic (encodeStatistics refuses more). */
  maxNoiseMagnitude: number;
  /** L1 / L2 change of the statistic vector from one record's row (calibrateSkellam's sensitivities). */
  l1Sensitivity: number;
  l2Sensitivity: number;
}

export type SecAggLayoutResolver = (modelId: string) => SecAggLayout | undefined;

/** The layout @tenzro/models declares for a model, or undefined. */
export const modelSecAggLayout: SecAggLayoutResolver = (modelId) => {
  const found = aggregateLayoutOf(modelId);
  return found === undefined
    ? undefined
    : {
        layout: found.id,
        vectorLength: found.ringLength,
        maxNoiseMagnitude: found.maxNoiseMagnitude,
        l1Sensitivity: found.l1Sensitivity,
        l2Sensitivity: found.l2Sensitivity,
      };
};
