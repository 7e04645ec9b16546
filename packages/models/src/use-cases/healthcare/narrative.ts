// The deterministic narrative of healthcare-outcomes-v1, written from the shared findings only (so it can
// say nothing the findings do not): one paragraph per part of the analysis, locale-independent numbers.
import { formatInt } from '../../report.js';
import type { Aggregate } from '../../types.js';
import type { HealthcareFindings } from './analysis.js';
import { DIAGNOSES, DIAGNOSIS_TITLES, TREATMENTS } from './schema.js';
import { AGE_BANDS } from './statistics.js';

const fixed = (x: number, digits: number): string => {
  const s = x.toFixed(digits);
  return /^-0\.?0*$/.test(s) ? s.slice(1) : s;
};
const signed = (x: number, digits: number): string => (x >= 0 ? `+${fixed(x, digits)}` : fixed(x, digits));
const stat = (a: Aggregate, key: string): number | null => {
  const v = a.stats?.[key];
  return typeof v === 'number' ? v : null;
};
const nested = (a: Aggregate, key: string): Aggregate | null => {
  const v = a.stats?.[key];
  return typeof v === 'object' && v !== null && 'suppressed' in v ? (v as Aggregate) : null;
};

function countText(a: Aggregate, m: number, noun: string): string {
  if (a.suppressed) return `fewer than ${m} ${noun} or protected (suppressed)`;
  return `${formatInt(a.count!)} ${noun}`;
}

function armText(name: string, a: Aggregate, m: number): string {
  if (a.suppressed || a.count === 0) return `${name} arm: ${a.suppressed ? `suppressed (fewer than ${m} patients or protected)` : 'no patients'}`;
  const parts = [`${formatInt(a.count!)} patients`];
  const events = nested(a, 'events');
  if (events === null || events.suppressed) parts.push('events suppressed');
  else if (events.count === 0) parts.push('no events');
  else {
    const p = stat(events, 'proportion');
    const h = stat(events, 'hazardPerPersonYear');
    parts.push(`${formatInt(events.count!)} with an event${p === null ? '' : ` (${fixed(100 * p, 1)}%)`}${h === null ? '' : `, ${fixed(h, 3)} events per person-year`}`);
  }
  const los = stat(a, 'meanLengthOfStayDays');
  if (los !== null) parts.push(`mean stay ${fixed(los, 2)} days`);
  return `${name} arm: ${parts.join(', ')}`;
}

const TERM_TEXT: Record<string, string> = {
  agePerDecade: 'days per decade of age',
  male: 'days for male sex',
  intervention: 'days for the intervention',
  comorbidity: 'days per comorbidity',
};

