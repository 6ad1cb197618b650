/**
 * Learning from a stored morning: a benign simulated morning goes through the real
 * chain (collectors → pipeline → chDB), then the planner learns each faculty's
 * attendance, ramp and requests per student from the stored rollups, within the
 * simulator's known values; `vigie plan` says it used history, and says "defaults" on an
 * empty database.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMorningChain, defaultMorningStart } from '../../cli/chain.ts';
import { DEFAULT_RULES_FILE } from '../../cli/options.ts';
import { createStorage } from '../../pipeline/storage.ts';
import { learnProfiles, type LearnedProfiles } from '../../planner/history.ts';
import { readTimetable } from '../../planner/timetable.ts';
import type { ScheduledExam } from '../../schedule/index.ts';
import { schedule } from '../../simulator/model.ts';
import { MODEL } from '../../simulator/model.ts';

const BIN = fileURLToPath(new URL('../../bin/vigie.mjs', import.meta.url));
const DAY = 86_400_000;
let dir: string;
let learned: LearnedProfiles | null;
let stored: ScheduledExam[] = [];
const today = Math.floor(defaultMorningStart() / DAY) * DAY;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigie-plan-history-'));
  const storage = createStorage({ chdbPath: join(dir, 'chdb'), database: 'vigie' });
  try {
    // Capacity 2.5: nothing saturates, so every exam's sessions are the students' own choice. One scrape a
    // minute: the planner reads per-minute rollups, and a quarter of the samples keeps the test short.
    const r = await runMorningChain({ storage, rulesFile: DEFAULT_RULES_FILE, sim: { seed: 11, capacity: 2.5, compression: Infinity, scrapeIntervalMs: 60_000 }, log: () => {} });
    expect(r.truth.collapseAtMs).toBeNull();
    expect(r.storedSamples).toBe(r.exportedSamples);
    learned = await learnProfiles(storage.client, storage.database, today, today + DAY);
    stored = await readTimetable({ kind: 'stored', client: storage.client, database: storage.database }, today, today + DAY);
  } finally {
    await storage.close();
  }
}, 400_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('planner history', () => {
  it("reads the stored timetable back through the planner's one timetable reader", () => {
    expect(stored.map((e) => e.id).sort()).toEqual(schedule(today).map((e) => e.id).sort());
    expect(stored.find((e) => e.id === 'med-anat-b1')).toEqual(schedule(today).find((e) => e.id === 'med-anat-b1'));
  });

  it('learns attendance, ramp and requests per student close to what the simulator did', () => {
    expect(learned).not.toBeNull();
    expect(learned!.examsUsed).toBeGreaterThanOrEqual(15);
    for (const f of ['medicine', 'law', 'engineering']) {
      const p = learned!.byKey.get(f)!;
      expect(p.source, f).toBe('history');
      expect(p.attendance.n, f).toBeGreaterThanOrEqual(2);
      // Peak sessions / enrolled: the simulator's 93 %, less the few who give up.
      expect(Math.abs(p.attendance.mean - MODEL.attendance), `${f} attendance ${p.attendance.mean}`).toBeLessThan(0.06);
      // The simulator's ramp is 30 min, linear.
      expect(Math.abs(p.rampMinutes.mean - 30), `${f} ramp ${p.rampMinutes.mean}`).toBeLessThan(6);
      // 0.05 req/s per student in an exam; browsing students at half that pull the mean down a little.
      expect(p.requestsPerStudent.mean, `${f} rate`).toBeGreaterThan(0.03);
      expect(p.requestsPerStudent.mean, `${f} rate`).toBeLessThan(0.06);
    }
  });

  it('vigie plan says which profiles came from history, and falls back to defaults on an empty database', async () => {
    const tomorrow = new Date(today + DAY).toISOString().slice(0, 10);
    const run = (chdb: string) => promisify(execFile)(process.execPath, [BIN, 'plan', '--demo', '--date', tomorrow, '--chdb-path', chdb, '--history-days', '3'], { timeout: 180_000 });
    const withHistory = await run(join(dir, 'chdb'));
    expect(withHistory.stdout).toMatch(/note: load profiles learned from \d+ exams of past mornings/);
    expect(withHistory.stdout).toMatch(/medicine: history \(n=\d+\)/);
    const empty = await run(join(dir, 'empty-chdb'));
    expect(empty.stdout).toMatch(/documented defaults/);
    expect(empty.stdout).toMatch(/medicine: defaults/);
  }, 400_000);
});
