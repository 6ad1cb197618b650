-- Counter increases computed once, at ingest (pipeline/counterDeltas.ts). Each row of a
-- cumulative counter (OTLP monotonic Sum, histogram `_bucket`/`_count`/`_sum`) carries
-- `delta`, its increase since the previous point of the same series (a drop is a reset:
-- the increase is the new value, as in Prometheus); gauges carry 0. The three labels the
-- counter panels group by (`le`, `http_response_status_code`, `exam_id`) travel with the
-- row, so `counters_1m` sums increases without the per-series dimension: dashboards and
-- the post-mortem no longer compute per-series increases at query time.
-- Rows stored before this migration have delta = 0 (no history in `counters_1m`).
ALTER TABLE {{database}}.{{local:samples_ingest}} {{on_cluster}}
    ADD COLUMN IF NOT EXISTS delta       Float64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS le          LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS status_code LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS exam_id     LowCardinality(String) DEFAULT '';

-- @cluster-only
ALTER TABLE {{database}}.samples_ingest {{on_cluster}}
    ADD COLUMN IF NOT EXISTS delta       Float64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS le          LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS status_code LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS exam_id     LowCardinality(String) DEFAULT '';

ALTER TABLE {{database}}.{{local:samples}} {{on_cluster}}
    ADD COLUMN IF NOT EXISTS delta       Float64 DEFAULT 0 CODEC(Gorilla, ZSTD(1)),
    ADD COLUMN IF NOT EXISTS le          LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS status_code LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS exam_id     LowCardinality(String) DEFAULT '';

-- @cluster-only
ALTER TABLE {{database}}.samples {{on_cluster}}
    ADD COLUMN IF NOT EXISTS delta       Float64 DEFAULT 0 CODEC(Gorilla, ZSTD(1)),
    ADD COLUMN IF NOT EXISTS le          LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS status_code LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS exam_id     LowCardinality(String) DEFAULT '';

-- The staging view now carries the new columns to `samples`. Re-created rather than
-- altered: on chDB 26.7 a view changed by ALTER … MODIFY QUERY deduplicates differently
-- in the process that altered it and after the database is reopened, so the crash
-- repair of an insert made by that process landed twice in `samples` (measured).
-- Run this migration with the pipeline stopped: an insert between the two statements
-- would reach `samples_ingest` but not `samples`.
DROP VIEW IF EXISTS {{database}}.samples_ingest_mv {{on_cluster}} SYNC;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.samples_ingest_mv {{on_cluster}}
TO {{database}}.{{local:samples}}
AS SELECT metric, fingerprint, faculty, timestamp, value, delta, le, status_code, exam_id
FROM {{database}}.{{local:samples_ingest}};

-- Per-minute counter increases without the series dimension, 400 days like
-- `samples_1m`. Ordered with the minute right after (metric, faculty) so a time range
-- prunes granules; le/status_code/exam_id complete the key. Only rows with a non-zero
-- increase are kept (gauges and idle counters add nothing to a sum).
CREATE TABLE IF NOT EXISTS {{database}}.{{local:counters_1m}} {{on_cluster}}
(
    metric      LowCardinality(String),
    faculty     LowCardinality(String),
    minute      DateTime('UTC'),
    le          LowCardinality(String),
    status_code LowCardinality(String),
    exam_id     LowCardinality(String),
    delta       SimpleAggregateFunction(sum, Float64)
)
ENGINE = {{engine:AggregatingMergeTree}}
PARTITION BY toYYYYMM(minute)
ORDER BY (metric, faculty, minute, le, status_code, exam_id)
TTL minute + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.counters_1m_mv {{on_cluster}}
TO {{database}}.{{local:counters_1m}}
AS SELECT
    metric,
    faculty,
    toDateTime(toStartOfMinute(timestamp), 'UTC') AS minute,
    le,
    status_code,
    exam_id,
    sum(d) AS delta
FROM (
    SELECT metric, faculty, timestamp, le, status_code, exam_id, delta AS d
    FROM {{database}}.{{local:samples}}
    WHERE delta != 0
)
GROUP BY metric, faculty, minute, le, status_code, exam_id;

-- @cluster-only
CREATE TABLE IF NOT EXISTS {{database}}.counters_1m {{on_cluster}}
AS {{database}}.{{local:counters_1m}}
ENGINE = Distributed({{cluster}}, {{database}}, {{local:counters_1m}}, rand());
