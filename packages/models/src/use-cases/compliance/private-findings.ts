// What one participant learns privately in a federated run: its own rule results, computed from its own
// records only, beside the consortium verdicts that every recipient sees anyway. Nothing here reads another
// participant's records; identifiers in it are the participant's own.
import type { UseCaseAnalysis, UseCasePrivateFindings } from '../contract.js';
import type { ExposureRecord } from './schema.js';
import { AMOUNT_UNIT, HIGH_RISK_COUNTRIES, REPORTING_THRESHOLD, RULES, SECTORS, exceedsLimit, limitOf } from './rules.js';
import { participantBook } from './statistics.js';
import { round } from '../../report.js';

/** At most this many of the participant's own unreported exposure ids are listed. */
export const MAX_LISTED_EXPOSURES = 100;

function consortiumVerdicts(analysis: UseCaseAnalysis): Record<string, unknown> {
  const rules = (analysis?.findings as { rules?: unknown } | undefined)?.rules;
  const out: Record<string, unknown> = {};
  if (!Array.isArray(rules)) return out;
  for (const r of rules as { id?: unknown; verdict?: unknown }[]) {
    if (typeof r?.id === 'string' && typeof r.verdict === 'string') out[r.id] = r.verdict;
  }
  return out;
}

/** The participant's own results for every rule; `analysis` contributes only the shared consortium verdicts. */
export function compliancePrivateFindings(records: readonly ExposureRecord[], analysis: UseCaseAnalysis): UseCasePrivateFindings {
  const book = participantBook(records);
  const share = (units: number): number | null => (book.total > 0 ? round((100 * units) / book.total, 2) : null);
  const consortium = consortiumVerdicts(analysis);
  const unreportedIds = book.unreportedIndices.map((i) => records[i]!.exposureId).sort();
  const own = {
    single_name_concentration: {
      passed: !book.singleNameBreach,
      limitPercent: limitOf('single_name_concentration') / 100,
      largestCounterpartyId: book.largest?.counterpartyId ?? null,
      largestSharePercent: book.largest ? share(book.largest.units) : null,
      excessAboveLimit: book.excess * AMOUNT_UNIT,
    },
    sector_concentration: {
      ownBookWithinLimit: SECTORS.every((_, k) => !exceedsLimit(book.sectorTotals[k]!, book.total, limitOf('sector_concentration'))),
      limitPercent: limitOf('sector_concentration') / 100,
      sectorSharesPercent: Object.fromEntries(SECTORS.map((s, k) => [s, share(book.sectorTotals[k]!)])),
    },
    high_risk_jurisdictions: {
      ownBookWithinLimit: !exceedsLimit(book.highRisk, book.total, limitOf('high_risk_jurisdictions')),
      limitPercent: limitOf('high_risk_jurisdictions') / 100,
      countries: [...HIGH_RISK_COUNTRIES],
      sharePercent: share(book.highRisk),
    },
    reporting_threshold: {
      passed: book.unreportedIndices.length === 0,
      thresholdAmount: REPORTING_THRESHOLD,
      unreported: book.unreportedIndices.length,
      aboveThreshold: book.aboveThreshold,
      unreportedExposureIds: unreportedIds.slice(0, MAX_LISTED_EXPOSURES),
      listTruncated: unreportedIds.length > MAX_LISTED_EXPOSURES,
    },
  };
  return {
    flagged: [],
    summary: {
      exposures: book.exposures,
      totalExposure: book.total * AMOUNT_UNIT,
      amountUnit: AMOUNT_UNIT,
      rules: RULES.map((r) => ({ id: r.id, consortiumVerdict: consortium[r.id] ?? null, own: own[r.id] })),
    },
  };
}
