/**
 * `vigie schedule import FILE` (validate a timetable — CSV, JSON or iCalendar — and
 * write it to `exam_schedule`, or only check it with `--dry-run`) and `vigie schedule
 * show` (per faculty and for the platform: the expected peak of concurrent sessions and
 * when, against tested capacity where known). The timetable comes from `--file`, else the
 * config's `schedule:` source, else the store.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { loadConfig, type VigieConfig } from '../../core/config.ts';
import { parseCapacityConfig } from '../../planner/capacity.ts';
import { ConfigError } from '../../core/errors.ts';
import { createStorage, migrate, type Storage } from '../../pipeline/index.ts';
import {
  createScheduleSource,
  examEndMs,
  loadTimetableFile,
  readSchedule,
  scheduleSourceSpecOf,
  summarizeLoad,
  TIMETABLE_FORMATS,
  writeSchedule,
  type LoadSummaryRow,
  type ScheduledExam,
  type Timetable,
  type TimetableFormat,
} from '../../schedule/index.ts';
import { isTimeZone, wallTimeToUtc } from '../../schedule/time.ts';
import { floatOption } from '../options.ts';

interface StorageFlags {
  readonly clickhouseUrl?: string;
  readonly chdbPath?: string;
  readonly database?: string;
}

interface ImportFlags extends StorageFlags {
  readonly format?: TimetableFormat;
  readonly dryRun?: boolean;
  readonly tz: string;
}

interface ShowFlags extends StorageFlags {
  readonly date?: string;
  readonly file?: string;
  readonly format?: TimetableFormat;
  readonly capacity?: Record<string, number>;
  readonly tz: string;
  readonly attendance?: number;
  readonly rampMinutes?: number;
}

/** Parses `--capacity law=1100,hec=1150`. */
export function capacityOption(v: string, prev: Record<string, number> = {}): Record<string, number> {
  const out = { ...prev };
  for (const part of v.split(',')) {
    const m = /^\s*([^=\s][^=]*?)\s*=\s*(\d+)\s*$/.exec(part);
    if (!m || Number(m[2]) <= 0) throw new InvalidArgumentError(`--capacity expects FACULTY=SESSIONS[,…] with a positive whole number, got "${part.trim()}"`);
    out[m[1]!] = Number(m[2]);
  }
  return out;
}

function tzOption(v: string): string {
  if (!isTimeZone(v)) throw new InvalidArgumentError(`--tz expects an IANA time zone (e.g. Europe/Brussels or UTC), got "${v}"`);
  return v;
}

function dateOption(v: string): string {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(v) || !Number.isFinite(Date.parse(`${v}T00:00:00Z`))) throw new InvalidArgumentError(`--date expects YYYY-MM-DD, got "${v}"`);
  return v;
}

const formatChoice = () => new Option('--format <format>', 'timetable format (default: from the extension, else sniffed)').choices([...TIMETABLE_FORMATS]);

function storageOptions(cmd: Command): Command {
  return cmd
    .option('--clickhouse-url <url>', 'ClickHouse HTTP URL (default: clickhouse.url of --config, else embedded chDB)')
    .option('--chdb-path <dir>', 'embedded chDB data directory (default .vigie/chdb)')
    .option('--database <name>', 'database holding Vigie tables (default vigie)');
}

function configOf(program: Command, flags: StorageFlags): VigieConfig {
  return loadConfig(program.opts()['config'] as string | undefined, {
    clickhouse: { url: flags.clickhouseUrl, chdbPath: flags.chdbPath, database: flags.database },
  });
}

function openStorage(config: VigieConfig, flags: StorageFlags): Storage {
  if (flags.clickhouseUrl !== undefined && flags.chdbPath !== undefined) throw new ConfigError('give either --chdb-path or --clickhouse-url, not both');
  const c = config.clickhouse;
  return createStorage({
    database: c.database,
    ...(c.url !== undefined && flags.chdbPath === undefined ? { url: c.url } : { chdbPath: c.chdbPath }),
    ...(c.username !== undefined ? { username: c.username } : {}),
    ...(c.password !== undefined ? { password: c.password } : {}),
  });
}

/** `YYYY-MM-DD` and `HH:MM` of an instant in `tz`. */
function wall(ms: number, tz: string): { day: string; time: string } {
  const p: Record<string, string> = {};
  for (const x of new Intl.DateTimeFormat('en-CA', { timeZone: tz, hourCycle: 'h23', year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }).formatToParts(new Date(ms))) p[x.type] = x.value;
  return { day: `${p['year']}-${p['month']}-${p['day']}`, time: `${p['hour']}:${p['minute']}` };
}

/** [start, end) of a calendar day in `tz`. */
function dayRange(day: string, tz: string): { fromMs: number; toMs: number } {
  const [y, m, d] = day.split('-').map(Number) as [number, number, number];
  return { fromMs: wallTimeToUtc(Date.UTC(y, m - 1, d), tz), toMs: wallTimeToUtc(Date.UTC(y, m - 1, d + 1), tz) };
}

