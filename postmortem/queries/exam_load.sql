-- description: Each scheduled exam overlapping the window: start, enrolment, the peak of its active sessions, when the peak came (minutes after start) and the share of enrolled students online at the peak.
-- param: from DateTime64(3)
-- param: to DateTime64(3)
-- param: faculty String = ''
SELECT e.exam_id AS exam_id, e.faculty AS faculty, e.start AS start, e.enrolled AS enrolled,
  intDiv(e.duration_ms, 60000) AS duration_min,
  p.peak_sessions AS peak_sessions,
  dateDiff('minute', e.start, p.peak_at) AS peak_minutes_after_start,
  round(p.peak_sessions / nullIf(e.enrolled, 0), 3) AS peak_share_of_enrolled
FROM (
  SELECT exam_id, faculty, start, enrolled, duration_ms
  FROM {db:Identifier}.exam_schedule FINAL
  WHERE deleted = 0
    AND ({faculty:String} = '' OR faculty = {faculty:String})
    AND start <= {to:DateTime64(3)} AND start + toIntervalMillisecond(duration_ms + start_window_ms) >= {from:DateTime64(3)}
) AS e
LEFT JOIN (
  SELECT exam_id, max(sessions) AS peak_sessions, argMax(minute, sessions) AS peak_at
  FROM (
    SELECT r.minute AS minute, s.exam_id AS exam_id, sum(r.v) AS sessions
    FROM (
      SELECT minute, fingerprint, argMaxMerge(last) AS v
      FROM {db:Identifier}.samples_1m
      WHERE metric = 'ecampus_sessions_active'
        AND minute >= toStartOfMinute({from:DateTime64(3)}) AND minute <= {to:DateTime64(3)}
      GROUP BY minute, fingerprint
    ) AS r
    INNER JOIN (
      SELECT fingerprint, any(labels['exam_id']) AS exam_id
      FROM {db:Identifier}.series WHERE metric = 'ecampus_sessions_active' GROUP BY fingerprint
    ) AS s ON s.fingerprint = r.fingerprint
    GROUP BY minute, exam_id
  )
  GROUP BY exam_id
) AS p ON p.exam_id = e.exam_id
ORDER BY start, exam_id
SETTINGS join_use_nulls = 1
