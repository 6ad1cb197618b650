/**
 * The SQL behind each dashboard panel, one function per panel. Every panel reads the
 * per-minute rollups — `samples_1m` for gauges, `counters_1m` (increases computed at
 * ingest, no series dimension) for counters and histograms — the `series` label table or
 * `alerts_log`, never raw samples. The text keeps the ClickHouse plugin's macros (`$__timeFilter`,
 * `$__timeInterval`, `$__fromTime`, `$__toTime`) and the Grafana variable
 * `${faculty:singlequote}`; Grafana and the plugin expand them at query time (and
 * `./macros.ts` does the same in tests).
 *
 * Time series panels return a *wide* frame: `time` first, then one numeric column per
 * line, ordered by time, so the plugin (format 0) needs no long-to-wide pivot.
 */
import { ALERTS_LOG, EXAM_SCHEDULE, SAMPLES_1M, SERIES, TABLES } from '../schema/tables.ts';
import {
  counterIncreaseSql,
  counterIncreasesSql,
  counterRollupSql,
  histogramQuantileSql,
  qualifiedTable,
  quantilesFromBucketsSql,
  READER_METRICS,
  sqlLiteral,
  type SqlTarget,
} from '../schema/queries.ts';

export { counterIncreaseSql, counterRollupSql, histogramQuantileSql, type SqlTarget };

/** Prometheus-normalized metric names the panels read (no unit suffix: exporter 0.223). */
export const PANEL_METRICS = READER_METRICS;

/** The Grafana variable that selects the faculty, formatted as a quoted SQL string. */
export const FACULTY_VAR = '${faculty:singlequote}';

/** The multi-value faculty variable of the exam-morning dashboard, as a quoted SQL list. */
export const FACULTIES_VAR = '${faculties:singlequote}';

const M = SAMPLES_1M;
const table = qualifiedTable;
const lit = sqlLiteral;

/**
 * Which faculties a panel reads: the single-value `faculty` variable (faculty
 * dashboard), the multi-value `faculties` variable (exam morning) or every faculty
 * (session overview).
 */
export type FacultyScope = 'faculty' | 'faculties' | 'all';

/** SQL predicate restricting `col` to the scope's faculties. */
export function scopeCond(col: string, scope: FacultyScope): string {
  switch (scope) {
    case 'faculty':
      return `${col} = ${FACULTY_VAR}`;
    case 'faculties':
      return `${col} IN (${FACULTIES_VAR})`;
    case 'all':
      return '1';
  }
}

/** Per-minute last value per series of gauges, summed per `label` value: `minute, <alias>, metric, v`. */
function gaugeByLabelSql(
  t: SqlTarget,
  opts: { metrics: readonly string[]; cond: string; label: string; alias: string; from?: string; to?: string },
): string {
  const metrics = opts.metrics.map(lit).join(', ');
  const range = opts.from && opts.to ? `${M.minute} >= ${opts.from} AND ${M.minute} <= ${opts.to}` : `$__timeFilter(${M.minute})`;
  return `SELECT r.${M.minute} AS ${M.minute}, s.${opts.alias} AS ${opts.alias}, r.${M.metric} AS ${M.metric}, sum(r.v) AS v
  FROM (
    SELECT ${M.minute}, ${M.metric}, ${M.fingerprint}, argMaxMerge(${M.last}) AS v
    FROM ${table(t, TABLES.samples1m)}
    WHERE ${M.metric} IN (${metrics}) AND ${opts.cond} AND ${range}
    GROUP BY ${M.minute}, ${M.metric}, ${M.fingerprint}
  ) AS r
  INNER JOIN (
    SELECT ${SERIES.fingerprint}, any(${SERIES.labels}[${lit(opts.label)}]) AS ${opts.alias}
    FROM ${table(t, TABLES.series)}
    WHERE ${SERIES.metric} IN (${metrics})
    GROUP BY ${SERIES.fingerprint}
  ) AS s ON s.${SERIES.fingerprint} = r.${M.fingerprint}
  GROUP BY ${M.minute}, ${opts.alias}, ${M.metric}`;
}

