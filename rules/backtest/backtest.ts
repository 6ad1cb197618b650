/**
 * Backtests rule groups over stored history: reads `samples` (with labels from `series`)
 * from ClickHouse in time order, chunk by chunk, and replays them through the very code
 * the live chain runs — `createSeriesStore`, `createRuleEngine`, `createWatermarkScheduler`
 * — driven by the data's own timestamps instead of a wall clock. Reports every alert
 * that would have fired, when it resolved, and its lead time against the collapses
 * found in the stored rollups (the post-mortem's definition, reused).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { ConfigError, DecodeError } from '../../core/errors.ts';
import type { Labels, Sample } from '../../core/samples.ts';
import { SAMPLES, SERIES, TABLES } from '../../schema/tables.ts';
import { postmortem, type Collapse } from '../../postmortem/index.ts';
import type { AlertTransition } from '../engine.ts';
import { requiredRetentionMs, type RuleGroup } from '../ruleFile.ts';
import { createRulesStage, type ExpectedLoadOverride } from '../stage.ts';
import { readSchedule, scheduleReachMs, type ScheduledExam } from '../../schedule/index.ts';

/** Options of {@link backtest}. */
export interface BacktestOptions {
  readonly groups: readonly RuleGroup[];
  /** First and last evaluation instants (epoch ms, inclusive). */
  readonly fromMs: number;
  readonly toMs: number;
  /** Evaluation interval (ms), default 15 s as the live chain. */
  readonly stepMs?: number;
  /** Span of history read per query (ms), default 10 min. */
  readonly chunkMs?: number;
  /** History read before `fromMs` so the first evaluations have full windows; default the rules' longest range + lookback. */
  readonly warmupMs?: number;
  /** PromQL semantics, as the live engine (default v3). */
  readonly semantics?: 'v3' | 'v2';
  readonly lookbackMs?: number;
  /**
   * Rebuild the schedule series (`ecampus_expected_sessions`, `ecampus_expected_peak_sessions`)
   * from the stored `exam_schedule`, step by step up to each watermark before evaluating, as
   * the live chain feeds them (default true).
   */
  readonly useSchedule?: boolean;
  /**
   * A stored plan's expected load (built by the CLI from `plans`): where it covers, it
   * replaces the timetable's series, as live (ignored without `useSchedule`).
   */
  readonly plan?: ExpectedLoadOverride | null;
  /** Called after each chunk (progress of long backtests). */
  readonly onProgress?: (p: { readonly atMs: number; readonly samples: number; readonly evaluations: number }) => void;
}

/** One alert that reached `firing` during the backtest. */
export interface BacktestAlert {
  readonly rule: string;
  readonly group: string;
  /** Alert labels (result labels + rule labels + alertname). */
  readonly labels: Labels;
  readonly annotations: Labels;
  /** Evaluation time of the transition to firing. */
  readonly firedAt: number;
  /** When the condition first held (start of `for`). */
  readonly activeAt: number;
  /** Evaluation time of the resolve, if it resolved within the window. */
  readonly resolvedAt?: number;
  /** Collapse time − firedAt (positive: before the collapse); absent when there is no collapse to measure against. */
  readonly leadTimeMs?: number;
  /** Faculty whose collapse the lead time is measured against. */
  readonly leadTimeAgainst?: string;
}

