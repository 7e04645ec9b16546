// `mpc` configurations: the thresholds GRR multiplication needs (2t − 1 ≤ n), never clamped, each
// refusal with its own code; nodes; the truncation's room in the field.
import { MPC_FIELD, createMpcField } from '@tenzro/crypto';
import { describe, expect, it } from 'vitest';
import { MPC_STATISTICAL_SECURITY, maxTruncationValueBits, multiplicationTolerance, validateMpcConfig } from './config.js';
import { MpcError } from './errors.js';
import { SESSION } from './mpc-harness.fixture.js';
import { createMpcNode } from './node.js';

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MpcError);
    return (error as MpcError).code;
  }
  return undefined;
}

describe('validateMpcConfig', () => {
  it('accepts 2 ≤ t and 2t − 1 ≤ n', () => {
    expect(validateMpcConfig({ threshold: 2, totalParties: 3 })).toEqual({ threshold: 2, totalParties: 3 });
    expect(validateMpcConfig({ threshold: 3, totalParties: 5, protocol: 'shamir_secret_sharing' })).toEqual({ threshold: 3, totalParties: 5 });
    expect(validateMpcConfig({ threshold: 4, totalParties: 5 }, { multiplication: false })).toEqual({ threshold: 4, totalParties: 5 });
  });

  it('refuses threshold < 2', () => {
    expect(codeOf(() => validateMpcConfig({ threshold: 1, totalParties: 3 }))).toBe('threshold_too_small');
    expect(codeOf(() => validateMpcConfig({ threshold: 0, totalParties: 3 }, { multiplication: false }))).toBe('threshold_too_small');
    expect(() => validateMpcConfig({ threshold: 1, totalParties: 3 })).toThrow('mpc config: config.threshold must be at least 2, got 1');
  });

  it('refuses threshold > totalParties', () => {
    expect(codeOf(() => validateMpcConfig({ threshold: 6, totalParties: 5 }, { multiplication: false }))).toBe('threshold_above_parties');
    expect(() => validateMpcConfig({ threshold: 6, totalParties: 5 })).toThrow('mpc config: config.threshold (6) is above config.totalParties (5)');
  });

  it('refuses 2t − 1 > n when the computation multiplies', () => {
    for (const [t, n] of [
      [2, 2],
      [3, 4],
      [4, 6],
      [5, 5],
    ] as const) {
      expect(codeOf(() => validateMpcConfig({ threshold: t, totalParties: n }))).toBe('degree_reduction_impossible');
    }
    expect(() => validateMpcConfig({ threshold: 3, totalParties: 4 })).toThrow(
      'mpc config: multiplication needs 2·threshold − 1 ≤ totalParties (degree reduction over 2t − 1 nodes), got threshold 3 and totalParties 4',
    );
  });

  it('refuses malformed configurations as invalid_config', () => {
    expect(codeOf(() => validateMpcConfig({ threshold: 2.5, totalParties: 5 }))).toBe('invalid_config');
    expect(codeOf(() => validateMpcConfig({ threshold: 2, totalParties: 1 }))).toBe('invalid_config');
    expect(codeOf(() => validateMpcConfig({ threshold: 2, totalParties: 256 }))).toBe('invalid_config');
    expect(codeOf(() => validateMpcConfig({ threshold: '2' as unknown as number, totalParties: 5 }))).toBe('invalid_config');
    expect(codeOf(() => validateMpcConfig({ threshold: 2, totalParties: 3, protocol: 'beaver' as never }))).toBe('invalid_config');
    expect(codeOf(() => validateMpcConfig(null as never))).toBe('invalid_config');
    expect(codeOf(() => validateMpcConfig({ threshold: 2, totalParties: 3 }, { multiplication: 'yes' as never }))).toBe('invalid_config');
  });

  it('states the multiplication tolerance n − (2t − 1)', () => {
    expect(multiplicationTolerance({ threshold: 2, totalParties: 3 })).toBe(0);
    expect(multiplicationTolerance({ threshold: 3, totalParties: 5 })).toBe(0);
    expect(multiplicationTolerance({ threshold: 2, totalParties: 5 })).toBe(2);
    expect(multiplicationTolerance({ threshold: 3, totalParties: 7 })).toBe(2);
  });
});

describe('maxTruncationValueBits', () => {
  it('leaves a 40-bit mask from every contributor below M', () => {
    for (const n of [1, 3, 5, 7, 255]) {
      const k = maxTruncationValueBits(n);
      expect(BigInt(n + 1) << BigInt(k + MPC_STATISTICAL_SECURITY) <= MPC_FIELD.modulus).toBe(true);
      expect(BigInt(n + 1) << BigInt(k + 1 + MPC_STATISTICAL_SECURITY) > MPC_FIELD.modulus).toBe(true);
    }
    expect(maxTruncationValueBits(5)).toBe(113); // products of 47-bit encodings (94 bits) and 2^19-term sums fit
  });
});

describe('createMpcNode', () => {
  it('builds a node and refuses bad sessions, parties and fields', () => {
    const node = createMpcNode({ sessionId: SESSION, party: 2, threshold: 2, totalParties: 3 });
    expect(node).toEqual({ sessionId: SESSION, party: 2, threshold: 2, totalParties: 3, field: MPC_FIELD });
    expect(codeOf(() => createMpcNode({ sessionId: 'session-1', party: 1, threshold: 2, totalParties: 3 }))).toBe('invalid_config');
    expect(codeOf(() => createMpcNode({ sessionId: SESSION, party: 4, threshold: 2, totalParties: 3 }))).toBe('invalid_config');
    expect(codeOf(() => createMpcNode({ sessionId: SESSION, party: 0, threshold: 2, totalParties: 3 }))).toBe('invalid_config');
    expect(codeOf(() => createMpcNode({ sessionId: SESSION, party: 1, threshold: 1, totalParties: 3 }))).toBe('threshold_too_small');
    expect(codeOf(() => createMpcNode({ sessionId: SESSION, party: 1, threshold: 2, totalParties: 3, field: {} as never }))).toBe('invalid_config');
    expect(codeOf(() => createMpcNode({ sessionId: SESSION, party: 1, threshold: 2, totalParties: 7, field: createMpcField([7]) }))).toBe('invalid_config');
  });
});
