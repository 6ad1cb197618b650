/**
 * Stored plans: what "a plan exists" means for the live path. `vigie plan --store` writes
 * the plan's expected-load table ({@link planTable}) for the data time it covers into
 * `plans` / `plan_series` (migration 010), with the digest of the timetable it was made
 * for. `vigie ingest`, `vigie demo` and `vigie rules backtest` read the plans covering
 * their data time ({@link loadCurrentPlans}); a plan whose timetable has changed since
 * (an exam moved, re-imported with other numbers) is dropped and said so, and the
 * timetable's own series apply until the plan is stored again.
 */
import { createHash } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Labels, Sample } from '../core/samples.ts';
import { ConfigError, DecodeError } from '../core/errors.ts';
import { readSchedule, type ScheduledExam } from '../schedule/index.ts';
import { isIdentifier } from '../schema/queries.ts';
import { PLAN_SERIES as C, PLANS as P, TABLES } from '../schema/tables.ts';
import { PLAN_SERIES_ORDER, sampleTable, tableCovers, type PlanTable, type PlanTableSeries } from './series.ts';

/** Digest of a timetable (order-free): a stored plan is current while the timetable it covers has the same. */
export function timetableDigest(exams: readonly ScheduledExam[]): string {
  const lines = exams
    .map((e) => [e.id, e.faculty, e.start, e.enrolled, e.durationMs, e.startWindowMs ?? 0, e.server ?? ''].join('\t'))
    .sort();
  return createHash('sha256').update(lines.join('\n')).digest('hex').slice(0, 16);
}

/** A stored plan and its table. */
export interface StoredPlan {
  readonly id: string;
  /** Data time covered: [fromMs, toMs). */
  readonly fromMs: number;
  readonly toMs: number;
  readonly createdMs: number;
  readonly timetableDigest: string;
  readonly exams: number;
  readonly capacitySource: string;
  readonly profileSource: string;
  readonly table: PlanTable;
}

/** What {@link writePlan} stores. */
export interface WritePlanInput {
  readonly fromMs: number;
  readonly toMs: number;
  /** The timetable planned (exams starting in [fromMs, toMs)), for the digest. */
  readonly exams: readonly ScheduledExam[];
  /** The plan's table over [fromMs, toMs). */
  readonly table: PlanTable;
  readonly capacitySource: string;
  readonly profileSource: string;
  readonly createdMs: number;
}

function checkDatabase(database: string, what: string): void {
  if (!isIdentifier(database)) throw new ConfigError(`${what}: database "${database}" is not a ClickHouse identifier (letters, digits, _)`);
}

/** Stores a plan; returns its id. */
export async function writePlan(client: ClickHouseClient, database: string, input: WritePlanInput): Promise<string> {
  checkDatabase(database, 'writePlan');
  if (!(input.toMs > input.fromMs)) throw new ConfigError(`writePlan: the covered period is empty (${new Date(input.fromMs).toISOString()} → ${new Date(input.toMs).toISOString()})`);
  const id = `plan-${new Date(input.fromMs).toISOString().slice(0, 16)}Z-${input.createdMs.toString(36)}`;
  const rows: Record<string, unknown>[] = [];
  for (const s of input.table.series) {
    const faculty = s.labels['faculty'] ?? '';
    for (let i = 0; i < input.table.minutes; i++) {
      const minute = input.table.fromMs + i * 60_000;
      if (minute < input.fromMs || minute >= input.toMs) continue;
      rows.push({ [C.planId]: id, [C.metric]: s.metric, [C.faculty]: faculty, [C.minute]: minute, [C.value]: s.values[i]! });
    }
  }
  // Series first: a reader that sees the header finds every row.
  await client.insert({ table: `${database}.${TABLES.planSeries}`, values: rows, format: 'JSONEachRow' });
  await client.insert({
    table: `${database}.${TABLES.plans}`,
    values: [
      {
        [P.planId]: id,
        [P.coversFrom]: input.fromMs,
        [P.coversTo]: input.toMs,
        [P.createdAt]: input.createdMs,
        [P.timetableDigest]: timetableDigest(input.exams),
        [P.exams]: input.exams.length,
        [P.capacitySource]: input.capacitySource,
        [P.profileSource]: input.profileSource,
      },
    ],
    format: 'JSONEachRow',
  });
  return id;
}

