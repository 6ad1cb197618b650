/**
 * JSON timetables: an array of exam objects, or `{ "exams": [ … ] }`. Keys are the CSV
 * column names (`exam_id` or `id`, `faculty`, `start`, `duration`, `enrolled`,
 * `start_window`, `server`; camelCase accepted); `start` is an ISO 8601 string with an
 * offset, `duration`/`start_window` minutes (number) or an ISO 8601 duration (string).
 * Unknown keys are refused: a misspelt `enroled` must not silently read as absent.
 */
import { examOfRaw, fieldOfName, type ExamField, type ParsedRow, type ParserOutput, type RawExam, type RowId, type TimetableIssue } from './timetable.ts';

/**
 * Line of each object that is a direct element of the exam array (depth `target` in the
 * container stack), found by a scan that skips strings: JSON.parse gives no positions.
 */
function elementLines(text: string, target: number): number[] {
  const lines: number[] = [];
  let depth = 0;
  let line = 1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '\n') line++;
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      if (c === '{' && depth === target) lines.push(line);
      depth++;
    } else if (c === ']' || c === '}') depth--;
  }
  return lines;
}

/** Parses a JSON timetable (see the module comment). */
export function parseJsonTimetable(text: string, source: string, issues: TimetableIssue[]): ParserOutput {
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/^\uFEFF/, ''));
  } catch (err) {
    issues.push({ source, line: 0, message: `not valid JSON: ${(err as Error).message}` });
    return { rows: [], ids: [], notes: [] };
  }
  let list: unknown;
  let depth = 1;
  let path = '';
  if (Array.isArray(doc)) list = doc;
  else if (doc !== null && typeof doc === 'object') {
    const extra = Object.keys(doc).filter((k) => k !== 'exams');
    if (extra.length) issues.push({ source, line: 1, field: extra[0], message: `unknown key (the document is an array of exams or { "exams": [ … ] })` });
    list = (doc as Record<string, unknown>)['exams'];
    depth = 2;
    path = 'exams';
    if (!Array.isArray(list)) {
      issues.push({ source, line: 1, field: 'exams', message: 'expected an array of exams' });
      return { rows: [], ids: [], notes: [] };
    }
  } else {
    issues.push({ source, line: 1, message: 'expected an array of exams or { "exams": [ … ] }' });
    return { rows: [], ids: [], notes: [] };
  }
  const items = list as unknown[];
  const lines = elementLines(text.replace(/^\uFEFF/, ''), depth);
  const rows: ParsedRow[] = [];
  const ids: RowId[] = [];
  let objectIndex = 0;
  items.forEach((item, i) => {
    const at = `${path}[${i}]`;
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      issues.push({ source, line: 0, field: at, message: 'expected an exam object' });
      return;
    }
    const line = lines[objectIndex++] ?? 0;
    const raw: RawExam = {};
    const names = new Map<ExamField, string>();
    for (const [k, v] of Object.entries(item)) {
      const f = fieldOfName(k);
      if (f === undefined) {
        issues.push({ source, line, field: k, message: `unknown key in ${at} (accepted: exam_id, faculty, start, duration, enrolled, start_window, server)` });
        continue;
      }
      if (names.has(f)) {
        issues.push({ source, line, field: k, message: `same field as "${names.get(f)}"` });
        continue;
      }
      names.set(f, k);
      if (v === null) continue;
      if (typeof v !== 'string' && typeof v !== 'number') {
        issues.push({ source, line, field: k, message: `${JSON.stringify(v)} is neither a string nor a number` });
        continue;
      }
      raw[f] = v;
    }
    if (typeof raw.id === 'string' && raw.id.trim() !== '') ids.push({ id: raw.id.trim(), line, idField: names.get('id') ?? 'id' });
    const exam = examOfRaw(raw, { line, fieldName: (f) => names.get(f) ?? f }, source, issues);
    if (exam) rows.push({ exam, line });
  });
  return { rows, ids, notes: [] };
}
