/**
 * What past mornings teach the planner: per faculty (and per exam size) the attendance,
 * the login ramp before a start, requests per connected student and how long students
 * stay, each with its spread, read from the stored per-minute rollups and the stored
 * timetable (`exam_schedule`). Faculties or sizes without usable history fall back to
 * {@link DEFAULT_PROFILE}, and the profile says which (`source`).
 *
 * An exam whose faculty reached 90 % of its session capacity is left out: its sessions
 * were capped by the platform, not chosen by the students.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { ConfigError } from '../core/errors.ts';
import { isIdentifier } from '../schema/queries.ts';
import { DEFAULT_PROFILE, type Estimate, type LoadProfile } from './model.ts';

/** Exam sizes learned apart (enrolled students, lower bound of each class). */
export const SIZE_CLASSES = [0, 300, 800] as const;

/** Size class label of an enrolment. */
export function sizeClass(enrolled: number): string {
  let c: number = SIZE_CLASSES[0];
  for (const s of SIZE_CLASSES) if (enrolled >= s) c = s;
  return `${c}+`;
}

/** Learned profiles: per faculty and per `faculty|size`. */
export interface LearnedProfiles {
  readonly byKey: ReadonlyMap<string, LoadProfile>;
  /** Exams of past mornings that fed them. */
  readonly examsUsed: number;
  readonly fromMs: number;
  readonly toMs: number;
}

/** Profile lookup: `faculty|size`, then faculty, then the defaults. */
export function profileLookup(learned: LearnedProfiles | null): (faculty: string, enrolled: number) => LoadProfile {
  return (faculty, enrolled) => learned?.byKey.get(`${faculty}|${sizeClass(enrolled)}`) ?? learned?.byKey.get(faculty) ?? DEFAULT_PROFILE;
}

/** One exam observed in history. */
export interface ExamObservation {
  readonly faculty: string;
  readonly enrolled: number;
  readonly attendance: number;
  readonly rampMinutes: number;
  readonly stayRatio: number;
}

/** Mean, sd and count of `xs`; the default's sd when fewer than two values. */
export function estimate(xs: readonly number[], fallback: Estimate): Estimate {
  const v = xs.filter(Number.isFinite);
  if (v.length === 0) return fallback;
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = v.length > 1 ? Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (v.length - 1)) : fallback.sd;
  return { mean, sd, n: v.length };
}

/**
 * Per-exam facts from one exam's per-minute sessions (time-ordered): attendance at the
 * peak, the ramp (10 % → 85 % of the peak, scaled to the whole on-time ramp) and when
 * half the students had left, as a share of the duration. Pure, so it is unit-tested.
 */
export function observeExam(exam: { faculty: string; enrolled: number; startMs: number; durationMs: number }, minutes: readonly { t: number; sessions: number }[]): ExamObservation | null {
  if (minutes.length < 5 || exam.enrolled <= 0) return null;
  const peak = Math.max(...minutes.map((m) => m.sessions));
  if (!(peak > 0)) return null;
  const firstAbove = (share: number) => minutes.find((m) => m.sessions >= share * peak)?.t;
  const t10 = firstAbove(0.1);
  const t85 = firstAbove(0.85);
  const afterPeak = minutes.filter((m) => m.t > exam.startMs);
  const tHalf = afterPeak.find((m, i) => i > 0 && m.sessions < 0.5 * peak)?.t;
  // On-time arrivals (92 %) go linearly over the ramp: 10 % → 85 % of the peak is 0.75/0.92 of it.
  const ramp = t10 !== undefined && t85 !== undefined ? (t85 - t10) / 60_000 / (0.75 / 0.92) : NaN;
  return {
    faculty: exam.faculty,
    enrolled: exam.enrolled,
    attendance: peak / exam.enrolled,
    rampMinutes: ramp,
    stayRatio: tHalf !== undefined ? (tHalf - exam.startMs) / exam.durationMs : NaN,
  };
}

/** Folds observations and per-faculty request rates into profiles. */
export function profilesFrom(obs: readonly ExamObservation[], requestRates: ReadonlyMap<string, readonly number[]>): Map<string, LoadProfile> {
  const out = new Map<string, LoadProfile>();
  const build = (list: readonly ExamObservation[], faculty: string): LoadProfile => ({
    attendance: estimate(list.map((o) => o.attendance), DEFAULT_PROFILE.attendance),
    rampMinutes: estimate(list.map((o) => o.rampMinutes), DEFAULT_PROFILE.rampMinutes),
    stayRatio: estimate(list.map((o) => o.stayRatio), DEFAULT_PROFILE.stayRatio),
    requestsPerStudent: estimate(requestRates.get(faculty) ?? [], DEFAULT_PROFILE.requestsPerStudent),
    source: 'history',
  });
  const faculties = new Set([...obs.map((o) => o.faculty), ...requestRates.keys()]);
  for (const f of faculties) {
    const list = obs.filter((o) => o.faculty === f);
    out.set(f, build(list, f));
    const bySize = new Map<string, ExamObservation[]>();
    for (const o of list) {
      const k = sizeClass(o.enrolled);
      bySize.set(k, [...(bySize.get(k) ?? []), o]);
    }
    for (const [k, l] of bySize) out.set(`${f}|${k}`, build(l, f));
  }
  return out;
}

/**
 * Learns profiles from the mornings stored between `fromMs` and `toMs`. Returns null
 * when the window holds no scheduled exam with sessions (the caller then uses the defaults).
 */
