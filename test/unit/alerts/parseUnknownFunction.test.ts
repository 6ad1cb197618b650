/** Issue 11 (CLI input): a rule calling a function the engine does not know names it, instead of "unexpected token". */
import { describe, expect, it } from 'vitest';
import { parsePromQL } from '../../../alerts/promql/parse.ts';

describe('unknown functions', () => {
  it('names the unknown function and what is supported', () => {
    expect(() => parsePromQL('frobnicate(x)')).toThrow(/unknown function "frobnicate" \(supported: rate, /);
    expect(() => parsePromQL('sum(rate(x[5m])) / frobnicate(y)')).toThrow(/unknown function "frobnicate"/);
  });
  it('still says "unexpected" for plain syntax errors and accepts aggregations', () => {
    expect(() => parsePromQL('rate(x[5m]')).toThrow(/unexpected end of input/);
    expect(() => parsePromQL('sum by (a) (x)')).not.toThrow();
  });
});
