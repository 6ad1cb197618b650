/**
 * The post-mortem report: what happened on a session morning, from the per-minute
 * rollups and the alerts log. Finds the collapse (first minute a faculty's error ratio
 * passes 0.5), the first deviation (utilization > 0.8 or p95 > 2 s, the latency rule's bound), per-faculty peaks,
 * and each page's lead time before the collapse (pages and warnings apart). All values reach ClickHouse as query
 * parameters; only the validated database name is spliced, as an identifier.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { ConfigError, DecodeError } from '../core/errors.ts';
import { counterIncreasesSql, READER_METRICS as PANEL_METRICS, type CounterSource } from '../schema/queries.ts';
import { ALERTS_LOG, SAMPLES_1M, TABLES } from '../schema/tables.ts';
import { histogramQuantile, parseLe, type Bucket } from './histogramQuantile.ts';

/** What to report on. */
export interface PostmortemOptions {
  /** ClickHouse database holding Vigie's tables. */
  readonly database: string;
  /** Counter increases from `counters_1m` (default) or `samples_1m` (the pre-007 way; benchmark baseline). */
  readonly counterSource?: CounterSource;
  /** Window start and end, epoch milliseconds (inclusive). */
  readonly fromMs: number;
  readonly toMs: number;
  /** Restrict to one faculty; all faculties when absent. */
  readonly faculty?: string;
  /** Error ratio above which a minute counts as collapsed (default 0.5). */
  readonly collapseErrorRatio?: number;
  /** Fewer requests than this in a minute never count as a collapse (default 10). */
  readonly minRequests?: number;
  /** Utilization above which a minute deviates (default 0.8). */
  readonly utilizationThreshold?: number;
  /** p95 latency in seconds above which a minute deviates (default 1). */
  readonly p95ThresholdSeconds?: number;
}

/** One row of `alerts_log` in the window. */
export interface AlertEvent {
  readonly atMs: number;
  readonly rule: string;
  readonly fingerprint: string;
  readonly state: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly value: number | null;
  readonly activeAtMs: number | null;
}

/** One faculty-minute, from the rollups. */
export interface MinuteStats {
  readonly minuteMs: number;
  readonly sessions: number;
  readonly capacity: number;
  readonly utilization: number | null;
  readonly requests: number;
  readonly errors: number;
  readonly errorRatio: number | null;
  readonly p95Seconds: number | null;
  readonly p50Seconds: number | null;
  readonly p99Seconds: number | null;
}

/** A minute and the value that made it notable. */
export interface Moment {
  readonly minuteMs: number;
  readonly value: number;
}

/** The first minute a faculty left normal operation, and why. */
export interface Deviation {
  readonly faculty: string;
  readonly minuteMs: number;
  readonly kind: 'utilization' | 'latency';
  readonly value: number;
  readonly threshold: number;
}

/** The first minute a faculty's error ratio passed the collapse threshold. */
export interface Collapse {
  readonly faculty: string;
  readonly minuteMs: number;
  readonly errorRatio: number;
  readonly requests: number;
}

/** Per-faculty summary. */
export interface FacultySummary {
  readonly faculty: string;
  readonly peakSessions: Moment | null;
  readonly peakCapacity: number | null;
  readonly peakUtilization: Moment | null;
  readonly peakP95Seconds: Moment | null;
  readonly firstDeviation: Deviation | null;
  readonly collapse: Collapse | null;
  readonly minutes: readonly MinuteStats[];
}

/**
 * An alert that reached `firing`, with when it ended and its lead time. A page wakes
 * someone (`severity="page"`); every other firing is a warning. They are counted apart
 * everywhere (report, summary, charts).
 */
export interface Page {
  readonly rule: string;
  /** The alert's `severity` label (`page`, `warning`, …; `none` when absent). */
  readonly severity: string;
  readonly fingerprint: string;
  readonly faculty: string | null;
  readonly labels: Readonly<Record<string, string>>;
  readonly firedAtMs: number;
  readonly resolvedAtMs: number | null;
  /** Collapse minute minus firing time: positive when the page came before the collapse. */
  readonly leadTimeMs: number | null;
  /** The faculty whose collapse the lead time is measured against. */
  readonly leadTimeAgainst: string | null;
}

