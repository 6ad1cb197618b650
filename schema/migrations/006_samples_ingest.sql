-- Exactly-once ingestion keyed by Kafka position. The pipeline inserts into
-- `samples_ingest` (the samples columns plus the source topic/partition/offset of each
-- row's message, and the first offset of the insert); a materialized view copies the
-- rows to `samples`, whose own view keeps feeding `samples_1m`.
--
-- `samples_ingest` is the bookkeeping itself: ReplacingMergeTree(source_offset) ordered
-- by (topic, partition), so each insert's part already holds one row per partition (the
-- highest offset, optimize_on_insert) and merges keep the highest one: the table stays
-- one row per partition and `max(source_offset)` is the high-water mark at any time.
-- It is the insert's ROOT table on purpose: ClickHouse commits the root part before it
-- runs the dependent views, so a crash mid-insert can leave "offset recorded, rows
-- missing" (the pipeline repairs it by re-inserting that exact range with its original
-- dedup token) but never "rows stored, offset missing" (a silent duplicate). Two sibling
-- views on a Null table would give no such order: on chDB 26.7 sibling views run in
-- creation order, and in another order once the database is reopened.
-- The deduplication window drops a retried insert here; with
-- deduplicate_blocks_in_dependent_materialized_views=1 the block still reaches the view,
-- and `samples`/`samples_1m` deduplicate it themselves, so a repaired range lands once.
CREATE TABLE IF NOT EXISTS {{database}}.{{local:samples_ingest}} {{on_cluster}}
(
    metric              LowCardinality(String),
    fingerprint         UInt64,
    faculty             LowCardinality(String),
    timestamp           DateTime64(3, 'UTC'),
    value               Float64,
    source_topic        LowCardinality(String),
    source_partition    UInt32,
    source_offset       UInt64,
    source_first_offset UInt64
)
ENGINE = {{engine:ReplacingMergeTree(source_offset)}}
ORDER BY (source_topic, source_partition)
SETTINGS non_replicated_deduplication_window = 1000;

-- In a cluster, all rows of one Kafka partition go to one shard (sharding key
-- source_partition), so a partition's offsets and rows are committed on the same node.
-- @cluster-only
CREATE TABLE IF NOT EXISTS {{database}}.samples_ingest {{on_cluster}}
AS {{database}}.{{local:samples_ingest}}
ENGINE = Distributed({{cluster}}, {{database}}, {{local:samples_ingest}}, source_partition);

CREATE MATERIALIZED VIEW IF NOT EXISTS {{database}}.samples_ingest_mv {{on_cluster}}
TO {{database}}.{{local:samples}}
AS SELECT metric, fingerprint, faculty, timestamp, value
FROM {{database}}.{{local:samples_ingest}};

-- The high-water mark per (topic, partition), and the first offset of the insert that
-- reached it (with the two, the pipeline rebuilds that insert's dedup token).
-- Operators: the pipeline skips every message at or below this mark. After deleting and
-- re-creating a topic (offsets restart at 0), or to re-ingest on purpose, first run
-- ALTER TABLE samples_ingest DELETE WHERE source_topic = '<topic>' (cluster: on the
-- local tables), or the new messages are skipped as "already stored".
CREATE VIEW IF NOT EXISTS {{database}}.ingest_offsets {{on_cluster}}
AS SELECT
    source_topic,
    source_partition,
    max(source_offset) AS offset,
    argMax(source_first_offset, source_offset) AS first_offset
FROM {{database}}.samples_ingest
GROUP BY source_topic, source_partition;