/** Panel "Sessions vs capacity": `time, sessions, capacity` (sum over servers) for the scope. */
export function sessionsVsCapacitySql(t: SqlTarget, scope: FacultyScope = 'faculty'): string {
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
      AND ${scopeCond(M.faculty, scope)}
      AND $__timeFilter(${M.minute})
    GROUP BY ${M.minute}, ${M.metric}, ${M.fingerprint}
  )
  GROUP BY ${M.minute}
)
GROUP BY time
ORDER BY time`;
}

/** Bucket increases per minute bucket and group, as `time, <groups…>, le_bound, n`, for {@link quantilesFromBucketsSql}. */
function bucketIncreasesSql(t: SqlTarget, scope: FacultyScope, groups: Readonly<Record<string, string>>, outGroups: readonly string[]): string {
  const inc = counterIncreasesSql(t, {
    metric: PANEL_METRICS.requestBuckets,
    where: scopeCond(M.faculty, scope),
    from: '$__fromTime',
    to: '$__toTime',
    labels: { le: 'le', ...groups },
  });
  const g = outGroups.length ? outGroups.join(', ') + ', ' : '';
  return `      SELECT $__timeInterval(${M.minute}) AS time, ${g}toFloat64OrNull(le) AS le_bound, sum(inc) AS n
      FROM (
${inc}
      )
      WHERE le_bound IS NOT NULL AND $__timeFilter(${M.minute})
      GROUP BY time, ${g}le_bound`;
}

/**
 * Panel "Request latency": `time, p50, p95, p99` in seconds for the faculty, from bucket
 * increases summed per `le` over every route and status, then interpolated.
 */
export function latencyQuantilesSql(t: SqlTarget): string {
  return `${quantilesFromBucketsSql(bucketIncreasesSql(t, 'faculty', {}, []), ['time'], [0.5, 0.95, 0.99])}
ORDER BY time`;
}

/** Panel "p95 latency by faculty" (long frame): `time, faculty, p95` in seconds. */
export function latencyByFacultySql(t: SqlTarget, scope: FacultyScope): string {
  return `SELECT time, ${M.faculty}, p95 FROM (
${quantilesFromBucketsSql(bucketIncreasesSql(t, scope, {}, [M.faculty]), ['time', M.faculty], [0.95])}
)
ORDER BY time, ${M.faculty}`;
}

/** Panel "Error ratio": `time, error_ratio` (5xx share of requests) for the faculty. */
export function errorRatioSql(t: SqlTarget): string {
  const inc = counterIncreasesSql(t, {
    metric: PANEL_METRICS.requestCount,
    where: scopeCond(M.faculty, 'faculty'),
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

/** Panel "Error ratio by faculty" (long frame): `time, faculty, error_ratio`. */
export function errorRatioByFacultySql(t: SqlTarget, scope: FacultyScope): string {
  const inc = counterIncreasesSql(t, {
    metric: PANEL_METRICS.requestCount,
    where: scopeCond(M.faculty, scope),
    from: '$__fromTime',
    to: '$__toTime',
    labels: { status: 'http_response_status_code' },
  });
  return `SELECT $__timeInterval(${M.minute}) AS time, ${M.faculty},
  sumIf(inc, startsWith(status, '5')) / nullIf(sum(inc), 0) AS error_ratio
FROM (
${inc}
)
WHERE $__timeFilter(${M.minute})
GROUP BY time, ${M.faculty}
ORDER BY time, ${M.faculty}`;
}

/** Panel "Requests by faculty" (long frame): `time, faculty, requests` (increase per interval). */
export function requestsByFacultySql(t: SqlTarget, scope: FacultyScope): string {
  const inc = counterIncreasesSql(t, {
    metric: PANEL_METRICS.requestCount,
    where: scopeCond(M.faculty, scope),
    from: '$__fromTime',
    to: '$__toTime',
    labels: {},
  });
  return `SELECT $__timeInterval(${M.minute}) AS time, ${M.faculty}, sum(inc) AS requests
FROM (
${inc}
)
WHERE $__timeFilter(${M.minute})
GROUP BY time, ${M.faculty}
ORDER BY time, ${M.faculty}`;
}

/** Panel "Sessions by exam" (long frame): `time, exam, sessions`; sessions with no exam show as `(no exam)`. */
export function sessionsByExamSql(t: SqlTarget, scope: FacultyScope): string {
  return `SELECT $__timeInterval(${M.minute}) AS time, if(exam_id = '', '(no exam)', exam_id) AS exam, max(v) AS sessions
