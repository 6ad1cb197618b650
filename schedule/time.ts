/**
 * Time values of timetables: ISO 8601 instants with a UTC offset, ISO 8601 durations
 * (or plain minutes), and wall-clock times in an IANA zone (iCalendar `TZID`) converted
 * with `Intl`, so no time-zone database ships with Vigie. Each parser returns the value
 * or a message for people (the caller adds file, line and field).
 */

/** A parsed value or why it was refused. */
export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string };

const ok = <T>(value: T): Parsed<T> => ({ ok: true, value });
const bad = <T>(error: string): Parsed<T> => ({ ok: false, error });

const ISO_INSTANT = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)$/;

/** Epoch ms of calendar fields, or NaN when a field is out of range (Feb 30, 25:00…). */
export function utcOfFields(y: number, mo: number, d: number, h: number, mi: number, s: number, ms = 0): number {
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 59) return NaN;
  const t = Date.UTC(y, mo - 1, d, h, mi, s, ms);
  const back = new Date(t);
  // Date.UTC rolls Feb 30 over to March: refuse rather than move an exam.
  if (back.getUTCFullYear() !== y || back.getUTCMonth() !== mo - 1 || back.getUTCDate() !== d) return NaN;
  return t;
}

/**
 * An ISO 8601 instant that carries its offset (`2026-01-12T09:00:00+01:00`, `…Z`). A
 * bare local time is refused: the same timetable read on two machines must mean the
 * same instant.
 */
export function parseIsoInstant(text: string): Parsed<number> {
  const s = text.trim();
  const m = ISO_INSTANT.exec(s);
  const hint = '(e.g. 2026-01-12T09:00:00+01:00 or 2026-01-12T08:00:00Z)';
  if (!m) {
    if (/^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/.test(s)) return bad(`"${text}" has no UTC offset; add one ${hint}`);
    return bad(`"${text}" is not an ISO 8601 time with a UTC offset ${hint}`);
  }
  const [, y, mo, d, h, mi, sec, frac, off] = m;
  const ms = frac ? Math.round(Number(`0.${frac}`) * 1000) : 0;
  const local = utcOfFields(Number(y), Number(mo), Number(d), Number(h), Number(mi), Number(sec ?? 0), ms);
  if (!Number.isFinite(local)) return bad(`"${text}" is not a valid date and time`);
  if (off === 'Z' || off === 'z') return ok(local);
  const om = /^([+-])(\d{2}):?(\d{2})?$/.exec(off!)!;
  const minutes = Number(om[2]) * 60 + Number(om[3] ?? 0);
  if (Number(om[2]) > 14 || Number(om[3] ?? 0) > 59) return bad(`"${text}" has an impossible UTC offset ${off}`);
  return ok(local - (om[1] === '-' ? -1 : 1) * minutes * 60_000);
}

const ISO_DURATION = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:[.,]\d+)?)S)?)?$/;

/** An ISO 8601 duration without years or months (`PT1H30M`, `P1DT2H`, `PT90M`), in ms. */
export function parseIsoDuration(text: string): Parsed<number> {
  const s = text.trim().toUpperCase();
  const m = ISO_DURATION.exec(s);
  if (!m || s === 'P' || s.endsWith('T')) return bad(`"${text}" is not an ISO 8601 duration (e.g. PT1H30M)`);
  const [, w, d, h, mi, sec] = m;
  const ms = ((Number(w ?? 0) * 7 + Number(d ?? 0)) * 24 * 3600 + Number(h ?? 0) * 3600 + Number(mi ?? 0) * 60 + Number((sec ?? '0').replace(',', '.'))) * 1000;
  return ok(Math.round(ms));
}

/** Whole minutes (`90`) or an ISO 8601 duration (`PT1H30M`), in ms. */
export function parseMinutesOrDuration(text: string): Parsed<number> {
  const s = text.trim();
  if (/^\d+$/.test(s)) return ok(Number(s) * 60_000);
  if (/^P/i.test(s)) {
    const d = parseIsoDuration(s);
    if (d.ok) return d;
  }
  return bad(`"${text}" is not minutes or an ISO 8601 duration (e.g. 90 or PT1H30M)`);
}

const zoneFormats = new Map<string, Intl.DateTimeFormat>();

/** Whether `zone` is an IANA time zone this runtime knows (Intl carries the tz database). */
export function isTimeZone(zone: string): boolean {
  try {
    formatIn(zone);
    return true;
  } catch {
    return false;
  }
}

function formatIn(zone: string): Intl.DateTimeFormat {
  let f = zoneFormats.get(zone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric', day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric' });
    zoneFormats.set(zone, f);
  }
  return f;
}

/** Offset of `zone` from UTC at instant `ms` (wall clock − UTC), in ms. */
export function zoneOffsetMs(zone: string, ms: number): number {
  const parts: Record<string, number> = {};
  for (const p of formatIn(zone).formatToParts(new Date(ms))) if (p.type !== 'literal') parts[p.type] = Number(p.value);
  const wall = Date.UTC(parts['year']!, parts['month']! - 1, parts['day']!, parts['hour']!, parts['minute']!, parts['second']!);
  return wall - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant at which clocks in `zone` show the wall time `wallAsUtcMs` (the fields read
 * as if UTC). In the autumn overlap the earlier instant wins; in the spring gap the time
 * is read with the offset in force before the gap, as RFC 5545 §3.3.5 asks.
 */
export function wallTimeToUtc(wallAsUtcMs: number, zone: string): number {
  const before = zoneOffsetMs(zone, wallAsUtcMs - 86_400_000);
  const after = zoneOffsetMs(zone, wallAsUtcMs + 86_400_000);
  const candidates = [wallAsUtcMs - before, wallAsUtcMs - after].filter((t) => t + zoneOffsetMs(zone, t) === wallAsUtcMs);
  if (candidates.length) return Math.min(...candidates);
  return wallAsUtcMs - before;
}
