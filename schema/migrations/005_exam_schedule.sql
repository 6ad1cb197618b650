-- The exam schedule (one row per exam), written by `postmortem/schedule.ts` from the
-- planners' schedule, read by the exam-morning dashboard (start annotations) and the
-- post-mortem. ReplacingMergeTree(written_at): re-writing a schedule replaces each
-- exam's row rather than duplicating it.
CREATE TABLE IF NOT EXISTS {{database}}.{{local:exam_schedule}} {{on_cluster}}
(
    exam_id     String,
    faculty     LowCardinality(String),
    start       DateTime64(3, 'UTC'),
    enrolled    UInt32,
    duration_ms UInt64,
    written_at  DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{engine:ReplacingMergeTree(written_at)}}
PARTITION BY toYYYYMM(start)
ORDER BY (exam_id, start)
TTL toDateTime(start) + INTERVAL 400 DAY;

-- @cluster-only
CREATE TABLE IF NOT EXISTS {{database}}.exam_schedule {{on_cluster}}
AS {{database}}.{{local:exam_schedule}}
ENGINE = Distributed({{cluster}}, {{database}}, {{local:exam_schedule}}, rand());