FROM (
  ${gaugeByLabelSql(t, { metrics: [PANEL_METRICS.sessions], cond: scopeCond(M.faculty, scope), label: 'exam_id', alias: 'exam_id' })}
)
GROUP BY time, exam
ORDER BY time, exam`;
}

/** Sessions and capacity per server and minute for the faculty: `minute, server, srv_sessions, srv_capacity`. */
function serverLoadSql(t: SqlTarget): string {
  return `SELECT ${M.minute}, server,
    sumIf(v, ${M.metric} = ${lit(PANEL_METRICS.sessions)}) AS srv_sessions,
    sumIf(v, ${M.metric} = ${lit(PANEL_METRICS.capacity)}) AS srv_capacity
  FROM (
  ${gaugeByLabelSql(t, { metrics: [PANEL_METRICS.sessions, PANEL_METRICS.capacity], cond: scopeCond(M.faculty, 'faculty'), label: 'server', alias: 'server' })}
  )
  GROUP BY ${M.minute}, server`;
}

/** Panel "Utilization by server" (long frame): `time, server, utilization` (sessions / capacity). */
export function serverUtilizationSql(t: SqlTarget): string {
  return `SELECT $__timeInterval(${M.minute}) AS time, server, max(srv_sessions / nullIf(srv_capacity, 0)) AS utilization
FROM (
  ${serverLoadSql(t)}
)
GROUP BY time, server
ORDER BY time, server`;
}

/** Panel "Servers" (table): per server, peak sessions, capacity, peak and latest utilization. */
export function serversTableSql(t: SqlTarget): string {
  return `SELECT server,
  max(srv_sessions) AS peak_sessions,
  max(srv_capacity) AS capacity,
  max(srv_sessions / nullIf(srv_capacity, 0)) AS peak_utilization,
  argMax(tuple(srv_sessions / nullIf(srv_capacity, 0)), ${M.minute}).1 AS utilization_now
FROM (
  ${serverLoadSql(t)}
)
GROUP BY server
ORDER BY peak_utilization DESC, server`;
}

/** Panel "Exams" (table): per exam of the faculty over the range, peak sessions, requests, error ratio, p95. */
export function examsTableSql(t: SqlTarget): string {
  const cond = scopeCond(M.faculty, 'faculty');
  const req = counterIncreasesSql(t, {
    metric: PANEL_METRICS.requestCount,
    where: cond,
    from: '$__fromTime',
    to: '$__toTime',
    labels: { exam_id: 'exam_id', status: 'http_response_status_code' },
  });
  const buckets = counterIncreasesSql(t, {
    metric: PANEL_METRICS.requestBuckets,
    where: cond,
    from: '$__fromTime',
    to: '$__toTime',
    labels: { exam_id: 'exam_id', le: 'le' },
  });
  const p95 = quantilesFromBucketsSql(
    `      SELECT exam_id, toFloat64OrNull(le) AS le_bound, sum(inc) AS n
      FROM (
${buckets}
      )
      WHERE le_bound IS NOT NULL
      GROUP BY exam_id, le_bound`,
    ['exam_id'],
    [0.95],
  );
  return `SELECT if(r.exam_id = '', '(no exam)', r.exam_id) AS exam,
  p.peak_sessions AS peak_sessions,
  r.requests AS requests,
  r.errors / nullIf(r.requests, 0) AS error_ratio,
  q.p95 AS p95_seconds
