/**
 * The plan's series for the rules: same names and labels as the schedule's expected
 * series (so a rule reads either), values from the plan's profiles, and a feeder that
 * produces each evaluation point once as the watermark advances.
 */
import { describe, expect, it } from 'vitest';
import { scheduleSeries } from '../../../schedule/index.ts';
import { configuredCapacity, createPlanFeeder, DEFAULT_PROFILE, planSeries, PLAN_METRICS } from '../../../planner/index.ts';
import { schedule, DEFAULT_DAY_MS } from '../../../simulator/model.ts';

const exams = schedule(DEFAULT_DAY_MS);
const from = DEFAULT_DAY_MS + 8 * 3_600_000;
const to = DEFAULT_DAY_MS + 10 * 3_600_000;

describe('plan series', () => {
  it('carries the schedule series names and labels, with the same values before anyone leaves', () => {
    const input = { exams, capacity: configuredCapacity(1), profileFor: () => DEFAULT_PROFILE };
    const plan = planSeries(input, from, to, 60_000);
    const sched = scheduleSeries(exams, from, to, 60_000);
    const key = (s: { metric: string; labels: Record<string, string>; timestampMs: number }) => `${s.metric}|${s.labels['faculty']}|${s.timestampMs}`;
    const keys = new Set(plan.map(key));
    for (const s of sched) expect(keys.has(key(s)), key(s)).toBe(true);
    // Same value at 09:05, before anyone leaves, once browsing students are set aside (the plan counts them,
    // the schedule does not; the plan's late-comers are half in by then).
    const cap = configuredCapacity(1);
    const t = DEFAULT_DAY_MS + (9 * 60 + 5) * 60_000;
    for (const f of new Set(exams.map((e) => e.faculty))) {
      const at = (xs: typeof plan) => xs.find((s) => s.metric === 'ecampus_expected_sessions' && s.labels['faculty'] === f && s.timestampMs === t)!.value;
      const c = cap.faculties.get(f)!;
      expect(Math.abs(at(plan) - c.backgroundSessions - at(sched)) / c.sessionCapacity, f).toBeLessThan(0.06);
    }
    const logins = plan.filter((s) => s.metric === PLAN_METRICS.logins && s.labels['faculty'] === 'medicine');
    const at = (h: number, m: number) => logins.find((s) => s.timestampMs === DEFAULT_DAY_MS + (h * 60 + m) * 60_000)!.value;
    // 1,767 medicine students over a 30-minute ramp: ~0.9 logins/s before 09:00, none at 08:00.
    expect(at(8, 45)).toBeGreaterThan(0.7);
    expect(at(8, 45)).toBeLessThan(1.1);
    expect(at(8, 0)).toBe(0);
  });

  it('follows a learned ramp: a 10-minute ramp starts later than the 30-minute schedule', () => {
    const short = { ...DEFAULT_PROFILE, rampMinutes: { mean: 10, sd: 2, n: 5 }, source: 'history' as const };
    const plan = planSeries({ exams, capacity: configuredCapacity(1), profileFor: () => short }, from, to, 60_000);
    const at845 = plan.find((s) => s.metric === PLAN_METRICS.sessions && s.labels['faculty'] === 'medicine' && s.timestampMs === DEFAULT_DAY_MS + 8.75 * 3_600_000)!;
    const bg = configuredCapacity(1).faculties.get('medicine')!.backgroundSessions;
    expect(at845.value).toBeCloseTo(bg, 6);
  });

  it('feeds each evaluation point once', () => {
    const feeder = createPlanFeeder({ exams, capacity: configuredCapacity(1), profileFor: () => DEFAULT_PROFILE }, 15_000, from);
    const a = feeder.feed(from + 60_000);
    const b = feeder.feed(from + 60_000);
    const c = feeder.feed(from + 90_000);
    expect(b).toEqual([]);
    const ts = [...a, ...c].filter((s) => s.metric === PLAN_METRICS.sessions && s.labels['faculty'] === 'law').map((s) => s.timestampMs);
    expect(ts).toEqual([0, 15, 30, 45, 60, 75, 90].map((s) => from + s * 1000));
  });
});
