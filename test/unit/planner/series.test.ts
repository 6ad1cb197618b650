/**
 * The plan's series for the rules: same names and labels as the schedule's expected
 * series (so a rule reads either), values from the plan's profiles, and a feeder that
 * produces each evaluation point once as the watermark advances.
 */
import { describe, expect, it } from 'vitest';
import { scheduleSeries } from '../../../alerts/forecast/schedule.ts';
import { configuredCapacity, createPlanFeeder, DEFAULT_PROFILE, planSeries, PLAN_METRICS } from '../../../planner/index.ts';
import { schedule, DEFAULT_DAY_MS } from '../../../simulator/model.ts';

const exams = schedule(DEFAULT_DAY_MS);
const from = DEFAULT_DAY_MS + 8 * 3_600_000;
const to = DEFAULT_DAY_MS + 10 * 3_600_000;

describe('plan series', () => {
  it('carries the schedule series names and labels, close to their values with the default profile', () => {
    const input = { exams, capacity: configuredCapacity(1), profileFor: () => DEFAULT_PROFILE };
    const plan = planSeries(input, from, to, 60_000);
    const sched = scheduleSeries(exams, from, to, 60_000);
    const key = (s: { metric: string; labels: Record<string, string>; timestampMs: number }) => `${s.metric}|${s.labels['faculty']}|${s.timestampMs}`;
    const planned = new Map(plan.map((s) => [key(s), s.value]));
    for (const s of sched) {
      const v = planned.get(key(s));
      expect(v, key(s)).toBeDefined();
      // The plan adds browsing students and late-comers: within 20 % of capacity of the plain schedule (browsing students alone are up to 11 %).
      const cap = input.capacity.faculties.get(s.labels['faculty']!)!.sessionCapacity;
      expect(Math.abs(v! - s.value) / cap, key(s)).toBeLessThan(0.2);
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
