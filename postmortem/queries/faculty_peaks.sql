-- description: Per faculty over the window: peak sessions and when, capacity, peak utilization and when.
-- param: from DateTime64(3)
-- param: to DateTime64(3)
SELECT faculty,
  max(sess) AS peak_sessions,
  argMax(minute, sess) AS peak_sessions_at,
  max(cap) AS capacity,
  round(max(sess / nullIf(cap, 0)), 3) AS peak_utilization,
  argMax(minute, sess / nullIf(cap, 0)) AS peak_utilization_at
FROM (
  SELECT faculty, minute,
    sumIf(v, metric = 'ecampus_sessions_active') AS sess,
    sumIf(v, metric = 'ecampus_capacity_sessions') AS cap
  FROM (
    SELECT faculty, minute, metric, fingerprint, argMaxMerge(last) AS v
    FROM {db:Identifier}.samples_1m
    WHERE metric IN ('ecampus_sessions_active', 'ecampus_capacity_sessions')
      AND minute >= toStartOfMinute({from:DateTime64(3)}) AND minute <= {to:DateTime64(3)}
    GROUP BY faculty, minute, metric, fingerprint
  )
  GROUP BY faculty, minute
)
GROUP BY faculty
ORDER BY peak_utilization DESC, faculty
