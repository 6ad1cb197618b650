/**
 * iCalendar (RFC 5545) timetables, as planning tools and calendar servers export them:
 * one `VEVENT` per exam. `UID` → exam id; `DTSTART` with `DTEND` or `DURATION`; times in
 * UTC (`…Z`), with a `TZID` naming an IANA zone (converted with `Intl`), or floating
 * with the calendar's `X-WR-TIMEZONE`. Faculty, enrolment, start window and server come
 * from `X-VIGIE-FACULTY` / `X-VIGIE-ENROLLED` / `X-VIGIE-START-WINDOW` /
 * `X-VIGIE-SERVER`, else from `DESCRIPTION` lines such as `faculty: law`, and the
 * faculty falls back to the first `CATEGORIES` value. `STATUS:CANCELLED` events are
 * skipped (named in the notes); recurring events (`RRULE`) are refused.
 *
 * A small parser rather than `node-ical` (which pulls axios, moment-timezone and rrule
 * for features exams do not use) or `ical.js` (which needs each zone's VTIMEZONE
 * registered by hand, where `Intl` already knows every IANA zone): line unfolding,
 * parameters, text escapes and the three time forms are all an exam timetable needs.
 */
import { isTimeZone, parseIsoDuration, utcOfFields, wallTimeToUtc, type Parsed } from './time.ts';
import { examOfRaw, type ExamField, type ParsedRow, type ParserOutput, type RawExam, type RowId, type TimetableIssue } from './timetable.ts';

/** One content line after unfolding. */
export interface ContentLine {
  /** Physical line where it starts (1-based). */
  readonly line: number;
  /** Upper-cased property name. */
  readonly name: string;
  /** Upper-cased parameter names → values (quotes removed). */
  readonly params: Readonly<Record<string, string>>;
  readonly value: string;
}

/** Unfolds lines (RFC 5545 §3.1: CRLF followed by a space or tab continues the line) and splits name;params:value. */
export function contentLines(text: string, source: string, issues: TimetableIssue[]): ContentLine[] {
  const physical = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  const logical: { line: number; text: string }[] = [];
  physical.forEach((l, i) => {
    if ((l.startsWith(' ') || l.startsWith('\t')) && logical.length) logical[logical.length - 1]!.text += l.slice(1);
    else if (l.trim() !== '') logical.push({ line: i + 1, text: l });
  });
  const out: ContentLine[] = [];
  for (const { line, text: l } of logical) {
    // Split at the first ':' that is not inside a quoted parameter value.
    let i = 0;
    let q = false;
    for (; i < l.length; i++) {
      if (l[i] === '"') q = !q;
      else if (!q && l[i] === ':') break;
    }
    if (i >= l.length) {
      issues.push({ source, line, message: `not an iCalendar content line (NAME:value): ${JSON.stringify(l.slice(0, 60))}` });
      continue;
    }
    const head = l.slice(0, i);
    const parts: string[] = [];
    let cur = '';
    q = false;
    for (const c of head) {
      if (c === '"') q = !q;
      if (c === ';' && !q) {
        parts.push(cur);
        cur = '';
      } else cur += c;
    }
    parts.push(cur);
    const params: Record<string, string> = {};
    for (const p of parts.slice(1)) {
      const eq = p.indexOf('=');
      if (eq > 0) params[p.slice(0, eq).toUpperCase()] = p.slice(eq + 1).replace(/^"(.*)"$/, '$1');
    }
    out.push({ line, name: parts[0]!.trim().toUpperCase(), params, value: l.slice(i + 1) });
  }
  return out;
}

/** TEXT value escapes (§3.3.11): `\n`, `\,`, `\;`, `\\`. */
export function unescapeText(v: string): string {
  return v.replace(/\\([nN,;\\])/g, (_, c: string) => (c === 'n' || c === 'N' ? '\n' : c));
}

