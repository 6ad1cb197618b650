/**
 * CSV timetables: a header row names the columns (any order; `exam_id`, `faculty`,
 * `start`, `duration`, `enrolled`, optional `start_window`, `server`, with the aliases
 * of `fieldOfName`), `;`, `,` or tab as delimiter (whichever the header uses), RFC 4180
 * quoting (a quoted field may hold the delimiter, `""` and line breaks). Unknown columns
 * are ignored and named in the notes; blank lines are skipped.
 */
import { examOfRaw, fieldOfName, type ExamField, type ParsedRow, type ParserOutput, type RawExam, type RowId, type TimetableIssue } from './timetable.ts';
import type { ScheduledExam } from './exam.ts';

interface CsvRecord {
  readonly line: number;
  readonly fields: string[];
}

/** Splits CSV text into records (with their first line), honouring quotes. */
export function splitCsv(text: string, delimiter: string): { records: CsvRecord[]; unterminatedAt?: number } {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let inQuotes = false;
  let quoteLine = 0;
  let any = false;
  const endRecord = () => {
    fields.push(field);
    if (any || fields.length > 1 || field !== '') records.push({ line: recordLine, fields });
    fields = [];
    field = '';
    any = false;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inQuotes) {
      if (c === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else inQuotes = false;
      } else {
        if (c === '\n') line++;
        field += c;
      }
      continue;
    }
    if (c === '"' && field.trim() === '') {
      inQuotes = true;
      quoteLine = line;
      field = '';
      any = true;
    } else if (c === delimiter) {
      fields.push(field);
      field = '';
      any = true;
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      endRecord();
      line++;
      recordLine = line;
    } else field += c;
  }
  if (inQuotes) return { records, unterminatedAt: quoteLine };
  endRecord();
  return { records };
}

/** The most frequent of `;`, tab and `,` outside quotes in the header line (`,` on a tie). */
function delimiterOf(headerLine: string): string {
  const n: Record<string, number> = { ',': 0, ';': 0, '\t': 0 };
  let q = false;
  for (const c of headerLine) {
    if (c === '"') q = !q;
    else if (!q && c in n) n[c]!++;
  }
  return n[';']! > n[',']! && n[';']! >= n['\t']! ? ';' : n['\t']! > n[',']! ? '\t' : ',';
}

/** Parses a CSV timetable (see the module comment). */
export function parseCsvTimetable(text: string, source: string, issues: TimetableIssue[]): ParserOutput {
  const body = text.replace(/^\uFEFF/, '');
  const firstLine = body.split(/\r?\n/).find((l) => l.trim() !== '') ?? '';
  const delimiter = delimiterOf(firstLine);
  const { records, unterminatedAt } = splitCsv(body, delimiter);
  if (unterminatedAt !== undefined) {
    issues.push({ source, line: unterminatedAt, message: 'a quoted field is never closed (missing ")' });
    return { rows: [], ids: [], notes: [] };
  }
  const header = records[0];
  if (!header) {
    issues.push({ source, line: 0, message: 'empty file: expected a header row (exam_id, faculty, start, duration, enrolled[, start_window, server])' });
    return { rows: [], ids: [], notes: [] };
  }
  const columns = new Map<ExamField, { index: number; name: string }>();
  const ignored: string[] = [];
  header.fields.forEach((raw, index) => {
    const name = raw.trim();
    const f = fieldOfName(name);
    if (f === undefined) {
      if (name !== '') ignored.push(name);
    } else if (columns.has(f)) issues.push({ source, line: header.line, field: name, message: `same column as "${columns.get(f)!.name}"` });
    else columns.set(f, { index, name });
  });
  const missing = (['id', 'faculty', 'start', 'duration', 'enrolled'] as const).filter((f) => !columns.has(f));
  if (missing.length) {
    const names = { id: 'exam_id', faculty: 'faculty', start: 'start', duration: 'duration', enrolled: 'enrolled' } as const;
    issues.push({ source, line: header.line, message: `header lacks column${missing.length > 1 ? 's' : ''} ${missing.map((f) => names[f]).join(', ')} (found: ${header.fields.map((f) => f.trim()).join(', ')})` });
    return { rows: [], ids: [], notes: [] };
  }
  const rows: ParsedRow[] = [];
  const ids: RowId[] = [];
  const fieldName = (f: ExamField) => columns.get(f)?.name ?? f;
  for (const rec of records.slice(1)) {
    if (rec.fields.every((f) => f.trim() === '')) continue;
    if (rec.fields.length > header.fields.length) {
      issues.push({ source, line: rec.line, message: `${rec.fields.length} fields but the header has ${header.fields.length} (a "${delimiter}" inside a value needs quotes)` });
      continue;
    }
    const raw: RawExam = {};
    for (const [f, c] of columns) {
      const v = rec.fields[c.index];
      if (v !== undefined) raw[f] = v;
    }
    if (typeof raw.id === 'string' && raw.id.trim() !== '') ids.push({ id: raw.id.trim(), line: rec.line, idField: fieldName('id') });
    const exam = examOfRaw(raw, { line: rec.line, fieldName }, source, issues);
    if (exam) rows.push({ exam, line: rec.line });
  }
  return { rows, ids, notes: ignored.length ? [`ignored column${ignored.length > 1 ? 's' : ''}: ${ignored.join(', ')}`] : [] };
}

/**
 * A timetable as the CSV this parser reads (`;`-separated, header first, times in UTC,
 * durations and start windows in minutes): what `vigie simulate --timetable-out` writes
 * for `vigie schedule import`.
 */
export function formatCsvTimetable(exams: readonly ScheduledExam[]): string {
  const cell = (v: string) => (/[;"\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  const rows = exams.map((e) =>
    [e.id, e.faculty, new Date(e.start).toISOString().replace('.000Z', 'Z'), String(e.durationMs / 60_000), String(e.enrolled), e.startWindowMs ? String(e.startWindowMs / 60_000) : '', e.server ?? ''].map(cell).join(';'),
  );
  return ['exam_id;faculty;start;duration;enrolled;start_window;server', ...rows].join('\n') + '\n';
}
