-- Per-minute per-series rollup (Uptrace-style), 400 days, fed by a materialized view
-- so dashboards never scan raw samples. The deduplication window on the target table
-- is what lets a deduplicated insert into `samples` be skipped here as well
-- (deduplicate_blocks_in_dependent_materialized_views on the insert).
CREATE TABLE IF NOT EXISTS {{database}}.{{local:samples_1m}} {{on_cluster}}
(
    metric      LowCardinality(String),
    fingerprint UInt64,
    faculty     LowCardinality(String),
    minute      DateTime('UTC'),
    min         SimpleAggregateFunction(min, Float64),
    max         SimpleAggregateFunction(max, Float64),
    sum         SimpleAggregateFunction(sum, Float64),
    count       SimpleAggregateFunction(sum, UInt64),
    last        AggregateFunction(argMax, Float64, DateTime64(3, 'UTC'))
)
ENGINE = {{engine:AggregatingMergeTree}}
PARTITION BY toYYYYMM(minute)
ORDER BY (metric, faculty, fingerprint, minute)
TTL minute + INTERVAL 400 DAY
SETTINGS non_replicated_deduplication_window = 1000;

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.samples_1m_mv {{on_cluster}}
TO {{database}}.{{local:samples_1m}}
AS SELECT
    metric,
    fingerprint,
    faculty,
    toDateTime(toStartOfMinute(timestamp), 'UTC') AS minute,
    min(value) AS min,
    max(value) AS max,
    sum(value) AS sum,
    toUInt64(count()) AS count,
    argMaxState(value, timestamp) AS last
FROM {{database}}.{{local:samples}}
GROUP BY metric, faculty, fingerprint, minute;

-- @cluster-only
CREATE TABLE IF NOT EXISTS {{database}}.samples_1m {{on_cluster}}
AS {{database}}.{{local:samples_1m}}
ENGINE = Distributed({{cluster}}, {{database}}, {{local:samples_1m}}, fingerprint);
