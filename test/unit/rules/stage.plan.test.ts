/**
 * The rules read the plan: a stored plan handed to the one rules stage replaces the
 * timetable's expected-load series where it covers the data time (and nowhere else), and
 * the pack's `LoginsAbovePlan` pages "logins N % above plan" for a faculty whose
 * students log in well above the planned rate, not for one on plan. Without a plan the
 * stage feeds exactly the timetable's series.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Sample } from '../../../core/samples.ts';
import { configuredCapacity, DEFAULT_PROFILE, planOverride, planTable, PLAN_METRICS, sampleTable, type StoredPlan } from '../../../planner/index.ts';
import type { Notification } from '../../../paging/receivers/types.ts';
import { loadRuleFile } from '../../../rules/ruleFile.ts';
import { createRulesStage } from '../../../rules/stage.ts';
import { createScheduleFeeder } from '../../../schedule/index.ts';
import { DEFAULT_DAY_MS, schedule } from '../../../simulator/model.ts';
import { every, qv, storeOf } from './helpers.ts';

const DEFAULT = fileURLToPath(new URL('../../../rules/packs/default.yml', import.meta.url));
const MIN = 60_000;
const exams = schedule(DEFAULT_DAY_MS).filter((e) => e.faculty === 'medicine' || e.faculty === 'law');
const input = { exams, capacity: configuredCapacity(1), profileFor: () => DEFAULT_PROFILE };

/** A plan as `loadCurrentPlans` returns it, covering [fromMs, toMs). */
function storedPlan(fromMs: number, toMs: number): StoredPlan {
  return { id: 'plan-test', fromMs, toMs, createdMs: 1, timetableDigest: '', exams: exams.length, capacitySource: 'config', profileSource: 'defaults', table: planTable(input, fromMs, toMs - 1) };
}

/** Every sample the stage adds to its store (the store's own `add`, observed). */
function recordStoreAdds(stage: ReturnType<typeof createRulesStage>): Sample[] {
  const seen: Sample[] = [];
  const add = stage.store.add.bind(stage.store);
  stage.store.add = (xs: readonly Sample[]) => {
    seen.push(...xs);
    add(xs);
  };
  return seen;
}

describe('the rules stage with a stored plan', () => {
  const start = DEFAULT_DAY_MS + 8 * 3_600_000;
  const end = DEFAULT_DAY_MS + 9 * 3_600_000;
  const expected = (xs: readonly Sample[]) => xs.filter((s) => s.metric.includes('expected'));

  it('without a plan feeds exactly the timetable series', async () => {
    const stage = createRulesStage({ groups: [], schedule: { exams, startMs: start }, log: () => {} });
    const seen = recordStoreAdds(stage);
    for (let t = start; t <= end; t += 20_000) stage.advance(t);
    await stage.stop();
    const feeder = createScheduleFeeder(exams, 15_000, start);
    expect(expected(seen)).toEqual(feeder.feed(end));
  });

  it('feeds the plan where it covers, the timetable elsewhere, one value per series and instant', async () => {
    // The plan covers 08:20–08:40 only.
    const plan = storedPlan(start + 20 * MIN, start + 40 * MIN);
    const stage = createRulesStage({ groups: [], schedule: { exams, startMs: start }, plan: planOverride([plan]), log: () => {} });
    const seen = recordStoreAdds(stage);
    for (let t = start; t <= end; t += 20_000) stage.advance(t);
    await stage.stop();
    const got = expected(seen);
    const keys = got.map((s) => `${s.metric}${JSON.stringify(s.labels)}@${s.timestampMs}`);
    expect(new Set(keys).size).toBe(keys.length);
    const sched = createScheduleFeeder(exams, 15_000, start).feed(end);
    const inPlan = (t: number) => t >= plan.fromMs && t < plan.toMs;
    expect(got.filter((s) => !inPlan(s.timestampMs))).toEqual(sched.filter((s) => !inPlan(s.timestampMs)));
    expect(got.filter((s) => inPlan(s.timestampMs))).toEqual(sampleTable(plan.table, plan.fromMs, plan.toMs - 1, 15_000));
    // Plan-only series exist only where the plan covers, and each series stays in time order.
    expect(got.filter((s) => s.metric === PLAN_METRICS.logins).every((s) => inPlan(s.timestampMs))).toBe(true);
    const last = new Map<string, number>();
    for (const s of got) {
      const k = s.metric + JSON.stringify(s.labels);
      expect(s.timestampMs).toBeGreaterThan(last.get(k) ?? -Infinity);
      last.set(k, s.timestampMs);
    }
  });

  it('takes a plan stored while it runs from the next evaluation point on', async () => {
    const stage = createRulesStage({ groups: [], schedule: { exams, startMs: start }, log: () => {} });
    const seen = recordStoreAdds(stage);
    stage.advance(start + 10 * MIN);
    stage.setPlan(planOverride([storedPlan(DEFAULT_DAY_MS, DEFAULT_DAY_MS + 86_400_000)]));
    stage.advance(start + 11 * MIN);
    await stage.stop();
    const logins = seen.filter((s) => s.metric === PLAN_METRICS.logins).map((s) => s.timestampMs);
    expect(Math.min(...logins)).toBe(start + 10 * MIN + 15_000);
  });
});