FROM (
  SELECT exam_id, sum(inc) AS requests, sumIf(inc, startsWith(status, '5')) AS errors
  FROM (
${req}
  )
  GROUP BY exam_id
) AS r
LEFT JOIN (
${p95}
) AS q ON q.exam_id = r.exam_id
LEFT JOIN (
  SELECT exam_id, max(v) AS peak_sessions FROM (
  ${gaugeByLabelSql(t, { metrics: [PANEL_METRICS.sessions], cond, label: 'exam_id', alias: 'exam_id' })}
  ) GROUP BY exam_id
) AS p ON p.exam_id = r.exam_id
ORDER BY error_ratio DESC, exam`;
}

/**
 * Per faculty and minute: sessions, capacity, the slope of sessions over the last 10
 * minutes (least squares, sessions per minute, as window aggregates over the rollups)
 * and the forecast minutes until sessions reach capacity (0 when already there, NULL
 * when not rising). Reads 10 minutes before the range so the first minute has its slope.
 * Columns: `faculty, minute, sessions, capacity, slope_per_min, minutes_to_saturation`.
 */
export function saturationForecastSql(t: SqlTarget, scope: FacultyScope, range: { from: string; to: string } = { from: '$__fromTime', to: '$__toTime' }): string {
  return `SELECT ${M.faculty}, ${M.minute}, sessions, capacity, slope_per_min,
    multiIf(capacity <= 0, NULL,
            sessions >= capacity, 0.,
            n >= 3 AND slope_per_min > 0, (capacity - sessions) / slope_per_min,
            NULL) AS minutes_to_saturation
  FROM (
    SELECT ${M.faculty}, ${M.minute}, sessions, capacity,
      covarPop(x, sessions) OVER w / nullIf(varPop(x) OVER w, 0) AS slope_per_min,
      count() OVER w AS n
    FROM (
      SELECT ${M.faculty}, ${M.minute},
        (toUnixTimestamp(${M.minute}) - toUnixTimestamp(${range.from})) / 60 AS x,
        sumIf(v, ${M.metric} = ${lit(PANEL_METRICS.sessions)}) AS sessions,
        sumIf(v, ${M.metric} = ${lit(PANEL_METRICS.capacity)}) AS capacity
      FROM (
        SELECT ${M.faculty}, ${M.minute}, ${M.metric}, ${M.fingerprint}, argMaxMerge(${M.last}) AS v
        FROM ${table(t, TABLES.samples1m)}
        WHERE ${M.metric} IN (${lit(PANEL_METRICS.sessions)}, ${lit(PANEL_METRICS.capacity)})
          AND ${scopeCond(M.faculty, scope)}
          AND ${M.minute} >= ${range.from} - INTERVAL 10 MINUTE AND ${M.minute} <= ${range.to}
        GROUP BY ${M.faculty}, ${M.minute}, ${M.metric}, ${M.fingerprint}
      )
      GROUP BY ${M.faculty}, ${M.minute}
    )
    WINDOW w AS (PARTITION BY ${M.faculty} ORDER BY ${M.minute} ROWS BETWEEN 9 PRECEDING AND CURRENT ROW)
  )`;
}

/** Panel "Utilization by faculty" (long frame): `time, faculty, utilization`. */
export function utilizationByFacultySql(t: SqlTarget, scope: FacultyScope): string {
  return `SELECT $__timeInterval(${M.minute}) AS time, ${M.faculty}, max(sessions / nullIf(capacity, 0)) AS utilization
FROM (
  ${saturationForecastSql(t, scope)}
)
WHERE $__timeFilter(${M.minute})
GROUP BY time, ${M.faculty}
ORDER BY time, ${M.faculty}`;
}

/** Panel "Forecast: minutes to saturation" (long frame): `time, faculty, minutes_to_saturation`. */
export function saturationForecastByFacultySql(t: SqlTarget, scope: FacultyScope): string {
  return `SELECT $__timeInterval(${M.minute}) AS time, ${M.faculty}, min(minutes_to_saturation) AS minutes_to_saturation
