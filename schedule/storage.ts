/**
 * The timetable in ClickHouse: `exam_schedule` (migrations 005 and 008), one row per exam,
 * read by the exam-morning dashboard, the post-mortem, the backtests and `vigie schedule
 * show`. Rows are validated before they reach ClickHouse. Re-writing an exam replaces its
 * row (ReplacingMergeTree on (exam_id, start)); an exam dropped or moved by a new
 * timetable version gets a tombstone (`deleted = 1`) on its old row, so readers that
 * filter `deleted = 0` after FINAL see the current timetable only.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { ConfigError, DecodeError } from '../core/errors.ts';
import { isIdentifier } from '../schema/queries.ts';
import { EXAM_SCHEDULE, TABLES } from '../schema/tables.ts';
import { examEndMs, type ScheduledExam } from './exam.ts';

/** Options of {@link writeSchedule}. */
export interface WriteScheduleOptions {
  /** Exams of the previous version that the new one drops or moves: their rows get a tombstone. */
  readonly removed?: readonly ScheduledExam[];
}

function rowOf(e: ScheduledExam, i: number, deleted: 0 | 1): Record<string, unknown> {
  const E = EXAM_SCHEDULE;
  const bad = (what: string): never => {
    throw new ConfigError(`writeSchedule: exam #${i} (${JSON.stringify(e.id)}): ${what}`);
  };
  if (typeof e.id !== 'string' || e.id === '') bad('id must be a non-empty string');
  if (typeof e.faculty !== 'string' || e.faculty === '') bad('faculty must be a non-empty string');
  if (!Number.isFinite(e.start)) bad('start must be epoch milliseconds');
  if (!Number.isInteger(e.enrolled) || e.enrolled < 0 || e.enrolled > 0xffffffff) bad('enrolled must be a non-negative integer');
  if (!Number.isInteger(e.durationMs) || e.durationMs < 0) bad('durationMs must be a non-negative integer');
  const w = e.startWindowMs ?? 0;
  if (!Number.isInteger(w) || w < 0) bad('startWindowMs must be a non-negative integer');
  return {
    [E.examId]: e.id,
    [E.faculty]: e.faculty,
    [E.start]: Math.trunc(e.start),
    [E.enrolled]: e.enrolled,
    [E.durationMs]: e.durationMs,
    [E.startWindowMs]: w,
    [E.server]: e.server ?? '',
    [E.deleted]: deleted,
  };
}

/** The row key: a tombstone is needed when a new version no longer has an exam at this key. */
const keyOf = (e: ScheduledExam) => `${e.id}\0${Math.trunc(e.start)}`;

/**
 * Inserts `exams` into `<database>.exam_schedule` (plus tombstones for `opts.removed`
 * not re-written); returns how many exam rows were written.
 */
export async function writeSchedule(client: ClickHouseClient, database: string, exams: readonly ScheduledExam[], opts: WriteScheduleOptions = {}): Promise<number> {
  if (!isIdentifier(database)) {
    throw new ConfigError(`writeSchedule: database "${database}" is not a ClickHouse identifier (letters, digits, _)`);
  }
  const rows = exams.map((e, i) => rowOf(e, i, 0));
  const kept = new Set(exams.map(keyOf));
  const tombstones = (opts.removed ?? []).filter((e) => !kept.has(keyOf(e))).map((e, i) => rowOf(e, i, 1));
  if (rows.length + tombstones.length === 0) return 0;
  await client.insert({ table: `${database}.${TABLES.examSchedule}`, values: [...rows, ...tombstones], format: 'JSONEachRow' });
  return rows.length;
}

/** Window of {@link readSchedule}. */
export interface ReadScheduleWindow {
  readonly fromMs: number;
  readonly toMs: number;
}

// 64-bit integers come quoted in JSON.
const examRow = z.tuple([z.string(), z.string(), z.coerce.number(), z.coerce.number(), z.coerce.number(), z.coerce.number(), z.string()]);

/**
 * The current exams whose students are online at some point of [fromMs, toMs] (from the
 * start to the end of the start window plus the duration), by start then id. A reader
 * of the expected-load series extends `toMs` by `scheduleReachMs()`.
 */
export async function readSchedule(client: ClickHouseClient, database: string, window: ReadScheduleWindow): Promise<ScheduledExam[]> {
  if (!isIdentifier(database)) throw new ConfigError(`readSchedule: database "${database}" is not a ClickHouse identifier (letters, digits, _)`);
  const E = EXAM_SCHEDULE;
  const rs = await client.query({
    query: `SELECT ${E.examId}, ${E.faculty}, toUnixTimestamp64Milli(${E.start}) AS start_ms, ${E.enrolled}, ${E.durationMs}, ${E.startWindowMs}, ${E.server}
     FROM \`${database}\`.${TABLES.examSchedule} FINAL
     WHERE ${E.deleted} = 0
       AND ${E.start} <= fromUnixTimestamp64Milli({to:Int64}, 'UTC')
       AND ${E.start} + toIntervalMillisecond(${E.durationMs} + ${E.startWindowMs}) >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')
     ORDER BY ${E.start}, ${E.examId}`,
    query_params: { from: Math.trunc(window.fromMs), to: Math.trunc(window.toMs) },
    format: 'JSONCompactEachRow',
  });
  const out: ScheduledExam[] = [];
  for (const [i, r] of (await rs.json<unknown>()).entries()) {
    const p = examRow.safeParse(r);
    if (!p.success) throw new DecodeError('schedule.row', `readSchedule: row ${i} of ${TABLES.examSchedule} does not fit: ${p.error.message}`);
    const [id, faculty, start, enrolled, durationMs, startWindowMs, server] = p.data;
    const e: ScheduledExam = { id, faculty, start, enrolled, durationMs, ...(startWindowMs > 0 ? { startWindowMs } : {}), ...(server !== '' ? { server } : {}) };
    // The SQL filter already holds; kept as the one definition of "online in the window".
    if (examEndMs(e) >= window.fromMs) out.push(e);
  }
  return out;
}
