-- Narrow raw samples, 30 days. The deduplication window makes a redelivered batch
-- (same insert_deduplication_token) land once on a non-replicated MergeTree too.
CREATE TABLE IF NOT EXISTS {{database}}.{{local:samples}} {{on_cluster}}
(
    metric      LowCardinality(String),
    fingerprint UInt64,
    faculty     LowCardinality(String),
    timestamp   DateTime64(3, 'UTC') CODEC(DoubleDelta, ZSTD(1)),
    value       Float64 CODEC(Gorilla, ZSTD(1))
)
ENGINE = {{engine:MergeTree}}
PARTITION BY toDate(timestamp)
ORDER BY (metric, faculty, fingerprint, timestamp)
TTL toDateTime(timestamp) + INTERVAL 30 DAY
SETTINGS non_replicated_deduplication_window = 1000;

-- @cluster-only
CREATE TABLE IF NOT EXISTS {{database}}.samples {{on_cluster}}
AS {{database}}.{{local:samples}}
ENGINE = Distributed({{cluster}}, {{database}}, {{local:samples}}, fingerprint);
