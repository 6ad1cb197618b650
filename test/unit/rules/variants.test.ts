/**
 * The default pack on platforms that expose other metric sets (issue 14): status-class
 * request counters instead of a status code, and a leaking connection pool.
 */
import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import type { Sample } from '../../../core/samples.ts';
import { createRuleEngine, type AlertTransition } from '../../../rules/engine.ts';
import { loadRuleFile, requiredRetentionByMetric, requiredRetentionMs } from '../../../rules/ruleFile.ts';
import { createSeriesStore } from '../../../rules/windows.ts';
import { T0 } from './helpers.ts';

const DEFAULT = fileURLToPath(new URL('../../../rules/packs/default.yml', import.meta.url));
const MIN = 60_000;

async function replay(until: number, samplesAt: (t: number) => Sample[]): Promise<AlertTransition[]> {
  const groups = await loadRuleFile(DEFAULT);
  const store = createSeriesStore({ retentionMs: requiredRetentionMs(groups) + MIN, retentionByMetricMs: requiredRetentionByMetric(groups) });
  const out: AlertTransition[] = [];
  const engine = createRuleEngine({ groups, store, onTransitions: (t) => void out.push(...t) });
  for (let t = T0; t <= until; t += 15_000) {
    store.add(samplesAt(t));
    await engine.evaluate(t).delivered;
  }
  return out;
}

const fired = (ts: readonly AlertTransition[], rule: string) => ts.filter((t) => t.rule === rule && t.state === 'firing');

describe('default pack on metric-set variants', () => {
  it('pages a collapse from status-class counters when the histogram has no status code', async () => {
    const onset = T0 + 30 * MIN;
    const total = { ok: 0, err: 0, all: 0 };
    const ts = await replay(onset + 3 * MIN, (t) => {
      const failing = t > onset;
      total.ok += 15 * (failing ? 10 : 100);
      total.err += 15 * (failing ? 300 : 0);
      total.all = total.ok + total.err;
      const l = { job: 'ecampus', instance: 'vet-1', faculty: 'vet' };
      return [
        { metric: 'http_server_request_duration_count', labels: { ...l, http_route: '/q' }, timestampMs: t, value: total.all },
        { metric: 'http_server_requests_total', labels: { ...l, status_class: '2xx' }, timestampMs: t, value: total.ok },
        { metric: 'http_server_requests_total', labels: { ...l, status_class: '5xx' }, timestampMs: t, value: total.err },
      ];
    });
    const f = fired(ts, 'FacultyCollapsing');
    expect(f).toHaveLength(1);
    expect(f[0]!.labels['faculty']).toBe('vet');
    expect((f[0]!.at - onset) / 1000).toBeLessThanOrEqual(60);
  });

  it('forecasts a leaking connection pool, naming the signal, and stays quiet on a busy but flat pool', async () => {
    const pool = (used: (t: number) => number) => (t: number): Sample[] => {
      const l = { job: 'ecampus', instance: 'db-1', db_client_connections_pool_name: 'main' };
      return [
        { metric: 'db_client_connections_usage', labels: { ...l, db_client_connections_state: 'used' }, timestampMs: t, value: used(t) },
        { metric: 'db_client_connections_max', labels: l, timestampMs: t, value: 200 },
      ];
    };
    // 40 used, then +3 a minute from minute 5: 100 % at minute 58.
    const leak = await replay(T0 + 60 * MIN, pool((t) => Math.min(200, 40 + Math.max(0, (t - T0) / MIN - 5) * 3)));
    const f = fired(leak, 'DatabasePoolExhaustionForecast');
    expect(f).toHaveLength(1);
    const minutesAhead = (T0 + 58.3 * MIN - f[0]!.at) / MIN;
    expect(minutesAhead).toBeGreaterThan(5);
    // The page names the signal, its value, its limit and the forecast time with its band.
    expect(f[0]!.annotations['summary']).toMatch(/^DB pool main: [\d.]+% used, limit 85 % reached in ~\d+ min \(\d+–\d+ min\)$/);
    const flat = await replay(T0 + 60 * MIN, pool(() => 160));
    expect(fired(flat, 'DatabasePoolExhaustionForecast')).toEqual([]);
  });
  it('pages processing headroom short of the exam-start surge from CPU alone (no worker gauge), naming signal, value and limit; quiet with headroom', async () => {
    // Sessions ramp to 700 by minute 40 towards an expected peak of 1,000 (the timetable);
    // processing (CPU / 90 %) costs `perSession` of the limit per 1,000 sessions.
    const platform = (perSession: number) => (t: number): Sample[] => {
      const m = (t - T0) / MIN;
      const sessions = Math.min(700, 17.5 * m);
      const l = { job: 'ecampus', instance: 'law-app-1', faculty: 'law', server: 'law-app-1' };
      return [
        { metric: 'ecampus_sessions_active', labels: l, timestampMs: t, value: sessions },
        { metric: 'system_cpu_utilization', labels: l, timestampMs: t, value: 0.9 * perSession * (sessions / 1000) },
        { metric: 'ecampus_expected_sessions', labels: { faculty: 'law' }, timestampMs: t, value: sessions },
        { metric: 'ecampus_expected_peak_sessions', labels: { faculty: 'law' }, timestampMs: t, value: 1000 },
      ];
    };
    const tight = fired(await replay(T0 + 40 * MIN, platform(0.8)), 'FacultyProcessingHeadroomForecast');
    expect(tight).toHaveLength(1);
    expect(tight[0]!.labels['faculty']).toBe('law');
    // Sessions past 40 % of the peak (minute 23) and 2 min of `for`: paged well before the peak.
    expect((tight[0]!.at - T0) / MIN).toBeLessThan(30);
    expect(tight[0]!.annotations['summary']).toMatch(/^law processing will reach 8\d(\.\d+)?% of its limit at the expected peak \(now [\d.]+%; limit 55 % before an exam-start surge\)$/);
    expect(fired(await replay(T0 + 40 * MIN, platform(0.4)), 'FacultyProcessingHeadroomForecast')).toEqual([]);
  });
  it('pages a timetable above a platform-wide session limit (no per-faculty capacity), and not one below it', async () => {
    const platform = (expectedPeak: number) => (t: number): Sample[] => [
      { metric: 'ecampus_capacity_sessions', labels: { job: 'ecampus', instance: 'platform' }, timestampMs: t, value: 4500 },
      { metric: 'ecampus_sessions_active', labels: { job: 'ecampus', instance: 'law-app-1', faculty: 'law' }, timestampMs: t, value: 1000 },
      { metric: 'ecampus_platform_expected_peak_sessions', labels: {}, timestampMs: t, value: expectedPeak },
    ];
    const over = fired(await replay(T0 + 10 * MIN, platform(4400)), 'PlatformScheduleExceedsCapacity');
    expect(over).toHaveLength(1);
    expect(over[0]!.annotations['summary']).toBe('the exam schedule expects 4400 sessions within 30 min, above 95 % of the platform-wide limit of 4500');
    expect(fired(await replay(T0 + 10 * MIN, platform(4000)), 'PlatformScheduleExceedsCapacity')).toEqual([]);
  });
});
