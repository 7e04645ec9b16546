// The plaintext reference of the rules: what a regulator would compute holding every participant's
// records. Written directly over the records (not through the statistic vector) so that tests can check
// that the vector, summed and analysed, gives the same verdicts and counts. Same measurement as the model:
// amounts in units of AMOUNT_UNIT (rules.ts, amountUnits).
import type { ExposureRecord } from './schema.js';
import {
  HIGH_RISK_COUNTRIES,
  REPORTING_THRESHOLD,
  SECTORS,
  SINGLE_NAME_BAND_EDGES_PERCENT,
  amountUnits,
  exceedsLimit,
  limitOf,
  type Sector,
} from './rules.js';

export interface PlaintextCompliance {
  readonly participants: number;
  readonly exposures: number;
  /** Consortium total exposure, in units of AMOUNT_UNIT. */
  readonly totalUnits: number;
  readonly singleName: {
    readonly passed: boolean;
    readonly participantsInBreach: number;
    /** Participants per band of their largest single-name share (bands as in SINGLE_NAME_BANDS). */
    readonly bands: readonly number[];
    /** Σ over participants of max(0, largest − floor(total × limit)), in units. */
    readonly excessUnits: number;
  };
  readonly sector: {
    readonly passed: boolean;
    readonly sharesPercent: Readonly<Record<Sector, number | null>>;
    readonly largestSector: Sector | null;
  };
  readonly highRisk: { readonly passed: boolean; readonly sharePercent: number | null };
  readonly reporting: {
    readonly passed: boolean;
    readonly unreported: number;
    readonly aboveThreshold: number;
    readonly participantsInBreach: number;
  };
}

/** Checks every rule over the participants' records in the clear. */
export function checkRulesPlaintext(partitions: readonly { partyId: string; records: readonly ExposureRecord[] }[]): PlaintextCompliance {
  if (!Array.isArray(partitions as unknown)) throw new TypeError('partitions must be an array');
  const singleNameLimit = limitOf('single_name_concentration');
  const edges = SINGLE_NAME_BAND_EDGES_PERCENT.map((e) => e * 100);
  const bands = new Array<number>(edges.length + 1).fill(0);
  const sectorUnits = Object.fromEntries(SECTORS.map((s) => [s, 0])) as Record<Sector, number>;
  let exposures = 0;
  let highRiskUnits = 0;
  let singleNameBreaches = 0;
  let excessUnits = 0;
  let unreported = 0;
  let aboveThreshold = 0;
  let reportingBreaches = 0;
  for (const { records } of partitions) {
    let partyTotal = 0;
    let partyUnreported = 0;
    const perName = new Map<string, number>();
    for (const r of records) {
      const u = amountUnits(r.amount);
      exposures++;
      partyTotal += u;
      sectorUnits[r.sector] += u;
      if (HIGH_RISK_COUNTRIES.includes(r.country)) highRiskUnits += u;
      perName.set(r.counterpartyId, (perName.get(r.counterpartyId) ?? 0) + u);
      if (r.amount >= REPORTING_THRESHOLD) {
        aboveThreshold++;
        if (!r.reported) partyUnreported++;
      }
    }
    unreported += partyUnreported;
    if (partyUnreported > 0) reportingBreaches++;
    const largest = Math.max(0, ...perName.values());
    if (perName.size > 0 && partyTotal > 0) {
      let band = 0;
      while (band < edges.length && exceedsLimit(largest, partyTotal, edges[band]!)) band++;
      bands[band]!++;
      if (exceedsLimit(largest, partyTotal, singleNameLimit)) {
        singleNameBreaches++;
        excessUnits += largest - Math.floor((partyTotal * singleNameLimit) / 10_000);
      }
    }
  }
  const totalUnits = Object.values(sectorUnits).reduce((a, b) => a + b, 0);
  const share = (units: number): number | null => (totalUnits > 0 ? (100 * units) / totalUnits : null);
  const sharesPercent = Object.fromEntries(SECTORS.map((s) => [s, share(sectorUnits[s])])) as Record<Sector, number | null>;
  let largestSector: Sector | null = null;
  for (const s of SECTORS) if (totalUnits > 0 && (largestSector === null || sectorUnits[s] > sectorUnits[largestSector])) largestSector = s;
  const sectorLimit = limitOf('sector_concentration');
  const highRiskLimit = limitOf('high_risk_jurisdictions');
  return {
    participants: partitions.length,
    exposures,
    totalUnits,
    singleName: { passed: singleNameBreaches === 0, participantsInBreach: singleNameBreaches, bands, excessUnits },
    sector: {
      passed: SECTORS.every((s) => !exceedsLimit(sectorUnits[s], totalUnits, sectorLimit)),
      sharesPercent,
      largestSector,
    },
    highRisk: { passed: !exceedsLimit(highRiskUnits, totalUnits, highRiskLimit), sharePercent: share(highRiskUnits) },
    reporting: { passed: unreported === 0, unreported, aboveThreshold, participantsInBreach: reportingBreaches },
  };
}
