/**
 * Timetable parsers: the shipped examples, each format's quirks (delimiters, quoting,
 * folding, time zones), and broken files refused whole with every error named.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseTimetable, TimetableError, type Timetable } from '../../../schedule/index.ts';
import { parseIsoDuration, parseIsoInstant, wallTimeToUtc } from '../../../schedule/time.ts';

const example = (name: string) => readFileSync(fileURLToPath(new URL(`../../../deploy/examples/${name}`, import.meta.url)), 'utf8');
const H = 3_600_000;

/** The error a broken timetable raises (fails the test when it parses). */
function refusal(text: string, source: string): TimetableError {
  try {
    parseTimetable(text, { source });
  } catch (err) {
    if (err instanceof TimetableError) return err;
    throw err;
  }
  throw new Error(`${source} was accepted`);
}

describe('shipped examples', () => {
  it('CSV, iCalendar and JSON describe the same 20-exam morning', () => {
    const csv = parseTimetable(example('timetable.csv'), { source: 'timetable.csv' });
    const ics = parseTimetable(example('timetable.ics'), { source: 'timetable.ics' });
    const json = parseTimetable(example('timetable.json'), { source: 'timetable.json' });
    expect(csv.exams).toHaveLength(20);
    expect(ics.exams).toEqual(csv.exams);
    expect(json.exams).toEqual(csv.exams);
    expect(csv.notes).toEqual(['ignored column: title']);
    expect(csv.exams[0]).toEqual({ id: 'med-anat-b1', faculty: 'medicine', start: Date.UTC(2027, 0, 11, 9), enrolled: 1100, durationMs: H, startWindowMs: 20 * 60_000, server: 'ecampus-med' });
  });
});

describe('CSV', () => {
  it('reads columns in any order, aliases, commas, quotes (delimiter, "" and line breaks inside), BOM and CRLF', () => {
    const text = '\uFEFFEnrolment,Exam ID,Start,Faculty,Duration,Notes\r\n' + '120,"arch,1",2026-01-12T10:00:00Z,architecture,PT30M,"a ""quoted""\nnote"\r\n' + '\r\n' + '300,sci-2,2026-01-12T11:00:00+01:00,sciences,45,\r\n';
    const t = parseTimetable(text, { source: 'x.csv' });
    expect(t.exams).toEqual([
      { id: 'arch,1', faculty: 'architecture', start: Date.UTC(2026, 0, 12, 10), enrolled: 120, durationMs: 30 * 60_000 },
      { id: 'sci-2', faculty: 'sciences', start: Date.UTC(2026, 0, 12, 10), enrolled: 300, durationMs: 45 * 60_000 },
    ]);
    expect(t.notes).toEqual(['ignored column: Notes']);
    expect(t.format).toBe('csv');
  });

  it('reads tab-separated files too', () => {
    const t = parseTimetable('exam_id\tfaculty\tstart\tduration\tenrolled\na\tlaw\t2026-01-12T09:00:00Z\t60\t10\n', { source: 'x.tsv' });
    expect(t.exams).toEqual([{ id: 'a', faculty: 'law', start: Date.UTC(2026, 0, 12, 9), enrolled: 10, durationMs: H }]);
  });

  it('refuses a broken file whole, naming file, line and field of every error', () => {
    const text = [
      'exam_id;faculty;start;duration;enrolled;room',
      'law-civil-b1;law;2026-01-12T09:00:00+01:00;60;900;A1',
      'law-crim-m1;law;2026-01-12T09:00;60;300;A2',
      'med-anat-b1;medicine;2026-01-12T09:00:00+01:00;1h30;abc;B1',
      ';hec;2026-01-12T09:00:00Z;PT1H;650;C1',
      'law-civil-b1;law;2026-01-12T10:00:00+01:00;0;100;A1',
      'eng-1;engineering;2026-02-30T09:00:00Z;60;-5;D1',
    ].join('\n');
    const err = refusal(text, 'timetable.csv');
    expect(err.message).toBe(
      [
        'timetable.csv refused, nothing imported (8 errors):',
        '  timetable.csv:3: start: "2026-01-12T09:00" has no UTC offset; add one (e.g. 2026-01-12T09:00:00+01:00 or 2026-01-12T08:00:00Z)',
        '  timetable.csv:4: duration: "1h30" is not minutes or an ISO 8601 duration (e.g. 90 or PT1H30M)',
        '  timetable.csv:4: enrolled: "abc" is not a non-negative integer',
        '  timetable.csv:5: exam_id: missing',
        '  timetable.csv:6: duration: "0" must be longer than zero',
        '  timetable.csv:6: exam_id: "law-civil-b1" is already used on line 2',
        '  timetable.csv:7: start: "2026-02-30T09:00:00Z" is not a valid date and time',
        '  timetable.csv:7: enrolled: "-5" is not a non-negative integer',
      ].join('\n'),
    );
    expect(err.issues[2]).toEqual({ source: 'timetable.csv', line: 4, field: 'enrolled', message: '"abc" is not a non-negative integer' });
  });

  it('names missing columns, an unclosed quote and a row with too many fields', () => {
    expect(refusal('exam_id,faculty,start\n', 't.csv').message).toContain('t.csv:1: header lacks columns duration, enrolled (found: exam_id, faculty, start)');
    expect(refusal('exam_id,faculty,start,duration,enrolled\na,law,2026-01-12T09:00:00Z,60,"10\n', 't.csv').message).toContain('t.csv:2: a quoted field is never closed (missing ")');
    expect(refusal('exam_id,faculty,start,duration,enrolled\na,law,2026-01-12T09:00:00Z,60,10,x\n', 't.csv').message).toContain('t.csv:2: 6 fields but the header has 5 (a "," inside a value needs quotes)');
    expect(refusal('', 't.csv').message).toContain('t.csv: empty file');
  });
});