type Header = Omit<StoredPlan, 'table'>;

async function readHeaders(client: ClickHouseClient, database: string, fromMs: number, toMs: number): Promise<Header[]> {
  const rs = await client.query({
    query: `SELECT ${P.planId} AS id, toUnixTimestamp64Milli(${P.coversFrom}) AS from_ms, toUnixTimestamp64Milli(${P.coversTo}) AS to_ms,
                   toUnixTimestamp64Milli(${P.createdAt}) AS created_ms, ${P.timetableDigest} AS digest, ${P.exams} AS exams,
                   ${P.capacitySource} AS capacity_source, ${P.profileSource} AS profile_source
            FROM ${database}.${TABLES.plans} FINAL
            WHERE ${P.coversFrom} < fromUnixTimestamp64Milli({to:Int64}) AND ${P.coversTo} > fromUnixTimestamp64Milli({from:Int64})
            ORDER BY ${P.createdAt} DESC, ${P.planId} DESC`,
    query_params: { from: Math.trunc(fromMs), to: Math.trunc(toMs) },
    format: 'JSONEachRow',
  });
  const rows = (await rs.json()) as Record<string, string | number>[];
  return rows.map((r) => ({
    id: String(r['id']),
    fromMs: Number(r['from_ms']),
    toMs: Number(r['to_ms']),
    createdMs: Number(r['created_ms']),
    timetableDigest: String(r['digest']),
    exams: Number(r['exams']),
    capacitySource: String(r['capacity_source']),
    profileSource: String(r['profile_source']),
  }));
}

async function readTable(client: ClickHouseClient, database: string, h: Header): Promise<PlanTable> {
  const rs = await client.query({
    query: `SELECT ${C.metric}, ${C.faculty}, toUnixTimestamp64Milli(${C.minute}) AS minute_ms, ${C.value}
            FROM ${database}.${TABLES.planSeries} WHERE ${C.planId} = {id:String}`,
    query_params: { id: h.id },
    format: 'JSONCompactEachRow',
  });
  const fromMs = Math.floor(h.fromMs / 60_000) * 60_000;
  const minutes = Math.ceil((h.toMs - fromMs) / 60_000);
  const byKey = new Map<string, { metric: string; labels: Labels; values: Float64Array }>();
  for (const r of (await rs.json<unknown>()) as unknown[]) {
    if (!Array.isArray(r) || r.length !== 4) throw new DecodeError('plan.row', `plan ${h.id}: a row of ${TABLES.planSeries} does not fit: ${JSON.stringify(r)}`);
    const [metric, faculty, minuteMs, value] = [String(r[0]), String(r[1]), Number(r[2]), Number(r[3])];
    const i = Math.floor((minuteMs - fromMs) / 60_000);
    if (!(i >= 0 && i < minutes) || !Number.isFinite(value)) throw new DecodeError('plan.row', `plan ${h.id}: ${metric}{faculty="${faculty}"} at ${new Date(minuteMs).toISOString()} = ${value} is outside the plan`);
    const key = `${metric}\u0000${faculty}`;
    let s = byKey.get(key);
    if (!s) {
      const labels: Labels = Object.freeze<Record<string, string>>(faculty ? { faculty } : {});
      // NaN marks a minute the plan did not store (a partial write): such a plan is refused below.
      s = { metric, labels, values: new Float64Array(minutes).fill(Number.NaN) };
      byKey.set(key, s);
    }
    s.values[i] = value;
  }
  const series: PlanTableSeries[] = [...byKey.values()].sort(
    (a, b) =>
      (a.labels['faculty'] === undefined ? 0 : 1) - (b.labels['faculty'] === undefined ? 0 : 1) ||
      (a.labels['faculty'] ?? '').localeCompare(b.labels['faculty'] ?? '') ||
      PLAN_SERIES_ORDER.indexOf(a.metric) - PLAN_SERIES_ORDER.indexOf(b.metric),
  );
  for (const s of series) {
    if (s.values.some(Number.isNaN)) throw new DecodeError('plan.incomplete', `plan ${h.id}: ${s.metric}{faculty="${s.labels['faculty'] ?? ''}"} misses minutes (an interrupted vigie plan --store?); store the plan again`);
  }
  return { fromMs, minutes, series };
}

