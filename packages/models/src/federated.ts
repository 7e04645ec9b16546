// DP-FedAvg of a logistic-regression model (McMahan et al., "Learning Differentially Private Recurrent
// Language Models", ICLR 2018). Partitions are never pooled: each party trains on its own labelled
// records for `localEpochs` (mini-batch SGD), its model delta is clipped to L2 norm C, the deltas are
// summed, Gaussian noise N(0, (zC)^2) is added to the sum and the result averaged over the contributing
// parties. z is calibrated by the RDP accountant for q = 1 and steps = aggregationRounds, so the
// released global model is (epsilon, delta)-DP with respect to any one party's data.
import { calibrateNoiseMultiplier, sampleGaussianVector } from '@tenzro/crypto';
import { nextInt } from './rng.js';
import type { FederatedConfig, Rng } from './types.js';

export const FEDERATED_PARAMETERS = Object.freeze({
  learningRate: 0.5,
  batchSize: 256,
  l2: 1e-4,
  clippingNorm: 1,
});

export interface PartyData {
  /** Row-major features (rows x dim). */
  X: Float64Array;
  /** Indices of rows that carry a label, and the labels (1 fraud, 0 legit). */
  rows: Int32Array;
  y: Uint8Array;
}

export interface FederatedResult {
  trained: boolean;
  weights: Float64Array | null;
  contributingParties: number;
  labelledRecords: number;
  noiseMultiplier: number;
  epsilonSpent: number | null;
  reason?: string;
}

export function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

export function dot(w: Float64Array, X: Float64Array, row: number, dim: number): number {
  let s = 0;
  const o = row * dim;
  for (let j = 0; j < dim; j++) s += w[j]! * X[o + j]!;
  return s;
}

/** Local training from `start`: class-balanced logistic loss, `epochs` passes of mini-batch SGD. */
export function trainLocal(start: Float64Array, data: PartyData, dim: number, epochs: number, rng: Rng): Float64Array {
  const w = Float64Array.from(start);
  const m = data.rows.length;
  let positives = 0;
  for (let i = 0; i < m; i++) positives += data.y[i]!;
  const wPos = m / (2 * positives);
  const wNeg = m / (2 * (m - positives));
  const order = Int32Array.from({ length: m }, (_, i) => i);
  const grad = new Float64Array(dim);
  const { learningRate, batchSize, l2 } = FEDERATED_PARAMETERS;
  for (let epoch = 0; epoch < epochs; epoch++) {
    for (let i = m - 1; i > 0; i--) {
      const j = nextInt(rng, i + 1);
      const t = order[i]!;
      order[i] = order[j]!;
      order[j] = t;
    }
    for (let b = 0; b < m; b += batchSize) {
      const end = Math.min(m, b + batchSize);
      grad.fill(0);
      for (let k = b; k < end; k++) {
        const idx = order[k]!;
        const row = data.rows[idx]!;
        const y = data.y[idx]!;
        const err = (sigmoid(dot(w, data.X, row, dim)) - y) * (y ? wPos : wNeg);
        const o = row * dim;
        for (let j = 0; j < dim; j++) grad[j]! += err * data.X[o + j]!;
      }
      const scale = learningRate / (end - b);
      for (let j = 0; j < dim; j++) w[j]! -= scale * grad[j]! + learningRate * l2 * w[j]!;
    }
  }
  return w;
}

/** Scales `v` in place to L2 norm at most `c`. */
export function clipInPlace(v: Float64Array, c: number): void {
  let norm = 0;
  for (const x of v) norm += x * x;
  norm = Math.sqrt(norm);
  if (norm > c) for (let j = 0; j < v.length; j++) v[j]! *= c / norm;
}

/**
 * One FedAvg aggregation: mean of the parties' deltas; with DP, each delta clipped to `clippingNorm`
 * and N(0, (noiseMultiplier * clippingNorm)^2) added to the sum before dividing by the party count.
 */