export async function learnProfiles(client: ClickHouseClient, database: string, fromMs: number, toMs: number): Promise<LearnedProfiles | null> {
  if (!isIdentifier(database)) throw new ConfigError(`learnProfiles: database "${database}" is not a ClickHouse identifier`);
  const params = { from: fromMs, to: toMs };
  const q = async <T>(query: string): Promise<T[]> => (await (await client.query({ query, query_params: params, format: 'JSONEachRow' })).json()) as T[];
  // `start_ms`, not `start`: an alias named like the column would shadow it in WHERE.
  const exams = await q<{ exam_id: string; faculty: string; start_ms: number; enrolled: number; duration_ms: number }>(
    `SELECT exam_id, faculty, toUnixTimestamp64Milli(start) AS start_ms, enrolled, duration_ms FROM ${database}.exam_schedule FINAL
     WHERE start >= fromUnixTimestamp64Milli({from:Int64}) AND start <= fromUnixTimestamp64Milli({to:Int64})`,
  );
  if (exams.length === 0) return null;
  const perMinute = await q<{ exam_id: string; faculty: string; t: number; sessions: number }>(
    `SELECT s.exam_id AS exam_id, r.faculty AS faculty, toUnixTimestamp(r.minute) * 1000 AS t, sum(r.v) AS sessions
     FROM (SELECT minute, faculty, fingerprint, argMaxMerge(last) AS v FROM ${database}.samples_1m
           WHERE metric = 'ecampus_sessions_active' AND minute >= fromUnixTimestamp64Milli({from:Int64}) - INTERVAL 2 HOUR
             AND minute <= fromUnixTimestamp64Milli({to:Int64}) + INTERVAL 4 HOUR
           GROUP BY minute, faculty, fingerprint) AS r
     INNER JOIN (SELECT fingerprint, any(labels['exam_id']) AS exam_id FROM ${database}.series WHERE metric = 'ecampus_sessions_active' GROUP BY fingerprint) AS s
       ON s.fingerprint = r.fingerprint
     GROUP BY exam_id, faculty, t ORDER BY exam_id, t`,
  );
  const capacity = await q<{ faculty: string; t: number; sessions: number; cap: number; requests: number; errors: number }>(
    `SELECT g.faculty AS faculty, g.t AS t, g.sessions AS sessions, g.cap AS cap, c.requests AS requests, c.errors AS errors
     FROM (SELECT faculty, toUnixTimestamp(minute) * 1000 AS t, sumIf(v, metric = 'ecampus_sessions_active') AS sessions, sumIf(v, metric = 'ecampus_capacity_sessions') AS cap
           FROM (SELECT faculty, minute, metric, fingerprint, argMaxMerge(last) AS v FROM ${database}.samples_1m
                 WHERE metric IN ('ecampus_sessions_active', 'ecampus_capacity_sessions')
                   AND minute >= fromUnixTimestamp64Milli({from:Int64}) - INTERVAL 2 HOUR AND minute <= fromUnixTimestamp64Milli({to:Int64}) + INTERVAL 4 HOUR
                 GROUP BY faculty, minute, metric, fingerprint)
           GROUP BY faculty, t) AS g
     LEFT JOIN (SELECT faculty, toUnixTimestamp(minute) * 1000 AS t, sum(delta) AS requests, sumIf(delta, startsWith(status_code, '5')) AS errors
                FROM ${database}.counters_1m WHERE metric = 'http_server_request_duration_count'
                  AND minute >= fromUnixTimestamp64Milli({from:Int64}) - INTERVAL 2 HOUR AND minute <= fromUnixTimestamp64Milli({to:Int64}) + INTERVAL 4 HOUR
                GROUP BY faculty, t) AS c ON c.faculty = g.faculty AND c.t = g.t
     ORDER BY faculty, t
     SETTINGS join_use_nulls = 0`,
  );
  const facMinutes = new Map<string, { t: number; sessions: number; cap: number; requests: number; errors: number }[]>();
  for (const r of capacity) {
    const l = facMinutes.get(r.faculty) ?? [];
    l.push({ t: Number(r.t), sessions: Number(r.sessions), cap: Number(r.cap), requests: Number(r.requests), errors: Number(r.errors) });
    facMinutes.set(r.faculty, l);
  }
  const saturated = (faculty: string, from: number, to: number) =>
    (facMinutes.get(faculty) ?? []).some((m) => m.t >= from && m.t <= to && m.cap > 0 && m.sessions >= 0.9 * m.cap);
  const series = new Map<string, { t: number; sessions: number }[]>();
  for (const r of perMinute) {
    const l = series.get(r.exam_id) ?? [];
    l.push({ t: Number(r.t), sessions: Number(r.sessions) });
    series.set(r.exam_id, l);
  }
  const obs: ExamObservation[] = [];
  for (const e of exams) {
    const start = Number(e.start_ms);
    const dur = Number(e.duration_ms);
    if (saturated(e.faculty, start - 60 * 60_000, start + dur)) continue;
    const o = observeExam({ faculty: e.faculty, enrolled: Number(e.enrolled), startMs: start, durationMs: dur }, series.get(e.exam_id) ?? []);
    if (o) obs.push(o);
  }
  // Requests per connected student: healthy minutes (errors < 2 %) with students online and no start burst.
  const starts = exams.map((e) => ({ faculty: e.faculty, start: Number(e.start_ms) }));
  const rates = new Map<string, number[]>();
  for (const [faculty, mins] of facMinutes) {
    const xs: number[] = [];
    for (const m of mins) {
      const burst = starts.some((s) => s.faculty === faculty && m.t >= s.start - 35 * 60_000 && m.t < s.start + 10 * 60_000);
      if (burst || m.sessions < 50 || !(m.requests > 0) || m.errors / m.requests > 0.02) continue;
      xs.push(m.requests / 60 / m.sessions);
    }
    if (xs.length) rates.set(faculty, xs);
  }
  if (obs.length === 0 && rates.size === 0) return null;
  return { byKey: profilesFrom(obs, rates), examsUsed: obs.length, fromMs, toMs };
}
