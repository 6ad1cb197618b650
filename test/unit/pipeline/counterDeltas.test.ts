import { describe, expect, it } from 'vitest';
import type { Sample } from '../../../core/samples.ts';
import { createCounterTracker, isCounterSample, type LookupRequest } from '../../../pipeline/counterDeltas.ts';

const s = (metric: string, t: number, value: number, labels: Record<string, string> = { faculty: 'f' }): Sample => ({ metric, labels, timestampMs: t, value });

describe('counter tracker', () => {
  it('Prometheus increases: first point 0, reset = new value, stale or duplicate points 0, gauges 0', async () => {
    const tr = createCounterTracker();
    const p = await tr.compute([[s('r_total', 1, 10), s('r_total', 2, 15), s('r_total', 3, 4), s('r_total', 3, 4), s('r_total', 2, 100), s('g', 4, 7), s('r_total', 5, 6)]]);
    expect([...p.deltas[0]!]).toEqual([0, 5, 4, 0, 0, 0, 2]);
  });

  it('state moves only on commit: an unacknowledged chunk computed again gives the same increases', async () => {
    const tr = createCounterTracker();
    (await tr.compute([[s('r_total', 1, 10)]])).commit();
    const a = await tr.compute([[s('r_total', 2, 13)], [s('r_total', 3, 20)]]);
    const b = await tr.compute([[s('r_total', 2, 13)], [s('r_total', 3, 20)]]);
    expect(a.deltas.map((d) => [...d])).toEqual([[3], [7]]);
    expect(b.deltas.map((d) => [...d])).toEqual([[3], [7]]);
    b.commit();
    b.commit();
    expect([...(await tr.compute([[s('r_total', 4, 21)]])).deltas[0]!]).toEqual([1]);
  });

  it('a miss is looked up once per chunk, before the series first point in it; forget() drops a scope', async () => {
    const asked: LookupRequest[][] = [];
    const tr = createCounterTracker({
      lookup: async (reqs) => {
        asked.push([...reqs]);
        return new Map(reqs.map((r) => [r.key, { timestampMs: r.beforeMs - 1, value: 100 }]));
      },
    });
    const p = await tr.compute([[s('r_total', 10, 104), s('r_total', 11, 110)], [s('x_count', 12, 1)]], { scope: 'p0' });
    expect(asked).toHaveLength(1);
    expect(asked[0]!.map((r) => [r.metric, r.beforeMs])).toEqual([
      ['r_total', 10],
      ['x_count', 12],
    ]);
    expect(p.deltas.map((d) => [...d])).toEqual([[4, 6], [1]]);
    p.commit();
    await tr.compute([[s('r_total', 13, 111)]], { scope: 'p0' });
    expect(asked).toHaveLength(1);
    tr.forget('p0');
    expect(tr.size()).toBe(0);
    await tr.compute([[s('r_total', 14, 111)]], { scope: 'p0' });
    expect(asked).toHaveLength(2);
  });

  it('keeps at most maxSeries, least recently written out first', async () => {
    const tr = createCounterTracker({ maxSeries: 2 });
    for (const n of ['a', 'b', 'c']) (await tr.compute([[s('r_total', 1, 1, { n })]])).commit();
    expect(tr.size()).toBe(2);
    // 'a' was evicted: its next point starts over (0), 'c' is still known.
    expect([...(await tr.compute([[s('r_total', 2, 5, { n: 'a' }), s('r_total', 2, 5, { n: 'c' })]])).deltas[0]!]).toEqual([0, 4]);
  });

  it('counter by suffix when decode gave no hint', () => {
    expect(['a_total', 'a_count', 'a_sum', 'a_bucket', 'a', 'a_bytes'].map((m) => isCounterSample(s(m, 0, 0)))).toEqual([true, true, true, true, false, false]);
  });
});
