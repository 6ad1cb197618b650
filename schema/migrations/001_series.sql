-- One row per series (SigNoz-style), keyed by the 64-bit FNV-1a fingerprint of
-- metric + sorted labels (core/samples.ts). ReplacingMergeTree(first_seen): the
-- pipeline re-registers a series once per process, the newest registration wins.
CREATE TABLE IF NOT EXISTS {{database}}.{{local:series}} {{on_cluster}}
(
    fingerprint UInt64,
    metric      LowCardinality(String),
    faculty     LowCardinality(String),
    labels      Map(LowCardinality(String), String),
    first_seen  DateTime64(3, 'UTC')
)
ENGINE = {{engine:ReplacingMergeTree(first_seen)}}
ORDER BY (metric, fingerprint);

-- @cluster-only
CREATE TABLE IF NOT EXISTS {{database}}.series {{on_cluster}}
AS {{database}}.{{local:series}}
ENGINE = Distributed({{cluster}}, {{database}}, {{local:series}}, fingerprint);
