// The pooled plaintext analysis: the same estimates computed in floating point directly from the pooled
// records (no fixed point, stays as given), the reference the sum-based analysis is tested against. The
// regression takes a different road on purpose: Householder QR of the n × 5 design and residuals
// recomputed record by record, not the normal equations. Never used in a run: records are not pooled there.
import { DIAGNOSES, TREATMENTS } from './schema.js';
import type { Diagnosis, PatientRecord, Treatment } from './schema.js';
import { addArms, armEstimates, coefficient, exact, hazardRatio, riskDifference, stratifiedHazardRatio, REGRESSION_TERMS } from './estimates.js';
import type { ArmSums, HealthcareEstimates, RegressionEstimates } from './estimates.js';
import { householderLeastSquares } from './linalg.js';

function designRow(r: PatientRecord): number[] {
  return [1, r.ageYears / 10, r.sex === 'M' ? 1 : 0, r.treatment === 'intervention' ? 1 : 0, r.comorbidities];
}

function plaintextRegression(records: readonly PatientRecord[]): RegressionEstimates {
  const n = records.length;
  const p = REGRESSION_TERMS.length;
  if (n < p + 2) return { status: 'not_estimable', reason: 'too few patients for the regression' };
  const columns = Array.from({ length: p }, () => new Float64Array(n));
  const y = new Float64Array(n);
  records.forEach((r, i) => {
    designRow(r).forEach((v, j) => (columns[j]![i] = v));
    y[i] = r.lengthOfStayDays;
  });
  const fit = householderLeastSquares(columns, y);
  if (fit === null) return { status: 'not_estimable', reason: 'the design matrix XᵀX is singular (a regressor is constant or collinear)' };
  let rss = 0;
  for (const r of records) {
    const fitted = designRow(r).reduce((s, v, j) => s + v * fit.coefficients[j]!, 0);
    rss += (r.lengthOfStayDays - fitted) ** 2;
  }
  const sigma = Math.sqrt(rss / (n - p));
  return {
    status: 'estimated',
    observations: n,
    coefficients: REGRESSION_TERMS.map((term, j) => coefficient(term, fit.coefficients[j]!, sigma * Math.sqrt(fit.inverseGram[j]![j]!), 0)),
    residualStdDays: sigma,
  };
}

/** The estimates of healthcare-outcomes-v1 over the pooled records, in floating point. */
export function pooledPlaintextAnalysis(records: readonly PatientRecord[]): HealthcareEstimates {
  if (!Array.isArray(records)) throw new TypeError('records must be an array of patient records');
  const cells = new Map<string, { n: number; d: number; t: number; los: number }>();
  const key = (d: Diagnosis, k: Treatment): string => `${d}/${k}`;
  for (const d of DIAGNOSES) for (const k of TREATMENTS) cells.set(key(d, k), { n: 0, d: 0, t: 0, los: 0 });
  for (const r of records) {
    const c = cells.get(key(r.diagnosis, r.treatment));
    if (c === undefined) throw new RangeError('records: a diagnosis or treatment outside the schema');
    c.n += 1;
    c.d += r.event ? 1 : 0;
    c.t += r.followUpDays;
    c.los += r.lengthOfStayDays;
  }
  const sums = (d: Diagnosis, k: Treatment): ArmSums => {
    const c = cells.get(key(d, k))!;
    return { patients: exact(c.n), events: exact(c.d), followUpDays: exact(c.t), lengthOfStayDays: exact(c.los) };
  };
  const arm = (k: Treatment): ArmSums => DIAGNOSES.map((d) => sums(d, k)).reduce(addArms);
  const intervention = arm('intervention');
  const standard = arm('standard');
  const total = armEstimates(addArms(intervention, standard));
  return {
    patients: total.patients,
    events: total.events,
    arms: { standard: armEstimates(standard), intervention: armEstimates(intervention) },
    riskDifference: riskDifference(intervention, standard),
    hazardRatio: hazardRatio(intervention, standard),
    stratifiedHazardRatio: stratifiedHazardRatio(DIAGNOSES.map((d) => ({ intervention: sums(d, 'intervention'), standard: sums(d, 'standard') }))),
    regression: plaintextRegression(records),
  };
}
