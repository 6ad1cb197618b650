/**
 * Timetable files → validated exams. One entry point for every format (CSV, JSON,
 * iCalendar): each parser turns its rows into field values with a line number, and the
 * checks here make them exams. Every bad row is collected; a timetable with any error is
 * refused whole (a half-imported timetable would under-forecast the morning silently).
 */
import { extname } from 'node:path';
import { ConfigError } from '../core/errors.ts';
import type { ScheduledExam } from './exam.ts';
import { parseIsoInstant, parseMinutesOrDuration, type Parsed } from './time.ts';

/** Timetable formats Vigie reads. */
export const TIMETABLE_FORMATS = ['csv', 'json', 'ics'] as const;
/** One of {@link TIMETABLE_FORMATS}. */
export type TimetableFormat = (typeof TIMETABLE_FORMATS)[number];

/** One problem in a timetable, located for the person who has to fix it. */
export interface TimetableIssue {
  readonly source: string;
  /** 1-based line where the row (or the property) starts; 0 when the whole file is at fault. */
  readonly line: number;
  /** The column, key or property at fault, when one is. */
  readonly field?: string;
  readonly message: string;
}

/** `timetable.csv:14: enrolled: "abc" is not a non-negative integer`. */
export function formatIssue(i: TimetableIssue): string {
  return `${i.source}${i.line > 0 ? `:${i.line}` : ''}: ${i.field ? `${i.field}: ` : ''}${i.message}`;
}

/** A timetable refused whole, with every issue found. */
export class TimetableError extends ConfigError {
  readonly issues: readonly TimetableIssue[];
  constructor(source: string, issues: readonly TimetableIssue[]) {
    const n = issues.length;
    super(`${source} refused, nothing imported (${n} error${n === 1 ? '' : 's'}):\n${issues.map((i) => `  ${formatIssue(i)}`).join('\n')}`);
    this.issues = issues;
  }
}

/** A parsed, validated timetable. */
export interface Timetable {
  readonly source: string;
  readonly format: TimetableFormat;
  /** The exams, in file order. */
  readonly exams: readonly ScheduledExam[];
  /** What was read but deliberately not imported (ignored columns, cancelled events), for people. */
  readonly notes: readonly string[];
}

/** The exam fields a timetable row carries, by canonical name. */
export const EXAM_FIELDS = ['id', 'faculty', 'start', 'duration', 'enrolled', 'start_window', 'server'] as const;
/** One of {@link EXAM_FIELDS}. */
export type ExamField = (typeof EXAM_FIELDS)[number];

/**
 * Column (CSV) and key (JSON) names accepted for each field, compared lower-case with
 * spaces, `_` and `-` removed, so `Exam ID`, `exam_id` and `examId` are one column.
 */
const ALIASES: Readonly<Record<ExamField, readonly string[]>> = {
  id: ['examid', 'id', 'exam', 'uid'],
  faculty: ['faculty', 'faculte', 'department'],
  start: ['start', 'starttime', 'startsat', 'begin'],
  duration: ['duration', 'durationminutes', 'durationmin', 'minutes'],
  enrolled: ['enrolled', 'enrolment', 'enrollment', 'students'],
  start_window: ['startwindow', 'startwindowminutes', 'window'],
  server: ['server', 'host'],
};

/** The field a column or key name stands for, or undefined. */
export function fieldOfName(name: string): ExamField | undefined {
  const k = name.trim().toLowerCase().replace(/[\s_-]+/g, '');
  return EXAM_FIELDS.find((f) => ALIASES[f].includes(k));
}

/** Raw values of one row, before checking (strings from CSV/iCalendar, strings or numbers from JSON). */
export type RawExam = Partial<Record<ExamField, string | number>>;

/** Where each field of a raw row came from, for the messages (column or key name, line). */
export interface RowOrigin {
  readonly line: number;
  /** Name to print for a field (the column header as written, the iCalendar property). */
  readonly fieldName?: (f: ExamField) => string;
  /** Line of a field when it differs from the row's (iCalendar properties). */
  readonly fieldLine?: (f: ExamField) => number | undefined;
  /** What to say when a required field is absent (default `missing`). */
  readonly missing?: (f: ExamField) => string;
}

const MAX_ENROLLED = 0xffffffff;

function intOf(v: string | number): number | null {
  if (typeof v === 'number') return Number.isInteger(v) ? v : null;
  return /^\s*\d+\s*$/.test(v) ? Number(v) : null;
}

/**
 * Checks one raw row and returns the exam, pushing an issue for every bad field (not
 * only the first) into `issues`.
 */
