/** `expandMacros` reproduces the ClickHouse plugin's and Grafana's expansions. */
import { describe, expect, it } from 'vitest';
import { expandMacros } from '../../../dashboards/index.ts';

const from = Date.UTC(2026, 0, 12, 8, 30, 0, 250);
const to = Date.UTC(2026, 0, 12, 9, 30);
const ctx = { from, to, intervalMs: 60_000, vars: { faculty: 'sciences' } };

describe('expandMacros', () => {
  it('expands time filters and bounds in seconds, like the plugin', () => {
    expect(expandMacros('WHERE $__timeFilter(minute)', ctx)).toBe(
      `WHERE minute >= toDateTime(${Math.floor(from / 1000)}) AND minute <= toDateTime(${to / 1000})`,
    );
    expect(expandMacros('$__fromTime, $__toTime', ctx)).toBe(`toDateTime(${Math.floor(from / 1000)}), toDateTime(${to / 1000})`);
    expect(expandMacros('$__fromTime_ms $__timeFilter_ms(ts)', ctx)).toBe(
      `fromUnixTimestamp64Milli(${from}) ts >= fromUnixTimestamp64Milli(${from}) AND ts <= fromUnixTimestamp64Milli(${to})`,
    );
  });

  it('expands the interval macros, never below 1 s', () => {
    expect(expandMacros('$__timeInterval(minute)', { ...ctx, intervalMs: 300_000 })).toBe(
      'toStartOfInterval(toDateTime(minute), INTERVAL 300 second)',
    );
    expect(expandMacros('$__timeInterval(minute)', { ...ctx, intervalMs: 200 })).toBe(
      'toStartOfInterval(toDateTime(minute), INTERVAL 1 second)',
    );
    expect(expandMacros('$__interval_s', { ...ctx, intervalMs: 90_500 })).toBe('90');
    expect(expandMacros('$__timeInterval_ms(ts)', ctx)).toBe('toStartOfInterval(toDateTime64(ts, 3), INTERVAL 60000 millisecond)');
  });

  it('keeps nested parentheses inside a macro argument', () => {
    expect(expandMacros('$__timeFilter(toDateTime(ts))', ctx)).toMatch(/^toDateTime\(ts\) >= toDateTime\(\d+\) AND toDateTime\(ts\) <= /);
  });

  it('formats variables like Grafana', () => {
    expect(expandMacros('f = ${faculty:singlequote}', ctx)).toBe("f = 'sciences'");
    expect(expandMacros('f = ${faculty:singlequote}', { ...ctx, vars: { faculty: "l'école" } })).toBe("f = 'l\\'école'");
    expect(expandMacros('f IN (${faculty:singlequote})', { ...ctx, vars: { faculty: ['a', 'b'] } })).toBe("f IN ('a','b')");
    expect(expandMacros('$faculty/${faculty}/${faculty:sqlstring}', { ...ctx, vars: { faculty: "o'k" } })).toBe("o'k/o'k/'o''k'");
  });

  it('refuses what it cannot expand', () => {
    expect(() => expandMacros('${nope}', ctx)).toThrow(/nope/);
    expect(() => expandMacros('${faculty:percentencode}', ctx)).toThrow(/percentencode/);
    expect(() => expandMacros('$__unknownMacro(x)', ctx)).toThrow(/unknownMacro/);
    expect(() => expandMacros('$__timeFilter()', ctx)).toThrow(/1 argument/);
    expect(() => expandMacros('$__timeFilter(a', ctx)).toThrow(/unbalanced/);
  });
});
