// The use-case kit (kit.ts) on the toy spec of kit.fixture.ts: layout and sensitivities, digest, the three
// methods (federated sum with and without Gaussian DP, secure_aggregation on an encoded + decoded sum, mpc),
// input errors, the release policy with the model's identifiersOf and minGroupSize, and the registries.
import { calibrateNoiseMultiplier, canonicalBytes, sampleSkellam, sha256Hex } from '@tenzro/crypto';
import { describe, expect, it } from 'vitest';
import {
  ModelRunError,
  aggregateLayoutOf,
  checkRelease,
  computeStatistics,
  decodeStatisticSum,
  defineUseCaseModel,
  encodeStatistics,
  getDataSchema,
  getModel,
  listDataSchemas,
  listModels,
  seededRng,
  useCaseModels,
  type FederatedRunInput,
  type FederatedSumPrivacyReport,
  type ModelOutput,
  type MpcPrivacyReport,
  type MpcRunInput,
  type SecureAggregationPrivacyReport,
  type SecureAggregationRunInput,
  type SkellamNoiseConfig,
  type SummedStatistics,
  type UseCaseModelSpec,
} from '../index.js';
import { TOY_MIN_GROUP_SIZE, TOY_SCALE, TOY_SCHEMA_ID, toySpec, type ToyDelivery } from './kit.fixture.js';

/** Golden digest of the toy spec: changes only when the toy, the kit's spec object or JCS changes. */
const TOY_DIGEST = 'sha256:c1074df82c283315f9839d637cffb05536ac0056af09e0b55f3fab36365acf88';

const toy = defineUseCaseModel(toySpec());
const { model, layout } = toy;
const demo = toySpec().generateDemo();
const partitions = demo.partitions;
const NO_DP = { localEpochs: 1, aggregationRounds: 1, differentialPrivacy: { enabled: false, epsilon: 1, delta: 1e-5 } };
const DP = { localEpochs: 1, aggregationRounds: 1, differentialPrivacy: { enabled: true, epsilon: 1, delta: 1e-5 } };

function federated(over: Partial<FederatedRunInput<unknown>> = {}): FederatedRunInput<unknown> {
  return { method: 'federated', partitions, federated: NO_DP, prompt: 'late deliveries', parameters: {}, rng: seededRng(1), ...over };
}

const vectorOf = (records: readonly ToyDelivery[]): number[] => toySpec().partyStatistics(records);
const exactSum = (): number[] => partitions.map((p) => vectorOf(p.records)).reduce((a, b) => a.map((x, i) => x + b[i]!));
const totalRecords = partitions.reduce((n, p) => n + p.records.length, 0);

/** A toy model (own id) whose analyse also hands the sum it received to `seen`. */
function capturing(id: string, seen: SummedStatistics[]): ReturnType<typeof defineUseCaseModel<ToyDelivery>> {
  const base = toySpec();
  return defineUseCaseModel(toySpec({ id, analyse: (sum) => (seen.push(sum), base.analyse(sum)) }));
}

async function refusal(p: Promise<unknown>): Promise<ModelRunError> {
  const error = await p.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(ModelRunError);
  return error as ModelRunError;
}

