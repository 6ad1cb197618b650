-- description: Per-minute timeline per faculty: sessions, capacity, utilization, requests, 5xx errors, error ratio (rollups only).
-- param: from DateTime64(3)
-- param: to DateTime64(3)
-- param: faculty String = ''
WITH
  gauges AS (
    SELECT faculty, minute,
      sumIf(v, metric = 'ecampus_sessions_active') AS sessions,
      sumIf(v, metric = 'ecampus_capacity_sessions') AS capacity
    FROM (
      SELECT faculty, minute, metric, fingerprint, argMaxMerge(last) AS v
      FROM {db:Identifier}.samples_1m
      WHERE metric IN ('ecampus_sessions_active', 'ecampus_capacity_sessions')
        AND ({faculty:String} = '' OR faculty = {faculty:String})
        AND minute >= toStartOfMinute({from:DateTime64(3)}) AND minute <= {to:DateTime64(3)}
      GROUP BY faculty, minute, metric, fingerprint
    )
    GROUP BY faculty, minute
  ),
  -- Request increases per minute, computed at ingest and summed without the series
  -- dimension (counters_1m: no per-series work at query time).
  requests AS (
    SELECT minute, faculty, sum(delta) AS requests, sumIf(delta, startsWith(status_code, '5')) AS errors
    FROM {db:Identifier}.counters_1m
    WHERE metric = 'http_server_request_duration_count'
      AND ({faculty:String} = '' OR faculty = {faculty:String})
      AND minute >= toStartOfMinute({from:DateTime64(3)}) AND minute <= {to:DateTime64(3)}
    GROUP BY minute, faculty
  )
SELECT g.minute AS minute, g.faculty AS faculty, g.sessions AS sessions, g.capacity AS capacity,
  round(g.sessions / nullIf(g.capacity, 0), 3) AS utilization,
  r.requests AS requests, r.errors AS errors,
  round(r.errors / nullIf(r.requests, 0), 4) AS error_ratio
FROM gauges AS g
LEFT JOIN requests AS r ON r.minute = g.minute AND r.faculty = g.faculty
ORDER BY minute, faculty
