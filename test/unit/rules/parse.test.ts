import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { goRegExp, parsePromQL, PromQLError } from '../../../rules/promql/parse.ts';

function err(expr: string): PromQLError {
  try {
    parsePromQL(expr);
  } catch (e) {
    if (e instanceof PromQLError) return e;
    throw e;
  }
  throw new Error(`expected ${expr} to fail`);
}

describe('parsePromQL', () => {
  it('builds a typed AST with matchers, offset, grouping and vector matching', () => {
    const e = parsePromQL('sum by (faculty) (rate(foo{a="b",c=~"x.*"}[5m] offset 1m)) > bool on(faculty) group_left(x) bar');
    expect(e.kind).toBe('binary');
    if (e.kind !== 'binary') return;
    expect(e.op).toBe('>');
    expect(e.returnBool).toBe(true);
    expect(e.matching).toEqual({ card: 'many-to-one', on: true, labels: ['faculty'], include: ['x'] });
    const agg = e.lhs;
    expect(agg.kind).toBe('aggregate');
    if (agg.kind !== 'aggregate') return;
    expect(agg.grouping).toEqual(['faculty']);
    const call = agg.expr;
    expect(call.kind === 'call' && call.func).toBe('rate');
    if (call.kind !== 'call') return;
    const m = call.args[0]!;
    expect(m.kind).toBe('matrixSelector');
    if (m.kind !== 'matrixSelector') return;
    expect(m.rangeMs).toBe(300_000);
    expect(m.selector.offsetMs).toBe(60_000);
    expect(m.selector.name).toBe('foo');
    expect(m.selector.matchers.map((x) => [x.name, x.op, x.value])).toEqual([
      ['a', '=', 'b'],
      ['c', '=~', 'x.*'],
    ]);
    expect(m.selector.matchers[1]!.re!.test('xyz')).toBe(true);
    expect(m.selector.matchers[1]!.re!.test('axyz')).toBe(false); // anchored
  });

  it('parses modifiers after the aggregation body and {__name__=...} selectors', () => {
    const e = parsePromQL('sum({__name__="m", job!=""}) without (instance)');
    expect(e.kind === 'aggregate' && e.without).toBe(true);
    if (e.kind !== 'aggregate' || e.expr.kind !== 'vectorSelector') throw new Error('shape');
    expect(e.expr.name).toBe('m');
    expect(e.expr.matchers).toHaveLength(1);
  });

  it('reports syntax errors with position and offending text', () => {
    const e = err('rate(foo[5m) + 1');
    expect(e.message).toMatch(/position \d+/);
    expect(e.position).toBeGreaterThan(5);
    const e2 = err('sum(foo) +');
    expect(e2.message).toContain('end of input');
    expect(e2.message).toContain('sum(foo) +');
  });

  it('rejects unsupported functions, subqueries and type errors with the reason', () => {
    expect(err('histogram_avg(foo)').message).toMatch(/function "histogram_avg" is not supported/);
    expect(err('histogram_avg(foo)').offending).toBe('histogram_avg');
    expect(err('max_over_time(sum(foo)[10m:1m] @ 5 @ 6)').message).toMatch(/@ <timestamp> may not be set multiple times/);
    expect(err('changes(foo[5m] smoothed)').message).toMatch(/smoothed modifier can only be used with: delta, increase, rate - not with changes/);
    expect(err('rate(foo)').message).toMatch(/rate\(\) argument 1 must be a range vector, got an instant vector/);
    expect(err('foo[5m]').message).toMatch(/range vector/);
    expect(err('1 > 2').message).toMatch(/bool modifier/);
    expect(err('foo and 1').message).toMatch(/set operator/);
    expect(err('{job=~".*"}').message).toMatch(/non-empty matcher/);
    expect(err('foo{a=~"("}').message).toMatch(/invalid regular expression/);
  });

  it('names the construct of valid PromQL it does not evaluate, so rule loading can refuse it', () => {
    const cases: [string, string][] = [
      ['histogram_count(foo)', 'function histogram_count()'],
      ['foo.bar{a="b"}', 'unquoted UTF-8 names'],
      ['foo[5m]', 'range vector as the result'],
      ['limitk(2, foo)', 'aggregation limitk'],
      ['foo[step()]', 'duration expression with step()/range()/min_of()/max_of()'],
    ];
    for (const [expr, construct] of cases) expect(err(expr).unsupported, expr).toBe(construct);
    // A plain syntax error is not an unsupported construct.
    expect(err('sum(foo) +').unsupported).toBeUndefined();
  });

  it('accepts the Prometheus 3 constructs rule authors use', () => {
    for (const expr of [
      'max_over_time(sum(foo)[10m:1m] offset 5m)',
      'foo @ 1700000000 + bar offset 1m',
      'rate(foo[5m] @ end())',
      'left + on(job) group_left fill_right(0) right',
      'increase(foo[1m] anchored)',
      'rate(foo[5m+30s] offset (1m*2))',
      'label_replace(foo, "a", "$1", "b", "(.*)")',
      'quantile_over_time(0.9, foo[5m])',
      'count_values("v", foo) and stddev(foo) > 0',
      'a offset 15m or b offset 45m',
      '- - - 1',
      'info(foo, {data=~".+"})',
    ]) {
      expect(() => parsePromQL(expr), expr).not.toThrow();
    }
  });

  it('never throws anything but PromQLError on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), (s) => {
        try {
          parsePromQL(s);
        } catch (e) {
          expect(e).toBeInstanceOf(PromQLError);
        }
      }),
      { numRuns: 300 },
    );
  });
});

describe('goRegExp', () => {
  it('anchors like Prometheus and rewrites Go-only syntax', () => {
    expect(goRegExp('a.c').test('a\nc')).toBe(true); // (?s): dot matches newline
    expect(goRegExp('ab').test('xab')).toBe(false); // anchored
    expect(goRegExp('(?i)pro.*').test('PROduction')).toBe(true);
    expect(goRegExp('.*(?i:duc).*').test('proDUCtion')).toBe(true);
    expect(goRegExp('(?i:a)b').test('AB')).toBe(false); // scope ends with the group
    expect(goRegExp('(?i)[a-c]x').test('BX')).toBe(true);
    expect(goRegExp('(?P<n>x+)').exec('xx')?.groups?.['n']).toBe('xx');
    expect(() => goRegExp('(?U)a')).toThrow(/unsupported regex flags/);
  });
});
