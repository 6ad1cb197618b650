/**
 * `parseTimetable`: text in any supported format → a validated {@link Timetable}, or a
 * {@link TimetableError} listing every problem (file:line: field: message). Exam ids
 * must be unique within the file.
 */
import { readFile } from 'node:fs/promises';
import { ConfigError } from '../core/errors.ts';
import { parseCsvTimetable } from './csv.ts';
import { parseIcsTimetable } from './ical.ts';
import { parseJsonTimetable } from './json.ts';
import { checkDuplicateIds, detectFormat, TimetableError, type Timetable, type TimetableFormat, type TimetableIssue, type TimetableParser } from './timetable.ts';

const PARSERS: Readonly<Record<TimetableFormat, TimetableParser>> = {
  csv: parseCsvTimetable,
  json: parseJsonTimetable,
  ics: parseIcsTimetable,
};

/** Options of {@link parseTimetable}. */
export interface ParseTimetableOptions {
  /** Name used in messages (the file path or URL as the user wrote it). */
  readonly source: string;
  /** Format; default from the source's extension, else sniffed from the text. */
  readonly format?: TimetableFormat;
}

/** Parses and validates a whole timetable; throws a TimetableError naming every bad row. */
export function parseTimetable(text: string, opts: ParseTimetableOptions): Timetable {
  const format = opts.format ?? detectFormat(opts.source, text);
  const issues: TimetableIssue[] = [];
  const out = PARSERS[format](text, opts.source, issues);
  checkDuplicateIds(out.ids, opts.source, issues);
  if (issues.length) {
    issues.sort((a, b) => a.line - b.line);
    throw new TimetableError(opts.source, issues);
  }
  return { source: opts.source, format, exams: out.rows.map((r) => r.exam), notes: out.notes };
}

/** Reads and parses a timetable file (`format` as in {@link parseTimetable}). */
export async function loadTimetableFile(path: string, format?: TimetableFormat): Promise<Timetable> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read timetable ${path}: ${(err as Error).message}`, { cause: err });
  }
  return parseTimetable(text, { source: path, ...(format ? { format } : {}) });
}
