/** The promqltest DSL runner on small scripts (the real scripts run in test/integration/promqltest.test.ts). */
import { describe, expect, it } from 'vitest';
import { parseSeriesDesc, runScript } from '../../support/promqltest.ts';

describe('promqltest runner', () => {
  it('expands series descriptions as promtool does', () => {
    expect(parseSeriesDesc('m{a="x", "b.c"="y"} 1+2x3 _ stale -1x1 _x2 Inf', 'f', 1)).toEqual({
      labels: { __name__: 'm', a: 'x', 'b.c': 'y' },
      points: [1, 3, 5, 7, 'omitted', 'stale', -1, -1, 'omitted', 'omitted', Infinity],
    });
    expect(parseSeriesDesc('{"quoted.name", l="v"} 0', 'f', 1).labels).toEqual({ __name__: 'quoted.name', l: 'v' });
    expect(parseSeriesDesc('h {{schema:0 sum:1 count:1}}x2', 'f', 1).points).toEqual(['histogram']);
  });

  it('classifies passes, wrong answers, refusals and skips', () => {
    const script = [
      'load 1m',
      '  m{a="x"} 0+1x10',
      '',
      'eval instant at 5m m',
      '  m{a="x"} 5',
      '',
      'eval instant at 5m m',
      '  m{a="x"} 6',
      '',
      'eval range from 0 to 2m step 1m m * 2',
      '  {a="x"} 0 2 4',
      '',
      'eval instant at 5m limitk(1, m)',
      '  m{a="x"} 5',
      '',
      'eval instant at 5m m +',
      '  expect fail',
      '',
      'clear',
      'load 1m',
      '  h {{schema:0 sum:1 count:1}}',
      '',
      'eval instant at 0 h',
      '  {} 1',
    ].join('\n');
    expect(runScript(script, 't.test').map((r) => [r.line, r.status])).toEqual([
      [4, 'pass'],
      [7, 'wrong'],
      [10, 'pass'],
      [13, 'refused'],
      [16, 'pass'],
      [23, 'skipped'],
    ]);
  });
});