export function examOfRaw(raw: RawExam, origin: RowOrigin, source: string, issues: TimetableIssue[]): ScheduledExam | null {
  const before = issues.length;
  const name = (f: ExamField) => origin.fieldName?.(f) ?? f;
  const fail = (f: ExamField, message: string) => issues.push({ source, line: origin.fieldLine?.(f) ?? origin.line, field: name(f), message });
  const missing = (f: ExamField) => fail(f, origin.missing?.(f) ?? 'missing');
  const text = (f: ExamField, required: boolean): string | undefined => {
    const v = raw[f];
    if (v === undefined || (typeof v === 'string' && v.trim() === '')) {
      if (required) missing(f);
      return undefined;
    }
    if (typeof v !== 'string') {
      fail(f, `${JSON.stringify(v)} is not text`);
      return undefined;
    }
    return v.trim();
  };
  const id = text('id', true);
  const faculty = text('faculty', true);
  const server = text('server', false);

  let start: number | undefined;
  const rs = raw.start;
  if (rs === undefined || rs === '') missing('start');
  else if (typeof rs === 'number') start = Number.isFinite(rs) ? rs : (fail('start', `${rs} is not epoch milliseconds`), undefined);
  else {
    const p = parseIsoInstant(rs);
    if (p.ok) start = p.value;
    else fail('start', p.error);
  }

  const minutes = (f: ExamField, required: boolean, positive: boolean): number | undefined => {
    const v = raw[f];
    if (v === undefined || v === '') {
      if (required) missing(f);
      return undefined;
    }
    const p: Parsed<number> =
      typeof v === 'number'
        ? Number.isInteger(v) && v >= 0
          ? { ok: true, value: v * 60_000 }
          : { ok: false, error: `${v} is not a whole number of minutes` }
        : parseMinutesOrDuration(v);
    if (!p.ok) return void fail(f, p.error);
    if (positive && p.value <= 0) return void fail(f, `${JSON.stringify(v)} must be longer than zero`);
    return p.value;
  };
  const durationMs = minutes('duration', true, true);
  const startWindowMs = minutes('start_window', false, false);

  let enrolled: number | undefined;
  const re = raw.enrolled;
  if (re === undefined || re === '') missing('enrolled');
  else {
    const n = intOf(re);
    if (n === null || n < 0 || n > MAX_ENROLLED) fail('enrolled', `${JSON.stringify(typeof re === 'string' ? re.trim() : re)} is not a non-negative integer`);
    else enrolled = n;
  }

  if (issues.length > before || id === undefined || faculty === undefined || start === undefined || durationMs === undefined || enrolled === undefined) return null;
  return {
    id,
    faculty,
    start,
    enrolled,
    durationMs,
    ...(startWindowMs ? { startWindowMs } : {}),
    ...(server !== undefined ? { server } : {}),
  };
}

/** Pushes an issue for every exam id seen before (naming the first line), in place. */
export function checkDuplicateIds(ids: readonly RowId[], source: string, issues: TimetableIssue[]): void {
  const first = new Map<string, number>();
  for (const r of ids) {
    const seen = first.get(r.id);
    if (seen === undefined) first.set(r.id, r.line);
    else issues.push({ source, line: r.line, field: r.idField, message: `${JSON.stringify(r.id)} is already used on line ${seen}` });
  }
}

/** The format named by a file's extension, else guessed from its first bytes. */
export function detectFormat(name: string, text: string): TimetableFormat {
  const ext = extname(name.split('?')[0] ?? '').toLowerCase();
  if (ext === '.csv' || ext === '.tsv' || ext === '.txt') return 'csv';
  if (ext === '.json') return 'json';
  if (ext === '.ics' || ext === '.ical' || ext === '.ifb') return 'ics';
  const head = text.replace(/^\uFEFF/, '').trimStart();
  if (/^BEGIN:VCALENDAR/i.test(head)) return 'ics';
  if (head.startsWith('[') || head.startsWith('{')) return 'json';
  return 'csv';
}

/** The format a `Content-Type` names, if any (`text/csv`, `application/json`, `text/calendar`). */
export function formatOfContentType(contentType: string | null | undefined): TimetableFormat | undefined {
  const t = (contentType ?? '').split(';')[0]!.trim().toLowerCase();
  if (t === 'text/csv' || t === 'application/csv') return 'csv';
  if (t === 'application/json' || t.endsWith('+json')) return 'json';
  if (t === 'text/calendar') return 'ics';
  return undefined;
}

/** What a format-specific parser returns before the shared checks. */
export interface ParserOutput {
  /** Good rows, in file order. */
  readonly rows: readonly ParsedRow[];
  /** Every row that names an exam id, good or not, for the duplicate check. */
  readonly ids: readonly RowId[];
  readonly notes: readonly string[];
}

/** One good row of a timetable. */
export interface ParsedRow {
  readonly exam: ScheduledExam;
  readonly line: number;
}

/** Where a row names its exam id (and under which column or property). */
export interface RowId {
  readonly id: string;
  readonly line: number;
  readonly idField: string;
}

/** A format-specific parser: pushes every issue it finds, returns the exams of the good rows. */
export type TimetableParser = (text: string, source: string, issues: TimetableIssue[]) => ParserOutput;