FROM (
  ${saturationForecastSql(t, scope)}
)
WHERE $__timeFilter(${M.minute})
GROUP BY time, ${M.faculty}
ORDER BY time, ${M.faculty}`;
}

/** Alert fingerprints whose latest transition up to the end of the range is `firing`; one day of look-back. */
function firingNowSql(t: SqlTarget, scope: FacultyScope): string {
  const A = ALERTS_LOG;
  return `SELECT ${A.rule} AS rule, ${A.fingerprint},
    argMax(${A.state}, ${A.timestamp}) AS current_state,
    maxIf(${A.timestamp}, ${A.state} = 'firing') AS firing_since,
    argMax(${A.labels}, ${A.timestamp}) AS l,
    argMax(${A.annotations}, ${A.timestamp}) AS a,
    argMax(${A.value}, ${A.timestamp}) AS last_value
  FROM ${table(t, TABLES.alertsLog)}
  WHERE ${A.timestamp} >= $__fromTime - INTERVAL 1 DAY AND ${A.timestamp} <= $__toTime
    AND ${scopeCond(`${A.labels}['faculty']`, scope)}
  GROUP BY ${A.rule}, ${A.fingerprint}
  HAVING current_state = 'firing'`;
}

/**
 * Panel "Faculties now" (table): per faculty at the end of the range, sessions,
 * capacity, utilization, forecast minutes to saturation, p95 and error ratio over the
 * last 5 minutes, and the number of alerts firing.
 */
export function facultiesNowSql(t: SqlTarget): string {
  const last5 = { from: '$__toTime - INTERVAL 5 MINUTE', to: '$__toTime' };
  const buckets = counterIncreasesSql(t, { metric: PANEL_METRICS.requestBuckets, where: '1', ...last5, labels: { le: 'le' } });
  const p95 = quantilesFromBucketsSql(
    `      SELECT ${M.faculty}, toFloat64OrNull(le) AS le_bound, sum(inc) AS n
      FROM (
${buckets}
      )
      WHERE le_bound IS NOT NULL
      GROUP BY ${M.faculty}, le_bound`,
    [M.faculty],
    [0.95],
  );
  const req = counterIncreasesSql(t, { metric: PANEL_METRICS.requestCount, where: '1', ...last5, labels: { status: 'http_response_status_code' } });
  return `SELECT g.${M.faculty} AS faculty,
  g.sessions AS sessions,
  g.capacity AS capacity,
  g.sessions / nullIf(g.capacity, 0) AS utilization,
  g.minutes_to_saturation AS minutes_to_saturation,
  q.p95 AS p95_seconds,
  e.error_ratio AS error_ratio,
  ifNull(f.firing, 0) AS firing_alerts
FROM (
  SELECT ${M.faculty},
    argMax(sessions, ${M.minute}) AS sessions,
    argMax(capacity, ${M.minute}) AS capacity,
    argMax(tuple(minutes_to_saturation), ${M.minute}).1 AS minutes_to_saturation
  FROM (
  ${saturationForecastSql(t, 'all', { from: '$__toTime - INTERVAL 10 MINUTE', to: '$__toTime' })}
  )
  GROUP BY ${M.faculty}
) AS g
LEFT JOIN (
${p95}
) AS q ON q.${M.faculty} = g.${M.faculty}
LEFT JOIN (
  SELECT ${M.faculty}, sumIf(inc, startsWith(status, '5')) / nullIf(sum(inc), 0) AS error_ratio
  FROM (
${req}
  )
  GROUP BY ${M.faculty}
) AS e ON e.${M.faculty} = g.${M.faculty}
LEFT JOIN (
  SELECT l['faculty'] AS ${M.faculty}, toNullable(count()) AS firing
  FROM (
  ${firingNowSql(t, 'all')}
  )
  GROUP BY ${M.faculty}
) AS f ON f.${M.faculty} = g.${M.faculty}
ORDER BY utilization DESC, faculty`;
}

/**
 * Panel "Firing alerts" (table): alerts whose latest transition up to the end of the
 * range is `firing`, for the scope. Looks back one day before the range so an alert
 * that fired before the window opened still shows.
 */
export function firingAlertsSql(t: SqlTarget, scope: FacultyScope = 'faculty'): string {
  return `SELECT firing_since, rule,
  l['severity'] AS severity, l['faculty'] AS faculty, l['exam_id'] AS exam_id, l['server'] AS server,
  a['summary'] AS summary, last_value AS value
