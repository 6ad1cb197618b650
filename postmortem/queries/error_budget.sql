-- description: Error budget per faculty over the window against a success-ratio objective: requests, 5xx errors, the budget (allowed errors) and the share of it consumed.
-- param: from DateTime64(3)
-- param: to DateTime64(3)
-- param: objective Float64 = 0.999
SELECT faculty, requests, errors,
  round(errors / nullIf(requests, 0), 5) AS error_ratio,
  round((1 - {objective:Float64}) * requests, 1) AS budget_errors,
  round(errors / nullIf((1 - {objective:Float64}) * requests, 0), 3) AS budget_consumed
FROM (
  SELECT c.faculty AS faculty,
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
  GROUP BY faculty
)
ORDER BY budget_consumed DESC, faculty
