/**
 * Stage 2 — the pipeline.
 *
 * In: OTLP `ExportMetricsServiceRequest` messages (protobuf) from the transport topic
 * `otlp_metrics`, consumed as the group `vigie-pipeline`.
 * Out: ClickHouse rows (`series`, and `samples` through the exactly-once staging table
 * `samples_ingest`, which records each partition's stored offset in the same insert;
 * `samples_1m` follows through its materialized view), offsets committed only after
 * ClickHouse acknowledged the inserts; poison messages to `otlp_metrics.dlq`; and a tap of
 * the decoded samples (`onSamples`) that the composition root (CLI) wires to the rules
 * engine. It writes the tables of the schema contract (`schema/`). In embedded mode the
 * process that opened the chDB directory also serves it read-only over ClickHouse's HTTP
 * interface (`readEndpoint.ts`) and advertises it in the directory (`endpointFile.ts`).
 */
export { createPipeline, DLQ_REASONS } from './pipeline.ts';
export type { InsertAck, Pipeline, PipelineOptions, PipelineStats, PipelineValidationOptions, SamplesListener } from './pipeline.ts';
export { createStorage, DEFAULT_CHDB_PATH } from './storage.ts';
export type { Storage, StorageOptions } from './storage.ts';
export { startReadEndpoint } from './readEndpoint.ts';
export type { ReadEndpoint, ReadEndpointOptions } from './readEndpoint.ts';
export { ENDPOINT_FILE, liveEndpoint, readEndpointFile, removeEndpointFile, writeEndpointFile } from './endpointFile.ts';
export type { EndpointInfo } from './endpointFile.ts';
export { createClickHouseSink, insertSamples, countStoredSamples, classifyInsertError, fastFingerprint } from './clickhouseSink.ts';
export type { ClickHouseSink, ClickHouseSinkOptions, IngestChunk, IngestMessage, IngestWatermark, InsertOptions, InsertSummary } from './clickhouseSink.ts';
export { migrate, loadMigrations, renderMigration } from '../schema/migrate.ts';
export type { Migration, MigrateOptions, MigrateResult } from '../schema/migrate.ts';
export { TABLES, SAMPLES, SERIES, SAMPLES_1M, ALERTS_LOG, SAMPLES_INGEST, INGEST_OFFSETS } from '../schema/tables.ts';
