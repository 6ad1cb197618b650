/**
 * Stored plans on the real ClickHouse engine (chDB, own temp data directory): what
 * `vigie plan --store` writes is read back as the same minute table, so the rules see
 * the values the plan computed; a newer plan wins; a plan whose timetable was
 * re-imported with a moved exam is dropped with the reason; a store created before
 * migration 010 has no plan rather than an error.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadStoredPlans } from '../../cli/plans.ts';
import type { Storage } from '../../pipeline/storage.ts';
import { useTempStorage } from './support/tempStorage.ts';
import { configuredCapacity, DEFAULT_PROFILE, loadCurrentPlans, planOverride, planTable, sampleTable, writePlan } from '../../planner/index.ts';
import { writeSchedule } from '../../schedule/index.ts';
import { loadMigrations, migrate } from '../../schema/migrate.ts';
import { schedule } from '../../simulator/model.ts';

let storage: Storage;
useTempStorage('plan-store', (s) => (storage = s));

const DAY = Date.UTC(2026, 11, 7);
const exams = schedule(DAY);
const table = (capacity = 1) => planTable({ exams, capacity: configuredCapacity(capacity), profileFor: () => DEFAULT_PROFILE }, DAY, DAY + 86_400_000 - 1);
const input = (createdMs: number, capacity = 1) => ({ fromMs: DAY, toMs: DAY + 86_400_000, exams, table: table(capacity), capacitySource: `test ×${capacity}`, profileSource: 'defaults', createdMs });

describe('stored plans', () => {
  it('reads back the table it stored; the newest plan wins; a changed timetable drops it', async () => {
    const db = 'plans_a';
    await migrate(storage.client, { database: db });
    await writeSchedule(storage.client, db, exams);
    const first = await writePlan(storage.client, db, input(1_000));
    let current = await loadCurrentPlans(storage.client, db, DAY + 8 * 3_600_000, DAY + 10 * 3_600_000);
    expect(current.plans.map((p) => p.id)).toEqual([first]);
    expect(current.stale).toEqual([]);
    const p = current.plans[0]!;
    expect(p).toMatchObject({ fromMs: DAY, toMs: DAY + 86_400_000, exams: 20, capacitySource: 'test ×1' });
    // The same samples on the evaluation grid as the table computed in memory.
    const from = DAY + 8 * 3_600_000;
    const to = DAY + 9.5 * 3_600_000;
    expect(planOverride(current.plans)!.samples(from, to, 15_000)).toEqual(sampleTable(table(), from, to, 15_000));

    const second = await writePlan(storage.client, db, input(2_000, 2));
    const cache = new Map();
    current = await loadCurrentPlans(storage.client, db, from, to, cache);
    expect(current.plans.map((x) => x.id)).toEqual([second]);
    expect(cache.has(second)).toBe(true);

    // law-civil-b1 moves to 10:00: the timetable is no longer the one planned.
    await writeSchedule(storage.client, db, exams.map((e) => (e.id === 'law-civil-b1' ? { ...e, start: e.start + 3_600_000 } : e)), { removed: exams.filter((e) => e.id === 'law-civil-b1') });
    current = await loadCurrentPlans(storage.client, db, from, to, cache);
    expect(current.plans).toEqual([]);
    // Both plans were made for the old timetable: neither is in force, newest first.
    expect(current.stale.map((s) => s.plan.id)).toEqual([second, first]);
    expect(current.stale[0]!.reason).toMatch(/timetable of 2026-12-07 changed since it was planned/);
    const lines = await loadStoredPlans(storage.client, db, from, to);
    expect(lines.lines.join('\n')).toMatch(/stored plan plan-\S+ not used: .*until `vigie plan --store` is run again/);
  });

  it('a store from before migration 010 has no plan', async () => {
    const db = 'plans_old';
    await migrate(storage.client, { database: db }, loadMigrations().filter((m) => m.version <= 9));
    expect(await loadStoredPlans(storage.client, db, DAY, DAY + 86_400_000)).toEqual({ plans: [], lines: [] });
  });
});
