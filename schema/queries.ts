/**
 * Shared SQL building blocks for every reader of Vigie's tables (dashboards, post-mortem,
 * saved queries, benchmarks): the Prometheus-normalized metric names readers look for,
 * a checked `db.table` reference, per-minute counter increases from the rollups and
 * `histogram_quantile` in SQL. Lives next to `tables.ts` so readers share it without
 * importing each other.
 */
import { ConfigError } from '../core/errors.ts';
import { COUNTER_LABELS, COUNTERS_1M, SAMPLES_1M, SERIES, TABLES } from './tables.ts';

/**
 * Prometheus-normalized names of the metrics readers query. `@opentelemetry/exporter-prometheus`
 * 0.223 adds no unit suffix, so the request histogram is `http_server_request_duration_*`
 * (see `otlp/normalize.ts`).
 */
export const READER_METRICS = {
  sessions: 'ecampus_sessions_active',
  capacity: 'ecampus_capacity_sessions',
  requestBuckets: 'http_server_request_duration_bucket',
  requestCount: 'http_server_request_duration_count',
  requestSum: 'http_server_request_duration_sum',
} as const;

/** Where a reader finds its tables. */
export interface SqlTarget {
  /** ClickHouse database holding Vigie's tables. */
  readonly database: string;
  /**
   * Where counter increases come from: `counters_1m` (default; computed at ingest) or
   * `samples_1m` (per-series increases computed at query time, the pre-007 way: slow on a
   * day of data; kept for the benchmark's baseline).
   */
  readonly counterSource?: CounterSource;
}

/** See {@link SqlTarget.counterSource}. */
export type CounterSource = 'counters_1m' | 'samples_1m';

