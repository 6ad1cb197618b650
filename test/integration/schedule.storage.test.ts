/**
 * The timetable in `exam_schedule` on the real ClickHouse engine (chDB, own temp data
 * directory): migration 008 on a table that already holds 005-era rows, round trips
 * with start windows and servers, tombstones for exams a new version drops or moves.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMigrations, migrate } from '../../schema/migrate.ts';
import { createStorage, type Storage } from '../../pipeline/storage.ts';
import { readSchedule, writeSchedule, type ScheduledExam } from '../../schedule/index.ts';

const dir = mkdtempSync(join(tmpdir(), 'vigie-schedule-storage-'));
let storage: Storage;
beforeAll(() => {
  storage = createStorage({ chdbPath: dir });
});
afterAll(async () => {
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
});

const DAY = Date.UTC(2026, 11, 7);
const at = (h: number, m = 0) => DAY + (h * 60 + m) * 60_000;
const WHOLE_DAY = { fromMs: DAY, toMs: DAY + 86_400_000 };

describe('exam_schedule storage', () => {
  it('migration 008 adds start_window_ms, server and deleted to a table holding older rows', async () => {
    const db = 'sched_m';
    const before = await migrate(storage.client, { database: db }, loadMigrations().filter((m) => m.version <= 7));
    expect(before.applied).toContain('005_exam_schedule');
    await storage.client.command({ query: `INSERT INTO ${db}.exam_schedule (exam_id, faculty, start, enrolled, duration_ms) VALUES ('old', 'law', ${at(9)}, 300, 3600000)` });
    const after = await migrate(storage.client, { database: db }, loadMigrations().filter((m) => m.version <= 8));
    expect(after.applied).toEqual(['008_exam_schedule_windows']);
    const cols = await storage.client.query({ query: `SELECT name, type FROM system.columns WHERE database = '${db}' AND table = 'exam_schedule' ORDER BY position`, format: 'JSONEachRow' });
    expect(await cols.json()).toEqual(
      expect.arrayContaining([
        { name: 'start_window_ms', type: 'UInt64' },
        { name: 'server', type: 'LowCardinality(String)' },
        { name: 'deleted', type: 'UInt8' },
      ]),
    );
    expect(await readSchedule(storage.client, db, WHOLE_DAY)).toEqual([{ id: 'old', faculty: 'law', start: at(9), enrolled: 300, durationMs: 3_600_000 }]);
    expect((await migrate(storage.client, { database: db }, loadMigrations().filter((m) => m.version <= 8))).applied).toEqual([]);
  });

  it('round-trips start windows and servers, and reads only exams online in the window', async () => {
    const db = 'sched_rt';
    await migrate(storage.client, { database: db });
    const exams: ScheduledExam[] = [
      { id: 'a', faculty: 'law', start: at(9), enrolled: 900, durationMs: 3_600_000, startWindowMs: 15 * 60_000, server: 'web-law-1' },
      { id: 'b', faculty: 'hec', start: at(8, 30), enrolled: 650, durationMs: 3_600_000 },
      { id: 'c', faculty: 'hec', start: at(13), enrolled: 50, durationMs: 1_800_000 },
    ];
    expect(await writeSchedule(storage.client, db, exams)).toBe(3);
    expect(await readSchedule(storage.client, db, WHOLE_DAY)).toEqual([exams[1], exams[0], exams[2]]);
    // At 10:05 only `a` (window until 9:15 + 1 h) still has students online.
    expect((await readSchedule(storage.client, db, { fromMs: at(10, 5), toMs: at(12) })).map((e) => e.id)).toEqual(['a']);
    await expect(writeSchedule(storage.client, db, [{ id: 'X', faculty: 'f', start: at(9), enrolled: 1, durationMs: 1, startWindowMs: -1 }])).rejects.toThrow(/exam #0 \("X"\): startWindowMs/);
    await expect(readSchedule(storage.client, 'bad db', WHOLE_DAY)).rejects.toThrow(/identifier/);
  });

  it('a new version tombstones the exams it drops or moves; re-writing the same version changes nothing', async () => {
    const db = 'sched_v';
    await migrate(storage.client, { database: db });
    const v1: ScheduledExam[] = [
      { id: 'a', faculty: 'law', start: at(9), enrolled: 900, durationMs: 3_600_000 },
      { id: 'b', faculty: 'law', start: at(9), enrolled: 300, durationMs: 3_600_000 },
    ];
    await writeSchedule(storage.client, db, v1);
    const v2: ScheduledExam[] = [{ id: 'a', faculty: 'law', start: at(10), enrolled: 950, durationMs: 3_600_000 }];
    await writeSchedule(storage.client, db, v2, { removed: v1 });
    expect(await readSchedule(storage.client, db, WHOLE_DAY)).toEqual(v2);
    await writeSchedule(storage.client, db, v2, { removed: v2 });
    expect(await readSchedule(storage.client, db, WHOLE_DAY)).toEqual(v2);
    // Moving `a` back to 9:00 revives its old row (the newest row of a key wins).
    await writeSchedule(storage.client, db, v1.slice(0, 1), { removed: v2 });
    expect(await readSchedule(storage.client, db, WHOLE_DAY)).toEqual(v1.slice(0, 1));
  });
});
