/**
 * The one place where ClickHouse table and column names live. Every reader (pipeline,
 * rules backtest, dashboards, post-mortem) imports these names; migrations in
 * `./migrations/*.sql` create them.
 *
 * Layout (after SigNoz and Uptrace):
 * - `series`: one row per series, keyed by fingerprint, with its metric and label Map;
 * - `samples`: narrow (metric, fingerprint, faculty, timestamp, value) rows, raw, with a TTL;
 * - `samples_1m`: per-minute per-series rollup (AggregatingMergeTree fed by a materialized
 *   view) with min/max/last/sum/count, so dashboards never scan raw samples;
 * - `counters_1m`: per-minute counter increases (computed once at ingest into
 *   `samples.delta`) summed by metric, faculty, le, status code and exam — no series
 *   dimension, so counter and histogram panels read a few thousand rows per hour;
 * - `alerts_log`: every alert state transition;
 * - `plans` / `plan_series`: stored plans and their expected-load series (migration 010).
 */

/** Table names. */
export const TABLES = {
  migrations: 'schema_migrations',
  series: 'series',
  samples: 'samples',
  samples1m: 'samples_1m',
  samples1mMv: 'samples_1m_mv',
  alertsLog: 'alerts_log',
  examSchedule: 'exam_schedule',
  /** Exactly-once staging table (see SAMPLES_INGEST); the pipeline inserts here, not into `samples`. */
  samplesIngest: 'samples_ingest',
  samplesIngestMv: 'samples_ingest_mv',
  /** View: highest Kafka offset stored per (topic, partition), read by the pipeline on (re)delivery. */
  ingestOffsets: 'ingest_offsets',
  /** Per-minute counter increases (sum of `samples.delta`) by metric, faculty, le, status code, exam: no series dimension. */
  counters1m: 'counters_1m',
  counters1mMv: 'counters_1m_mv',
  /** Stored plans (`vigie plan --store`): what each covers and the timetable it was made for. */
  plans: 'plans',
  /** Their expected-load series, minute by minute. */
  planSeries: 'plan_series',
} as const;

/** Column names of `samples`. */
export const SAMPLES = {
  metric: 'metric',
  fingerprint: 'fingerprint',
  faculty: 'faculty',
  timestamp: 'timestamp',
  value: 'value',
} as const;

/** Column names of `series`. */
export const SERIES = {
  fingerprint: 'fingerprint',
  metric: 'metric',
  labels: 'labels',
  faculty: 'faculty',
  firstSeen: 'first_seen',
} as const;

/**
 * Column names of `samples_1m`. Aggregates: `min`/`max`/`sum` SimpleAggregateFunction,
 * `count` SimpleAggregateFunction(sum, UInt64), `last` AggregateFunction(argMax, Float64,
 * DateTime64(3)) read with `argMaxMerge(last)`.
 */
export const SAMPLES_1M = {
  metric: 'metric',
  fingerprint: 'fingerprint',
  faculty: 'faculty',
  minute: 'minute',
  min: 'min',
  max: 'max',
  sum: 'sum',
  count: 'count',
  last: 'last',
} as const;

/** Column names of `alerts_log`. `state` is one of pending | firing | resolved | inactive. */
export const ALERTS_LOG = {
  timestamp: 'timestamp',
  rule: 'rule',
  fingerprint: 'fingerprint',
  state: 'state',
  labels: 'labels',
  annotations: 'annotations',
  value: 'value',
  activeAt: 'active_at',
} as const;

/**
 * Column names of `exam_schedule`: one row per exam (planned start, enrolment, duration;
 * migration 008: start window, server, and `deleted` tombstones — read `deleted = 0`
 * after FINAL).
 */
export const EXAM_SCHEDULE = {
  examId: 'exam_id',
  faculty: 'faculty',
  start: 'start',
  enrolled: 'enrolled',
  durationMs: 'duration_ms',
  startWindowMs: 'start_window_ms',
  server: 'server',
  deleted: 'deleted',
} as const;

/**
 * Column names of `samples_ingest`: the `samples` columns plus the Kafka position of each
 * row's message. ReplacingMergeTree(source_offset) ordered by (topic, partition): each
 * insert's part keeps one row per partition (the highest offset), so the table is the
 * per-partition high-water mark, committed before the view copies the rows to `samples`.
 */
export const SAMPLES_INGEST = {
  ...SAMPLES,
  sourceTopic: 'source_topic',
  sourcePartition: 'source_partition',
  /** Offset of the message the row was decoded from. */
  sourceOffset: 'source_offset',
  /** First offset of the insert the row belongs to (rebuilds that insert's dedup token). */
  sourceFirstOffset: 'source_first_offset',
} as const;

/** Column names of the `ingest_offsets` view (one row per topic and partition). */
export const INGEST_OFFSETS = {
  topic: 'source_topic',
  partition: 'source_partition',
  /** Highest offset stored. */
  offset: 'offset',
  /** First offset of the insert that stored it. */
  firstOffset: 'first_offset',
} as const;

/**
 * Columns added to `samples` and `samples_ingest` by migration 007: the increase of a
 * cumulative counter since the previous point of its series (0 for gauges), and the
 * three labels `counters_1m` keeps (empty when the series has none).
 */
export const SAMPLES_COUNTER = {
  delta: 'delta',
  le: 'le',
  statusCode: 'status_code',
  examId: 'exam_id',
} as const;

/** Labels copied from a sample into the {@link SAMPLES_COUNTER} columns, by column. */
export const COUNTER_LABELS = {
  le: 'le',
  statusCode: 'http_response_status_code',
  examId: 'exam_id',
} as const;

/**
 * Column names of `counters_1m`: `delta` is SimpleAggregateFunction(sum, Float64), the
 * sum of the increases of every series with these (metric, faculty, le, status_code,
 * exam_id) in the minute. Read with `sum(delta)` and GROUP BY (no FINAL needed).
 */
export const COUNTERS_1M = {
  metric: 'metric',
  faculty: 'faculty',
  minute: 'minute',
  le: 'le',
  statusCode: 'status_code',
  examId: 'exam_id',
  delta: 'delta',
} as const;

/**
 * Column names of `plans` (migration 010): one row per stored plan, covering data time
 * [covers_from, covers_to), made for the timetable whose digest it keeps.
 */
export const PLANS = {
  planId: 'plan_id',
  coversFrom: 'covers_from',
  coversTo: 'covers_to',
  createdAt: 'created_at',
  timetableDigest: 'timetable_digest',
  exams: 'exams',
  capacitySource: 'capacity_source',
  profileSource: 'profile_source',
} as const;

/** Column names of `plan_series`: a plan's series, one value per minute (`faculty` '' = platform-wide). */
export const PLAN_SERIES = {
  planId: 'plan_id',
  metric: 'metric',
  faculty: 'faculty',
  minute: 'minute',
  value: 'value',
} as const;
