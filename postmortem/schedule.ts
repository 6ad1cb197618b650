/**
 * Writes the exam schedule into `exam_schedule` (migration 005), so dashboards can mark
 * exam starts and the post-mortem can relate load to exams. Rows are validated before
 * they reach ClickHouse; re-writing the same exams replaces them (ReplacingMergeTree).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { ConfigError } from '../core/errors.ts';
import { isIdentifier } from '../pipeline/schema/queries.ts';
import { EXAM_SCHEDULE, TABLES } from '../pipeline/schema/tables.ts';
import type { ScheduledExam } from '../core/schedule.ts';

/** The schedule type lives in core (shared by the rules, the pipeline table and this writer). */
export type { ScheduledExam } from '../core/schedule.ts';

/** Inserts `exams` into `<database>.exam_schedule`; returns how many rows were written. */
export async function writeSchedule(client: ClickHouseClient, database: string, exams: readonly ScheduledExam[]): Promise<number> {
  if (!isIdentifier(database)) {
    throw new ConfigError(`writeSchedule: database "${database}" is not a ClickHouse identifier (letters, digits, _)`);
  }
  const E = EXAM_SCHEDULE;
  const rows = exams.map((e, i) => {
    const bad = (what: string): never => {
      throw new ConfigError(`writeSchedule: exam #${i} (${JSON.stringify(e.id)}): ${what}`);
    };
    if (typeof e.id !== 'string' || e.id === '') bad('id must be a non-empty string');
    if (typeof e.faculty !== 'string' || e.faculty === '') bad('faculty must be a non-empty string');
    if (!Number.isFinite(e.start)) bad('start must be epoch milliseconds');
    if (!Number.isInteger(e.enrolled) || e.enrolled < 0 || e.enrolled > 0xffffffff) bad('enrolled must be a non-negative integer');
    if (!Number.isInteger(e.durationMs) || e.durationMs < 0) bad('durationMs must be a non-negative integer');
    return { [E.examId]: e.id, [E.faculty]: e.faculty, [E.start]: Math.trunc(e.start), [E.enrolled]: e.enrolled, [E.durationMs]: e.durationMs };
  });
  if (rows.length === 0) return 0;
  await client.insert({ table: `${database}.${TABLES.examSchedule}`, values: rows, format: 'JSONEachRow' });
  return rows.length;
}