describe('layout', () => {
  it('declares the toy statistics in order with the secure-aggregation bounds', () => {
    expect(layout.id).toBe('toy-deliveries/aggregates/v1');
    expect(layout.modelId).toBe('toy-deliveries');
    expect(layout.version).toBe(1);
    expect(layout.scale).toBe(TOY_SCALE);
    expect(layout.limbBits).toBe(16);
    expect(layout.features).toEqual([]);
    expect(layout.entries.map((e) => e.name)).toEqual(['count:deliveries', 'count:late', 'sum:weight_kg', 'histogram:weight_light', 'histogram:weight_heavy']);
    expect(layout.entries[3]).toEqual({ name: 'histogram:weight_light', kind: 'histogram', perRecordMax: 10, group: 'weight' });
    expect(layout.statisticCount).toBe(5);
    expect(layout.ringLength).toBe(10);
    expect(layout.maxParties).toBe(128);
    expect(layout.maxValue).toBe(2 ** 40 - 1);
    expect(layout.maxNoiseMagnitude).toBe(2 ** 30 / 128);
    expect(layout.maxRecordsPerParty).toBe(1_000_000);
    expect(Object.isFrozen(layout) && Object.isFrozen(layout.entries)).toBe(true);
  });

  it('has l1/l2 sensitivities of one record, histogram groups counted once', () => {
    // ungrouped 10, 10, 500; group weight: max(10, 10)
    expect(layout.l1Sensitivity).toBe(10 + 10 + 500 + 10);
    expect(layout.l2Sensitivity).toBeCloseTo(Math.sqrt(100 + 100 + 250_000 + 100), 12);
  });

  it('caps maxRecordsPerParty where the largest perRecordMax would pass maxValue', () => {
    const big = defineUseCaseModel(toySpec({ id: 'toy-big', statistics: [{ name: 'sum:huge', kind: 'sum', perRecordMax: 2 ** 30 }] }));
    expect(big.layout.maxRecordsPerParty).toBe(Math.floor((2 ** 40 - 1) / 2 ** 30));
  });

  it('is what computeStatistics, encodeStatistics and decodeStatisticSum work with', () => {
    const own = partitions[0]!.records;
    expect(computeStatistics(layout, own)).toEqual(vectorOf(own));
    // a structured clone of the layout resolves too
    expect(computeStatistics(structuredClone(layout), own)).toEqual(vectorOf(own));
    const ring = partitions.map((p) => encodeStatistics(layout, computeStatistics(layout, p.records)));
    const sum = ring.reduce((a, b) => a.map((x, i) => (x + b[i]!) >>> 0));
    expect(decodeStatisticSum(layout, sum, ring.length)).toEqual(exactSum());
  });

  it('computeStatistics validates the records with the model schema and refuses out-of-bound vectors', () => {
    expect(() => computeStatistics(layout, [{ deliveryId: 'd', courierId: 'c', late: 'yes', weightKg: 1 }])).toThrow(new TypeError('records[0].late: must be a boolean'));
    expect(() => computeStatistics(layout, 'nope' as unknown as unknown[])).toThrow(new TypeError('records must be an array of toy_deliveries_v1 records'));
    const liar = defineUseCaseModel(toySpec({ id: 'toy-liar', partyStatistics: (rs) => [rs.length * 11, 0, 0, 0, 0] }));
    expect(() => computeStatistics(liar.layout, partitions[0]!.records)).toThrow(
      new RangeError('statistics[0] (statistic count:deliveries) must be an integer from 0 to 600 for 60 record(s)'),
    );
    const binned = defineUseCaseModel(toySpec({ id: 'toy-two-bins', partyStatistics: (rs) => [rs.length * 10, 0, 0, rs.length * 10, 10] }));
    expect(() => computeStatistics(binned.layout, partitions[0]!.records)).toThrow(new RangeError('statistics: histogram group weight adds up to more than 600 for 60 record(s)'));
  });
});

