/** Issue 11 (CLI input): a rule calling a function the engine does not know names it, instead of "unexpected token". */
import { describe, expect, it } from 'vitest';
import { parsePromQL } from '../../../rules/promql/parse.ts';

describe('unknown functions', () => {
  it('names the unknown function', () => {
    expect(() => parsePromQL('frobnicate(x)')).toThrow(/function "frobnicate" is not supported by the Vigie engine \(nor known to PromQL\)/);
    expect(() => parsePromQL('sum(rate(x[5m])) / frobnicate(y)')).toThrow(/function "frobnicate" is not supported/);
  });
  it('still says "unexpected" for plain syntax errors and accepts aggregations', () => {
    expect(() => parsePromQL('rate(x[5m]')).toThrow(/unexpected end of input/);
    expect(() => parsePromQL('sum by (a) (x)')).not.toThrow();
  });
});