/** `t` reduced to what readers use (database, counter source). */
export function sqlTarget(t: SqlTarget): SqlTarget {
  return t.counterSource === undefined ? { database: t.database } : { database: t.database, counterSource: t.counterSource };
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** True when `s` can be spliced into SQL as a bare identifier. */
export function isIdentifier(s: string): boolean {
  return IDENT.test(s);
}

/** `` `db`.`table` ``; the database name is checked because it is spliced into SQL. */
export function qualifiedTable(t: SqlTarget, name: string): string {
  if (!IDENT.test(t.database)) {
    throw new ConfigError(`database "${t.database}" is not a ClickHouse identifier (letters, digits, _)`);
  }
  return `\`${t.database}\`.\`${name}\``;
}

/** A SQL string literal for a fixed, code-owned value (metric names, label names). */
export function sqlLiteral(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

const M = SAMPLES_1M;

/**
 * Per-minute increase of one cumulative counter, per series, with chosen labels, computed
 * at query time from `samples_1m` (window function over every series-minute: slow on a
 * day of data; panels read {@link counterRollupSql}; kept as the benchmark's baseline
 * and for labels `counters_1m` does not keep).
 *
 * The increase of a minute is `last - previous minute's last` (or `last` after a reset,
 * like Prometheus' `increase`); when the previous minute is missing (start of the
 * window, gap, new series) it falls back to `max - min` within the minute, which
 * undercounts by at most one scrape interval. Rows for the minute before the window are
 * read so the first minute in the window has its predecessor.
 *
 * Output columns: `minute, faculty, fingerprint, <label aliases…>, inc`.
 */
export function counterIncreaseSql(
  t: SqlTarget,
  opts: {
    metric: string;
    /** Extra predicate on `samples_1m` (e.g. the faculty filter). */
    where: string;
    /** SQL expressions for the window bounds (DateTime). */
    from: string;
    to: string;
    /** Output column alias → label name, read from `series.labels`. */
    labels: Readonly<Record<string, string>>;
  },
): string {
  const labelCols = Object.entries(opts.labels);
  const seriesSelect = labelCols.map(([alias, label]) => `any(${SERIES.labels}[${sqlLiteral(label)}]) AS ${alias}`).join(', ');
  const outerLabels = labelCols.map(([alias]) => `, s.${alias} AS ${alias}`).join('');
  return `SELECT c.${M.minute} AS ${M.minute}, c.${M.faculty} AS ${M.faculty}, c.${M.fingerprint} AS ${M.fingerprint}${outerLabels},
    if(c.prev_minute = c.${M.minute} - INTERVAL 1 MINUTE,
       if(c.lst >= c.prev_last, c.lst - c.prev_last, c.lst),
       c.mx - c.mn) AS inc
  FROM (
    SELECT ${M.minute}, ${M.faculty}, ${M.fingerprint}, mn, mx, lst,
      lagInFrame(lst) OVER w AS prev_last,
      lagInFrame(${M.minute}) OVER w AS prev_minute
    FROM (
      SELECT ${M.minute}, ${M.faculty}, ${M.fingerprint},
        min(${M.min}) AS mn, max(${M.max}) AS mx, argMaxMerge(${M.last}) AS lst
      FROM ${qualifiedTable(t, TABLES.samples1m)}
      WHERE ${M.metric} = ${sqlLiteral(opts.metric)} AND (${opts.where})
        AND ${M.minute} >= ${opts.from} - INTERVAL 1 MINUTE AND ${M.minute} <= ${opts.to}
      GROUP BY ${M.minute}, ${M.faculty}, ${M.fingerprint}
    )
    WINDOW w AS (PARTITION BY ${M.fingerprint} ORDER BY ${M.minute} ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
  ) AS c
  INNER JOIN (
    SELECT ${SERIES.fingerprint}${seriesSelect ? ', ' + seriesSelect : ''}
    FROM ${qualifiedTable(t, TABLES.series)}
    WHERE ${SERIES.metric} = ${sqlLiteral(opts.metric)}
    GROUP BY ${SERIES.fingerprint}
  ) AS s ON s.${SERIES.fingerprint} = c.${M.fingerprint}
  WHERE c.${M.minute} >= ${opts.from}`;
}

const C = COUNTERS_1M;

/** `counters_1m` column of each label it keeps. */
const COUNTER_LABEL_COLUMNS: Readonly<Record<string, string>> = {
  [COUNTER_LABELS.le]: C.le,
  [COUNTER_LABELS.statusCode]: C.statusCode,
  [COUNTER_LABELS.examId]: C.examId,
};

/** Labels {@link counterRollupSql} can group by (those `counters_1m` keeps). */
export const ROLLUP_COUNTER_LABELS: readonly string[] = Object.keys(COUNTER_LABEL_COLUMNS);

/**
 * Per-minute increase of one cumulative counter from `counters_1m` (increases computed
 * at ingest, summed without the series dimension), grouped by minute, faculty and the
 * chosen labels (only `le`, `http_response_status_code` and `exam_id` are kept there).
 * Same output as {@link counterIncreaseSql} minus `fingerprint`:
 * `minute, faculty, <label aliases…>, inc`.
 */
export function counterRollupSql(
  t: SqlTarget,
  opts: {
    metric: string;
    /** Extra predicate on `counters_1m` (e.g. the faculty filter on `faculty`). */
    where: string;
    /** SQL expressions for the window bounds (DateTime); minutes in `[from, to]`. */
    from: string;
    to: string;
    /** Output column alias → label name. */
    labels: Readonly<Record<string, string>>;
  },
): string {
  const cols = Object.entries(opts.labels).map(([alias, label]) => {
    const col = COUNTER_LABEL_COLUMNS[label];
    if (col === undefined) throw new ConfigError(`counters_1m keeps no label "${label}" (only ${ROLLUP_COUNTER_LABELS.join(', ')})`);
    if (!IDENT.test(alias)) throw new ConfigError(`"${alias}" is not an SQL identifier`);
    return { alias, col };
  });
  const sel = cols.map(({ alias, col }) => `, ${col} AS ${alias}`).join('');
  const grp = cols.map(({ alias }) => `, ${alias}`).join('');
  return `SELECT ${C.minute} AS ${C.minute}, ${C.faculty} AS ${C.faculty}${sel}, sum(${C.delta}) AS inc
  FROM ${qualifiedTable(t, TABLES.counters1m)}
  WHERE ${C.metric} = ${sqlLiteral(opts.metric)} AND (${opts.where})
    AND ${C.minute} >= ${opts.from} AND ${C.minute} <= ${opts.to}
  GROUP BY ${C.minute}, ${C.faculty}${grp}`;
}

/**
 * Per-minute counter increases from the target's counter source (see
 * {@link SqlTarget.counterSource}): `minute, faculty, <label aliases…>, inc` (plus
 * `fingerprint` from `samples_1m`). Labels limited to those `counters_1m` keeps.
 */
export function counterIncreasesSql(t: SqlTarget, opts: Parameters<typeof counterRollupSql>[1]): string {
  return t.counterSource === 'samples_1m' ? counterIncreaseSql(t, opts) : counterRollupSql(t, opts);
}

/**
 * Prometheus `histogram_quantile` over two aligned arrays: `les` (bucket upper bounds,
 * ascending, last one +Inf) and `cums` (cumulative counts). Linear interpolation inside
 * the bucket that holds the rank; the +Inf bucket answers the previous upper bound;
 * NULL when there were no observations or no +Inf bucket.
 */
export function histogramQuantileSql(q: number, les: string, cums: string): string {
  const rank = `(${q} * ${cums}[-1])`;
  const idx = `arrayFirstIndex(x -> x >= ${rank}, ${cums})`;
  return `multiIf(
      length(${cums}) = 0 OR ${cums}[-1] <= 0 OR NOT isInfinite(${les}[-1]), NULL,
      ${idx} = length(${les}), ${les}[${idx} - 1],
      ${les}[${idx} - 1] + (${les}[${idx}] - ${les}[${idx} - 1])
        * (${rank} - ${cums}[${idx} - 1]) / (${cums}[${idx}] - ${cums}[${idx} - 1]))`;
}

/**
 * Latency quantiles per group from bucket increases: wraps a query returning
 * `<groups…>, le_bound Float64, n` (one row per group and bucket) and returns
 * `<groups…>, p<q>…` in seconds. Running max makes the cumulative counts monotonic.
 */
export function quantilesFromBucketsSql(inner: string, groups: readonly string[], qs: readonly number[]): string {
  const g = groups.join(', ');
  const cols = qs.map((q) => `${histogramQuantileSql(q, 'les', 'cums')} AS p${Math.round(q * 100)}`).join(',\n  ');
  return `SELECT ${g},
  ${cols}
FROM (
  SELECT ${g}, les,
    arrayMap(i -> arrayMax(arraySlice(raw, 1, i)), arrayEnumerate(raw)) AS cums
  FROM (
    SELECT ${g},
      arraySort(x -> x.1, groupArray((le_bound, n))) AS sorted,
      arrayMap(x -> x.1, sorted) AS les,
      arrayMap(x -> x.2, sorted) AS raw
    FROM (
${inner}
    )
    GROUP BY ${g}
  )
)`;
}