describe('JSON', () => {
  it('reads an array or { exams: [...] } with camelCase or snake_case keys, minutes or ISO durations', () => {
    const arr = parseTimetable('[{"id":"a","faculty":"law","start":"2026-01-12T09:00:00+01:00","duration":90,"enrolled":10,"startWindow":"PT10M","server":"s1"}]', { source: 'x.json' });
    expect(arr.exams).toEqual([{ id: 'a', faculty: 'law', start: Date.UTC(2026, 0, 12, 8), enrolled: 10, durationMs: 90 * 60_000, startWindowMs: 10 * 60_000, server: 's1' }]);
    const obj = parseTimetable('{"exams":[{"exam_id":"a","faculty":"law","start":"2026-01-12T08:00:00Z","duration":"PT1H30M","enrolled":"10"}]}', { source: 'x.json' });
    expect(obj.exams).toEqual([{ id: 'a', faculty: 'law', start: Date.UTC(2026, 0, 12, 8), enrolled: 10, durationMs: 90 * 60_000 }]);
  });

  it('refuses unknown keys and bad values with the line of the exam object', () => {
    const text = '{\n  "exams": [\n    {"id": "a", "faculty": "law", "start": "2026-01-12T08:00:00Z", "duration": 60, "enrolled": 10},\n    {"id": "b", "faculty": "law", "start": "2026-01-12T08:00:00Z",\n     "duration": 60, "enroled": 10},\n    {"id": "a", "faculty": "law", "start": "2026-01-12T08:00:00Z", "duration": 60, "enrolled": 2.5}\n  ]\n}\n';
    expect(refusal(text, 'x.json').message).toBe(
      [
        'x.json refused, nothing imported (4 errors):',
        '  x.json:4: enroled: unknown key in exams[1] (accepted: exam_id, faculty, start, duration, enrolled, start_window, server)',
        '  x.json:4: enrolled: missing',
        '  x.json:6: enrolled: 2.5 is not a non-negative integer',
        '  x.json:6: id: "a" is already used on line 3',
      ].join('\n'),
    );
    expect(refusal('{"exams": [', 'x.json').message).toMatch(/^x\.json refused, nothing imported \(1 error\):\n {2}x\.json: not valid JSON: /);
  });
});

