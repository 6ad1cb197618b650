-- Timetables as a first-class input (schedule/): an exam may let students start any time
-- within [start, start + start_window_ms], may name the server it runs on, and a new
-- timetable version tombstones the rows of exams it drops or moves (deleted = 1: readers
-- keep `deleted = 0` after FINAL, where the later row of an (exam_id, start) wins).
-- Rows written before this migration read as no window, no server, not deleted.
ALTER TABLE {{database}}.{{local:exam_schedule}} {{on_cluster}}
    ADD COLUMN IF NOT EXISTS start_window_ms UInt64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS server          LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS deleted         UInt8 DEFAULT 0;

-- @cluster-only
ALTER TABLE {{database}}.exam_schedule {{on_cluster}}
    ADD COLUMN IF NOT EXISTS start_window_ms UInt64 DEFAULT 0,
    ADD COLUMN IF NOT EXISTS server          LowCardinality(String) DEFAULT '',
    ADD COLUMN IF NOT EXISTS deleted         UInt8 DEFAULT 0;
