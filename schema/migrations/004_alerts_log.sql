-- Every alert state transition (pending, firing, resolved, inactive), 400 days.
CREATE TABLE IF NOT EXISTS {{database}}.{{local:alerts_log}} {{on_cluster}}
(
    timestamp   DateTime64(3, 'UTC'),
    rule        LowCardinality(String),
    fingerprint UInt64,
    state       LowCardinality(String),
    labels      Map(String, String),
    annotations Map(String, String),
    value       Float64,
    active_at   DateTime64(3, 'UTC')
)
ENGINE = {{engine:MergeTree}}
PARTITION BY toYYYYMM(timestamp)
ORDER BY (rule, fingerprint, timestamp)
TTL toDateTime(timestamp) + INTERVAL 400 DAY;

-- @cluster-only
CREATE TABLE IF NOT EXISTS {{database}}.alerts_log {{on_cluster}}
AS {{database}}.{{local:alerts_log}}
ENGINE = Distributed({{cluster}}, {{database}}, {{local:alerts_log}}, rand());
