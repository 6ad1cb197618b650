/**
 * The SQL behind each dashboard panel, one function per panel. Every panel reads the
 * per-minute rollups (`samples_1m`), the `series` label table or `alerts_log`, never raw
 * samples. The text keeps the ClickHouse plugin's macros (`$__timeFilter`,
 * `$__timeInterval`, `$__fromTime`, `$__toTime`) and the Grafana variable
 * `${faculty:singlequote}`; Grafana and the plugin expand them at query time (and
 * `./macros.ts` does the same in tests).
 *
 * Time series panels return a *wide* frame: `time` first, then one numeric column per
 * line, ordered by time, so the plugin (format 0) needs no long-to-wide pivot.
 */
import { ConfigError } from '../core/errors.ts';
import { ALERTS_LOG, SAMPLES_1M, SERIES, TABLES } from '../pipeline/schema/tables.ts';

/** Prometheus-normalized metric names the panels read. */
export const PANEL_METRICS = {
  sessions: 'ecampus_sessions_active',
  capacity: 'ecampus_capacity_sessions',
  requestBuckets: 'http_server_request_duration_seconds_bucket',
  requestCount: 'http_server_request_duration_seconds_count',
} as const;

/** Where the panel SQL finds its tables. */
export interface SqlTarget {
  /** ClickHouse database holding Vigie's tables. */
  readonly database: string;
}

/** The Grafana variable that selects the faculty, formatted as a quoted SQL string. */
export const FACULTY_VAR = '${faculty:singlequote}';

const M = SAMPLES_1M;

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** `db.table`, back-quoted; the database name is checked because it is spliced into SQL. */
function table(t: SqlTarget, name: string): string {
  if (!IDENT.test(t.database)) {
    throw new ConfigError(`database "${t.database}" is not a ClickHouse identifier (letters, digits, _)`);
  }
  return `\`${t.database}\`.\`${name}\``;
}

/** A SQL string literal for a fixed, code-owned value (metric names, label names). */
function lit(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * Per-minute increase of one cumulative counter, per series, with chosen labels.
 *
 * The increase of a minute is `last - previous minute's last` (or `last` after a reset,
 * like Prometheus' `increase`); when the previous minute is missing (start of the
 * window, gap, new series) it falls back to `max - min` within the minute, which
 * undercounts by at most one scrape interval. Rows for the minute before the window are
 * read so the first minute in the window has its predecessor.
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
  const seriesSelect = labelCols
    .map(([alias, label]) => `any(${SERIES.labels}[${lit(label)}]) AS ${alias}`)
    .join(', ');
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
      FROM ${table(t, TABLES.samples1m)}
      WHERE ${M.metric} = ${lit(opts.metric)} AND (${opts.where})
        AND ${M.minute} >= ${opts.from} - INTERVAL 1 MINUTE AND ${M.minute} <= ${opts.to}
      GROUP BY ${M.minute}, ${M.faculty}, ${M.fingerprint}
    )
    WINDOW w AS (PARTITION BY ${M.fingerprint} ORDER BY ${M.minute} ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
  ) AS c
  INNER JOIN (
    SELECT ${SERIES.fingerprint}${seriesSelect ? ', ' + seriesSelect : ''}
    FROM ${table(t, TABLES.series)}
    WHERE ${SERIES.metric} = ${lit(opts.metric)}
    GROUP BY ${SERIES.fingerprint}
  ) AS s ON s.${SERIES.fingerprint} = c.${M.fingerprint}
  WHERE c.${M.minute} >= ${opts.from}`;
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

/** Panel "Sessions vs capacity": `time, sessions, capacity` (sum over servers) for the faculty. */
export function sessionsVsCapacitySql(t: SqlTarget): string {
  return `SELECT $__timeInterval(${M.minute}) AS time,
  max(sessions) AS sessions,
  max(capacity) AS capacity
FROM (
  SELECT ${M.minute},
    sumIf(v, ${M.metric} = ${lit(PANEL_METRICS.sessions)}) AS sessions,
    sumIf(v, ${M.metric} = ${lit(PANEL_METRICS.capacity)}) AS capacity
  FROM (
    SELECT ${M.minute}, ${M.metric}, ${M.fingerprint}, argMaxMerge(${M.last}) AS v
    FROM ${table(t, TABLES.samples1m)}
    WHERE ${M.metric} IN (${lit(PANEL_METRICS.sessions)}, ${lit(PANEL_METRICS.capacity)})
      AND ${M.faculty} = ${FACULTY_VAR}
      AND $__timeFilter(${M.minute})
    GROUP BY ${M.minute}, ${M.metric}, ${M.fingerprint}
  )
  GROUP BY ${M.minute}
)
GROUP BY time
ORDER BY time`;
}

/**
 * Panel "Request latency": `time, p50, p95` in seconds for the faculty, from bucket
 * increases summed per `le` over every route and status, then interpolated.
 */
export function latencyQuantilesSql(t: SqlTarget): string {
  const inc = counterIncreaseSql(t, {
    metric: PANEL_METRICS.requestBuckets,
    where: `${M.faculty} = ${FACULTY_VAR}`,
    from: '$__fromTime',
    to: '$__toTime',
    labels: { le: 'le' },
  });
  return `SELECT time,
  ${histogramQuantileSql(0.5, 'les', 'cums')} AS p50,
  ${histogramQuantileSql(0.95, 'les', 'cums')} AS p95
