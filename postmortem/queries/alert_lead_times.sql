-- description: Each page (alert reaching firing) with its faculty's collapse minute (first minute with 5xx ratio above a threshold) and the lead time in seconds (positive = paged before the collapse).
-- param: from DateTime64(3)
-- param: to DateTime64(3)
-- param: collapse_error_ratio Float64 = 0.5
-- param: min_requests UInt64 = 10
WITH
  per_minute AS (
    SELECT minute, faculty, sum(delta) AS requests, sumIf(delta, startsWith(status_code, '5')) AS errors
    FROM {db:Identifier}.counters_1m
    WHERE metric = 'http_server_request_duration_count'
      AND minute >= toStartOfMinute({from:DateTime64(3)}) AND minute <= {to:DateTime64(3)}
    GROUP BY minute, faculty
  ),
  collapses AS (
    SELECT faculty, toNullable(min(minute)) AS collapse_minute
    FROM per_minute
    WHERE requests >= {min_requests:UInt64} AND errors / requests > {collapse_error_ratio:Float64}
    GROUP BY faculty
  )
SELECT a.timestamp AS fired_at, a.rule AS rule, a.labels['faculty'] AS faculty, a.labels['severity'] AS severity,
  a.labels['exam_id'] AS exam_id, a.labels['server'] AS server,
  c.collapse_minute AS collapse_minute,
  dateDiff('second', a.timestamp, c.collapse_minute) AS lead_seconds
FROM {db:Identifier}.alerts_log AS a
LEFT JOIN collapses AS c ON c.faculty = a.labels['faculty']
WHERE a.state = 'firing' AND a.timestamp >= {from:DateTime64(3)} AND a.timestamp <= {to:DateTime64(3)}
ORDER BY fired_at, rule
SETTINGS join_use_nulls = 1
