// Deterministic demo books with PLANTED ground truth, and how well shared findings recover it.
//
// Each participant's book is allocated to buckets with exact target shares of its total, so the planted
// figures hold for every seed and size:
//   - every participant: real_estate 42% of its book (so 42% of the consortium: rule 2 fails),
//     2% in declared high-risk countries (rule 3 passes), the other sectors 58% between them (≤ ~17% each);
//   - the LAST participant (bankC by default): one counterparty at 35% of its book (rule 1 fails, 1 participant);
//   - the SECOND participant (bankB): 3 exposures at or above the reporting threshold unreported (rule 4
//     fails with 3); every other exposure at or above the threshold is reported.
// The generator checks the result with checkRulesPlaintext and throws if the plan was not met.
import { round } from '../../report.js';
import { seededRng } from '../../rng.js';
import type { Rng } from '../../types.js';
import type { DemoEvaluation, DemoOptions, UseCaseDemo } from '../contract.js';
import { checkRulesPlaintext } from './plaintext.js';
import { HIGH_RISK_COUNTRIES, REPORTING_THRESHOLD, RULE_IDS, SECTORS, type RuleId, type Sector } from './rules.js';
import { exposureRecordsV1, type ExposureRecord } from './schema.js';

export const DEFAULT_DEMO_PARTIES: readonly string[] = ['bankA', 'bankB', 'bankC'];
export const DEFAULT_DEMO_RECORDS_PER_PARTY = 400;
export const MIN_DEMO_RECORDS_PER_PARTY = 60;
export const MAX_DEMO_RECORDS_PER_PARTY = 100_000;
export const MAX_DEMO_PARTIES = 100;

/** The planted figures (shares of a book, unreported exposures). */
export const PLANTED = Object.freeze({
  realEstateShare: 0.42,
  highRiskShare: 0.02,
  singleNameShare: 0.35,
  singleNameRecords: 4,
  unreportedExposures: 3,
});

const SMALL_SHARE_OF_RECORDS = 0.1;
const LOW_RISK_COUNTRIES = ['DE', 'FR', 'GB', 'US', 'NL', 'ES', 'IT', 'CH', 'JP', 'SG', 'CA', 'SE'] as const;
const PLANTED_COUNTERPARTY = 'CP9999999';

interface Bucket {
  sector: Sector;
  share: number;
  highRisk: boolean;
  /** Fixed counterparty (the planted single name) or null for random names. */
  counterparty: string | null;
  records: number;
}

interface Draft {
  counterpartyId: string;
  sector: Sector;
  country: string;
  amount: number;
  small: boolean;
}

const pick = <T>(rng: Rng, items: readonly T[]): T => items[Math.floor(rng.nextFloat() * items.length)]!;
const cents = (x: number): number => Math.round(x * 100) / 100;

function bucketsFor(rng: Rng, planted: boolean): Omit<Bucket, 'records'>[] {
  const others = SECTORS.filter((s) => s !== 'real_estate');
  const weights = others.map(() => 0.6 + 0.8 * rng.nextFloat());
  const wSum = weights.reduce((a, b) => a + b, 0);
  const otherShare = 1 - PLANTED.realEstateShare;
  const buckets: Omit<Bucket, 'records'>[] = [];
  if (planted) buckets.push({ sector: 'real_estate', share: PLANTED.singleNameShare, highRisk: false, counterparty: PLANTED_COUNTERPARTY });
  buckets.push({ sector: 'real_estate', share: PLANTED.realEstateShare - (planted ? PLANTED.singleNameShare : 0), highRisk: false, counterparty: null });
  others.forEach((sector, k) => {
    const share = (otherShare * weights[k]!) / wSum;
    if (sector === 'energy') {
      buckets.push({ sector, share: PLANTED.highRiskShare, highRisk: true, counterparty: null });
      buckets.push({ sector, share: share - PLANTED.highRiskShare, highRisk: false, counterparty: null });
    } else buckets.push({ sector, share, highRisk: false, counterparty: null });
  });
  return buckets;
}

/** Record counts per bucket: the planted single name gets its fixed count, the rest ∝ share, at least 2 each. */
function sizeBuckets(buckets: Omit<Bucket, 'records'>[], large: number): Bucket[] {
  const fixed = buckets.filter((b) => b.counterparty !== null).length * PLANTED.singleNameRecords;
  const free = large - fixed;
  const freeShare = buckets.filter((b) => b.counterparty === null).reduce((a, b) => a + b.share, 0);
  const sized = buckets.map((b) => ({ ...b, records: b.counterparty !== null ? PLANTED.singleNameRecords : Math.max(2, Math.floor((free * b.share) / freeShare)) }));
  const biggest = sized.reduce((best, b) => (b.counterparty === null && b.records > best.records ? b : best), sized.find((b) => b.counterparty === null)!);
  biggest.records += large - sized.reduce((a, b) => a + b.records, 0);
  return sized;
}