FROM (
  SELECT time, les, raw,
    arrayMap(i -> arrayMax(arraySlice(raw, 1, i)), arrayEnumerate(raw)) AS cums
  FROM (
    SELECT time,
      arraySort(x -> x.1, groupArray((le_bound, n))) AS sorted,
      arrayMap(x -> x.1, sorted) AS les,
      arrayMap(x -> x.2, sorted) AS raw
    FROM (
      SELECT $__timeInterval(${M.minute}) AS time, toFloat64OrNull(le) AS le_bound, sum(inc) AS n
      FROM (
${inc}
      )
      WHERE le_bound IS NOT NULL AND $__timeFilter(${M.minute})
      GROUP BY time, le_bound
    )
    GROUP BY time
  )
)
ORDER BY time`;
}

/** Panel "Error ratio": `time, error_ratio, requests` (5xx share of requests) for the faculty. */
export function errorRatioSql(t: SqlTarget): string {
  const inc = counterIncreaseSql(t, {
    metric: PANEL_METRICS.requestCount,
    where: `${M.faculty} = ${FACULTY_VAR}`,
    from: '$__fromTime',
    to: '$__toTime',
    labels: { status: 'http_response_status_code' },
  });
  return `SELECT $__timeInterval(${M.minute}) AS time,
  sumIf(inc, startsWith(status, '5')) / nullIf(sum(inc), 0) AS error_ratio
FROM (
${inc}
)
WHERE $__timeFilter(${M.minute})
GROUP BY time
ORDER BY time`;
}

/**
 * Panel "Firing alerts" (table): alerts whose latest transition up to the end of the
 * range is `firing`, for the faculty. Looks back one day before the range so an alert
 * that fired before the window opened still shows.
 */
export function firingAlertsSql(t: SqlTarget): string {
  const A = ALERTS_LOG;
  return `SELECT firing_since, rule,
  l['severity'] AS severity, l['exam_id'] AS exam_id, l['server'] AS server,
  a['summary'] AS summary, last_value AS value
FROM (
  SELECT ${A.rule} AS rule, ${A.fingerprint},
    argMax(${A.state}, ${A.timestamp}) AS current_state,
    maxIf(${A.timestamp}, ${A.state} = 'firing') AS firing_since,
    argMax(${A.labels}, ${A.timestamp}) AS l,
    argMax(${A.annotations}, ${A.timestamp}) AS a,
    argMax(${A.value}, ${A.timestamp}) AS last_value
  FROM ${table(t, TABLES.alertsLog)}
  WHERE ${A.timestamp} >= $__fromTime - INTERVAL 1 DAY AND ${A.timestamp} <= $__toTime
    AND ${A.labels}['faculty'] = ${FACULTY_VAR}
  GROUP BY ${A.rule}, ${A.fingerprint}
  HAVING current_state = 'firing'
)
ORDER BY firing_since, rule`;
}

/** Query of the `faculty` dashboard variable: every faculty that has a series. */
export function facultyVariableSql(t: SqlTarget): string {
  return `SELECT DISTINCT ${SERIES.faculty} FROM ${table(t, TABLES.series)} WHERE ${SERIES.faculty} != '' ORDER BY ${SERIES.faculty}`;
}

/**
 * Dashboard annotations: every alert that fired or resolved for the faculty in the
 * range, as point annotations (`time`, `text`, `tags` as a comma-separated string, the
 * form Grafana splits into tags).
 */
export function alertAnnotationsSql(t: SqlTarget): string {
  const A = ALERTS_LOG;
  return `SELECT ${A.timestamp} AS time,
  concat(${A.state}, ': ', ${A.rule}, if(${A.annotations}['summary'] != '', concat(' (', ${A.annotations}['summary'], ')'), '')) AS text,
  arrayStringConcat(arrayFilter(x -> x != '', [${A.state}, ${A.labels}['severity'], ${A.labels}['exam_id'], ${A.labels}['server']]), ',') AS tags
FROM ${table(t, TABLES.alertsLog)}
WHERE $__timeFilter(${A.timestamp})
  AND ${A.labels}['faculty'] = ${FACULTY_VAR}
  AND ${A.state} IN ('firing', 'resolved')
ORDER BY time`;
}
