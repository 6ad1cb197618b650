/**
 * The ClickHouse schema contract every stage reads: table and column names (`tables.ts`),
 * the versioned migrations that create them in embedded or cluster mode (`migrate.ts`,
 * `migrations/*.sql`), and the SQL building blocks readers share (`queries.ts`: the
 * metric names of the telemetry contract, counter increases from the rollups,
 * `histogram_quantile` in SQL). The pipeline writes these tables; the rules (backtests,
 * warm start), the schedule, dashboards, the post-mortem and the planner read them.
 */
export { migrate, loadMigrations, renderMigration } from './migrate.ts';
export type { Migration, MigrateOptions, MigrateResult } from './migrate.ts';
export { TABLES, SAMPLES, SERIES, SAMPLES_1M, ALERTS_LOG, EXAM_SCHEDULE, SAMPLES_INGEST, INGEST_OFFSETS, SAMPLES_COUNTER, COUNTER_LABELS, COUNTERS_1M, PLANS, PLAN_SERIES } from './tables.ts';
export { READER_METRICS, isIdentifier, qualifiedTable, sqlLiteral, sqlTarget } from './queries.ts';
export type { CounterSource, SqlTarget } from './queries.ts';
