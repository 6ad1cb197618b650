/**
 * The rules read the plan: with the plan's series in the store, "logins 40 % above
 * plan" fires through the real rule engine on a faculty whose students log in at 1.6×
 * the planned rate, and stays quiet for one that follows the plan.
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRuleEngine, type AlertTransition } from '../../../rules/engine.ts';
import { loadRuleFile, requiredRetentionMs } from '../../../rules/ruleFile.ts';
import { createWatermarkScheduler } from '../../../rules/scheduler.ts';
import { createSeriesStore } from '../../../rules/windows.ts';
import type { Sample } from '../../../core/samples.ts';
import { configuredCapacity, createPlanFeeder, DEFAULT_PROFILE, planSeries, PLAN_METRICS } from '../../../planner/index.ts';
import { schedule, DEFAULT_DAY_MS } from '../../../simulator/model.ts';

const RULES = fileURLToPath(new URL('../../../planner/rules/plan.yml', import.meta.url));
const exams = schedule(DEFAULT_DAY_MS).filter((e) => e.faculty === 'medicine' || e.faculty === 'law');
const input = { exams, capacity: configuredCapacity(1), profileFor: () => DEFAULT_PROFILE };
const START = DEFAULT_DAY_MS + 8 * 3_600_000;

describe('rules on the plan', () => {
  it('pages "logins above plan" for the faculty logging in at 1.6× the plan, not for the one on plan', async () => {
    const groups = await loadRuleFile(RULES);
    const store = createSeriesStore({ retentionMs: requiredRetentionMs(groups) + 10 * 60_000 });
    const transitions: AlertTransition[] = [];
    const engine = createRuleEngine({ groups, store, onTransitions: (t) => void transitions.push(...t) });
    const sched = createWatermarkScheduler({ evaluate: engine.evaluate, intervalMs: 15_000 });
    const feeder = createPlanFeeder(input, 15_000, START);
    // Planned logins/s per faculty at each 15 s; the measured counter integrates factor × plan.
    const planned = planSeries(input, START, START + 75 * 60_000, 15_000).filter((s) => s.metric === PLAN_METRICS.logins);
    const factor: Record<string, number> = { medicine: 1.6, law: 1.0 };
    const total: Record<string, number> = { medicine: 0, law: 0 };
    for (let t = START; t <= START + 75 * 60_000; t += 15_000) {
      const batch: Sample[] = [...feeder.feed(t)];
      for (const f of ['medicine', 'law']) {
        const rate = planned.find((s) => s.timestampMs === t && s.labels['faculty'] === f)!.value;
        total[f]! += rate * factor[f]! * 15;
        batch.push({ metric: 'ecampus_logins_total', labels: { faculty: f, outcome: 'success', instance: `${f}-app-1` }, timestampMs: t, value: total[f]! });
      }
      store.add(batch);
      for (const r of sched.observe(t)) await r.delivered;
    }
    const fired = transitions.filter((t) => t.rule === 'LoginsAbovePlan' && t.state === 'firing');
    expect(fired.map((t) => t.labels['faculty'])).toEqual(['medicine']);
    // During medicine's ramp (08:30–09:00), well before its exams start.
    expect(fired[0]!.at).toBeGreaterThan(DEFAULT_DAY_MS + 8.5 * 3_600_000);
    expect(fired[0]!.at).toBeLessThan(DEFAULT_DAY_MS + 9 * 3_600_000);
  });
});
