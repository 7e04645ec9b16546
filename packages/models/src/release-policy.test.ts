// The release policy (DESIGN §8): what checkRelease lets through and what it stops.
import { describe, expect, it } from 'vitest';
import { checkRelease, type ModelOutput, type Partition, type TransactionRecord } from './index.js';

const rec = (transactionId: string, accountId: string, counterpartyAccountId: string): TransactionRecord => ({
  transactionId,
  accountId,
  counterpartyAccountId,
  counterpartyBank: 'bankX',
  amount: 100,
  currency: 'EUR',
  direction: 'debit',
  timestamp: '2024-01-01T00:00:00Z',
  channel: 'wire',
  country: 'DE',
});

const partitions: Partition[] = [
  { partyId: 'bankA', records: [rec('TXA-000001', 'DE00ACCOUNT-A1', 'FR00ACCOUNT-B1'), rec('TXA-000002', 'DE00ACCOUNT-A2', 'EXTERNAL-9')] },
  { partyId: 'bankB', records: [rec('TXB-000001', 'FR00ACCOUNT-B1', 'DE00ACCOUNT-A1'), rec('TXB-000002', 'FR00ACCOUNT-B2', 'NL00ACCOUNT-C7')] },
];

function output(over: { content?: string; findings?: Record<string, unknown>; privateFindings?: ModelOutput['privateFindings'] } = {}): ModelOutput {
  return {
    shared: {
      content: over.content ?? 'Two institutions, 4 records.',
      findings: over.findings ?? { participants: 2, flagged: { count: 0, suppressed: false, stats: null }, chains: { count: 5, suppressed: false, stats: { medianHops: 3 } } },
    },
    privateFindings: over.privateFindings ?? {
      bankA: { flagged: [{ transactionId: 'TXA-000001', score: 0.9, reasons: ['sent to FR00ACCOUNT-B1, part of a chain'] }], summary: { flagged: 1 } },
      bankB: { flagged: [], summary: { flagged: 0 } },
    },
    privacy: { mechanism: 'none', epsilon: null, epsilonSpent: null, delta: null, noiseMultiplier: 0, rounds: 0, clippingNorm: 0, accountant: 'rdp', unit: 'party' },
  };
}

const violations = (o: ModelOutput, min?: number): string[] => {
  const r = checkRelease(o, partitions, min === undefined ? {} : { minGroupSize: min });
  return r.ok ? [] : r.violations;
};

describe('checkRelease', () => {
  it('passes a clean output (a party may see its own counterparty ids)', () => {
    expect(checkRelease(output(), partitions)).toEqual({ ok: true });
  });

  it('catches an identifier leaked into the shared narrative, without repeating it', () => {
    const v = violations(output({ content: 'Most money went through DE00ACCOUNT-A2 last week.' }));
    expect(v).toEqual(['shared.content: contains a record identifier']);
    expect(v.join()).not.toContain('DE00ACCOUNT-A2');
  });

  it('catches transaction and counterparty ids anywhere in shared findings, keys included', () => {
    const v = violations(output({ findings: { top: ['NL00ACCOUNT-C7'], byTx: { 'TXB-000002': 1 }, note: 'see EXTERNAL-9' } }));
    expect(v).toEqual(['shared.findings.top[0]: contains a record identifier', 'shared.findings.byTx (key): contains a record identifier', 'shared.findings.note: contains a record identifier']);
  });

  it('stops a party receiving another party\'s transaction or identifiers', () => {
    const v = violations(
      output({
        privateFindings: {
          bankA: { flagged: [{ transactionId: 'TXB-000002', score: 0.9, reasons: ['next hop NL00ACCOUNT-C7'] }], summary: {} },
          bankB: { flagged: [], summary: { note: 'bankA account DE00ACCOUNT-A2 is involved' } },
        },
      }),
    );
    expect(v).toEqual([
      'privateFindings["bankA"].flagged[0]: not a transaction of this party',
      'privateFindings["bankA"].flagged[0].transactionId: contains an identifier of another party',
      'privateFindings["bankA"].flagged[0].reasons[0]: contains an identifier of another party',
      'privateFindings["bankB"].summary.note: contains an identifier of another party',
    ]);
  });

  it('rejects private findings for a party that is not in the session', () => {
    const o = output();
    o.privateFindings.bankZ = { flagged: [], summary: {} };
    expect(violations(o)).toEqual(['privateFindings: an entry for a party that is not among the partitions']);
  });

  it('requires aggregates under the minimum group size to be suppressed', () => {
    const small = output({ findings: { chains: { count: 2, suppressed: false, stats: { medianHops: 4 } } } });
    expect(violations(small)).toEqual(['shared.findings.chains.count: aggregate over fewer than 3 items is not suppressed']);
    expect(violations(small, 2)).toEqual([]);
    const leaky = output({ findings: { chains: { count: 2, suppressed: true, stats: { medianHops: 4 } } } });
    expect(violations(leaky)).toEqual(['shared.findings.chains: a suppressed aggregate must carry count = null and stats = null']);
    const nested = output({ findings: { a: { count: 9, suppressed: false, stats: { inner: { count: 1, suppressed: false, stats: null } } } } });
    expect(violations(nested)).toEqual(['shared.findings.a.stats.inner.count: aggregate over fewer than 3 items is not suppressed']);
  });

  it('rejects count fields outside a declared aggregate', () => {
    expect(violations(output({ findings: { flaggedCount: 1 } }))).toEqual(['shared.findings.flaggedCount: count field outside a declared aggregate']);
  });

  it('checks its arguments', () => {
    expect(() => checkRelease(null as unknown as ModelOutput, partitions)).toThrow(TypeError);
    expect(() => checkRelease(output(), partitions, { minGroupSize: 0 })).toThrow(/minGroupSize must be a positive integer/);
  });
});
