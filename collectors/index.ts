/**
 * Stage 1 — collectors. In: measurements of the e-Campus platform — OTel instruments
 * (a real probe or the simulator), access logs, /proc, nginx and PHP-FPM status pages,
 * Prometheus endpoints, and what others send: OTLP/HTTP (`vigie gateway`), Prometheus
 * remote write, OpenMetrics files. Out: one OTLP/protobuf ExportMetricsServiceRequest
 * per resource and collection, produced on the transport topic `otlp_metrics` with key
 * `service.name/host.name`, through a durable producer. Feeds stage 2, the pipeline.
 */
export { createCollector, ManualMetricReader } from './collector.ts';
export type { Collector, CollectorOptions, CollectorResource } from './collector.ts';
export { createEcampusInstruments, createEcampusState, GaugeTable, HTTP_DURATION_BUCKETS } from './meters.ts';
export type { EcampusInstruments, EcampusState, GaugeCell } from './meters.ts';
export { OtlpTransportExporter, restampResourceMetrics, msToHrTime } from './otlpKafkaExporter.ts';
export type { ExporterStats, ExportOutcome, OtlpTransportExporterOptions } from './otlpKafkaExporter.ts';
export { BufferFullError, DurableProducer } from './durableProducer.ts';
export type { DurableProducerOptions, DurableProducerStats } from './durableProducer.ts';
export { startOtlpGateway } from './otlpGateway.ts';
export type { OtlpGateway, OtlpGatewayOptions, OtlpGatewayStats } from './otlpGateway.ts';
export { createCollectorRunner } from './collectorRunner.ts';
export type { CollectorRunner, CollectorRunnerOptions } from './collectorRunner.ts';
export { collectorsConfigSchema, parseCollectorsConfig } from './config.ts';
export type { CollectorsConfig } from './config.ts';
export { batchKey, batchSamples, encodeBatch } from './pointBatch.ts';
export type { MetricPoints, PointBatch } from './pointBatch.ts';
export { decodeRemoteWrite, promSamplesToBatches, remoteWriteToBatches, snappyDecompress } from './remoteWrite.ts';
export type { PromSample } from './remoteWrite.ts';
export { parseExposition } from './promText.ts';
