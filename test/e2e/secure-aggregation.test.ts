/**
 * The `secure_aggregation` method end to end (issue 4, DESIGN §7), against the real server and enclave
 * processes: banks contribute concurrently through the SDK (statistics computed and masked in the
 * client), consent, one bank runs the inference while every bank's SDK answers the unmask stage, and
 * every party — the regulator included — receives one attested result computed from the sum alone.
 *
 * The enclave runs with TENZRO_ENCLAVE_CAPTURE_DIR, so the test sees exactly what it received: masked
 * vectors that look uniform, and a sum equal to the plain sum of the parties' statistics.
 */
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fromBase64Url, ringVectorFromBytes } from '@tenzro/crypto';
import { advertiseKeys, secAggConfigOf, shareKeys } from '@tenzro/protocol';
import { aggregateLayoutOf, computeStatistics, decodeStatisticSum, encodeStatistics, type TransactionRecord } from '@tenzro/models';
import { TenzroApiError, TenzroPlatform, generatePartyIdentity, type PartyIdentity } from '@tenzro/platform';
import { PlatformProcess, type DevParty } from '../support/platform-process.js';
import { BANKS, REGULATOR, demoPartitions, devParties, http, sdkFor } from '../support/flow.js';

const STAGE_TIMEOUT_MS = 4_000;
const layout = aggregateLayoutOf('risk-analyzer-v2')!;

interface Capture {
  sessionId: string;
  runId: string;
  maskedInputs: { partyId: string; maskedInput: string }[];
  shares: { of: string; from: string; kind: string; share: string }[];
  sum: string | null;
}

function capturesOf(dir: string, sessionId: string): Capture[] {
  return readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => JSON.parse(readFileSync(join(dir, name), 'utf8')) as Capture)
    .filter((capture) => capture.sessionId === sessionId);
}

/** Pearson chi-square of the bytes of `bytes` against uniform over 256 values (255 degrees of freedom). */
function chiSquareBytes(bytes: Uint8Array): number {
  const counts = new Array<number>(256).fill(0);
  for (const b of bytes) counts[b]!++;
  const expected = bytes.length / 256;
  return counts.reduce((sum, c) => sum + (c - expected) ** 2 / expected, 0);
}

function plainSum(partitions: Record<string, TransactionRecord[]>, parties: string[]): number[] {
  const total = new Array<number>(layout.statisticCount).fill(0);
  for (const party of parties) computeStatistics(layout, partitions[party]!).forEach((v, i) => (total[i]! += v));
  return total;
}

