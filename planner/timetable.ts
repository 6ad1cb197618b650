/**
 * The planner's one door to the timetable: the stored `exam_schedule` through the
 * schedule module's reader (what `vigie schedule import`, the live `schedule:` source and
 * `vigie demo` store), or the simulator's demo morning.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { readSchedule, type ScheduledExam } from '../schedule/index.ts';
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
    // The schedule module's reader: current rows only (tombstones of moved exams left out),
    // with start windows and servers — the same exams a stored plan's digest is checked against.
    exams = await readSchedule(source.client, source.database, { fromMs, toMs });
  }
  return exams.filter((e) => e.start >= fromMs && e.start < toMs).sort((a, b) => a.start - b.start || a.id.localeCompare(b.id));
}
