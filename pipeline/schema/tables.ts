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
 * - `alerts_log`: every alert state transition.
 */

/** Table names. */
export const TABLES = {
  migrations: 'schema_migrations',
  series: 'series',
  samples: 'samples',
  samples1m: 'samples_1m',
  samples1mMv: 'samples_1m_mv',
  alertsLog: 'alerts_log',
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