function table(head: readonly string[], rows: readonly (readonly string[])[], rightAligned: ReadonlySet<number>): string {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const fmt = (r: readonly string[]) =>
    r
      .map((c, i) => (rightAligned.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(head), ...rows.map(fmt)].join('\n');
}

/** Exams per day and faculty, with their start times, as `import` prints them. */
export function formatImportSummary(exams: readonly ScheduledExam[], tz: string): string {
  const groups = new Map<string, { day: string; faculty: string; exams: number; enrolled: number; starts: Set<string> }>();
  for (const e of exams) {
    const w = wall(e.start, tz);
    const k = `${w.day}\0${e.faculty}`;
    const g = groups.get(k) ?? { day: w.day, faculty: e.faculty, exams: 0, enrolled: 0, starts: new Set<string>() };
    g.exams++;
    g.enrolled += e.enrolled;
    g.starts.add(w.time);
    groups.set(k, g);
  }
  const rows = [...groups.values()]
    .sort((a, b) => a.day.localeCompare(b.day) || a.faculty.localeCompare(b.faculty))
    .map((g) => [g.day, g.faculty, String(g.exams), g.enrolled.toLocaleString('en'), [...g.starts].sort().join(', ')]);
  return table([`DAY (${tz})`, 'FACULTY', 'EXAMS', 'ENROLLED', 'STARTS'], rows, new Set([2, 3])) + '\n';
}

/** The expected-load table of one day, as `show` prints it. */
export function formatLoadSummary(day: string, rows: readonly LoadSummaryRow[], tz: string, anyCapacity: boolean): string {
  const lines = rows.map((r) => {
    const peak = Math.round(r.peakSessions);
    const cap = r.capacity;
    const vs = cap === undefined ? (r.faculty === undefined && r.capacityMissingFor?.length && anyCapacity ? `unknown (no capacity for ${r.capacityMissingFor.join(', ')})` : '-') : `${Math.round((100 * r.peakSessions) / cap)}%${r.peakSessions > cap ? '  OVER CAPACITY' : ''}`;
    return [r.faculty ?? 'platform', String(r.exams), r.enrolled.toLocaleString('en'), peak.toLocaleString('en'), peak > 0 ? wall(Math.round(r.peakAtMs / 60_000) * 60_000, tz).time : '-', cap === undefined ? '-' : cap.toLocaleString('en'), vs];
  });
  // AT is the nearest minute: a peak often sits just before one exam's end drops the curve.
  const out = [`${day} (${tz})`, table(['FACULTY', 'EXAMS', 'ENROLLED', 'PEAK SESSIONS', 'AT', 'CAPACITY', 'PEAK/CAPACITY'], lines, new Set([1, 2, 3, 5]))];
  return out.join('\n') + '\n';
}

/** Registers `vigie schedule import` and `vigie schedule show`. */
export function registerScheduleCommand(program: Command): void {
  const schedule = program.command('schedule').description('Import the exam timetable (CSV, JSON, iCalendar) and show the load it predicts against capacity.');

  storageOptions(
    schedule
      .command('import')
      .description('Validate a timetable file and write it to exam_schedule; a file with any bad row is refused whole, naming every error.')
      .argument('<file>', 'timetable file (.csv, .json or .ics; see schedule/README.md)')
      .addOption(formatChoice())
      .option('--dry-run', 'validate and summarise only; write nothing')
      .option('--tz <zone>', 'time zone of the printed days and times', tzOption, 'UTC'),
  ).action(async (file: string, flags: ImportFlags) => {
    const config = configOf(program, flags);
    const t = await loadTimetableFile(file, flags.format);
    const notes = t.notes.length ? `; ${t.notes.join('; ')}` : '';
    process.stdout.write(`${file}: ${t.exams.length} exam${t.exams.length === 1 ? '' : 's'} valid (${t.format})${notes}\n`);
    if (flags.dryRun) {
      process.stdout.write(formatImportSummary(t.exams, flags.tz));
      process.stdout.write('dry run: nothing written\n');
      return;
    }
    const storage = openStorage(config, flags);
    try {
      await migrate(storage.client, { database: storage.database });
      // An exam the store holds at another start moved: its old row gets a tombstone.
      const ids = new Set(t.exams.map((e) => e.id));
      const span = t.exams.length ? { fromMs: Math.min(...t.exams.map((e) => e.start)) - 7 * 86_400_000, toMs: Math.max(...t.exams.map(examEndMs)) + 7 * 86_400_000 } : null;
      const stored = span ? (await readSchedule(storage.client, storage.database, span)).filter((e) => ids.has(e.id)) : [];
      const starts = new Map(t.exams.map((e) => [e.id, e.start]));
      const moved = stored.filter((e) => starts.get(e.id) !== e.start);
      const n = await writeSchedule(storage.client, storage.database, t.exams, { removed: moved });
      const where = storage.kind === 'chdb' ? `chDB ${config.clickhouse.chdbPath}` : `ClickHouse ${config.clickhouse.url}`;
      process.stdout.write(`imported ${n} exam${n === 1 ? '' : 's'} into ${storage.database}.exam_schedule (${where})${moved.length ? `; moved since the last import: ${moved.map((e) => e.id).join(', ')}` : ''}\n`);
      process.stdout.write(formatImportSummary(t.exams, flags.tz));
    } finally {
      await storage.close();
    }
  });

  storageOptions(
    schedule
      .command('show')
      .description('Per faculty and for the platform: expected peak concurrent sessions and when, against tested capacity where known.')
      .option('--date <YYYY-MM-DD>', 'the day to show (default: every day of --file or the config source; today for the store)', dateOption)
      .option('--file <file>', 'timetable file (default: schedule.file/url of --config, else exam_schedule in the store)')
      .addOption(formatChoice())
      .option('--capacity <faculty=n,...>', 'tested sessions per faculty (default: schedule.capacity of --config)', capacityOption)
      .option('--tz <zone>', 'time zone of days and times', tzOption, 'UTC')
      .option('--attendance <share>', 'share of enrolled students expected online (default 0.93)', floatOption('--attendance'))
      .option('--ramp-minutes <n>', 'students arrive over this many minutes before the start (default 30)', floatOption('--ramp-minutes')),
  ).action(async (flags: ShowFlags) => {
    if (flags.attendance !== undefined && !(flags.attendance > 0 && flags.attendance <= 1)) throw new ConfigError(`--attendance expects a share in (0, 1], got ${flags.attendance}`);
    if (flags.rampMinutes !== undefined && !(flags.rampMinutes >= 0)) throw new ConfigError(`--ramp-minutes expects minutes ≥ 0, got ${flags.rampMinutes}`);
    const config = configOf(program, flags);
    let exams: readonly ScheduledExam[];
    let from: string;
    if (flags.file !== undefined || config.schedule !== undefined) {
      let t: Timetable;
      if (flags.file !== undefined) t = await loadTimetableFile(flags.file, flags.format);
      else {
        const source = createScheduleSource({ ...scheduleSourceSpecOf(config.schedule!), ...(flags.format ? { format: flags.format } : {}) });
        try {
          t = await source.start();
        } finally {
          await source.stop();
        }
      }
      exams = t.exams;
      from = t.source;
    } else {
      const day = flags.date ?? new Date().toISOString().slice(0, 10);
      const storage = openStorage(config, flags);
      try {
        await migrate(storage.client, { database: storage.database });
        exams = await readSchedule(storage.client, storage.database, dayRange(day, flags.tz));
      } finally {
        await storage.close();
      }
      from = `${storage.database}.exam_schedule`;
    }
    const days = flags.date !== undefined ? [flags.date] : [...new Set(exams.map((e) => wall(e.start, flags.tz).day))].sort();
    // The campus capacity (the capacity: section, as `vigie plan` reads it) when neither the flag nor schedule.capacity says.
    const planned = parseCapacityConfig(config.capacity, program.opts()['config'] ? `config file ${program.opts()['config'] as string}` : 'configuration');
    const capacity = flags.capacity ?? config.schedule?.capacity ?? (planned ? Object.fromEntries(Object.entries(planned.faculties).map(([f, c]) => [f, c.sessions])) : undefined);
    const anyCapacity = capacity !== undefined && Object.keys(capacity).length > 0;
    const out: string[] = [
      `Expected load from ${from}: attendance ${Math.round((flags.attendance ?? 0.93) * 100)}% of enrolled, arriving over ${flags.rampMinutes ?? 30} min before each start and through any start window.`,
    ];
    if (!anyCapacity) out.push('Capacity: none known (pass --capacity faculty=N,... or set schedule.capacity in --config); peaks are shown without a comparison.');
    let shown = 0;
    for (const day of days) {
      const range = dayRange(day, flags.tz);
      const ofDay = exams.filter((e) => e.start < range.toMs && examEndMs(e) >= range.fromMs);
      if (!ofDay.length) continue;
      shown++;
      const rows = summarizeLoad(ofDay, {
        ...range,
        ...(capacity ? { capacity } : {}),
        ...(flags.attendance !== undefined ? { attendance: flags.attendance } : {}),
        ...(flags.rampMinutes !== undefined ? { rampMinutes: flags.rampMinutes } : {}),
      });
      out.push('', formatLoadSummary(day, rows, flags.tz, anyCapacity).trimEnd());
    }
    if (!shown) out.push('', `No exam ${flags.date !== undefined || from.endsWith('exam_schedule') ? `on ${days[0] ?? flags.date}` : 'in the timetable'}.`);
    process.stdout.write(out.join('\n') + '\n');
  });
}