function draftBook(rng: Rng, records: number, planted: boolean, pool: number): Draft[] {
  const book = Math.round((1.5 + 2 * rng.nextFloat()) * 1e9);
  const small = Math.floor(records * SMALL_SHARE_OF_RECORDS);
  const buckets = sizeBuckets(bucketsFor(rng, planted), records - small);
  const name = (): string => `CP${String(1 + Math.floor(rng.nextFloat() * pool)).padStart(7, '0')}`;
  const country = (b: Omit<Bucket, 'records'>): string => pick(rng, b.highRisk ? HIGH_RISK_COUNTRIES : LOW_RISK_COUNTRIES);
  const free = buckets.filter((b) => b.counterparty === null);
  const drafts: Draft[] = [];
  // Small exposures (below the reporting threshold) first, so each bucket's large ones make up its exact share.
  const smallIn = new Map<Bucket, number>();
  for (let i = 0; i < small; i++) {
    const b = pick(rng, free);
    const amount = cents(1000 + 8999 * rng.nextFloat());
    smallIn.set(b, (smallIn.get(b) ?? 0) + amount);
    drafts.push({ counterpartyId: name(), sector: b.sector, country: country(b), amount, small: true });
  }
  for (const b of buckets) {
    const weights = Array.from({ length: b.records }, () => 0.5 + 1.5 * rng.nextFloat());
    const wSum = weights.reduce((a, w) => a + w, 0);
    const target = b.share * book - (smallIn.get(b) ?? 0);
    for (const w of weights) {
      drafts.push({ counterpartyId: b.counterparty ?? name(), sector: b.sector, country: country(b), amount: cents((target * w) / wSum), small: false });
    }
  }
  return drafts;
}

