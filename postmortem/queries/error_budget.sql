-- description: Error budget per faculty over the window against a success-ratio objective: requests, 5xx errors, the budget (allowed errors) and the share of it consumed.
-- param: from DateTime64(3)
-- param: to DateTime64(3)
-- param: objective Float64 = 0.999
SELECT faculty, requests, errors,
  round(errors / nullIf(requests, 0), 5) AS error_ratio,
  round((1 - {objective:Float64}) * requests, 1) AS budget_errors,
  round(errors / nullIf((1 - {objective:Float64}) * requests, 0), 3) AS budget_consumed
FROM (
  SELECT faculty, sum(delta) AS requests, sumIf(delta, startsWith(status_code, '5')) AS errors
  FROM {db:Identifier}.counters_1m
  WHERE metric = 'http_server_request_duration_count'
    AND minute >= toStartOfMinute({from:DateTime64(3)}) AND minute <= {to:DateTime64(3)}
  GROUP BY faculty
)
ORDER BY budget_consumed DESC, faculty