const ics = (...events: string[][]) => ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//test//EN', ...events.flatMap((e) => ['BEGIN:VEVENT', ...e, 'END:VEVENT']), 'END:VCALENDAR'].join('\r\n') + '\r\n';

describe('iCalendar', () => {
  it('reads Z, TZID (winter and summer time) and DURATION; faculty and enrolment from X- properties, CATEGORIES or DESCRIPTION', () => {
    const t: Timetable = parseTimetable(
      ics(
        ['UID:a', 'DTSTART:20260112T080000Z', 'DTEND:20260112T093000Z', 'X-VIGIE-FACULTY:law', 'X-VIGIE-ENROLLED:900', 'X-VIGIE-START-WINDOW:15', 'X-VIGIE-SERVER:web-3'],
        ['UID:b', 'DTSTART;TZID=Europe/Brussels:20260112T090000', 'DURATION:PT1H', 'CATEGORIES:medicine,EXAM', 'DESCRIPTION:enrolled: 300'],
        ['UID:c', 'DTSTART;TZID="Europe/Brussels":20260615T090000', 'DTEND;TZID=Europe/Brussels:20260615T100000', 'DESCRIPTION:Faculty: hec\\nStudents: 40\\nStart window: PT10M\\nBring a pen\\, please'],
      ),
      { source: 'x.ics' },
    );
    expect(t.exams).toEqual([
      { id: 'a', faculty: 'law', start: Date.UTC(2026, 0, 12, 8), enrolled: 900, durationMs: 1.5 * H, startWindowMs: 15 * 60_000, server: 'web-3' },
      { id: 'b', faculty: 'medicine', start: Date.UTC(2026, 0, 12, 8), enrolled: 300, durationMs: H },
      { id: 'c', faculty: 'hec', start: Date.UTC(2026, 5, 15, 7), enrolled: 40, durationMs: H, startWindowMs: 10 * 60_000 },
    ]);
  });

  it('unfolds folded lines, ignores nested VALARMs, skips cancelled events, uses X-WR-TIMEZONE for floating times', () => {
    const text = [
      'BEGIN:VCALENDAR',
      'X-WR-TIMEZONE:Europe/Brussels',
      'BEGIN:VEVENT',
      'UID:long-',
      ' exam-id',
      'DTSTART:20260112T090000',
      'DURATION:PT2H',
      'DESCRIPTION:faculty: sciences\\nenrol',
      '\tled: 12',
      'BEGIN:VALARM',
      'DESCRIPTION:enrolled: 99999',
      'TRIGGER:-PT15M',
      'END:VALARM',
      'END:VEVENT',
      'BEGIN:VEVENT',
      'UID:gone',
      'STATUS:CANCELLED',
      'DTSTART:20260112T090000Z',
      'END:VEVENT',
      'END:VCALENDAR',
    ].join('\n');
    const t = parseTimetable(text, { source: 'cal' });
    expect(t.format).toBe('ics');
    expect(t.exams).toEqual([{ id: 'long-exam-id', faculty: 'sciences', start: Date.UTC(2026, 0, 12, 8), enrolled: 12, durationMs: 2 * H }]);
    expect(t.notes).toEqual(['skipped 1 cancelled event (STATUS:CANCELLED): gone']);
  });

  it('refuses a broken file whole, naming file, line and property of every error', () => {
    const text = ics(
      ['UID:law-civil-b1', 'DTSTART;TZID=Europe/Brussels:20260112T090000', 'DTEND;TZID=Europe/Brussels:20260112T100000', 'CATEGORIES:law', 'X-VIGIE-ENROLLED:900'],
      ['UID:med-anat-b1', 'DTSTART;TZID=Europe/Liege:20260112T090000', 'DURATION:PT1H', 'DESCRIPTION:faculty: medicine\\nenrolled: lots'],
      ['UID:hec-micro-b1', 'DTSTART:20260112T090000Z', 'DTEND:20260112T080000Z', 'X-VIGIE-FACULTY:hec'],
      ['UID:sci-1', 'DTSTART:20260112T090000', 'DURATION:PT1H', 'X-VIGIE-FACULTY:sciences', 'X-VIGIE-ENROLLED:5'],
      ['UID:sci-2', 'DTSTART;VALUE=DATE:20260112', 'X-VIGIE-FACULTY:sciences', 'X-VIGIE-ENROLLED:5', 'RRULE:FREQ=WEEKLY'],
      ['UID:law-civil-b1', 'DTSTART:20260112T090000Z', 'DURATION:1 hour', 'X-VIGIE-ENROLLED:5'],
    );
    expect(refusal(text, 'timetable.ics').message).toBe(
      [
        'timetable.ics refused, nothing imported (11 errors):',
        '  timetable.ics:13: DTSTART: TZID "Europe/Liege" is not an IANA time zone (e.g. Europe/Brussels)',
        '  timetable.ics:15: DESCRIPTION (enrolled): "lots" is not a non-negative integer',
        '  timetable.ics:17: enrolled: missing (give X-VIGIE-ENROLLED or a DESCRIPTION line "enrolled: N")',
        '  timetable.ics:20: DTEND: 20260112T080000Z is not after DTSTART 20260112T090000Z',
        '  timetable.ics:25: DTSTART: "20260112T090000" has neither Z nor TZID (a floating time means a different instant on every machine)',
        '  timetable.ics:32: DTSTART: "20260112" is a whole day; an exam needs a start time (e.g. 20260112T090000Z)',
        '  timetable.ics:32: DTEND: missing (give DTEND or DURATION)',
        '  timetable.ics:35: RRULE: recurring events are not supported: export each exam as its own event',
        '  timetable.ics:37: faculty: missing (give X-VIGIE-FACULTY, CATEGORIES, or a DESCRIPTION line "faculty: …")',
        '  timetable.ics:38: UID: "law-civil-b1" is already used on line 5',
        '  timetable.ics:40: DURATION: "1 hour" is not an ISO 8601 duration (e.g. PT1H30M)',
      ].join('\n'),
    );
  });

  it('names an unterminated component and a file that is not iCalendar', () => {
    expect(refusal('BEGIN:VCALENDAR\nBEGIN:VEVENT\nUID:a\n', 'x.ics').message).toContain('x.ics:2: BEGIN:VEVENT is never closed (the file is truncated?)');
    expect(refusal('hello', 'x.ics').message).toContain('x.ics:1: not an iCalendar file: it must start with BEGIN:VCALENDAR');
  });
});

