import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import type { Sample } from '../../../core/samples.ts';
import { createRuleEngine, type AlertTransition } from '../../../rules/engine.ts';
import { ruleWindows, windowCoverage } from '../../../rules/coverage.ts';
import { loadRuleFile, parseRuleFile, requiredRetentionByMetric, requiredRetentionMs, type AlertingRule } from '../../../rules/ruleFile.ts';
import { createSeriesStore } from '../../../rules/windows.ts';
import { T0 } from './helpers.ts';

const DEFAULT = fileURLToPath(new URL('../../../rules/packs/default.yml', import.meta.url));
const MIN = 60_000;

/** Request counters of faculty `vet` every 15 s from `from` to `to`, `errShare` of them 503; `skip(t)` drops scrapes. */
function requests(from: number, to: number, errShare: (t: number) => number, skip: (t: number) => boolean = () => false): Sample[][] {
  const out: Sample[][] = [];
  const total = { ok: 0, err: 0 };
  for (let t = from; t <= to; t += 15_000) {
    const e = errShare(t);
    total.ok += 1500 * (1 - e);
    total.err += 1500 * e;
    if (skip(t)) {
      out.push([]);
      continue;
    }
    const l = { faculty: 'vet', server: 'vet-1', instance: 'vet-1' };
    out.push([
      { metric: 'http_server_request_duration_count', labels: { ...l, http_response_status_code: '200' }, timestampMs: t, value: total.ok },
      { metric: 'http_server_request_duration_count', labels: { ...l, http_response_status_code: '503' }, timestampMs: t, value: total.err },
    ]);
  }
  return out;
}

async function replay(rulesText: string | null, batches: Sample[][], from: number, coverage?: false): Promise<AlertTransition[]> {
  const groups = rulesText === null ? await loadRuleFile(DEFAULT) : parseRuleFile(rulesText);
  const store = createSeriesStore({ retentionMs: requiredRetentionMs(groups) + MIN, retentionByMetricMs: requiredRetentionByMetric(groups) });
  const transitions: AlertTransition[] = [];
  const engine = createRuleEngine({ groups, store, onTransitions: (t) => void transitions.push(...t), ...(coverage === false ? { coverage } : {}) });
  let t = from;
  for (const b of batches) {
    store.add(b);
    await engine.evaluate(t).delivered;
    t += 15_000;
  }
  return transitions;
}

const firing = (ts: readonly AlertTransition[], rule: string) => ts.filter((t) => t.rule === rule && t.state === 'firing').map((t) => (t.at - T0) / MIN);

describe('cold-start and gap guard', () => {
  it('finds the windows an alert reads through recording rules', async () => {
    const groups = await loadRuleFile(DEFAULT);
    const slow = groups.flatMap((g) => g.rules).find((r) => r.name === 'FacultyErrorBudgetSlowBurn') as AlertingRule;
    const w = ruleWindows(groups).get(slow)!.map((x) => `${x.metric}[${x.rangeMs / MIN}m]`).sort();
    expect(w).toContain('faculty:http_requests_errors:rate5m[360m]');
    expect(w).toContain('faculty:http_requests:rate5m[30m]');
    // …and, one recording rule further down, the raw counters' 5 min rate.
    expect(w.some((x) => x.startsWith('http_server_request_duration_count') && x.endsWith('[5m]'))).toBe(true);
  });

  it('measures the share of a window that holds data', () => {
    const ts = Array.from({ length: 41 }, (_, i) => i * 15_000); // 0 … 10 min
    expect(windowCoverage(ts, 0, 10 * MIN, 10 * MIN, 90_000)).toBe(1);
    expect(windowCoverage(ts, 0, 10 * MIN, 60 * MIN, 90_000)).toBeCloseTo(10.25 / 60, 6);
    expect(windowCoverage(ts, 0, 2 * MIN, 5 * MIN, 90_000)).toBeCloseTo(2.25 / 5, 6);
    expect(windowCoverage([], 0, 2 * MIN, 5 * MIN, 90_000)).toBe(0);
    const gap = ts.filter((t) => t < 3 * MIN || t > 7 * MIN);
    expect(windowCoverage(gap, 0, 10 * MIN, 10 * MIN, 90_000)).toBeCloseTo(1 - 4.5 / 10, 6);
  });

  it('the default pack does not page FacultyErrorBudgetSlowBurn (or anything) at cold start on an erroring platform', async () => {
    // 8 % errors from the first scrape: over the 6× slow-burn threshold, but the 6 h and
    // 30 min windows hold one minute at the first evaluations.
    const batches = requests(T0, T0 + 40 * MIN, () => 0.08);
    const guarded = await replay(null, batches, T0);
    expect(firing(guarded, 'FacultyErrorBudgetSlowBurn')).toEqual([]);
    expect(firing(guarded, 'FacultyErrorBudgetFastBurn')).toEqual([]);
    // Without the guard the same data pages at once: the test can fail.
    const unguarded = await replay(null, batches, T0, false);
    expect(firing(unguarded, 'FacultyErrorBudgetSlowBurn')[0]).toBeLessThanOrEqual(1);
    // FacultyErrorRatioHigh reads 2 min windows: allowed once they are full, not at the first evaluation.
    const high = firing(guarded, 'FacultyErrorRatioHigh');
    expect(high).toHaveLength(1);
    expect(high[0]!).toBeGreaterThanOrEqual(3.5); // ≥ 90 % of 2 min of data, then `for: 2m`
  });

  it('holds a rule back after a telemetry gap until its window is full again, and lets a covered one fire', async () => {
    const rules = `
groups:
  - name: g
    rules:
      - alert: ErrorsHigh
        expr: sum by (faculty) (rate(http_server_request_duration_count{http_response_status_code="503"}[5m])) / sum by (faculty) (rate(http_server_request_duration_count[5m])) > 0.2
        labels: { severity: page }
`;
    // Errors rise to 50 % just when a 6 min gap ends (minutes 20–26).
    const gap = (t: number) => t > T0 + 20 * MIN && t < T0 + 26 * MIN;
    const batches = requests(T0, T0 + 40 * MIN, (t) => (t >= T0 + 26 * MIN ? 0.5 : 0), gap);
    const guarded = firing(await replay(rules, batches, T0), 'ErrorsHigh');
    const unguarded = firing(await replay(rules, batches, T0, false), 'ErrorsHigh');
    expect(unguarded[0]!).toBeLessThan(26.5); // a rate from one or two scrapes after the gap
    expect(guarded).toHaveLength(1);
    expect(guarded[0]!).toBeGreaterThanOrEqual(30.25); // 90 % of the 5 min window holds data again
    expect(guarded[0]!).toBeLessThanOrEqual(31);
  });

  it('does not resolve an alert that is already firing when a gap opens', async () => {
    const rules = `
groups:
  - name: g
    rules:
      - alert: ErrorsHigh
        expr: sum by (faculty) (rate(http_server_request_duration_count{http_response_status_code="503"}[5m])) / sum by (faculty) (rate(http_server_request_duration_count[5m])) > 0.2
`;
    const gap = (t: number) => t > T0 + 20 * MIN && t < T0 + 22 * MIN;
    const batches = requests(T0, T0 + 30 * MIN, (t) => (t >= T0 + 10 * MIN ? 0.5 : 0), gap);
    const ts = await replay(rules, batches, T0);
    expect(firing(ts, 'ErrorsHigh')).toHaveLength(1);
    expect(ts.filter((t) => t.state === 'resolved')).toEqual([]);
  });
});
