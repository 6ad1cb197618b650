/**
 * `vigie schedule import|show` and `vigie rules backtest --no-schedule` as a user runs
 * them (bin/vigie.mjs), on an embedded chDB directory of their own: broken files refused
 * whole with every error and nothing written, the examples imported, a moved exam
 * tombstoned, expected peaks against capacity — or an honest "none known".
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/vigie.mjs', import.meta.url));
const EXAMPLES = fileURLToPath(new URL('../../deploy/examples/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'vigie-schedule-cli-'));
const db = join(dir, 'chdb');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the bin without blocking the test worker (a blocked worker misses vitest's RPC deadlines). */
function vigie(...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 180_000, cwd: dir }, (err, stdout, stderr) => {
      const code = err ? ((err as { code?: unknown }).code ?? null) : 0;
      resolve({ status: typeof code === 'number' ? code : null, stdout, stderr });
    });
  });
}

describe('vigie schedule', () => {
  it('has --help on every sub-command', async () => {
    const commands = [['schedule'], ['schedule', 'import'], ['schedule', 'show']];
    const runs = await Promise.all(commands.map((args) => vigie(...args, '--help')));
    runs.forEach((r, i) => {
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`Usage: vigie ${commands[i]!.join(' ')}`);
    });
    expect((await vigie('rules', 'backtest', '--help')).stdout).toContain('--no-schedule');
  });

  it('refuses a broken CSV and a broken .ics whole, exit 2, every error named, nothing written', async () => {
    writeFileSync(
      join(dir, 'timetable.csv'),
      ['exam_id;faculty;start;duration;enrolled', 'law-civil-b1;law;2027-01-11T09:00:00+01:00;60;900', 'law-crim-m1;law;2027-01-11T09:00;60;300', 'med-anat-b1;medicine;2027-01-11T09:00:00+01:00;90;abc', 'law-civil-b1;law;2027-01-11T10:00:00+01:00;60;100', ''].join('\n'),
    );
    const csv = await vigie('schedule', 'import', 'timetable.csv', '--chdb-path', db);
    expect(csv.status).toBe(2);
    expect(csv.stdout).toBe('');
    expect(csv.stderr).toBe(
      [
        'vigie: timetable.csv refused, nothing imported (3 errors):',
        '  timetable.csv:3: start: "2027-01-11T09:00" has no UTC offset; add one (e.g. 2026-01-12T09:00:00+01:00 or 2026-01-12T08:00:00Z)',
        '  timetable.csv:4: enrolled: "abc" is not a non-negative integer',
        '  timetable.csv:5: exam_id: "law-civil-b1" is already used on line 2',
        '',
      ].join('\n'),
    );
    writeFileSync(
      join(dir, 'timetable.ics'),
      ['BEGIN:VCALENDAR', 'VERSION:2.0', 'BEGIN:VEVENT', 'UID:law-civil-b1', 'DTSTART;TZID=Europe/Brussels:20270111T090000', 'DURATION:PT1H', 'CATEGORIES:law', 'X-VIGIE-ENROLLED:900', 'END:VEVENT', 'BEGIN:VEVENT', 'UID:med-anat-b1', 'DTSTART;TZID=Europe/Brussel:20270111T090000', 'DTEND;TZID=Europe/Brussels:20270111T080000', 'DESCRIPTION:faculty: medicine', 'END:VEVENT', 'END:VCALENDAR', ''].join('\r\n'),
    );
    const ics = await vigie('schedule', 'import', 'timetable.ics', '--chdb-path', db);
    expect(ics.status).toBe(2);
    expect(ics.stderr).toBe(
      [
        'vigie: timetable.ics refused, nothing imported (2 errors):',
        '  timetable.ics:10: enrolled: missing (give X-VIGIE-ENROLLED or a DESCRIPTION line "enrolled: N")',
        '  timetable.ics:12: DTSTART: TZID "Europe/Brussel" is not an IANA time zone (e.g. Europe/Brussels)',
        '',
      ].join('\n'),
    );
    const show = await vigie('schedule', 'show', '--date', '2027-01-11', '--chdb-path', db);
    expect(show.status, show.stderr).toBe(0);
    expect(show.stdout).toContain('No exam on 2027-01-11.');
  });

  it('imports the example .ics, prints exams per day and faculty, and show compares peaks with capacity', async () => {
    const r = await vigie('schedule', 'import', join(EXAMPLES, 'timetable.ics'), '--chdb-path', db, '--tz', 'Europe/Brussels');
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain(`imported 20 exams into vigie.exam_schedule (chDB ${db})`);
    expect(r.stdout).toMatch(/^2027-01-11 +law +3 +1,600 +09:30, 10:00$/m);
    expect(r.stdout).toMatch(/^2027-01-11 +medicine +3 +2,200 +10:00, 11:00$/m);

    const show = await vigie('schedule', 'show', '--date', '2027-01-11', '--chdb-path', db, '--capacity', 'medicine=1350,law=2000');
    expect(show.status, show.stderr).toBe(0);
    expect(show.stdout).toContain('Expected load from vigie.exam_schedule: attendance 93% of enrolled');
    // 0.93 × (1100 + 800) online just before the 9:00 exams end at 10:00, with the 10:00 exam (300) fully arrived.
    expect(show.stdout).toMatch(/^medicine +3 +2,200 +2,046 +10:00 +1,350 +152% +OVER CAPACITY$/m);
    // law: all 1,600 online at 9:15, when the 15-min start window of law-civil-b1 closes.
    expect(show.stdout).toMatch(/^law +3 +1,600 +1,488 +09:15 +2,000 +74%$/m);
    expect(show.stdout).toMatch(/^hec +3 +1,900 +1,767 +10:00 +- +-$/m);
    expect(show.stdout).toMatch(/^platform +20 +9,570 +8,017 +10:00 +- +unknown \(no capacity for architecture, engineering, gembloux, hec, /m);
  });

  it('re-importing with an exam moved tombstones its old row; show reads the current timetable', async () => {
    const moved = readFileSync(join(EXAMPLES, 'timetable.csv'), 'utf8').replace('law-civil-b1;law;2027-01-11T10:00:00+01:00', 'law-civil-b1;law;2027-01-11T11:30:00+01:00');
    writeFileSync(join(dir, 'moved.csv'), moved);
    const r = await vigie('schedule', 'import', 'moved.csv', '--chdb-path', db);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout).toContain('moved.csv: 20 exams valid (csv); ignored column: title');
    expect(r.stdout).toContain('; moved since the last import: law-civil-b1');
    const show = await vigie('schedule', 'show', '--date', '2027-01-11', '--chdb-path', db);
    expect(show.stdout).toMatch(/^law +3 +1,600 /m);
    expect(show.stdout).toMatch(/^platform +20 +9,570 /m);
    expect(show.stdout).toContain('Capacity: none known (pass --capacity faculty=N,... or set schedule.capacity in --config); peaks are shown without a comparison.');
  });

  it('show --file with capacities from --config: the platform capacity is their sum', async () => {
    const capacity = { medicine: 1350, hec: 1150, law: 1100, engineering: 1500, sciences: 1000, philosophy: 900, psychology: 1100, 'social-sciences': 650, veterinary: 500, gembloux: 500, architecture: 300 };
    writeFileSync(join(dir, 'vigie.yml'), `schedule:\n  file: ${join(EXAMPLES, 'timetable.json')}\n  capacity:\n${Object.entries(capacity).map(([k, v]) => `    ${k}: ${v}`).join('\n')}\n`);
    const show = await vigie('--config', 'vigie.yml', 'schedule', 'show', '--tz', 'UTC');
    expect(show.status, show.stderr).toBe(0);
    expect(show.stdout).toContain(`Expected load from ${join(EXAMPLES, 'timetable.json')}`);
    expect(show.stdout).toMatch(/^2027-01-11 \(UTC\)$/m);
    expect(show.stdout).toMatch(/^platform +20 +9,570 +8,017 +10:00 +10,050 +80%$/m);
    const bad = await vigie('schedule', 'show', '--capacity', 'law=lots');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toContain('--capacity expects FACULTY=SESSIONS[,…] with a positive whole number, got "law=lots"');
  });

  it('rules backtest reads the stored timetable, and --no-schedule leaves it out', async () => {
    const args = ['rules', 'backtest', '--from', '2027-01-11T08:00:00Z', '--to', '2027-01-11T08:05:00Z', '--chdb-path', db, '--format', 'json'];
    const withSchedule = await vigie(...args);
    expect(withSchedule.status, withSchedule.stderr).toBe(0);
    expect((JSON.parse(withSchedule.stdout) as { exams: unknown[] }).exams.length).toBeGreaterThan(0);
    const without = await vigie(...args, '--no-schedule');
    expect(without.status, without.stderr).toBe(0);
    expect((JSON.parse(without.stdout) as { exams: unknown[] }).exams).toEqual([]);
  });
});
