/**
 * The planner's one door to the timetable. Today it reads the stored `exam_schedule`
 * table (what `vigie demo` and the schedule writer store) or the simulator's demo
 * morning; the schedule module (import from CSV/iCalendar, live reload) is meant to
 * replace the body of {@link readTimetable}, nothing else in the planner reads exams.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { ConfigError } from '../core/errors.ts';
import type { ScheduledExam } from '../schedule/index.ts';
import { isIdentifier } from '../schema/queries.ts';
import { EXAM_SCHEDULE as E, TABLES } from '../schema/tables.ts';
import { schedule } from '../simulator/model.ts';

/** Where the timetable comes from. */
export type TimetableSource =
  | { readonly kind: 'demo' }
  | { readonly kind: 'stored'; readonly client: ClickHouseClient; readonly database: string };

/** Exams starting in [fromMs, toMs), ordered by start then id. */
export async function readTimetable(source: TimetableSource, fromMs: number, toMs: number): Promise<ScheduledExam[]> {
  let exams: ScheduledExam[];
  if (source.kind === 'demo') {
    exams = [];
    for (let d = Math.floor(fromMs / 86_400_000) * 86_400_000; d < toMs; d += 86_400_000) exams.push(...schedule(d));
  } else {
    if (!isIdentifier(source.database)) throw new ConfigError(`timetable: database "${source.database}" is not a ClickHouse identifier`);
    const rs = await source.client.query({
      // `start_ms`, not `start`: an alias named like the column would shadow it in WHERE.
      query: `SELECT ${E.examId} AS id, ${E.faculty} AS faculty, toUnixTimestamp64Milli(${E.start}) AS start_ms, ${E.enrolled} AS enrolled, ${E.durationMs} AS durationMs
              FROM ${source.database}.${TABLES.examSchedule} FINAL
              WHERE ${E.start} >= fromUnixTimestamp64Milli({from:Int64}) AND ${E.start} < fromUnixTimestamp64Milli({to:Int64})`,
      query_params: { from: fromMs, to: toMs },
      format: 'JSONEachRow',
    });
    const rows = (await rs.json()) as { id: string; faculty: string; start_ms: number | string; enrolled: number | string; durationMs: number | string }[];
    exams = rows.map((r) => ({ id: r.id, faculty: r.faculty, start: Number(r.start_ms), enrolled: Number(r.enrolled), durationMs: Number(r.durationMs) }));
  }
  return exams.filter((e) => e.start >= fromMs && e.start < toMs).sort((a, b) => a.start - b.start || a.id.localeCompare(b.id));
}