function shuffle<T>(rng: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rng.nextFloat() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

function checkOptions(options: DemoOptions): { parties: string[]; recordsPerParty: number; seed: number } {
  if (typeof options !== 'object' || options === null) throw new TypeError('options must be an object');
  const parties = options.parties === undefined ? [...DEFAULT_DEMO_PARTIES] : options.parties;
  if (!Array.isArray(parties) || !parties.every((p) => typeof p === 'string' && p.length > 0)) throw new TypeError('options.parties must be an array of non-empty strings');
  if (parties.length < 2 || parties.length > MAX_DEMO_PARTIES) throw new RangeError(`options.parties must name 2 to ${MAX_DEMO_PARTIES} parties`);
  if (new Set(parties).size !== parties.length) throw new RangeError('options.parties must not repeat a party');
  const recordsPerParty = options.recordsPerParty ?? DEFAULT_DEMO_RECORDS_PER_PARTY;
  if (!Number.isInteger(recordsPerParty)) throw new TypeError('options.recordsPerParty must be an integer');
  if (recordsPerParty < MIN_DEMO_RECORDS_PER_PARTY || recordsPerParty > MAX_DEMO_RECORDS_PER_PARTY) {
    throw new RangeError(`options.recordsPerParty must be in [${MIN_DEMO_RECORDS_PER_PARTY}, ${MAX_DEMO_RECORDS_PER_PARTY}]`);
  }
  const seed = options.seed ?? 1;
  if (!Number.isInteger(seed)) throw new TypeError('options.seed must be an integer');
  return { parties: [...parties], recordsPerParty, seed };
}

/** The demo books with the planted truth (see the module header). */
export function generateComplianceDemo(options: DemoOptions = {}): UseCaseDemo<ExposureRecord> {
  const { parties, recordsPerParty, seed } = checkOptions(options);
  const rng = seededRng(seed);
  const singleNameParty = parties[parties.length - 1]!;
  const unreportedParty = parties[1]!;
  const pool = Math.max(1000, 3 * recordsPerParty);
  const partitions = parties.map((partyId) => {
    const drafts = shuffle(rng, draftBook(rng, recordsPerParty, partyId === singleNameParty, pool));
    const eligible = drafts.map((d, i) => (!d.small && d.amount >= REPORTING_THRESHOLD ? i : -1)).filter((i) => i >= 0);
    const unreported = new Set<number>();
    if (partyId === unreportedParty) {
      while (unreported.size < PLANTED.unreportedExposures) unreported.add(pick(rng, eligible));
    }
    const records: ExposureRecord[] = drafts.map((d, i) => ({
      exposureId: `${partyId}-X${String(i + 1).padStart(6, '0')}`,
      counterpartyId: d.counterpartyId,
      sector: d.sector,
      country: d.country,
      amount: d.amount,
      reported: d.amount >= REPORTING_THRESHOLD ? !unreported.has(i) : rng.nextFloat() < 0.5,
    }));
    const valid = exposureRecordsV1.validate(records);
    if (!valid.ok) throw new Error(`demo generator produced an invalid record for ${partyId}`);
    return { partyId, records };
  });

  const check = checkRulesPlaintext(partitions);
  const met =
    check.singleName.participantsInBreach === 1 &&
    check.reporting.unreported === PLANTED.unreportedExposures &&
    check.reporting.participantsInBreach === 1 &&
    check.sector.largestSector === 'real_estate' &&
    !check.sector.passed &&
    check.highRisk.passed;
  if (!met) throw new Error('demo generator: the planted truth does not hold (generator bug)');
  const truth = {
    planted: {
      singleName: { party: singleNameParty, sharePercent: PLANTED.singleNameShare * 100 },
      unreported: { party: unreportedParty, exposures: PLANTED.unreportedExposures },
      realEstateSharePercent: PLANTED.realEstateShare * 100,
      highRiskSharePercent: PLANTED.highRiskShare * 100,
    },
    rules: {
      single_name_concentration: { verdict: 'fail', participantsInBreach: 1 },
      sector_concentration: { verdict: 'fail', largestSector: 'real_estate', largestSharePercent: round(check.sector.sharesPercent.real_estate!, 2) },
      high_risk_jurisdictions: { verdict: 'pass', sharePercent: round(check.highRisk.sharePercent!, 2) },
      reporting_threshold: { verdict: 'fail', unreported: PLANTED.unreportedExposures, participantsInBreach: 1 },
    },
  };
  return { partitions, truth };
}

// ---- evaluation ----

type Json = Record<string, unknown>;
const obj = (v: unknown): Json => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : {});
const aggregateCount = (v: unknown): number | null => {
  const c = obj(v).count;
  return typeof c === 'number' ? c : null;
};
const figure = (v: unknown): number | string | boolean => (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean' ? v : 'n/a');

/**
 * Recovered when every rule's verdict equals the planted one and every planted count matches exactly
 * (participants in breach, unreported exposures) and the largest sector is the planted one. Shares are
 * reported as figures, not compared (they carry the per-exposure rounding and, under DP, noise).
 */
export function evaluateComplianceDemo(truth: Record<string, unknown>, findings: Record<string, unknown>): DemoEvaluation {
  const expected = obj(obj(truth).rules);
  const found = new Map<string, Json>();
  const rules = obj(findings).rules;
  if (Array.isArray(rules)) for (const r of rules) if (typeof obj(r).id === 'string') found.set(obj(r).id as string, obj(r));
  let matched = 0;
  for (const id of RULE_IDS) {
    const want = obj(expected[id]);
    const got = found.get(id);
    if (!got) continue;
    const ev = obj(got.evidence);
    let ok = got.verdict === want.verdict;
    if ('participantsInBreach' in want) ok &&= aggregateCount(ev.participantsInBreach) === want.participantsInBreach;
    if ('unreported' in want) ok &&= aggregateCount(ev.unreported) === want.unreported;
    if ('largestSector' in want) ok &&= ev.largestSector === want.largestSector;
    if (ok) matched++;
  }
  const ev = (id: RuleId): Json => obj(found.get(id)?.evidence);
  const summary = obj(obj(findings).summary);
  const listLength = (v: unknown): number => (Array.isArray(v) ? v.length : 0);
  return {
    recovered: matched === RULE_IDS.length,
    figures: {
      rulesMatched: matched,
      rulesFailed: listLength(summary.failed),
      rulesPassed: listLength(summary.passed),
      rulesInconclusive: listLength(summary.inconclusive),
      singleNameVerdict: figure(found.get('single_name_concentration')?.verdict),
      singleNameParticipantsInBreach: figure(aggregateCount(ev('single_name_concentration').participantsInBreach)),
      singleNameExcessPercent: figure(ev('single_name_concentration').excessPercentOfConsortium),
      sectorVerdict: figure(found.get('sector_concentration')?.verdict),
      largestSector: figure(ev('sector_concentration').largestSector),
      largestSectorPercent: figure(ev('sector_concentration').largestSharePercent),
      highRiskVerdict: figure(found.get('high_risk_jurisdictions')?.verdict),
      highRiskPercent: figure(ev('high_risk_jurisdictions').sharePercent),
      reportingVerdict: figure(found.get('reporting_threshold')?.verdict),
      unreportedExposures: figure(aggregateCount(ev('reporting_threshold').unreported)),
      reportingParticipantsInBreach: figure(aggregateCount(ev('reporting_threshold').participantsInBreach)),
    },
  };
}