/** Everything the post-mortem found. */
export interface PostmortemReport {
  readonly database: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly faculty: string | null;
  readonly thresholds: {
    readonly collapseErrorRatio: number;
    readonly utilization: number;
    readonly p95Seconds: number;
  };
  /** Every alert transition in the window, ordered by time. */
  readonly alerts: readonly AlertEvent[];
  /** Firings of `severity="page"` alerts, in time order. */
  readonly pages: readonly Page[];
  /** Every other firing (warnings), in time order. */
  readonly warnings: readonly Page[];
  /** The first page of the window, or null. */
  readonly firstPage: Page | null;
  /** The lead time (see {@link leadTimeOf}); null without a page or without a collapse. */
  readonly leadTimeMs: number | null;
  /** Earliest collapse over the faculties, or null. */
  readonly collapse: Collapse | null;
  /** Earliest deviation over the faculties, or null. */
  readonly firstDeviation: Deviation | null;
  readonly faculties: readonly FacultySummary[];
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

const num = z.union([z.number(), z.string()]).transform((v, ctx) => {
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isFinite(n)) {
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: `not a finite number: ${String(v)}` });
    return z.NEVER;
  }
  return n;
});
const nullableNum = z.union([num, z.null()]);

const gaugeRow = z.object({ faculty: z.string(), minute_ms: num, sessions: num, capacity: num });
const requestRow = z.object({ faculty: z.string(), minute_ms: num, requests: num, errors: num });
const bucketRow = z.object({ faculty: z.string(), minute_ms: num, le: z.string(), n: num });
const alertRow = z.object({
  ts_ms: num,
  rule: z.string(),
  fingerprint: z.string(),
  state: z.string(),
  labels: z.record(z.string()),
  annotations: z.record(z.string()),
  value: nullableNum,
  active_at_ms: nullableNum,
});

async function select<T>(
  client: ClickHouseClient,
  what: string,
  query: string,
  params: Record<string, unknown>,
  schema: z.ZodType<T, z.ZodTypeDef, unknown>,
): Promise<T[]> {
  const rs = await client.query({ query, query_params: params, format: 'JSONEachRow' });
  const rows = await rs.json<unknown>();
  return rows.map((r, i) => {
    const p = schema.safeParse(r);
    if (!p.success) {
      throw new DecodeError('postmortem.row', `post-mortem ${what} query: row ${i} does not fit: ${p.error.message}`);
    }
    return p.data;
  });
}

/**
 * The SQL the post-mortem runs, by step, with `{name:Type}` parameters (`from`, `to`,
 * `faculty`, and `sessions`/`capacity` metric names for `gauges`). Exposed so the HTML
 * report can show, under each chart, the query behind it.
 */
export interface PostmortemSql {
  readonly gauges: string;
  readonly requests: string;
  readonly buckets: string;
  readonly alerts: string;
}