/** Plans read by {@link loadCurrentPlans}. */
export interface CurrentPlans {
  /** Plans in force, newest first (a newer plan wins where two cover the same time). */
  readonly plans: readonly StoredPlan[];
  /** Plans whose timetable changed since they were made, with what changed. */
  readonly stale: readonly { readonly plan: Header; readonly reason: string }[];
}

/**
 * The stored plans covering some of [fromMs, toMs] whose timetable is still the one
 * stored in `exam_schedule`. `cache` (plan id → plan) spares re-reading series a
 * long-running reader already holds.
 */
export async function loadCurrentPlans(client: ClickHouseClient, database: string, fromMs: number, toMs: number, cache?: Map<string, StoredPlan>): Promise<CurrentPlans> {
  checkDatabase(database, 'loadCurrentPlans');
  const headers = await readHeaders(client, database, fromMs, toMs);
  const plans: StoredPlan[] = [];
  const stale: { plan: Header; reason: string }[] = [];
  for (const h of headers) {
    // A plan entirely under a newer one in force is never read.
    if (plans.some((p) => p.fromMs <= h.fromMs && p.toMs >= h.toMs)) continue;
    const exams = (await readSchedule(client, database, { fromMs: h.fromMs, toMs: h.toMs })).filter((e) => e.start >= h.fromMs && e.start < h.toMs);
    const digest = timetableDigest(exams);
    if (digest !== h.timetableDigest) {
      stale.push({ plan: h, reason: `the timetable of ${new Date(h.fromMs).toISOString().slice(0, 10)} changed since it was planned (${exams.length} exams now, ${h.exams} planned)` });
      continue;
    }
    let p = cache?.get(h.id);
    if (!p) {
      p = { ...h, table: await readTable(client, database, h) };
      cache?.set(h.id, p);
    }
    plans.push(p);
  }
  return { plans, stale };
}

/**
 * The plans as the rules stage's expected-load override (`rules/stage.ts`): at each
 * instant the newest plan covering it gives the series; elsewhere the timetable does.
 */
export function planOverride(plans: readonly StoredPlan[]): { covers(tMs: number): boolean; samples(fromMs: number, toMs: number, stepMs: number): Sample[] } | null {
  if (plans.length === 0) return null;
  const newestFirst = [...plans].sort((a, b) => b.createdMs - a.createdMs);
  const planAt = (t: number) => newestFirst.find((p) => t >= p.fromMs && t < p.toMs && tableCovers(p.table, t));
  return {
    covers: (t) => planAt(t) !== undefined,
    samples(fromMs, toMs, stepMs) {
      if (newestFirst.length === 1) {
        const p = newestFirst[0]!;
        return sampleTable(p.table, fromMs, toMs, stepMs, (t) => t >= p.fromMs && t < p.toMs);
      }
      const out: Sample[] = [];
      for (let t = fromMs; t <= toMs; t += stepMs) {
        const p = planAt(t);
        if (p) out.push(...sampleTable(p.table, t, t, stepMs));
      }
      return out;
    },
  };
}

/** One line per plan for logs: which plan feeds the rules, or why one does not. */
export function describePlans(c: CurrentPlans): string[] {
  const day = (ms: number) => new Date(ms).toISOString().slice(0, 16).replace('T', ' ');
  return [
    ...c.plans.map((p) => `expected load from stored plan ${p.id} (${day(p.fromMs)} → ${day(p.toMs)} UTC, ${p.exams} exams; capacity: ${p.capacitySource})`),
    ...c.stale.map((s) => `stored plan ${s.plan.id} not used: ${s.reason}; the timetable's expected load applies until \`vigie plan --store\` is run again`),
  ];
}
