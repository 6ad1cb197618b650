-- description: First minute each faculty's utilization (sessions / capacity) passed a threshold, with the sessions and capacity then.
-- param: from DateTime64(3)
-- param: to DateTime64(3)
-- param: utilization Float64 = 0.8
SELECT faculty,
  min(minute) AS first_deviation,
  argMin(sess, minute) AS sessions,
  argMin(cap, minute) AS capacity,
  round(argMin(sess / cap, minute), 3) AS utilization
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
WHERE cap > 0 AND sess / cap > {utilization:Float64}
GROUP BY faculty
ORDER BY first_deviation, faculty