/** Builds {@link PostmortemSql} for a database (validated: it is spliced as an identifier). */
export function postmortemSql(opts: Pick<PostmortemOptions, 'database' | 'counterSource'>): PostmortemSql {
  if (!IDENT.test(opts.database)) {
    throw new ConfigError(`post-mortem: database "${opts.database}" is not a ClickHouse identifier (letters, digits, _)`);
  }
  const db = `\`${opts.database}\``;
  const M = SAMPLES_1M;
  const facultyCond = `({faculty:String} = '' OR ${M.faculty} = {faculty:String})`;
  const fromExpr = 'toStartOfMinute({from:DateTime64(3)})';
  const toExpr = '{to:DateTime64(3)}';
  const t = opts.counterSource === undefined ? { database: opts.database } : { database: opts.database, counterSource: opts.counterSource };
  const A = ALERTS_LOG;
  return {
    gauges: `SELECT ${M.faculty} AS faculty, toUnixTimestamp(${M.minute}) * 1000 AS minute_ms,
       sumIf(v, ${M.metric} = {sessions:String}) AS sessions,
       sumIf(v, ${M.metric} = {capacity:String}) AS capacity
     FROM (
       SELECT ${M.faculty}, ${M.minute}, ${M.metric}, ${M.fingerprint}, argMaxMerge(${M.last}) AS v
       FROM ${db}.${TABLES.samples1m}
       WHERE ${M.metric} IN ({sessions:String}, {capacity:String}) AND ${facultyCond}
         AND ${M.minute} >= ${fromExpr} AND ${M.minute} <= ${toExpr}
       GROUP BY ${M.faculty}, ${M.minute}, ${M.metric}, ${M.fingerprint}
     )
     GROUP BY ${M.faculty}, ${M.minute}
     ORDER BY faculty, minute_ms`,
    requests: `SELECT ${M.faculty} AS faculty, toUnixTimestamp(${M.minute}) * 1000 AS minute_ms,
       sum(inc) AS requests, sumIf(inc, startsWith(status, '5')) AS errors
     FROM (
${counterIncreasesSql(t, { metric: PANEL_METRICS.requestCount, where: facultyCond, from: fromExpr, to: toExpr, labels: { status: 'http_response_status_code' } })}
     )
     GROUP BY ${M.faculty}, ${M.minute}
     ORDER BY faculty, minute_ms`,
    buckets: `SELECT ${M.faculty} AS faculty, toUnixTimestamp(${M.minute}) * 1000 AS minute_ms, le, sum(inc) AS n
     FROM (
${counterIncreasesSql(t, { metric: PANEL_METRICS.requestBuckets, where: facultyCond, from: fromExpr, to: toExpr, labels: { le: 'le' } })}
     )
     GROUP BY ${M.faculty}, ${M.minute}, le
     ORDER BY faculty, minute_ms`,
    alerts: `SELECT toUnixTimestamp64Milli(${A.timestamp}) AS ts_ms, ${A.rule} AS rule, toString(${A.fingerprint}) AS fingerprint,
       ${A.state} AS state, CAST(${A.labels}, 'Map(String, String)') AS labels,
       CAST(${A.annotations}, 'Map(String, String)') AS annotations,
       if(isFinite(${A.value}), ${A.value}, NULL) AS value,
       toUnixTimestamp64Milli(toDateTime64(${A.activeAt}, 3)) AS active_at_ms
     FROM ${db}.${TABLES.alertsLog}
     WHERE ${A.timestamp} >= {from:DateTime64(3)} AND ${A.timestamp} <= {to:DateTime64(3)}
       AND ({faculty:String} = '' OR ${A.labels}['faculty'] = {faculty:String})
     ORDER BY ${A.timestamp}, ${A.rule}, ${A.fingerprint}`,
  };
}

/** Runs the post-mortem queries over `[fromMs, toMs]` and analyses them. */
export async function postmortem(client: ClickHouseClient, opts: PostmortemOptions): Promise<PostmortemReport> {
  if (!IDENT.test(opts.database)) {
    throw new ConfigError(`post-mortem: database "${opts.database}" is not a ClickHouse identifier (letters, digits, _)`);
  }
  if (!(Number.isFinite(opts.fromMs) && Number.isFinite(opts.toMs) && opts.fromMs <= opts.toMs)) {
    throw new ConfigError(`post-mortem: invalid window fromMs=${opts.fromMs} toMs=${opts.toMs}; need fromMs <= toMs`);
  }
  const sql = postmortemSql(opts);
  const params = { from: opts.fromMs, to: opts.toMs, faculty: opts.faculty ?? '' };
  const gauges = await select(client, 'sessions', sql.gauges, { ...params, sessions: PANEL_METRICS.sessions, capacity: PANEL_METRICS.capacity }, gaugeRow);
  const requests = await select(client, 'requests', sql.requests, params, requestRow);
  const buckets = await select(client, 'latency buckets', sql.buckets, params, bucketRow);
  const alertRows = await select(client, 'alerts', sql.alerts, params, alertRow);
  return analyse(opts, gauges, requests, buckets, alertRows.map(toAlertEvent));
}