describe('secure aggregation through the real server and enclave', () => {
  let server: PlatformProcess;
  let captureDir: string;

  beforeAll(async () => {
    captureDir = mkdtempSync(join(tmpdir(), 'tenzro-capture-'));
    server = await PlatformProcess.start({ TENZRO_ENCLAVE_CAPTURE_DIR: captureDir, TENZRO_SECAGG_STAGE_TIMEOUT_MS: String(STAGE_TIMEOUT_MS) });
  }, 120_000);

  afterAll(async () => {
    await server?.stop();
  });

  /** One SDK per party for the whole test: its secure-aggregation state lives in that instance. */
  function platforms(parties: DevParty[]): Map<string, TenzroPlatform> {
    return new Map(parties.map((party) => [party.partyId, sdkFor(server, party)]));
  }

  it('product-doc configuration: three banks and a regulator, noise on; everyone gets the same attested result', async () => {
    const parties = devParties(server);
    const banks = BANKS.map((b) => parties[b]!);
    const sdk = platforms([...banks, server.party(REGULATOR)]);
    const bankA = sdk.get(banks[0]!.partyId)!;
    const session = await bankA.ai.createMultiPartySession({
      name: 'Secure aggregation, product doc',
      modelId: 'risk-analyzer-v2',
      participants: banks.map((b) => b.partyId),
      observers: [REGULATOR],
      dataPolicy: { aggregationMethod: 'secure_aggregation', secureAggConfig: { threshold: 2, noiseAddition: true } },
    });
    const partitions = demoPartitions(1_500, 7);
    const receipts = await Promise.all(
      banks.map((b) => sdk.get(b.partyId)!.ai.contribute({ sessionId: session.id, data: partitions[b.tenantId], dataSchema: 'transaction_records_v1' })),
    );
    for (const receipt of receipts) expect(receipt.dataSchema).toBe('tenzro.secagg.masked-input/v1');
    for (const b of banks) await sdk.get(b.partyId)!.ai.consent(session.id);

    const [result, ...answers] = await Promise.all([
      bankA.ai.runMultiPartyInference({ sessionId: session.id, prompt: 'Where does structuring concentrate?' }),
      ...banks.map((b) => sdk.get(b.partyId)!.ai.participate(session.id)),
    ]);
    for (const answer of answers) expect(answer.status).toBe('completed');
    expect(result.participantCount).toBe(3);
    const findings = result.findings as Record<string, any>;
    expect(findings.privacy).toMatchObject({ mechanism: 'skellam', delta: 1e-5, survivors: 3, threshold: 2 });
    expect(findings.privacy.epsilon).toBeLessThanOrEqual(1);
    expect(JSON.stringify(findings.capabilities)).toMatch(/mule|link/i);
    // Nothing per party: no private findings, and the regulator reads the very same content.
    const regulator = await sdk.get(REGULATOR)!.ai.getSessionResult(session.id);
    expect(regulator.content).toBe(result.content);
    expect(regulator.aggregatedDataHash).toBe(result.aggregatedDataHash);
    for (const b of banks.slice(1)) expect((await sdk.get(b.partyId)!.ai.getSessionResult(session.id)).content).toBe(result.content);
    // The audit trail verifies end to end, the deletion of the unmask answers included.
    const verdict = await bankA.audit.verifySession(session.id);
    expect(verdict.firstFailure).toBeNull();

    // What the enclave saw: three masked vectors, none of them an encoding of statistics.
    const [capture] = capturesOf(captureDir, session.id);
    expect(capture!.maskedInputs.map((m) => m.partyId).sort()).toEqual(banks.map((b) => b.partyId).sort());
    for (const { maskedInput } of capture!.maskedInputs) {
      const bytes = fromBase64Url(maskedInput);
      expect(bytes.length).toBe(layout.ringLength * 4);
      expect(chiSquareBytes(bytes)).toBeLessThan(400); // df 255: p ≈ 1e-8
    }
  }, 180_000);

  it('masks cancel on the demo data: the enclave decodes exactly the plain sum of the statistics (no noise)', async () => {
    const parties = devParties(server);
    const banks = BANKS.map((b) => parties[b]!);
    const sdk = platforms(banks);
    const session = await sdk.get(banks[0]!.partyId)!.ai.createMultiPartySession({
      name: 'Secure aggregation, exact sum',
      modelId: 'risk-analyzer-v2',
      participants: banks.map((b) => b.partyId),
      dataPolicy: { aggregationMethod: 'secure_aggregation', secureAggConfig: { threshold: 2, noiseAddition: false } },
    });
    const partitions = demoPartitions(800, 3);
    await Promise.all(banks.map((b) => sdk.get(b.partyId)!.ai.contribute({ sessionId: session.id, data: partitions[b.tenantId], dataSchema: 'transaction_records_v1' })));
    for (const b of banks) await sdk.get(b.partyId)!.ai.consent(session.id);
    const [result] = await Promise.all([
      sdk.get(banks[0]!.partyId)!.ai.runMultiPartyInference({ sessionId: session.id, prompt: 'pooled statistics' }),
      ...banks.map((b) => sdk.get(b.partyId)!.ai.participate(session.id)),
    ]);
    expect((result.findings as any).privacy.mechanism).toBe('none');
    const [capture] = capturesOf(captureDir, session.id);
    const sum = ringVectorFromBytes(fromBase64Url(capture!.sum!));
    const byTenant = Object.fromEntries(banks.map((b) => [b.partyId, partitions[b.tenantId]!]));
    expect(decodeStatisticSum(layout, sum, 3)).toEqual(plainSum(byTenant, banks.map((b) => b.partyId)));
    // And each masked vector differs from the party's own encoding in nearly every entry.
    for (const { partyId, maskedInput } of capture!.maskedInputs) {
      const masked = ringVectorFromBytes(fromBase64Url(maskedInput));
      const own = encodeStatistics(layout, computeStatistics(layout, byTenant[partyId]!));
      const same = own.filter((v, i) => v === masked[i]).length;
      expect(same).toBeLessThan(3);
    }
  }, 180_000);

  it('a plain encrypted upload on such a session is refused and tells the caller to use contribute', async () => {
    const parties = devParties(server);
    const bankA = sdkFor(server, parties.bankA!);
    const session = await bankA.ai.createMultiPartySession({
      name: 'Secure aggregation, plain upload',
      modelId: 'risk-analyzer-v2',
      participants: BANKS.map((b) => parties[b]!.partyId),
      dataPolicy: { aggregationMethod: 'secure_aggregation', secureAggConfig: { threshold: 2, noiseAddition: false } },
    });
    const key = await bankA.ai.getSessionKey(session.id);
    const { encryptWithSessionKey, hashCommitment } = await import('@tenzro/platform');
    const records = demoPartitions(100, 1).bankA!;
    const error = await bankA.ai
      .submitSessionData({ sessionId: session.id, data: await encryptWithSessionKey(JSON.stringify(records), key.publicKey), dataSchema: 'transaction_records_v1', commitment: await hashCommitment(records) })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TenzroApiError);
    expect((error as TenzroApiError).code).toBe('secure_aggregation_required');
    expect((error as TenzroApiError).message).toMatch(/contribute/);
    const status = await bankA.ai.getSessionStatus(session.id);
    expect(status.dataSubmittedBy).toEqual([]);
  }, 60_000);

  describe('five parties, threshold 3', () => {
    let extra: { identity: PartyIdentity; party: DevParty }[];

    beforeAll(async () => {
      const parties = devParties(server);
      extra = [];
      for (const tenant of ['bankA', 'bankB'] as const) {
        const identity = await generatePartyIdentity(`party::${tenant}::branch2`);
        await sdkFor(server, parties[tenant]!).registerParty(identity);
        extra.push({ identity, party: { ...parties[tenant]!, partyId: identity.partyId } });
      }
    });

    function sdkOf(party: DevParty, identity?: PartyIdentity): TenzroPlatform {
      if (!identity) return sdkFor(server, party);
      return new TenzroPlatform({
        apiKey: party.apiKey,
        tenantId: party.tenantId,
        baseUrl: server.baseUrl,
        party: identity,
        trustedRoots: [server.credentials().attestation.rootPem],
        expectedMeasurements: [server.credentials().attestation.measurement],
      });
    }

    async function fiveParty(name: string) {
      const parties = devParties(server);
      const members = [
        ...BANKS.map((b) => ({ party: parties[b]!, sdk: sdkOf(parties[b]!) })),
        ...extra.map((e) => ({ party: e.party, sdk: sdkOf(e.party, e.identity) })),
      ];
      const session = await members[0]!.sdk.ai.createMultiPartySession({
        name,
        modelId: 'risk-analyzer-v2',
        participants: members.map((m) => m.party.partyId),
        dataPolicy: { minParticipants: 3, aggregationMethod: 'secure_aggregation', secureAggConfig: { threshold: 3, noiseAddition: false } },
      });
      const data = demoPartitions(300, 5);
      const records = [data.bankA!, data.bankB!, data.bankC!, data.bankA!.slice(0, 150), data.bankB!.slice(0, 150)];
      return { session, members, records };
    }

    it('one party drops before its masked input and one after it: the sum of the four included parties is exact', async () => {
      const { session, members, records } = await fiveParty('Secure aggregation, dropouts');
      const [a, b, c, d, e] = members;
      // d leaves after sharing keys: it runs stages 0 and 1 by hand and never sends a masked input.
      const asD = { ...d!.party, partyId: d!.party.partyId };
      const partyHeader = { 'x-tenzro-party-id': d!.party.partyId };
      const terms = (await http(server, asD, 'GET', `/v1/sessions/${session.id}`, undefined, partyHeader)).body.terms;
      const config = secAggConfigOf(terms, layout.ringLength);
      const signingKey = fromBase64Url(extra[0]!.identity.signingKey.privateKey);
      const advertised = advertiseKeys({ config, partyId: d!.party.partyId, signingKey });
      const others = [a, b, c, e].map((m, i) =>
        m!.sdk.ai.contribute({ sessionId: session.id, data: records[[0, 1, 2, 4][i]!], dataSchema: 'transaction_records_v1' }),
      );
      expect((await http(server, asD, 'POST', `/v1/sessions/${session.id}/secagg/advertise`, advertised.message, partyHeader)).status).toBe(202);
      const waitForRound = async (ready: (round: any) => boolean) => {
        for (;;) {
          const round = (await http(server, asD, 'GET', `/v1/sessions/${session.id}/secagg`, undefined, partyHeader)).body;
          if (ready(round)) return round;
          await new Promise((r) => setTimeout(r, 50));
        }
      };
      const afterAdvertise = await waitForRound((round) => round.advertisements !== null);
      const shared = shareKeys(advertised.state, afterAdvertise.advertisements);
      expect((await http(server, asD, 'POST', `/v1/sessions/${session.id}/secagg/share-keys`, shared.message, partyHeader)).status).toBe(202);
      await Promise.all(others);
      const round = await waitForRound((r) => r.stage === 'awaiting-run');
      expect(round.sharedKeys).toContain(d!.party.partyId);
      expect([...round.maskedInputs].sort()).toEqual([a, b, c, e].map((m) => m!.party.partyId).sort());
      for (const m of [a, b, c, e]) await m!.sdk.ai.consent(session.id);
      // e drops after its masked input: it never answers the unmask stage.
      const [result] = await Promise.all([
        a!.sdk.ai.runMultiPartyInference({ sessionId: session.id, prompt: 'pooled statistics' }),
        ...[a, b, c].map((m) => m!.sdk.ai.participate(session.id)),
      ]);
      expect(result.participantCount).toBe(4);
      const [capture] = capturesOf(captureDir, session.id);
      const included = [0, 1, 2, 4].map((i) => records[i]!);
      const expected = new Array<number>(layout.statisticCount).fill(0);
      for (const r of included) computeStatistics(layout, r).forEach((v, i) => (expected[i]! += v));
      expect(decodeStatisticSum(layout, ringVectorFromBytes(fromBase64Url(capture!.sum!)), 4)).toEqual(expected);
      // d's pairwise key was reconstructed (it dropped), e's self mask (its input counts); never both for one party.
      const kinds = new Map<string, Set<string>>();
      for (const share of capture!.shares) kinds.set(share.of, (kinds.get(share.of) ?? new Set()).add(share.kind));
      for (const set of kinds.values()) expect(set.size).toBe(1);
      expect([...(kinds.get(d!.party.partyId) ?? [])]).toEqual(['pairwise-key']);
    }, 240_000);

    it('below the threshold at the unmask stage the run fails with a clear error', async () => {
      const { session, members, records } = await fiveParty('Secure aggregation, below threshold');
      const contributors = members.slice(0, 3);
      await Promise.all(contributors.map((m, i) => m.sdk.ai.contribute({ sessionId: session.id, data: records[i], dataSchema: 'transaction_records_v1' })));
      for (const m of contributors) await m.sdk.ai.consent(session.id);
      // Only two of the three survivors answer: 2 < threshold 3.
      const [outcome] = await Promise.all([
        contributors[0]!.sdk.ai.runMultiPartyInference({ sessionId: session.id, prompt: 'pooled statistics' }).catch((e: unknown) => e),
        ...contributors.slice(0, 2).map((m) => m.sdk.ai.participate(session.id)),
      ]);
      expect(outcome).toBeInstanceOf(Error);
      const status = await contributors[0]!.sdk.ai.getSessionStatus(session.id);
      expect(status.lastRun?.status).toBe('failed');
      expect(status.lastRun?.error?.code).toBe('secagg_below_threshold');
    }, 240_000);
  });
});
