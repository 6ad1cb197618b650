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
  -- Counter increase per minute and series: last minus the previous minute's last
  -- (a reset counts from zero), or max - min when the previous minute is missing.
  requests AS (
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
          AND ({faculty:String} = '' OR faculty = {faculty:String})
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
  )
SELECT g.minute AS minute, g.faculty AS faculty, g.sessions AS sessions, g.capacity AS capacity,
  round(g.sessions / nullIf(g.capacity, 0), 3) AS utilization,
  r.requests AS requests, r.errors AS errors,
  round(r.errors / nullIf(r.requests, 0), 4) AS error_ratio
FROM gauges AS g
LEFT JOIN requests AS r ON r.minute = g.minute AND r.faculty = g.faculty
ORDER BY minute, faculty