function toAlertEvent(r: z.infer<typeof alertRow>): AlertEvent {
  return {
    atMs: r.ts_ms,
    rule: r.rule,
    fingerprint: r.fingerprint,
    state: r.state,
    labels: r.labels,
    annotations: r.annotations,
    value: r.value,
    activeAtMs: r.active_at_ms !== null && r.active_at_ms > 0 ? r.active_at_ms : null,
  };
}

interface MinuteAcc {
  sessions: number;
  capacity: number;
  requests: number;
  errors: number;
  buckets: Bucket[];
}

/** Pure analysis of the query results; exported for unit tests. */
export function analyse(
  opts: PostmortemOptions,
  gauges: ReadonlyArray<{ faculty: string; minute_ms: number; sessions: number; capacity: number }>,
  requests: ReadonlyArray<{ faculty: string; minute_ms: number; requests: number; errors: number }>,
  buckets: ReadonlyArray<{ faculty: string; minute_ms: number; le: string; n: number }>,
  alerts: readonly AlertEvent[],
): PostmortemReport {
  const th = {
    collapseErrorRatio: opts.collapseErrorRatio ?? 0.5,
    utilization: opts.utilizationThreshold ?? 0.8,
    p95Seconds: opts.p95ThresholdSeconds ?? 2,
  };
  const minRequests = opts.minRequests ?? 10;

  const byFaculty = new Map<string, Map<number, MinuteAcc>>();
  const acc = (faculty: string, minuteMs: number): MinuteAcc => {
    let f = byFaculty.get(faculty);
    if (!f) byFaculty.set(faculty, (f = new Map()));
    let m = f.get(minuteMs);
    if (!m) f.set(minuteMs, (m = { sessions: 0, capacity: 0, requests: 0, errors: 0, buckets: [] }));
    return m;
  };
  for (const g of gauges) Object.assign(acc(g.faculty, g.minute_ms), { sessions: g.sessions, capacity: g.capacity });
  for (const r of requests) Object.assign(acc(r.faculty, r.minute_ms), { requests: r.requests, errors: r.errors });
  for (const b of buckets) {
    const le = parseLe(b.le);
    if (le !== null) acc(b.faculty, b.minute_ms).buckets.push({ le, count: b.n });
  }

  const faculties: FacultySummary[] = [];
  for (const name of [...byFaculty.keys()].sort()) {
    const minutes: MinuteStats[] = [...byFaculty.get(name)!.entries()]
      .sort(([a], [b]) => a - b)
      .map(([minuteMs, m]) => ({
        minuteMs,
        sessions: m.sessions,
        capacity: m.capacity,
        utilization: m.capacity > 0 ? m.sessions / m.capacity : null,
        requests: m.requests,
        errors: m.errors,
        errorRatio: m.requests > 0 ? m.errors / m.requests : null,
        p95Seconds: histogramQuantile(0.95, m.buckets),
        p50Seconds: histogramQuantile(0.5, m.buckets),
        p99Seconds: histogramQuantile(0.99, m.buckets),
      }));
    faculties.push(summarise(name, minutes, th, minRequests));
  }

  const earliest = <T extends { minuteMs: number; faculty: string }>(xs: Array<T | null>): T | null =>
    xs
      .filter((x): x is T => x !== null)
      .sort((a, b) => a.minuteMs - b.minuteMs || a.faculty.localeCompare(b.faculty))[0] ?? null;
  const collapse = earliest(faculties.map((f) => f.collapse));
  const firstDeviation = earliest(faculties.map((f) => f.firstDeviation));

  const firings = firingsOf(alerts, faculties, collapse);
  const pages = firings.filter(isPage);
  const headline = leadTimeOf(pages, collapse);
  return {
    database: opts.database,
    fromMs: opts.fromMs,
    toMs: opts.toMs,
    faculty: opts.faculty ?? null,
    thresholds: th,
    alerts,
    pages,
    warnings: firings.filter((p) => !isPage(p)),
    firstPage: headline.firstPage,
    leadTimeMs: headline.leadTimeMs,
    collapse,
    firstDeviation,
    faculties,
  };
}