/** What a backtest found. */
export interface BacktestResult {
  readonly fromMs: number;
  readonly toMs: number;
  readonly stepMs: number;
  readonly alerts: readonly BacktestAlert[];
  /** First collapsed minute of each faculty that collapsed, earliest first. */
  readonly collapses: readonly Collapse[];
  /** Every state change, as the live engine hands them to alerts_log. */
  readonly transitions: readonly AlertTransition[];
  /** Evaluation instants, in order. */
  readonly evaluations: readonly number[];
  readonly samplesRead: number;
  readonly seriesRead: number;
  /** Exams read from `exam_schedule` and fed as schedule series (empty without `useSchedule`). */
  readonly exams: readonly ScheduledExam[];
  /** Rule evaluation failures, deduplicated by rule and message. */
  readonly ruleErrors: readonly { readonly group: string; readonly rule: string; readonly error: string; readonly count: number }[];
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

const seriesRow = z.tuple([z.string(), z.string(), z.record(z.string())]);
function floatOf(v: number | string | null): number {
  if (v === null) return NaN;
  if (typeof v === 'number') return v;
  // ClickHouse spells non-finite floats nan / inf / -inf.
  const s = v.toLowerCase();
  if (s === 'nan' || s === '-nan') return NaN;
  if (s === 'inf' || s === '+inf') return Infinity;
  if (s === '-inf') return -Infinity;
  return Number(v);
}

async function rowsOf<T>(client: ClickHouseClient, what: string, query: string, params: Record<string, unknown>, schema: z.ZodType<T, z.ZodTypeDef, unknown>): Promise<T[]> {
  const rs = await client.query({ query, query_params: params, format: 'JSONCompactEachRow' });
  const rows = await rs.json<unknown>();
  return rows.map((r, i) => {
    const p = schema.safeParse(r);
    if (!p.success) throw new DecodeError('backtest.row', `backtest ${what} query: row ${i} does not fit: ${p.error.message}`);
    return p.data;
  });
}

/**
 * Replays stored history through the rules engine over [fromMs, toMs] and scores the
 * alerts against the stored collapses. Evaluation instants are the multiples of `stepMs`
 * in the window, exactly as the live watermark scheduler picks them; the alert state
 * starts empty at `fromMs` (history before it only fills the windows).
 */
export async function backtest(client: ClickHouseClient, database: string, opts: BacktestOptions): Promise<BacktestResult> {
  if (!IDENT.test(database)) throw new ConfigError(`backtest: database "${database}" is not a ClickHouse identifier (letters, digits, _)`);
  const { fromMs, toMs } = opts;
  if (!(Number.isFinite(fromMs) && Number.isFinite(toMs) && fromMs <= toMs)) {
    throw new ConfigError(`backtest: invalid window from=${fromMs} to=${toMs}; need from <= to (epoch ms)`);
  }
  const stepMs = opts.stepMs ?? 15_000;
  if (!(stepMs >= 1000)) throw new ConfigError(`backtest: step must be at least 1s, got ${stepMs} ms`);
  const chunkMs = Math.max(opts.chunkMs ?? 10 * 60_000, stepMs);
  const lookback = opts.lookbackMs ?? 5 * 60_000;
  const warmupMs = opts.warmupMs ?? requiredRetentionMs(opts.groups, lookback);
  const readFrom = fromMs - warmupMs;
  const db = `\`${database}\``;

  // Labels of every series with samples in the window: the join of samples with series,
  // done once here as a hash map instead of once per row.
  const series = new Map<string, { metric: string; labels: Labels }>();
  const seriesRows = await rowsOf(
    client,
    'series',
    `SELECT toString(${SERIES.fingerprint}) AS fp, any(${SERIES.metric}) AS metric, CAST(any(${SERIES.labels}), 'Map(String, String)') AS labels
     FROM ${db}.${TABLES.series}
     WHERE ${SERIES.fingerprint} IN (
       SELECT DISTINCT ${SAMPLES.fingerprint} FROM ${db}.${TABLES.samples}
       WHERE ${SAMPLES.timestamp} >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND ${SAMPLES.timestamp} <= fromUnixTimestamp64Milli({to:Int64}, 'UTC'))
     GROUP BY ${SERIES.fingerprint}`,
    { from: readFrom, to: toMs },
    seriesRow,
  );
  for (const [fp, metric, labels] of seriesRows) series.set(fp, { metric, labels: Object.freeze({ ...labels }) });

  // The schedule, known in advance live, is fed up to each watermark like the chain does
  // (from the start of the read, so the warm-up fills its windows too).
  const exams = opts.useSchedule === false ? [] : await readSchedule(client, database, { fromMs: readFrom, toMs: toMs + scheduleReachMs() });
  const transitions: AlertTransition[] = [];
  const evaluations: number[] = [];
  const errors = new Map<string, { group: string; rule: string; error: string; count: number }>();
  const stage = createRulesStage({
    groups: opts.groups,
    intervalMs: stepMs,
    lookbackMs: lookback,
    minRetentionMs: 0,
    ...(opts.semantics ? { semantics: opts.semantics } : {}),
    schedule: { exams, startMs: readFrom },
    ...(opts.plan && opts.useSchedule !== false ? { plan: opts.plan } : {}),
    onTransitions: (ts) => {
      transitions.push(...ts);
    },
    onEvaluation: (r) => {
      evaluations.push(r.at);
      for (const e of r.errors) {
        const k = `${e.group}\0${e.rule}\0${e.error}`;
        const prev = errors.get(k);
        if (prev) prev.count++;
        else errors.set(k, { ...e, count: 1 });
      }
    },
  });
  const firstBoundary = Math.ceil(fromMs / stepMs) * stepMs;
  /**
   * Every boundary ≤ `watermark` can be evaluated once all samples ≤ it are in the store.
   * Boundaries before `fromMs` are never evaluated (warm-up only fills the windows).
   */
  const advance = (watermark: number) => {
    const w = Math.min(watermark, toMs);
    if (w >= firstBoundary) stage.advance(w);
  };

  let samplesRead = 0;
  let unknownSeries = 0;
  let pending: Sample[] = [];
  let pendingTs = -Infinity;
  for (let a = readFrom; a <= toMs; a += chunkMs) {
    const b = Math.min(a + chunkMs, toMs + 1);
    const rs = await client.query({
      query: `SELECT toUnixTimestamp64Milli(${SAMPLES.timestamp}) AS t, toString(${SAMPLES.fingerprint}) AS fp, ${SAMPLES.value} AS v
       FROM ${db}.${TABLES.samples}
       WHERE ${SAMPLES.timestamp} >= fromUnixTimestamp64Milli({a:Int64}, 'UTC') AND ${SAMPLES.timestamp} < fromUnixTimestamp64Milli({b:Int64}, 'UTC')
       ORDER BY ${SAMPLES.timestamp}, ${SAMPLES.fingerprint}`,
      query_params: { a, b },
      format: 'JSONCompactEachRow',
    });
    const rows = await rs.json<unknown>();
    for (let i = 0; i < rows.length; i++) {
      // Checked by hand, not with zod: this loop runs once per stored sample.
      const row = rows[i];
      if (!Array.isArray(row) || row.length !== 3 || typeof row[1] !== 'string') {
        throw new DecodeError('backtest.row', `backtest samples query: row ${i} is not [t, fingerprint, value]: ${JSON.stringify(row).slice(0, 200)}`);
      }
      const t = Number(row[0]);
      const v = floatOf(row[2] as number | string | null);
      if (!Number.isFinite(t)) throw new DecodeError('backtest.row', `backtest samples query: row ${i} has no timestamp: ${JSON.stringify(row).slice(0, 200)}`);
      const s = series.get(row[1]);
      if (!s) {
        unknownSeries++;
        continue;
      }
      if (t !== pendingTs) {
        // All samples up to pendingTs are known: add them, then evaluate what is complete.
        if (pending.length) stage.ingest(pending);
        pending = [];
        if (Number.isFinite(pendingTs)) advance(t - 1);
        pendingTs = t;
      }
      pending.push({ metric: s.metric, labels: s.labels, timestampMs: t, value: v });
      samplesRead++;
    }
    opts.onProgress?.({ atMs: b, samples: samplesRead, evaluations: evaluations.length });
  }
  if (pending.length) stage.ingest(pending);
  advance(toMs);
  if (toMs >= firstBoundary) await stage.finish(toMs);
  if (unknownSeries > 0) {
    const k = `\0\0unknown`;
    errors.set(k, { group: '', rule: '', error: `${unknownSeries} samples belong to no row of ${TABLES.series} and were skipped`, count: unknownSeries });
  }

  const report = await postmortem(client, { database, fromMs, toMs });
  const collapses = report.faculties
    .map((f) => f.collapse)
    .filter((c): c is Collapse => c !== null)
    .sort((x, y) => x.minuteMs - y.minuteMs || x.faculty.localeCompare(y.faculty));

  return {
    fromMs,
    toMs,
    stepMs,
    alerts: alertsOf(transitions, collapses),
    collapses,
    transitions,
    evaluations,
    samplesRead,
    seriesRead: series.size,
    exams,
    ruleErrors: [...errors.values()],
  };
}

/**
 * Pairs firing transitions with their resolve and measures each against a collapse: a
 * faculty's alert against that faculty's collapse, an alert without a faculty label
 * against the earliest collapse (as the post-mortem report does).
 */
export function alertsOf(transitions: readonly AlertTransition[], collapses: readonly Collapse[]): BacktestAlert[] {
  const open = new Map<string, number>();
  const out: { -readonly [K in keyof BacktestAlert]: BacktestAlert[K] }[] = [];
  const earliest = collapses.reduce<Collapse | null>((m, c) => (m === null || c.minuteMs < m.minuteMs ? c : m), null);
  for (const t of transitions) {
    const key = `${t.rule}\0${t.fingerprint}`;
    if (t.state === 'firing') {
      const faculty = t.labels['faculty'];
      const against = faculty === undefined ? earliest : (collapses.find((c) => c.faculty === faculty) ?? null);
      open.set(key, out.length);
      out.push({
        rule: t.rule,
        group: t.group,
        labels: t.labels,
        annotations: t.annotations,
        firedAt: t.at,
        activeAt: t.activeAt,
        ...(against ? { leadTimeMs: against.minuteMs - t.at, leadTimeAgainst: against.faculty } : {}),
      });
    } else if (t.state === 'resolved') {
      const i = open.get(key);
      if (i !== undefined) {
        out[i]!.resolvedAt = t.at;
        open.delete(key);
      }
    }
  }
  return out;
}

/**
 * The stored samples of `metrics` in [fromMs, toMs], with their labels, in time order:
 * what a restarted `vigie ingest` loads into its rules stage before it consumes again, so
 * the windows it evaluates after a crash hold the minutes before it (messages already
 * stored are not tapped again on redelivery).
 */
export async function readRecentSamples(client: ClickHouseClient, database: string, metrics: readonly string[], fromMs: number, toMs: number): Promise<Sample[]> {
  if (!IDENT.test(database)) throw new ConfigError(`readRecentSamples: database "${database}" is not a ClickHouse identifier (letters, digits, _)`);
  if (metrics.length === 0 || !(fromMs <= toMs)) return [];
  const db = `\`${database}\``;
  const rs = await client.query({
    query: `SELECT toUnixTimestamp64Milli(s.${SAMPLES.timestamp}) AS t, se.m AS metric, se.l AS labels, s.${SAMPLES.value} AS v
     FROM ${db}.${TABLES.samples} AS s
     INNER JOIN (
       SELECT ${SERIES.fingerprint} AS fp, any(${SERIES.metric}) AS m, CAST(any(${SERIES.labels}), 'Map(String, String)') AS l
       FROM ${db}.${TABLES.series} WHERE ${SERIES.metric} IN {metrics:Array(String)} GROUP BY ${SERIES.fingerprint}
     ) AS se ON s.${SAMPLES.fingerprint} = se.fp
     WHERE s.${SAMPLES.timestamp} >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') AND s.${SAMPLES.timestamp} <= fromUnixTimestamp64Milli({to:Int64}, 'UTC')
     ORDER BY t`,
    query_params: { metrics: [...metrics], from: fromMs, to: toMs },
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ t: number | string; metric: string; labels: Record<string, string>; v: number | string | null }>();
  return rows.map((r) => ({ metric: r.metric, labels: Object.freeze({ ...r.labels }), timestampMs: Number(r.t), value: floatOf(r.v) }));
}

/** Time of the newest stored sample, or null when the table is empty. */
export async function newestStoredSampleMs(client: ClickHouseClient, database: string): Promise<number | null> {
  if (!IDENT.test(database)) throw new ConfigError(`newestStoredSampleMs: database "${database}" is not a ClickHouse identifier (letters, digits, _)`);
  const rs = await client.query({ query: `SELECT count() AS n, toUnixTimestamp64Milli(max(${SAMPLES.timestamp})) AS t FROM \`${database}\`.${TABLES.samples}`, format: 'JSONEachRow' });
  const [row] = await rs.json<{ n: number | string; t: number | string }>();
  return row && Number(row.n) > 0 ? Number(row.t) : null;
}
