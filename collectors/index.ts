/**
 * Stage 1 — collectors. In: measurements of the e-Campus platform (recorded on OTel
 * instruments by a real probe or by the simulator). Out: one OTLP/protobuf
 * ExportMetricsServiceRequest per resource and collection, produced on the transport
 * topic `otlp_metrics` with key `service.name/host.name`. Feeds stage 2, the pipeline.
 */
export { createCollector, ManualMetricReader } from './collector.ts';
export type { Collector, CollectorOptions, CollectorResource } from './collector.ts';
export { createEcampusInstruments, createEcampusState, GaugeTable, HTTP_DURATION_BUCKETS } from './meters.ts';
export type { EcampusInstruments, EcampusState, GaugeCell } from './meters.ts';
export { OtlpTransportExporter, restampResourceMetrics, msToHrTime } from './otlpKafkaExporter.ts';
export type { ExporterStats, ExportOutcome, OtlpTransportExporterOptions } from './otlpKafkaExporter.ts';
