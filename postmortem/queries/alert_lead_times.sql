-- description: Each page (alert reaching firing) with its faculty's collapse minute (first minute with 5xx ratio above a threshold) and the lead time in seconds (positive = paged before the collapse).
-- param: from DateTime64(3)
-- param: to DateTime64(3)
-- param: collapse_error_ratio Float64 = 0.5
-- param: min_requests UInt64 = 10
WITH
  per_minute AS (
    SELECT c.minute AS minute, c.faculty AS faculty,
      sum(if(c.prev_minute = c.minute - INTERVAL 1 MINUTE, if(c.lst >= c.prev_last, c.lst - c.prev_last, c.lst), c.mx - c.mn)) AS requests,
      sumIf(if(c.prev_minute = c.minute - INTERVAL 1 MINUTE, if(c.lst >= c.prev_last, c.lst - c.prev_last, c.lst), c.mx - c.mn),
            startsWith(s.status, '5')) AS errors
    FROM (
      SELECT minute, faculty, fingerprint, mn, mx, lst,
        lagInFrame(lst) OVER w AS prev_last, lagInFrame(minute) OVER w AS prev_minute
      FROM (
        SELECT minute, faculty, fingerprint, min(min) AS mn, max(max) AS mx, argMaxMerge(last) AS lst
        FROM {db:Identifier}.samples_1m
        WHERE metric = 'http_server_request_duration_count'
          AND minute >= toStartOfMinute({from:DateTime64(3)}) - INTERVAL 1 MINUTE AND minute <= {to:DateTime64(3)}
        GROUP BY minute, faculty, fingerprint
      )
      WINDOW w AS (PARTITION BY fingerprint ORDER BY minute ROWS BETWEEN 1 PRECEDING AND CURRENT ROW)
    ) AS c
    INNER JOIN (
      SELECT fingerprint, any(labels['http_response_status_code']) AS status
      FROM {db:Identifier}.series WHERE metric = 'http_server_request_duration_count' GROUP BY fingerprint
    ) AS s ON s.fingerprint = c.fingerprint
    WHERE c.minute >= toStartOfMinute({from:DateTime64(3)})
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