function summarise(
  faculty: string,
  minutes: MinuteStats[],
  th: PostmortemReport['thresholds'],
  minRequests: number,
): FacultySummary {
  const peak = (pick: (m: MinuteStats) => number | null): Moment | null => {
    let best: Moment | null = null;
    for (const m of minutes) {
      const v = pick(m);
      if (v !== null && Number.isFinite(v) && (best === null || v > best.value)) best = { minuteMs: m.minuteMs, value: v };
    }
    return best;
  };
  let firstDeviation: Deviation | null = null;
  let collapse: Collapse | null = null;
  for (const m of minutes) {
    if (!firstDeviation) {
      if (m.utilization !== null && m.utilization > th.utilization) {
        firstDeviation = { faculty, minuteMs: m.minuteMs, kind: 'utilization', value: m.utilization, threshold: th.utilization };
      } else if (m.requests >= minRequests && m.p95Seconds !== null && m.p95Seconds > th.p95Seconds) {
        // A p95 over a handful of requests (the first minute of a series, a quiet faculty) is noise.
        firstDeviation = { faculty, minuteMs: m.minuteMs, kind: 'latency', value: m.p95Seconds, threshold: th.p95Seconds };
      }
    }
    if (!collapse && m.requests >= minRequests && m.errorRatio !== null && m.errorRatio > th.collapseErrorRatio) {
      collapse = { faculty, minuteMs: m.minuteMs, errorRatio: m.errorRatio, requests: m.requests };
    }
  }
  const cap = peak((m) => (m.capacity > 0 ? m.capacity : null));
  return {
    faculty,
    peakSessions: peak((m) => m.sessions),
    peakCapacity: cap ? cap.value : null,
    peakUtilization: peak((m) => m.utilization),
    peakP95Seconds: peak((m) => m.p95Seconds),
    firstDeviation,
    collapse,
    minutes,
  };
}

/** Whether a firing pages someone: its rule carries `severity="page"`. */
export function isPage(p: Pick<Page, 'severity'>): boolean {
  return p.severity === 'page';
}

/**
 * The one lead-time definition, shared by the report and the demo's summary: the
 * earliest collapse minute minus the firing time of the first page (positive: the page
 * came first). Per-page lead times, against each page's own faculty, are in `pages`.
 */
export function leadTimeOf(pages: readonly Page[], collapse: Collapse | null): { firstPage: Page | null; leadTimeMs: number | null } {
  const firstPage = pages.reduce<Page | null>((a, p) => (a === null || p.firedAtMs < a.firedAtMs ? p : a), null);
  return { firstPage, leadTimeMs: firstPage && collapse ? collapse.minuteMs - firstPage.firedAtMs : null };
}

function firingsOf(alerts: readonly AlertEvent[], faculties: readonly FacultySummary[], overall: Collapse | null): Page[] {
  const pages: Page[] = [];
  alerts.forEach((a, i) => {
    if (a.state !== 'firing') return;
    const resolved = alerts.slice(i + 1).find(
      (b) => b.rule === a.rule && b.fingerprint === a.fingerprint && (b.state === 'resolved' || b.state === 'inactive' || b.state === 'firing'),
    );
    const faculty = a.labels['faculty'] ?? null;
    // A faculty's page is measured against that faculty's collapse only; a page with no
    // faculty label (platform-wide) against the earliest collapse.
    const against = faculty === null ? overall : (faculties.find((f) => f.faculty === faculty)?.collapse ?? null);
    pages.push({
      rule: a.rule,
      severity: a.labels['severity'] ?? 'none',
      fingerprint: a.fingerprint,
      faculty,
      labels: a.labels,
      firedAtMs: a.atMs,
      resolvedAtMs: resolved && resolved.state !== 'firing' ? resolved.atMs : null,
      leadTimeMs: against ? against.minuteMs - a.atMs : null,
      leadTimeAgainst: against ? against.faculty : null,
    });
  });
  return pages;
}