export function aggregateRound(
  deltas: readonly Float64Array[],
  options: { dp: boolean; clippingNorm: number; noiseMultiplier: number; rng: Rng },
): Float64Array {
  const dim = deltas[0]!.length;
  const sum = new Float64Array(dim);
  for (const delta of deltas) {
    const copy = Float64Array.from(delta);
    if (options.dp) clipInPlace(copy, options.clippingNorm);
    for (let j = 0; j < dim; j++) sum[j]! += copy[j]!;
  }
  if (options.dp) {
    const noise = sampleGaussianVector(options.rng, options.noiseMultiplier * options.clippingNorm, dim);
    for (let j = 0; j < dim; j++) sum[j]! += noise[j]!;
  }
  for (let j = 0; j < dim; j++) sum[j]! /= deltas.length;
  return sum;
}

/** Area under the ROC curve of `scores` for binary `labels` (ties count half); NaN without both classes. */
export function rocAuc(scores: ArrayLike<number>, labels: ArrayLike<number>): number {
  const n = scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => scores[a]! - scores[b]!);
  let pos = 0;
  let rankSum = 0;
  for (let i = 0; i < n; ) {
    let j = i;
    while (j + 1 < n && scores[order[j + 1]!] === scores[order[i]!]) j++;
    const avgRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) if (labels[order[k]!]) {
      pos++;
      rankSum += avgRank;
    }
    i = j + 1;
  }
  const neg = n - pos;
  if (pos === 0 || neg === 0) return NaN;
  return (rankSum - (pos * (pos + 1)) / 2) / (pos * neg);
}

/**
 * Mean of the parties' own validation AUCs of the global model, weighted by their labelled records.
 * Each party evaluates on its own labels; only the scalar is combined.
 */
export function federatedAuc(weights: Float64Array, parties: readonly PartyData[], dim: number): number {
  let total = 0;
  let weightSum = 0;
  for (const p of parties) {
    const scores = new Float64Array(p.rows.length);
    for (let i = 0; i < p.rows.length; i++) scores[i] = dot(weights, p.X, p.rows[i]!, dim);
    const auc = rocAuc(scores, p.y);
    if (Number.isNaN(auc)) continue;
    total += auc * p.rows.length;
    weightSum += p.rows.length;
  }
  return weightSum > 0 ? total / weightSum : NaN;
}

/** Runs DP-FedAvg over the parties that hold both fraud and legit labels. */
export function trainFederated(parties: readonly PartyData[], dim: number, config: FederatedConfig, rng: Rng): FederatedResult {
  const usable = parties.filter((p) => {
    let pos = 0;
    for (const y of p.y) pos += y;
    return pos > 0 && pos < p.y.length;
  });
  const labelledRecords = parties.reduce((s, p) => s + p.rows.length, 0);
  const dp = config.differentialPrivacy.enabled;
  if (usable.length === 0) {
    return {
      trained: false,
      weights: null,
      contributingParties: 0,
      labelledRecords,
      noiseMultiplier: 0,
      epsilonSpent: null,
      reason: labelledRecords === 0 ? 'no labelled records' : 'no party holds both fraud and legit labels',
    };
  }
  let noiseMultiplier = 0;
  let epsilonSpent: number | null = null;
  if (dp) {
    const calibrated = calibrateNoiseMultiplier({
      targetEpsilon: config.differentialPrivacy.epsilon,
      delta: config.differentialPrivacy.delta,
      sampleRate: 1,
      steps: config.aggregationRounds,
    });
    noiseMultiplier = calibrated.noiseMultiplier;
    epsilonSpent = calibrated.epsilon;
  }
  let global = new Float64Array(dim);
  for (let round = 0; round < config.aggregationRounds; round++) {
    const deltas = usable.map((p) => {
      const local = trainLocal(global, p, dim, config.localEpochs, rng);
      for (let j = 0; j < dim; j++) local[j]! -= global[j]!;
      return local;
    });
    const update = aggregateRound(deltas, { dp, clippingNorm: FEDERATED_PARAMETERS.clippingNorm, noiseMultiplier, rng });
    const next = new Float64Array(dim);
    for (let j = 0; j < dim; j++) next[j] = global[j]! + update[j]!;
    global = next;
  }
  return { trained: true, weights: global, contributingParties: usable.length, labelledRecords, noiseMultiplier, epsilonSpent };
}