/** A DATE-TIME property value in UTC ms: `…Z`, `TZID=` wall time, or floating in `defaultZone`. */
export function icalDateTime(p: ContentLine, defaultZone: string | undefined): Parsed<number> {
  const v = p.value.trim();
  if (p.params['VALUE']?.toUpperCase() === 'DATE' || /^\d{8}$/.test(v)) {
    return { ok: false, error: `"${v}" is a whole day; an exam needs a start time (e.g. 20260112T090000Z)` };
  }
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})(Z?)$/.exec(v);
  if (!m) return { ok: false, error: `"${v}" is not an iCalendar date-time (e.g. 20260112T090000Z)` };
  const wall = utcOfFields(Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]));
  if (!Number.isFinite(wall)) return { ok: false, error: `"${v}" is not a valid date and time` };
  if (m[7] === 'Z') return { ok: true, value: wall };
  const zone = p.params['TZID']?.replace(/^\//, '') ?? defaultZone;
  if (zone === undefined) return { ok: false, error: `"${v}" has neither Z nor TZID (a floating time means a different instant on every machine)` };
  if (!isTimeZone(zone)) return { ok: false, error: `TZID "${zone}" is not an IANA time zone (e.g. Europe/Brussels)` };
  return { ok: true, value: wallTimeToUtc(wall, zone) };
}

/** Keys of `DESCRIPTION` lines (`faculty: law`), compared lower-case without spaces/_/-. */
const DESCRIPTION_KEYS: Readonly<Record<string, ExamField>> = {
  faculty: 'faculty',
  enrolled: 'enrolled',
  enrolment: 'enrolled',
  enrollment: 'enrolled',
  students: 'enrolled',
  startwindow: 'start_window',
  server: 'server',
};

const X_PROPERTIES: Readonly<Record<string, ExamField>> = {
  'X-VIGIE-FACULTY': 'faculty',
  'X-VIGIE-ENROLLED': 'enrolled',
  'X-VIGIE-START-WINDOW': 'start_window',
  'X-VIGIE-SERVER': 'server',
};

/** Where an event may say what it lacks. */
function missingHint(f: ExamField): string {
  switch (f) {
    case 'faculty':
      return 'missing (give X-VIGIE-FACULTY, CATEGORIES, or a DESCRIPTION line "faculty: …")';
    case 'enrolled':
      return 'missing (give X-VIGIE-ENROLLED or a DESCRIPTION line "enrolled: N")';
    default:
      return 'missing';
  }
}

interface EventProps {
  readonly beginLine: number;
  readonly props: ContentLine[];
}

