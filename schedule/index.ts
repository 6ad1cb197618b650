/**
 * The exam timetable, a first-class input. In: timetable files as universities export
 * them (CSV, JSON, iCalendar), from a path or an HTTP URL, reloaded live. Out: validated
 * `ScheduledExam`s — stored in `exam_schedule` (read by dashboards, post-mortem,
 * backtests), and turned into the expected-load series the rules engine reads
 * (`ecampus_expected_sessions`, `ecampus_expected_peak_sessions` per faculty and
 * `ecampus_platform_expected_*` for the whole platform), fed on the data watermark.
 * Feeds: the rules stage, the backtests, `vigie schedule import|show`. Formats are
 * documented in `schedule/README.md`.
 */
export { examEndMs } from './exam.ts';
export type { ScheduledExam } from './exam.ts';
export { parseTimetable, loadTimetableFile } from './parse.ts';
export { formatCsvTimetable } from './csv.ts';
export type { ParseTimetableOptions } from './parse.ts';
export { TimetableError, TIMETABLE_FORMATS, formatIssue, detectFormat, formatOfContentType } from './timetable.ts';
export type { Timetable, TimetableFormat, TimetableIssue } from './timetable.ts';
export {
  EXPECTED_SESSIONS,
  EXPECTED_PEAK_SESSIONS,
  PLATFORM_EXPECTED_SESSIONS,
  PLATFORM_EXPECTED_PEAK_SESSIONS,
  LOAD_DEFAULTS,
  expectedSessionsAt,
  expectedPeak,
  scheduleSeries,
  scheduleReachMs,
} from './expectedLoad.ts';
export type { ExpectedPeak, ScheduleSeriesOptions } from './expectedLoad.ts';
export { createScheduleFeeder } from './feeder.ts';
export type { ScheduleFeeder } from './feeder.ts';
export { summarizeLoad } from './summary.ts';
export type { LoadSummaryRow, SummarizeLoadOptions } from './summary.ts';
export { writeSchedule, readSchedule } from './storage.ts';
export type { ReadScheduleWindow, WriteScheduleOptions } from './storage.ts';
export { createScheduleSource, scheduleSourceSpecOf } from './source.ts';
export type { ScheduleCheck, ScheduleConfigSection, ScheduleSource, ScheduleSourceDeps, ScheduleSourceSpec, ScheduleSourceStatus } from './source.ts';
