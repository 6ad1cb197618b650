/**
 * A small synthetic session morning, shared by the dashboards and post-mortem
 * integration tests: three faculties over one hour at a 15 s step, one of which
 * ("sciences") ramps past its capacity, slows down, then fails most requests from
 * 09:02; plus a few alerts_log transitions. `plantedFacts` says what a reader must find.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { fingerprint, type Labels } from '../../../core/samples.ts';
import { migrate } from '../../../schema/migrate.ts';
import { createStorage, type Storage } from '../../../pipeline/storage.ts';
import { TABLES } from '../../../schema/tables.ts';
import { writeSchedule, type ScheduledExam } from '../../../schedule/index.ts';

const MIN = 60_000;
/** 2026-01-12 08:30:00 UTC, the fixed epoch of the morning. */
export const MORNING_START_MS = Date.UTC(2026, 0, 12, 8, 30);
/** One hour later, 09:30 UTC. */
export const MORNING_END_MS = MORNING_START_MS + 60 * MIN;
const STEP_MS = 15_000;
const at = (h: number, m: number, s = 0): number => Date.UTC(2026, 0, 12, h, m, s);

/** Histogram bucket bounds as the Prometheus exporter writes them. */
export const LE = ['0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '+Inf'] as const;

/** What the data was built to contain. */
export const plantedFacts = {
  collapseFaculty: 'sciences',
  /** First minute whose 5xx ratio is above 0.5 (0.7 from here on). */
  collapseMinuteMs: at(9, 2),
  /** First minute whose last utilization sample is above 0.8 (1225 / 1500). */
  firstDeviationMinuteMs: at(8, 48),
  /** The page that came before the collapse. */
  earlyPage: { rule: 'ExamSessionsNearCapacity', firedAtMs: at(8, 54), resolvedAtMs: at(9, 26), leadTimeMs: 8 * MIN },
  /** The page that came after it, still firing at 09:30. */
  latePage: { rule: 'ExamHighErrorRatio', firedAtMs: at(9, 4), leadTimeMs: -2 * MIN },
  sciencesCapacity: 1500,
  sciencesPeakSessions: 2000,
} as const;

interface FacultyPlan {
  readonly faculty: string;
  readonly examId: string;
  readonly capacityPerServer: number;
  /** Total sessions at minute `m` (fractional) after 08:30. */
  sessions(m: number): number;
  /** Share of requests answered 503 at minute `m`. */
  errorShare(m: number): number;
  /** Typical latency in seconds at minute `m`. */
  latency(m: number): number;
}

const PLANS: readonly FacultyPlan[] = [
  {
    faculty: 'sciences',
    examId: 'SCI-101',
    capacityPerServer: 750,
    sessions: (m) => Math.min(100 + 60 * m, 2000),
    errorShare: (m) => (m >= 32 ? 0.7 : 0.005),
    latency: (m) => {
      const s = Math.min(100 + 60 * m, 2000);
      if (m >= 32) return 3;
      if (s > 1500) return 1.2;
      if (s > 1350) return 0.4;
      return 0.1;
    },
  },
  {
    faculty: 'droit',
    examId: 'DRO-201',
    capacityPerServer: 500,
    sessions: () => 300,
    errorShare: () => 0,
    latency: () => 0.08,
  },
  {
    faculty: 'medecine',
    examId: 'MED-301',
    capacityPerServer: 500,
    sessions: (m) => 200 + (500 * m) / 60,
    errorShare: () => 0.002,
    latency: () => 0.15,
  },
];

interface SeriesRow {
  fingerprint: string;
  metric: string;
  faculty: string;
  labels: Labels;
  first_seen: number;
}
interface SampleRow {
  metric: string;
  fingerprint: string;
  faculty: string;
  timestamp: number;
  value: number;
  /** Counter increase since the series' previous point (0 for gauges and a series' first point), as the pipeline stores it. */
  delta: number;
  le: string;
  status_code: string;
  exam_id: string;
}

/** Builds every series and sample of the morning (deterministic). */
export function generateMorning(): { series: SeriesRow[]; samples: SampleRow[]; alerts: Record<string, unknown>[] } {
  const series = new Map<string, SeriesRow>();
  const samples: SampleRow[] = [];
  const counters = new Map<string, number>();
  const emit = (metric: string, faculty: string, labels: Labels, ts: number, value: number, delta = 0): void => {
    const fp = fingerprint(metric, labels);
    if (!series.has(fp)) series.set(fp, { fingerprint: fp, metric, faculty, labels, first_seen: MORNING_START_MS });
    samples.push({
      metric,
      fingerprint: fp,
      faculty,
      timestamp: ts,
      value,
      delta,
      le: labels['le'] ?? '',
      status_code: labels['http_response_status_code'] ?? '',
      exam_id: labels['exam_id'] ?? '',
    });
  };
  const addCounter = (metric: string, faculty: string, labels: Labels, ts: number, delta: number): void => {
    const key = fingerprint(metric, labels);
    const prev = counters.get(key);
    const v = (prev ?? 0) + delta;
    counters.set(key, v);
    // Prometheus semantics: a series' first point is its baseline (increase 0).
    emit(metric, faculty, labels, ts, v, prev === undefined ? 0 : delta);
  };

  for (let ts = MORNING_START_MS; ts < MORNING_END_MS; ts += STEP_MS) {
    const m = (ts - MORNING_START_MS) / MIN;
    for (const p of PLANS) {
      const { faculty } = p;
      const total = p.sessions(m);
      for (const server of [`${faculty}-1`, `${faculty}-2`]) {
        emit('ecampus_sessions_active', faculty, { faculty, exam_id: p.examId, server }, ts, total / 2);
        emit('ecampus_capacity_sessions', faculty, { faculty, server }, ts, p.capacityPerServer);
      }
      // One request per 20 sessions per second, over the 15 s step.
      const requests = Math.round((total * 15) / 20);
      const errors = Math.round(requests * p.errorShare(m));
      const L = p.latency(m);
      for (const [status, n, lat] of [
        ['200', requests - errors, L],
        ['503', errors, L * 1.5],
      ] as const) {
        const base = { faculty, exam_id: p.examId, http_route: '/exam/submit', http_request_method: 'POST', http_response_status_code: status };
        // 50 % of requests at 0.6 L, 45 % at L, 5 % at 2.5 L.
        const obs: Array<[number, number]> = [
          [0.6 * lat, Math.round(n * 0.5)],
          [lat, Math.round(n * 0.45)],
        ];
        obs.push([2.5 * lat, n - obs[0]![1] - obs[1]![1]]);
        for (const le of LE) {
          const bound = le === '+Inf' ? Infinity : Number(le);
          const inBucket = obs.filter(([v]) => v <= bound).reduce((s, [, c]) => s + c, 0);
          addCounter('http_server_request_duration_bucket', faculty, { ...base, le }, ts, inBucket);
        }
        addCounter('http_server_request_duration_count', faculty, base, ts, n);
        addCounter('http_server_request_duration_sum', faculty, base, ts, obs.reduce((s, [v, c]) => s + v * c, 0));
      }
    }
  }

  const near = { alertname: 'ExamSessionsNearCapacity', faculty: 'sciences', exam_id: 'SCI-101', server: 'sciences-1', severity: 'page' };
  const errs = { alertname: 'ExamHighErrorRatio', faculty: 'sciences', exam_id: 'SCI-101', severity: 'page' };
  const lat = { alertname: 'ExamLatencyHigh', faculty: 'medecine', severity: 'warning' };
  const row = (ts: number, labels: Labels, state: string, value: number, activeAt: number, summary: string): Record<string, unknown> => ({
    timestamp: ts,
    rule: labels['alertname'],
    fingerprint: fingerprint('ALERTS', labels),
    state,
    labels,
    annotations: { summary },
    value,
    active_at: activeAt,
  });
  const alerts = [
    row(at(8, 49), near, 'pending', 0.82, at(8, 49), 'sciences sessions at 82% of capacity'),
    row(at(8, 54), near, 'firing', 0.9, at(8, 49), 'sciences sessions at 90% of capacity, full in ~6 min'),
    row(at(9, 26), near, 'resolved', 0.6, at(8, 49), 'sciences sessions back under capacity'),
    row(at(9, 2, 30), errs, 'pending', 0.7, at(9, 2, 30), 'sciences 70% of requests fail'),
    row(at(9, 4), errs, 'firing', 0.7, at(9, 2, 30), 'sciences 70% of requests fail'),
    row(at(9, 40), errs, 'resolved', 0.01, at(9, 2, 30), 'sciences errors back to normal'),
    row(at(9, 10), lat, 'firing', 0.3, at(9, 8), 'medecine p95 above 250 ms'),
    row(at(9, 15), lat, 'resolved', 0.15, at(9, 8), 'medecine p95 back to normal'),
  ];
  return { series: [...series.values()], samples, alerts };
}

/** A migrated chDB store in a fresh temp directory; `close` also removes the directory. */
export async function openTestStore(database = 'vigie_test'): Promise<Storage & { dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'vigie-chdb-'));
  const storage = createStorage({ chdbPath: dir, database });
  await migrate(storage.client, { database });
  return {
    ...storage,
    dir,
    close: async () => {
      await storage.client.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The morning's exam schedule: one exam per faculty, all starting at 08:30 except medecine (08:45). */
export const MORNING_SCHEDULE: readonly ScheduledExam[] = [
  { id: 'SCI-101', faculty: 'sciences', start: at(8, 30), enrolled: 2200, durationMs: 120 * MIN },
  { id: 'DRO-201', faculty: 'droit', start: at(8, 30), enrolled: 400, durationMs: 90 * MIN },
  { id: 'MED-301', faculty: 'medecine', start: at(8, 45), enrolled: 800, durationMs: 180 * MIN },
];

/** Inserts the morning into `series`, `samples` (the MVs fill `samples_1m` and `counters_1m`), `alerts_log` and `exam_schedule`. */
export async function insertMorning(client: ClickHouseClient, database: string): Promise<void> {
  const { series, samples, alerts } = generateMorning();
  await client.insert({ table: `${database}.${TABLES.series}`, values: series, format: 'JSONEachRow' });
  for (let i = 0; i < samples.length; i += 20_000) {
    await client.insert({ table: `${database}.${TABLES.samples}`, values: samples.slice(i, i + 20_000), format: 'JSONEachRow' });
  }
  await client.insert({ table: `${database}.${TABLES.alertsLog}`, values: alerts, format: 'JSONEachRow' });
  await writeSchedule(client, database, MORNING_SCHEDULE);
}