/** Parses an iCalendar timetable (see the module comment). */
export function parseIcsTimetable(text: string, source: string, issues: TimetableIssue[]): ParserOutput {
  if (!/^\s*BEGIN:VCALENDAR\s*(\r|\n|$)/i.test(text.replace(/^\uFEFF/, ''))) {
    issues.push({ source, line: 1, message: 'not an iCalendar file: it must start with BEGIN:VCALENDAR' });
    return { rows: [], ids: [], notes: [] };
  }
  const lines = contentLines(text, source, issues);
  let defaultZone: string | undefined;
  const events: EventProps[] = [];
  const stack: { name: string; line: number }[] = [];
  let current: EventProps | null = null;
  for (const l of lines) {
    if (l.name === 'BEGIN') {
      const comp = l.value.trim().toUpperCase();
      stack.push({ name: comp, line: l.line });
      if (comp === 'VEVENT' && stack.length === 2) current = { beginLine: l.line, props: [] };
      continue;
    }
    if (l.name === 'END') {
      const comp = l.value.trim().toUpperCase();
      const open = stack.pop();
      if (!open || open.name !== comp) {
        issues.push({ source, line: l.line, message: `END:${comp} does not close ${open ? `BEGIN:${open.name} (line ${open.line})` : 'anything'}` });
        return { rows: [], ids: [], notes: [] };
      }
      if (comp === 'VEVENT' && current && stack.length === 1) {
        events.push(current);
        current = null;
      }
      continue;
    }
    if (stack.length === 1 && l.name === 'X-WR-TIMEZONE') {
      const z = l.value.trim();
      if (!isTimeZone(z)) issues.push({ source, line: l.line, field: 'X-WR-TIMEZONE', message: `"${z}" is not an IANA time zone (e.g. Europe/Brussels)` });
      else defaultZone = z;
    }
    // Properties of the event itself, not of a nested VALARM.
    if (current && stack.length === 2) current.props.push(l);
  }
  if (stack.length) {
    const open = stack[stack.length - 1]!;
    issues.push({ source, line: open.line, message: `BEGIN:${open.name} is never closed (the file is truncated?)` });
    return { rows: [], ids: [], notes: [] };
  }

  const rows: ParsedRow[] = [];
  const ids: RowId[] = [];
  const cancelled: string[] = [];
  for (const ev of events) {
    const one = (name: string) => ev.props.find((p) => p.name === name);
    const at = (field: string, p: ContentLine | undefined, message: string) => issues.push({ source, line: p?.line ?? ev.beginLine, field, message });
    const uid = one('UID');
    if (one('STATUS')?.value.trim().toUpperCase() === 'CANCELLED') {
      cancelled.push(uid ? unescapeText(uid.value.trim()) : `line ${ev.beginLine}`);
      continue;
    }
    const before = issues.length;
    if (one('RRULE') || one('RDATE')) at(one('RRULE') ? 'RRULE' : 'RDATE', one('RRULE') ?? one('RDATE'), 'recurring events are not supported: export each exam as its own event');

    const raw: RawExam = {};
    const names = new Map<ExamField, string>();
    const lineOf = new Map<ExamField, number>();
    const set = (f: ExamField, v: string, name: string, line: number) => {
      if (raw[f] !== undefined) return;
      raw[f] = v;
      names.set(f, name);
      lineOf.set(f, line);
    };
    if (uid) set('id', unescapeText(uid.value.trim()), 'UID', uid.line);
    else names.set('id', 'UID');
    for (const p of ev.props) {
      const f = X_PROPERTIES[p.name];
      if (f) set(f, unescapeText(p.value), p.name, p.line);
    }
    const desc = one('DESCRIPTION');
    if (desc) {
      for (const dl of unescapeText(desc.value).split('\n')) {
        const m = /^\s*([A-Za-z][\w -]*?)\s*[:=]\s*(.*?)\s*$/.exec(dl);
        const f = m ? DESCRIPTION_KEYS[m[1]!.toLowerCase().replace(/[\s_-]+/g, '')] : undefined;
        if (m && f) set(f, m[2]!, `DESCRIPTION (${m[1]!.trim()})`, desc.line);
      }
    }
    const cat = one('CATEGORIES');
    if (cat) {
      const first = cat.value.split(/(?<!\\),/)[0];
      if (first !== undefined && first.trim() !== '') set('faculty', unescapeText(first.trim()), 'CATEGORIES', cat.line);
    }

    const dtstart = one('DTSTART');
    let start: number | undefined;
    if (!dtstart) at('DTSTART', undefined, 'missing');
    else {
      const p = icalDateTime(dtstart, defaultZone);
      if (p.ok) start = p.value;
      else at('DTSTART', dtstart, p.error);
    }
    const dtend = one('DTEND');
    const duration = one('DURATION');
    let durationMs: number | undefined;
    if (dtend && duration) at('DURATION', duration, 'give DTEND or DURATION, not both');
    else if (dtend) {
      const p = icalDateTime(dtend, defaultZone);
      if (!p.ok) at('DTEND', dtend, p.error);
      else if (start !== undefined) {
        if (p.value <= start) at('DTEND', dtend, `${dtend.value.trim()} is not after DTSTART ${dtstart!.value.trim()}`);
        else durationMs = p.value - start;
      }
    } else if (duration) {
      const p = parseIsoDuration(duration.value);
      if (!p.ok) at('DURATION', duration, p.error);
      else if (p.value <= 0) at('DURATION', duration, `"${duration.value.trim()}" must be longer than zero`);
      else durationMs = p.value;
    } else at('DTEND', dtstart, 'missing (give DTEND or DURATION)');

    // Start and duration are checked above; examOfRaw checks the rest with the same rules as CSV.
    raw.start = start ?? 0;
    raw.duration = durationMs !== undefined ? `PT${durationMs / 1000}S` : 'PT1S';
    if (uid && raw.id !== '') ids.push({ id: String(raw.id), line: uid.line, idField: 'UID' });
    const exam = examOfRaw(raw, { line: ev.beginLine, fieldName: (f) => names.get(f) ?? f, fieldLine: (f) => lineOf.get(f), missing: missingHint }, source, issues);
    if (exam && issues.length === before) rows.push({ exam, line: uid?.line ?? ev.beginLine });
  }
  const notes = cancelled.length ? [`skipped ${cancelled.length} cancelled event${cancelled.length > 1 ? 's' : ''} (STATUS:CANCELLED): ${cancelled.join(', ')}`] : [];
  return { rows, ids, notes };
}
