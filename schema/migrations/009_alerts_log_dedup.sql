-- Rule evaluators run as an HA pair (two `vigie ingest --rules-only` on the whole stream,
-- one database): both evaluate the same boundaries on the same data and insert the same
-- transitions. Alertmanager merges their pages; this makes `alerts_log` merge their rows:
-- an identical block (same transitions, same values, same times) is dropped as a
-- duplicate insert, so the post-mortem counts each transition once. A single evaluator
-- never writes one block twice (every transition carries its own time), except when a
-- restart re-evaluates a boundary it had logged, which this also absorbs.
-- In a cluster, the replicated engines deduplicate blocks by default (replicated_deduplication_window).
ALTER TABLE {{database}}.{{local:alerts_log}} {{on_cluster}}
    MODIFY SETTING non_replicated_deduplication_window = 1000;