describe('LoginsAbovePlan (default pack)', () => {
  it('is the measured login rate over the plan, minus one, where the plan expects a ramp', () => {
    // 1.5 logins/s measured against 1.0 planned → 0.5; a plan of 0.1/s is no ramp.
    const counter = (f: string, perS: number) => every('ecampus_logins_total', { faculty: f, outcome: 'success' }, 0, 15, Array.from({ length: 41 }, (_, i) => i * 15 * perS));
    const plan = (f: string, v: number) => every('vigie_plan_expected_logins_per_second', { faculty: f }, 0, 15, Array.from({ length: 41 }, () => v));
    const store = storeOf(counter('law', 1.5), plan('law', 1), counter('hec', 1.5), plan('hec', 0.1), counter('sciences', 1.1), plan('sciences', 1));
    const expr = 'sum by (faculty) (rate(ecampus_logins_total[5m])) / on (faculty) (avg_over_time(vigie_plan_expected_logins_per_second[5m]) > 0.2) - 1';
    const v = qv(store, expr, 600);
    expect(Object.keys(v)).toEqual(['{faculty="law"}', '{faculty="sciences"}']);
    expect(v['{faculty="law"}']).toBeCloseTo(0.5, 6);
    expect(v['{faculty="sciences"}']).toBeCloseTo(0.1, 6);
  });

  /** The default pack's plan group over 75 min from 08:00: logins at `factor` × the plan per faculty, `failed` of them refused. */
  async function morning(factor: Record<string, number>, failed: Record<string, number> = {}, late = false): Promise<Notification[]> {
    const groups = (await loadRuleFile(DEFAULT)).filter((g) => g.name === 'vigie-plan');
    expect(groups).toHaveLength(1);
    const start = DEFAULT_DAY_MS + 8 * 3_600_000;
    const plan = storedPlan(DEFAULT_DAY_MS, DEFAULT_DAY_MS + 86_400_000);
    const pages: Notification[] = [];
    const stage = createRulesStage({ groups, plan: planOverride([plan]), schedule: { exams, startMs: start }, notify: async (ns) => void pages.push(...ns), log: () => {} });
    const planned = sampleTable(plan.table, start, start + 75 * MIN, 15_000).filter((s) => s.metric === PLAN_METRICS.logins);
    const total: Record<string, { ok: number; failed: number }> = { medicine: { ok: 0, failed: 0 }, law: { ok: 0, failed: 0 } };
    // A "late" ramp: medicine's 08:30–09:00 arrivals, same total as planned, at 3x² of the linear rate.
    const ramp = { from: start + 30 * MIN, to: start + 60 * MIN };
    const plannedIn = (f: string) => planned.filter((s) => s.labels['faculty'] === f && s.timestampMs > ramp.from && s.timestampMs <= ramp.to).reduce((a, s) => a + s.value * 15, 0);
    const rampTotal = plannedIn('medicine');
    const lateCdf = (t: number) => Math.min(1, Math.max(0, (t - ramp.from) / (ramp.to - ramp.from))) ** 3;
    for (let t = start; t <= start + 75 * MIN; t += 15_000) {
      const batch: Sample[] = [];
      for (const f of ['medicine', 'law']) {
        const inRamp = late && f === 'medicine' && t > ramp.from && t <= ramp.to;
        const n = inRamp ? rampTotal * (lateCdf(t) - lateCdf(t - 15_000)) : planned.find((s) => s.timestampMs === t && s.labels['faculty'] === f)!.value * factor[f]! * 15;
        total[f]!.ok += n * (1 - (failed[f] ?? 0));
        total[f]!.failed += n * (failed[f] ?? 0);
        batch.push({ metric: 'ecampus_logins_total', labels: { faculty: f, outcome: 'success', instance: `${f}-app-1` }, timestampMs: t, value: total[f]!.ok });
        batch.push({ metric: 'ecampus_logins_total', labels: { faculty: f, outcome: 'failure', instance: `${f}-app-1` }, timestampMs: t, value: total[f]!.failed });
      }
      stage.add(batch);
    }
    await stage.finish(start + 75 * MIN);
    await stage.stop();
    return pages.filter((n) => n.status === 'firing' && n.labels['alertname'] === 'LoginsAbovePlan');
  }

  it('pages "logins N % above plan" for the faculty logging in at 1.5× the plan, not for the one on plan', async () => {
    const firing = await morning({ medicine: 1.5, law: 1.0 });
    expect(new Set(firing.map((n) => n.labels['faculty']))).toEqual(new Set(['medicine']));
    const first = firing[0]!;
    expect(first.labels['severity']).toBe('page');
    // During medicine's ramp (08:30–09:00), before its exams start; the text names the faculty and the ratio.
    expect(first.startsAt).toBeGreaterThan(DEFAULT_DAY_MS + 8.5 * 3_600_000);
    expect(first.startsAt).toBeLessThan(DEFAULT_DAY_MS + 9 * 3_600_000);
    expect(first.annotations['summary']).toMatch(/^medicine: logins (4[5-9]|5[0-5])(\.\d+)?% above plan$/);
  });

  it('stays quiet when students arrive late in the ramp (the planned total, not a crowd)', async () => {
    expect(await morning({ medicine: 1, law: 1 }, {}, true)).toEqual([]);
  });

  it('stays quiet while the faculty refuses logins (retries, not a crowd)', async () => {
    // Three attempts per planned login, half of them refused: a saturated faculty's retries.
    expect(await morning({ medicine: 3, law: 1 }, { medicine: 0.5 })).toEqual([]);
    // The same attempts all let in: a crowd.
    expect((await morning({ medicine: 3, law: 1 })).length).toBeGreaterThan(0);
  });
});