FROM (
  ${firingNowSql(t, scope)}
)
ORDER BY firing_since, rule`;
}

/** Query of the `faculty` dashboard variable: every faculty that has a series. */
export function facultyVariableSql(t: SqlTarget): string {
  return `SELECT DISTINCT ${SERIES.faculty} FROM ${table(t, TABLES.series)} WHERE ${SERIES.faculty} != '' ORDER BY ${SERIES.faculty}`;
}

/**
 * Dashboard annotations: every alert that fired or resolved for the scope in the
 * range, as point annotations (`time`, `text`, `tags` as a comma-separated string, the
 * form Grafana splits into tags).
 */
export function alertAnnotationsSql(t: SqlTarget, scope: FacultyScope = 'faculty'): string {
  const A = ALERTS_LOG;
  return `SELECT ${A.timestamp} AS time,
  concat(${A.state}, ': ', ${A.rule}, if(${A.annotations}['summary'] != '', concat(' (', ${A.annotations}['summary'], ')'), '')) AS text,
  arrayStringConcat(arrayFilter(x -> x != '', [${A.state}, ${A.labels}['severity'], ${A.labels}['exam_id'], ${A.labels}['server']]), ',') AS tags
FROM ${table(t, TABLES.alertsLog)}
WHERE $__timeFilter(${A.timestamp})
  AND ${scopeCond(`${A.labels}['faculty']`, scope)}
  AND ${A.state} IN ('firing', 'resolved')
ORDER BY time`;
}

/** Annotation "Exam starts": one point per scheduled exam start (`time, text, tags`). */
export function examStartAnnotationsSql(t: SqlTarget, scope: FacultyScope): string {
  const E = EXAM_SCHEDULE;
  return `SELECT ${E.start} AS time,
  concat(${E.examId}, ' starts (', ${E.faculty}, ', ', toString(${E.enrolled}), ' enrolled, ', toString(intDiv(${E.durationMs}, 60000)), ' min)') AS text,
  concat('exam,', ${E.faculty}, ',', ${E.examId}) AS tags
FROM ${table(t, TABLES.examSchedule)} FINAL
WHERE ${E.deleted} = 0
  AND $__timeFilter(${E.start})
  AND ${scopeCond(E.faculty, scope)}
ORDER BY time, ${E.examId}`;
}

/** Panel "Exam schedule" (table): exams overlapping the range, with the peak sessions seen for each. */
export function examScheduleTableSql(t: SqlTarget, scope: FacultyScope): string {
  const E = EXAM_SCHEDULE;
  return `SELECT e.${E.start} AS start, e.${E.examId} AS exam_id, e.${E.faculty} AS faculty, e.${E.enrolled} AS enrolled,
  intDiv(e.${E.durationMs}, 60000) AS duration_min,
  p.peak_sessions AS peak_sessions,
  p.peak_sessions / nullIf(e.${E.enrolled}, 0) AS peak_share_of_enrolled
FROM (
  SELECT ${E.examId}, ${E.faculty}, ${E.start}, ${E.enrolled}, ${E.durationMs}
  FROM ${table(t, TABLES.examSchedule)} FINAL
  WHERE ${E.deleted} = 0
    AND ${scopeCond(E.faculty, scope)}
    AND ${E.start} <= $__toTime AND ${E.start} + toIntervalMillisecond(${E.durationMs}) >= $__fromTime
) AS e
LEFT JOIN (
  SELECT exam_id, toNullable(max(v)) AS peak_sessions FROM (
  ${gaugeByLabelSql(t, { metrics: [PANEL_METRICS.sessions], cond: scopeCond(M.faculty, scope), label: 'exam_id', alias: 'exam_id' })}
  ) GROUP BY exam_id
) AS p ON p.exam_id = e.${E.examId}
ORDER BY start, exam_id`;
}

/** Panel "Samples stored per interval" (time series): ingest volume read from the rollups' counts. */
export function ingestVolumeSql(t: SqlTarget): string {
  return `SELECT $__timeInterval(${M.minute}) AS time, toFloat64(sum(${M.count})) AS samples
FROM ${table(t, TABLES.samples1m)}
WHERE $__timeFilter(${M.minute})
GROUP BY time
ORDER BY time`;
}

/** Panel "Data freshness" (table): per faculty, the newest rollup minute and its age at the end of the range. */
export function dataFreshnessSql(t: SqlTarget): string {
  return `SELECT ${M.faculty} AS faculty, max(${M.minute}) AS newest_minute,
  dateDiff('second', max(${M.minute}), $__toTime) AS age_seconds
FROM ${table(t, TABLES.samples1m)}
WHERE ${M.minute} >= $__toTime - INTERVAL 1 DAY AND ${M.minute} <= $__toTime
GROUP BY faculty
ORDER BY faculty`;
}