describe('spec checks', () => {
  const cases: [string, Partial<UseCaseModelSpec<ToyDelivery>>, Error][] = [
    ['id', { id: 'Toy Model' }, new RangeError('spec.id must be 1 to 64 characters of [a-z0-9-], starting and ending with a letter or digit')],
    ['version', { version: 'v1' }, new RangeError('spec.version must be a semantic version (MAJOR.MINOR.PATCH)')],
    ['useCase', { useCase: 'weather' as never }, new RangeError('spec.useCase must be one of risk-analysis, supply-chain, healthcare-research, compliance')],
    ['statistics empty', { statistics: [] }, new RangeError('spec.statistics must declare at least one statistic')],
    ['statistic name', { statistics: [{ name: 'count records', kind: 'count', perRecordMax: 1 }] }, new RangeError('spec.statistics[0].name must be 1 to 120 characters of [A-Za-z0-9_:*.-]')],
    [
      'duplicate statistic',
      { statistics: [{ name: 'count:a', kind: 'count', perRecordMax: 1 }, { name: 'count:a', kind: 'count', perRecordMax: 1 }] },
      new RangeError("spec.statistics[1].name repeats an earlier statistic's name"),
    ],
    ['kind', { statistics: [{ name: 'count:a', kind: 'median' as never, perRecordMax: 1 }] }, new RangeError('spec.statistics[0].kind must be one of count, sum, sum_squares, cross_product, histogram')],
    ['perRecordMax', { statistics: [{ name: 'count:a', kind: 'count', perRecordMax: 0 }] }, new RangeError('spec.statistics[0].perRecordMax must be a positive integer')],
    ['scale', { scale: 0.5 }, new RangeError('spec.scale must be a positive integer')],
    ['minGroupSize', { minGroupSize: 0 }, new RangeError('spec.minGroupSize must be at least 1')],
    ['constants', { constants: { when: new Date(0) } as never }, new TypeError('spec.constants must be plain JSON')],
    ['analyse', { analyse: undefined as never }, new TypeError('spec.analyse must be a function')],
    ['identifierFields', { identifierFields: [''] as never }, new TypeError('spec.identifierFields must be an array of field names')],
  ];
  for (const [what, over, error] of cases) {
    it(`refuses a bad ${what}, naming the field`, () => {
      let thrown: unknown;
      try {
        defineUseCaseModel(toySpec({ id: `toy-bad-${what.toLowerCase().replace(/\W+/g, '-')}`, ...over }));
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(error.constructor);
      expect((thrown as Error).message.startsWith(error.message)).toBe(true);
    });
  }

  it('refuses a non-object spec and another model under an id in use', () => {
    expect(() => defineUseCaseModel(null as never)).toThrow(new TypeError('spec must be a use-case model spec object'));
    expect(() => defineUseCaseModel(toySpec({ constants: { heavyKg: 25 } }))).toThrow(TypeError);
    expect(() => defineUseCaseModel(toySpec({ id: 'risk-analyzer-v2' }))).toThrow(new TypeError('layout id risk-analyzer-v2/aggregates/v1 is already taken by a built-in model'));
  });

  it('does not freeze or keep the caller\'s constants', () => {
    const constants = { heavyKg: 20 };
    const again = defineUseCaseModel(toySpec({ constants }));
    expect(Object.isFrozen(constants)).toBe(false);
    expect(again.model.spec.constants).not.toBe(constants);
  });
});

describe('ModelDefinition', () => {
  it('carries id, version, schema, methods, description, use case, minGroupSize', () => {
    expect(model.id).toBe('toy-deliveries');
    expect(model.version).toBe('1.0.0');
    expect(model.dataSchemas).toEqual([TOY_SCHEMA_ID]);
    expect(model.methods).toEqual(['federated', 'secure_aggregation', 'mpc']);
    expect(model.description).toBe(toySpec().description);
    expect(model.useCase).toBe('supply-chain');
    expect(model.minGroupSize).toBe(TOY_MIN_GROUP_SIZE);
    expect(model.identifiersOf!({ deliveryId: 'D-1', courierId: 'C-1', late: true, weightKg: 1 })).toEqual(['D-1', 'C-1']);
    expect(model.identifiersOf!('nope')).toEqual([]);
  });

  it('has a digest over the declared spec (RFC 8785), stable and golden', () => {
    expect(model.digest).toBe(`sha256:${sha256Hex(canonicalBytes(model.spec))}`);
    expect(defineUseCaseModel(toySpec()).model.digest).toBe(model.digest);
    expect(model.digest).toBe(TOY_DIGEST);
    const spec = model.spec as Record<string, unknown>;
    expect(Object.keys(spec).sort()).toEqual(
      ['constants', 'description', 'id', 'identifierFields', 'kit', 'layout', 'methods', 'minGroupSize', 'privacy', 'scale', 'schemaDigest', 'schemas', 'statistics', 'useCase', 'version'],
    );
    expect(spec.schemas).toEqual([TOY_SCHEMA_ID]);
    expect(spec.constants).toEqual({ heavyKg: 20 });
    expect(spec.minGroupSize).toBe(TOY_MIN_GROUP_SIZE);
    expect(spec.statistics).toEqual(layout.entries);
    expect(spec.layout).toEqual({ id: layout.id, digest: `sha256:${sha256Hex(canonicalBytes(layout))}` });
  });
});

describe('federated', () => {
  it('sums the parties\' own vectors in the enclave and analyses the exact sum', async () => {
    const seen: SummedStatistics[] = [];
    const m = capturing('toy-capture-federated', seen).model;
    const out = (await m.run(federated())) as ModelOutput<FederatedSumPrivacyReport>;
    expect(seen).toHaveLength(1);
    expect(seen[0]!.values).toEqual(exactSum());
    expect(seen[0]!.parties).toBe(3);
    expect(seen[0]!.noiseStd).toBe(0);
    expect(seen[0]!.method).toBe('federated');
    expect(seen[0]!.get('count:late')).toBe(exactSum()[1]);
    expect(() => seen[0]!.get('count:nothing')).toThrow(RangeError);
    expect(out.shared.findings.deliveries).toEqual({ count: totalRecords, suppressed: false, stats: expect.any(Object) });
    expect(out.shared.findings.run).toEqual({
      model: { id: 'toy-capture-federated', version: '1.0.0' },
      method: 'federated',
      participants: 3,
      generation: { maxTokens: 400, temperature: 0, backend: 'deterministic-template' },
    });
    expect(out.privacy).toEqual({
      mechanism: 'none', epsilon: null, epsilonSpent: null, delta: null, noiseMultiplier: 0, sigma: 0,
      l2Sensitivity: layout.l2Sensitivity, accountant: 'rdp', parties: 3, method: 'federated', unit: 'record',
    });
    const statement = (out.shared.findings.privacy as { statement: string }).statement;
    expect(statement).toMatch(/no noise was added, so the figures are not differentially private/);
    expect(out.shared.content.endsWith(statement)).toBe(true);
    // private findings: each party its own summary
    expect(Object.keys(out.privateFindings)).toEqual(['depotA', 'depotB', 'depotC']);
    expect(out.privateFindings.depotA).toEqual({ flagged: [], summary: expect.objectContaining({ deliveriesAnalysed: 60 }) });
  });

  it('adds Gaussian noise of sigma = z × l2 (RDP accountant, one release) with DP on', async () => {
    const z = calibrateNoiseMultiplier({ targetEpsilon: 1, delta: 1e-5, sampleRate: 1, steps: 1 });
    const sigma = z.noiseMultiplier * layout.l2Sensitivity;
    const seen: SummedStatistics[] = [];
    const m = capturing('toy-capture-dp', seen).model;
    const exact = exactSum();
    const deviations: number[] = [];
    let privacy: FederatedSumPrivacyReport | undefined;
    const RUNS = 300;
    for (let seed = 1; seed <= RUNS; seed++) {
      const out = (await m.run(federated({ federated: DP, rng: seededRng(seed) }))) as ModelOutput<FederatedSumPrivacyReport>;
      privacy = out.privacy;
      const values = seen[seen.length - 1]!.values;
      values.forEach((v, i) => {
        expect(Number.isInteger(v)).toBe(true);
        deviations.push(v - exact[i]!);
      });
    }
    expect(privacy).toMatchObject({ mechanism: 'gaussian', epsilon: 1, delta: 1e-5, noiseMultiplier: z.noiseMultiplier, accountant: 'rdp', unit: 'record', method: 'federated' });
    expect(privacy!.sigma).toBeCloseTo(sigma, 9);
    expect(privacy!.epsilonSpent!).toBeLessThanOrEqual(1);
    expect(seen[0]!.noiseStd).toBeCloseTo(sigma, 9);
    const n = deviations.length;
    const mean = deviations.reduce((a, b) => a + b, 0) / n;
    const std = Math.sqrt(deviations.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
    // 1500 draws: the sample std is within ±3.7% (2 standard errors); rounding adds 1/12 to the variance
    expect(Math.abs(std / sigma - 1)).toBeLessThan(0.06);
    expect(Math.abs(mean)).toBeLessThan((4 * sigma) / Math.sqrt(n));
  });

  it('refuses bad partitions with ModelRunError invalid_input naming the place', async () => {
    const one = await refusal(model.run(federated({ partitions: partitions.slice(0, 1) })));
    expect(one.code).toBe('invalid_input');
    expect(one.message).toBe('partitions must hold 2 to 128 parties, got 1');
    const bad = [partitions[0]!, { partyId: 'depotX', records: [{ deliveryId: 'd', courierId: 'c', late: true, weightKg: 99 }] }];
    const e = await refusal(model.run(federated({ partitions: bad as never })));
    expect(e.message).toBe('partitions[1] record 0 field weightKg: must be a number from 0 to 50');
    const dup = await refusal(model.run(federated({ partitions: [partitions[0]!, partitions[0]!] })));
    expect(dup.message).toBe('partitions[1].partyId duplicates an earlier partition');
    const liar = defineUseCaseModel(toySpec({ id: 'toy-liar-federated', partyStatistics: () => [1, 2, 3] }));
    const short = await refusal(liar.model.run(federated()));
    expect(short.message).toBe('partitions[0] statistics must hold 5 statistics, got 3');
    const thrower = defineUseCaseModel(toySpec({ id: 'toy-thrower', partyStatistics: () => { throw new RangeError('weight 51.2 of D-17 is out of range'); } }));
    const quiet = await refusal(thrower.model.run(federated()));
    expect(quiet.message).toBe("partitions[0]: the party's statistics are out of their declared bounds");
    await expect(model.run(federated({ federated: { ...DP, differentialPrivacy: { enabled: true, epsilon: 0, delta: 1e-5 } } }))).rejects.toThrow(
      new RangeError('federated.differentialPrivacy.epsilon must be > 0'),
    );
    await expect(model.run(federated({ rng: undefined as never }))).rejects.toThrow(TypeError);
  });

  it('refuses an analyse that writes the kit\'s own findings keys', async () => {
    const base = toySpec();
    const greedy = defineUseCaseModel(toySpec({ id: 'toy-greedy', analyse: (s) => ({ ...base.analyse(s), findings: { privacy: 'mine' } }) }));
    await expect(greedy.model.run(federated())).rejects.toThrow(new TypeError('toy-greedy: analyse findings must not use the kit\'s key "privacy"'));
  });
});

describe('secure_aggregation', () => {
  const encodedSum = (noiseVariance: number | null): number[] => {
    const ring = partitions.map((p) => {
      const values = computeStatistics(layout, p.records);
      return encodeStatistics(layout, values, noiseVariance === null ? undefined : sampleSkellam(noiseVariance, values.length));
    });
    return decodeStatisticSum(layout, ring.reduce((a, b) => a.map((x, i) => (x + b[i]!) >>> 0)), ring.length);
  };
  const input = (values: number[], noise: SkellamNoiseConfig | null, parties = ['depotA', 'depotB', 'depotC'], layoutId = layout.id): SecureAggregationRunInput => ({
    method: 'secure_aggregation',
    aggregate: { layoutId, values, parties, noise },
    prompt: '',
    parameters: {},
    rng: seededRng(1),
  });

  it('analyses the decoded exact sum', async () => {
    const values = encodedSum(null);
    expect(values).toEqual(exactSum());
    const out = (await model.run(input(values, null))) as ModelOutput<SecureAggregationPrivacyReport>;
    expect(out.shared.findings.deliveries).toMatchObject({ count: totalRecords, suppressed: false });
    expect(out.privacy).toEqual({ mechanism: 'none', variance: null, epsilon: null, delta: null, order: null, survivors: 3, threshold: null, unit: 'record' });
    expect(out.privateFindings).toEqual({});
    expect((out.shared.findings.run as { method: string }).method).toBe('secure_aggregation');
  });

  it('analyses a Skellam-noised sum, with the noise std from the protecting variance', async () => {
    const share = 200;
    const values = encodedSum(share);
    const noise: SkellamNoiseConfig = { mechanism: 'skellam', variance: share * 2, epsilon: 4, delta: 1e-5, order: 8, survivors: 3, threshold: 2 };
    const seen: SummedStatistics[] = [];
    const m = capturing('toy-capture-secagg', seen).model;
    const out = (await m.run(input(values, noise, undefined, 'toy-capture-secagg/aggregates/v1'))) as ModelOutput<SecureAggregationPrivacyReport>;
    expect(seen[0]!.noiseStd).toBeCloseTo(Math.sqrt(share * 3), 9);
    expect(seen[0]!.method).toBe('secure_aggregation');
    expect(out.privacy).toEqual({ mechanism: 'skellam', variance: 400, epsilon: 4, delta: 1e-5, order: 8, survivors: 3, threshold: 2, unit: 'record' });
    const count = (out.shared.findings.deliveries as { count: number }).count;
    expect(Math.abs(count - totalRecords)).toBeLessThanOrEqual(12); // noise std ≈ 2.4 deliveries
    expect((out.shared.findings.privacy as { statement: string }).statement).toMatch(/\(epsilon = 4, delta = 1e-5\)-differentially private for one record/);
  });

  it('refuses another layout, wrong lengths, one party and a negative exact sum', async () => {
    const values = exactSum();
    expect((await refusal(model.run({ ...input(values, null), aggregate: { ...input(values, null).aggregate, layoutId: 'risk-analyzer-v2/aggregates/v1' } }))).message).toBe(
      'aggregate.layoutId must be toy-deliveries/aggregates/v1',
    );
    expect((await refusal(model.run(input(values.slice(1), null)))).message).toBe('aggregate.values must hold 5 statistics');
    expect((await refusal(model.run(input(values, null, ['depotA'])))).message).toBe('aggregate.parties must list 2 to 128 included parties');
    expect((await refusal(model.run(input([-1, ...values.slice(1)], null)))).message).toBe('aggregate.values[0] (statistic count:deliveries) must be from 0 to 3298534883325 without noise');
  });
});

describe('mpc', () => {
  const input = (over: Partial<MpcRunInput['mpc']> = {}, noise: SkellamNoiseConfig | null = null, layoutId = layout.id): MpcRunInput => ({
    method: 'mpc',
    aggregate: { layoutId, values: exactSum(), parties: ['depotA', 'depotB', 'depotC'], noise },
    mpc: { threshold: 2, totalNodes: 3, nodesUsed: [3, 1], ...over },
    prompt: '',
    parameters: {},
    rng: seededRng(1),
  });

  it('analyses the reconstructed sum with an mpc privacy report', async () => {
    const seen: SummedStatistics[] = [];
    const out = (await capturing('toy-capture-mpc', seen).model.run(input({}, null, 'toy-capture-mpc/aggregates/v1'))) as ModelOutput<MpcPrivacyReport>;
    expect(seen[0]!.values).toEqual(exactSum());
    expect(seen[0]!.method).toBe('mpc');
    expect(seen[0]!.noiseStd).toBe(0);
    expect(out.privacy).toEqual({ mechanism: 'none', parties: 3, threshold: 2, totalNodes: 3, nodesUsed: [1, 3], unit: 'party_vector' });
    expect((out.shared.findings.privacy as { statement: string }).statement).toMatch(/Shamir-shared it among 3 attested compute nodes \(threshold 2/);
  });

  it('refuses noise, a bad threshold and too few nodes', async () => {
    const noise: SkellamNoiseConfig = { mechanism: 'skellam', variance: 1, epsilon: 1, delta: 1e-5, order: 2, survivors: 3, threshold: 2 };
    expect((await refusal(model.run(input({}, noise)))).message).toBe('aggregate.noise must be null under mpc (the compute nodes add no noise)');
    expect((await refusal(model.run(input({ threshold: 4 })))).message).toBe('mpc.threshold must be an integer from 2 to totalNodes');
    expect((await refusal(model.run(input({ nodesUsed: [1] })))).message).toBe('mpc.nodesUsed must list at least threshold nodes');
    expect((await refusal(model.run(input({ nodesUsed: [1, 1] })))).message).toBe('mpc.nodesUsed must list distinct node indices from 1 to totalNodes');
  });

  it('refuses an unknown method', async () => {
    const e = await refusal(model.run({ ...input(), method: 'pooled' } as never));
    expect(e.code).toBe('unsupported_method');
  });
});

describe('maxTokens cuts the analysis text, never the privacy statement', () => {
  const words = (text: string): number => text.split(/\s+/).filter((w) => w.length > 0).length;
  const statementOf = (out: ModelOutput): string => (out.shared.findings.privacy as { statement: string }).statement;
  const twoParties = partitions.slice(0, 2);
  const federatedTwo = (maxTokens: number): FederatedRunInput<unknown> => federated({ partitions: twoParties, parameters: { maxTokens } });
  const mpcTwo = (maxTokens: number, layoutId = layout.id): MpcRunInput => ({
    method: 'mpc',
    aggregate: { layoutId, values: twoParties.map((p) => vectorOf(p.records)).reduce((a, b) => a.map((x, i) => x + b[i]!)), parties: ['depotA', 'depotB'], noise: null },
    mpc: { threshold: 2, totalNodes: 3, nodesUsed: [1, 2] },
    prompt: '',
    parameters: { maxTokens },
    rng: seededRng(1),
  });
  const LONG = Array.from({ length: 40 }, (_, i) => `w${i}`).join(' ');
  const long = defineUseCaseModel(toySpec({ id: 'toy-long-narrative', analyse: (sum) => ({ ...toySpec().analyse(sum), content: LONG }) })).model;

  it('keeps the whole statement, the two-party note included, when maxTokens is smaller than it: the disclosure wins', async () => {
    for (const input of [federatedTwo(5), mpcTwo(5)]) {
      const out = await model.run(input);
      const statement = statementOf(out);
      expect(statement).toMatch(/so the figures are not differentially private/);
      expect(statement).toMatch(/With two parties, each can subtract its own statistics from the exact sum and learn the other's\.$/);
      expect(words(statement)).toBeGreaterThan(5);
      expect(out.shared.content).toBe(statement);
    }
  });

  it('cuts only the analysis text, marking the cut, so the content keeps to maxTokens with the statement whole', async () => {
    const statement = statementOf(await long.run(federatedTwo(400)));
    const S = words(statement);
    const cut = await long.run(federatedTwo(S + 10));
    expect(cut.shared.content).toBe(`w0 w1 w2 w3 w4 w5 w6 w7 w8 …\n\n${statement}`);
    expect(words(cut.shared.content)).toBe(S + 10);
    expect((await long.run(federatedTwo(S + 40))).shared.content).toBe(`${LONG}\n\n${statement}`);
    expect((await long.run(federatedTwo(S + 1))).shared.content).toBe(`…\n\n${statement}`);
    expect((await long.run(federatedTwo(S))).shared.content).toBe(statement);
    const mpcStatement = statementOf(await long.run(mpcTwo(400, 'toy-long-narrative/aggregates/v1')));
    expect((await long.run(mpcTwo(words(mpcStatement) + 3, 'toy-long-narrative/aggregates/v1'))).shared.content).toBe(`w0 w1 …\n\n${mpcStatement}`);
  });
});

describe('release policy with the model\'s identifiersOf and minGroupSize', () => {
  const options = { minGroupSize: model.minGroupSize!, identifiersOf: model.identifiersOf! };

  it('lets the toy\'s own output through', async () => {
    const out = await model.run(federated());
    expect(checkRelease(out, partitions, options)).toEqual({ ok: true });
  });

  it('refuses a record identifier that only identifiersOf knows', async () => {
    const out = await model.run(federated());
    const leaked = { ...out, shared: { ...out.shared, content: `${out.shared.content} Worst: ${partitions[1]!.records[4]!.deliveryId}.` } };
    expect(checkRelease(leaked, partitions, options)).toEqual({ ok: false, violations: ['shared.content: contains a record identifier'] });
    // the default (transaction records' ids) does not know a deliveryId
    expect(checkRelease(leaked, partitions)).toEqual({ ok: true });
    const courier = { ...out, privateFindings: { depotA: { flagged: [], summary: { note: partitions[2]!.records[0]!.courierId } } } };
    expect(checkRelease(courier, partitions, options)).toEqual({ ok: false, violations: ['privateFindings["depotA"].summary.note: contains an identifier of another party'] });
  });

  it('refuses an unsuppressed count below the spec\'s minGroupSize', async () => {
    const out = await model.run(federated());
    const small = { ...out, shared: { ...out.shared, findings: { ...out.shared.findings, lateDeliveries: { count: 4, suppressed: false, stats: null } } } };
    expect(checkRelease(small, partitions, options)).toEqual({
      ok: false,
      violations: [`shared.findings.lateDeliveries.count: aggregate over fewer than ${TOY_MIN_GROUP_SIZE} items is not suppressed`],
    });
    expect(checkRelease(small, partitions)).toEqual({ ok: true }); // default minGroupSize 3
  });

  it('suppresses small groups itself: a run over few deliveries releases no small count', async () => {
    const few = partitions.map((p) => ({ partyId: p.partyId, records: p.records.slice(0, 1) }));
    const out = await model.run(federated({ partitions: few }));
    expect(out.shared.findings.deliveries).toEqual({ count: null, suppressed: true, stats: null });
    expect(checkRelease(out, few, options)).toEqual({ ok: true });
  });

  it('checks identifiersOf\'s answers', () => {
    const out = { shared: { content: '', findings: {} }, privateFindings: {}, privacy: { mechanism: 'none', parties: 2, threshold: 2, totalNodes: 2, nodesUsed: [1, 2], unit: 'party_vector' } } as ModelOutput;
    expect(() => checkRelease(out, partitions, { identifiersOf: () => 'D-1' as never })).toThrow(new TypeError('identifiersOf must return an array of strings'));
  });
});

describe('registries', () => {
  it('list every carried use-case model with its layout and schema, and not the toy', () => {
    const carried = useCaseModels();
    expect(listModels().map((m) => m.id)).toEqual(['risk-analyzer-v2', ...carried.map((u) => u.model.id)]);
    for (const u of carried) {
      expect(getModel(u.model.id)).toBe(u.model);
      expect(aggregateLayoutOf(u.model.id)).toBe(u.layout);
      expect(getDataSchema(u.spec.schema.id)).toBe(u.spec.schema);
      expect(u.model.useCase).toBe(u.spec.useCase);
    }
    expect(listDataSchemas()).toEqual(['transaction_records_v1', ...carried.map((u) => u.spec.schema.id)]);
    expect(getModel(model.id)).toBeUndefined();
    expect(aggregateLayoutOf(model.id)).toBeUndefined();
    expect(getDataSchema(TOY_SCHEMA_ID)).toBeUndefined();
    expect(aggregateLayoutOf('risk-analyzer-v2')!.id).toBe('risk-analyzer-v2/aggregates/v1');
    expect(() => aggregateLayoutOf(1 as never)).toThrow(new TypeError('modelId must be a string'));
  });
});