describe('time values', () => {
  it('ISO instants need an offset; durations exclude years and months', () => {
    expect(parseIsoInstant('2026-01-12T09:00:00.250-05:30')).toEqual({ ok: true, value: Date.UTC(2026, 0, 12, 14, 30, 0, 250) });
    expect(parseIsoInstant('2026-01-12 09:00Z')).toEqual({ ok: true, value: Date.UTC(2026, 0, 12, 9) });
    expect(parseIsoDuration('P1DT2H30M15S')).toEqual({ ok: true, value: ((24 + 2) * 3600 + 30 * 60 + 15) * 1000 });
    expect(parseIsoDuration('P1M').ok).toBe(false);
  });

  it('wall times in a zone: the spring gap reads with the offset before it, the autumn overlap takes the earlier instant', () => {
    expect(wallTimeToUtc(Date.UTC(2026, 2, 29, 2, 30), 'Europe/Brussels')).toBe(Date.UTC(2026, 2, 29, 1, 30));
    expect(wallTimeToUtc(Date.UTC(2026, 9, 25, 2, 30), 'Europe/Brussels')).toBe(Date.UTC(2026, 9, 25, 0, 30));
    expect(wallTimeToUtc(Date.UTC(2026, 6, 1, 9, 0), 'America/New_York')).toBe(Date.UTC(2026, 6, 1, 13, 0));
  });
});
