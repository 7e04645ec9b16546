import { getModel } from '@tenzro/models';
import { describe, expect, it } from 'vitest';
import { methodsOf } from './ops/hello.js';

describe('hello: the methods an enclave build announces', () => {
  const model = getModel('risk-analyzer-v2')!;

  it('announces mpc for risk-analyzer-v2 when it accepts some compute-node measurement', () => {
    expect(methodsOf(model, { mpcNodesTrusted: true })).toEqual(['federated', 'secure_aggregation', 'mpc']);
  });

  it('does not offer mpc when it trusts no node measurement (every node output would be set aside)', () => {
    expect(methodsOf(model, { mpcNodesTrusted: false })).toEqual(['federated', 'secure_aggregation']);
  });
});
