-- Stored plans (`vigie plan --store`): the expected load the rules read in place of the
-- timetable's while the timetable stays as planned. `plans` holds one row per stored plan:
-- the data time it covers [covers_from, covers_to), and the digest of the timetable it
-- was made for (a reader drops a plan whose timetable has changed since). `plan_series`
-- holds its series minute by minute (faculty '' for the platform-wide ones).
CREATE TABLE IF NOT EXISTS {{database}}.{{local:plans}} {{on_cluster}}
(
    plan_id          String,
    covers_from      DateTime64(3, 'UTC'),
    covers_to        DateTime64(3, 'UTC'),
    created_at       DateTime64(3, 'UTC'),
    timetable_digest String,
    exams            UInt32,
    capacity_source  String,
    profile_source   String
)
ENGINE = {{engine:ReplacingMergeTree(created_at)}}
ORDER BY (covers_from, plan_id)
TTL toDateTime(covers_to) + INTERVAL 400 DAY;

-- @cluster-only
CREATE TABLE IF NOT EXISTS {{database}}.plans {{on_cluster}}
AS {{database}}.{{local:plans}}
ENGINE = Distributed({{cluster}}, {{database}}, {{local:plans}}, rand());

CREATE TABLE IF NOT EXISTS {{database}}.{{local:plan_series}} {{on_cluster}}
(
    plan_id  String,
    metric   LowCardinality(String),
    faculty  LowCardinality(String),
    minute   DateTime64(3, 'UTC'),
    value    Float64
)
ENGINE = {{engine:MergeTree}}
ORDER BY (plan_id, metric, faculty, minute)
TTL toDateTime(minute) + INTERVAL 400 DAY;

-- @cluster-only
CREATE TABLE IF NOT EXISTS {{database}}.plan_series {{on_cluster}}
AS {{database}}.{{local:plan_series}}
ENGINE = Distributed({{cluster}}, {{database}}, {{local:plan_series}}, rand());