/** The report text from the findings. */
export function writeHealthcareNarrative(f: HealthcareFindings): string {
  const m = f.minGroupSize;
  const total = f.cohort.total;
  const hospitals = `${f.parties} hospital${f.parties === 1 ? '' : 's'}`;
  const lines: string[] = [];
  if (total.suppressed || total.count === 0) {
    lines.push(
      `Pooled healthcare outcomes analysis (${f.model.id}, ${f.method}) from ${hospitals}: the pooled cohort has ${total.suppressed ? `fewer than ${m}` : 'no'} patients, so no figures are released.`,
    );
    lines.push(f.precision.statement);
    return lines.join(' ');
  }
  const events = nested(total, 'events');
  const eventRate = events !== null && !events.suppressed ? stat(events, 'proportion') : null;
  lines.push(
    `Pooled healthcare outcomes analysis (${f.model.id}, ${f.method} method) of ${formatInt(total.count!)} patients from ${hospitals}` +
      `${eventRate === null ? '' : `; ${fixed(100 * eventRate, 1)}% had death or readmission within follow-up`}` +
      `${stat(total, 'meanLengthOfStayDays') === null ? '' : `; mean length of stay ${fixed(stat(total, 'meanLengthOfStayDays')!, 2)} days`}.`,
  );
  const diag = DIAGNOSES.map((d) => {
    const a = f.cohort.byDiagnosis[d];
    const pct = stat(a, 'percent');
    return `${d} ${DIAGNOSIS_TITLES[d]} ${a.suppressed ? `suppressed (fewer than ${m} or protected)` : `${formatInt(a.count!)}${pct === null ? '' : ` (${fixed(pct, 1)}%)`}`}`;
  });
  const male = f.cohort.bySex.M;
  const bands = AGE_BANDS.map(([b]) => {
    const a = f.cohort.byAgeBand[b];
    return `${b} ${a.suppressed ? 'suppressed' : `${fixed(stat(a, 'percent') ?? 0, 1)}%`}`;
  });
  lines.push(
    `Cohort by diagnosis: ${diag.join('; ')}. Male: ${male.suppressed ? 'suppressed' : `${fixed(stat(male, 'percent') ?? 0, 1)}%`}. Age bands: ${bands.join(', ')}.`,
  );
  const arms = TREATMENTS.slice()
    .reverse()
    .map((k) => armText(k === 'intervention' ? 'Intervention' : 'Standard', f.treatmentOutcomes.arms[k], m));
  const rd = f.treatmentOutcomes.riskDifference;
  lines.push(
    `Treatment outcomes. ${arms.join('; ')}.` +
      (rd === null
        ? ' Risk difference: not released.'
        : ` Risk difference intervention minus standard ${signed(100 * rd.estimate, 1)} percentage points (95% CI ${signed(100 * rd.ci95[0], 1)} to ${signed(100 * rd.ci95[1], 1)}).`),
  );
  const s = f.survival;
  if (s.withheld !== null) lines.push(`Survival (exponential model): withheld, ${s.withheld}.`);
  else {
    const hr = s.hazardRatio;
    const st = s.stratifiedHazardRatio;
    const ratio = (r: { estimate: number; ci95: [number, number] }): string => `${fixed(r.estimate, 2)} (95% CI ${fixed(r.ci95[0], 2)} to ${fixed(r.ci95[1], 2)})`;
    lines.push(
      `Survival (exponential, constant hazard per arm): hazard ratio intervention vs standard ${hr === null ? 'not estimable' : ratio(hr)}; stratified by diagnosis (Mantel-Haenszel) ${st === null ? 'not estimable' : ratio(st)}.`,
    );
  }
  const reg = f.regression.result;
  if (reg.status !== 'estimated') lines.push(`Length-of-stay regression: ${reg.status === 'withheld' ? 'withheld' : 'not reported'}, ${reg.reason}.`);
  else {
    const terms = reg.coefficients
      .filter((c) => c.term !== 'intercept')
      .map((c) => `${signed(c.estimate, 2)} ${TERM_TEXT[c.term]}${c.ci95 === null ? ` (noise SE ${fixed(c.noiseSe, 2)}; sampling SE unknown)` : ` (95% CI ${signed(c.ci95[0], 2)} to ${signed(c.ci95[1], 2)})`}`);
    const intercept = reg.coefficients.find((c) => c.term === 'intercept')!;
    lines.push(
      `Length of stay (OLS over ${formatInt(reg.observations)} patients${reg.residualStdDays === null ? ', residual SD not estimable under the noise' : `, residual SD ${fixed(reg.residualStdDays, 2)} days`}): intercept ${fixed(intercept.estimate, 2)} days; ${terms.join('; ')}.`,
    );
  }
  const cells = f.suppression.cells;
  lines.push(
    cells.length === 0
      ? `No cell fell below the minimum cell size of ${m}.`
      : `Suppressed: ${cells.length} cell${cells.length === 1 ? '' : 's'} (minimum cell size ${m}; ${cells.filter((c) => c.reason.startsWith('fewer')).length} below it, the others suppressed to protect them).`,
  );
  lines.push(f.precision.statement);
  return lines.join(' ');
}
