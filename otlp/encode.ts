/**
 * OTLP encoding shared by the collectors (producers) and anyone who needs to reason
 * about what was exported: serialize one SDK `ResourceMetrics` into an OTLP/protobuf
 * `ExportMetricsServiceRequest`, count its samples the way the pipeline's decoder does,
 * and derive the transport message key of its resource.
 */
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { VigieError } from '../core/errors.ts';

/** Serializes one ResourceMetrics as an OTLP/protobuf ExportMetricsServiceRequest. */
export function encodeMetricsRequest(rm: ResourceMetrics): Uint8Array {
  const bytes = ProtobufMetricsSerializer.serializeRequest(rm);
  if (bytes === undefined) {
    throw new VigieError(
      `OTLP serialization of resource "${resourceKey(rm)}" returned nothing; check the metric data for unsupported values`,
    );
  }
  return bytes;
}

/**
 * Number of Prometheus samples a ResourceMetrics turns into. Must match the pipeline's
 * decoder so "stored == exported" can be checked: Gauge/Sum point = 1; Histogram point =
 * (bounds + 1) buckets + sum + count; ExponentialHistogram is unsupported (0).
 */
export function countExportedSamples(rm: ResourceMetrics): number {
  let n = 0;
  for (const sm of rm.scopeMetrics) {
    for (const m of sm.metrics) {
      switch (m.dataPointType) {
        case DataPointType.GAUGE:
        case DataPointType.SUM:
          n += m.dataPoints.length;
          break;
        case DataPointType.HISTOGRAM:
          for (const dp of m.dataPoints) n += dp.value.buckets.boundaries.length + 1 + 2;
          break;
        case DataPointType.EXPONENTIAL_HISTOGRAM:
          break;
      }
    }
  }
  return n;
}

/** Transport message key of a resource: `service.name/host.name` (missing parts empty). */
export function resourceKey(rm: ResourceMetrics): string {
  const a = rm.resource.attributes;
  const service = a['service.name'];
  const host = a['host.name'];
  return `${typeof service === 'string' ? service : ''}/${typeof host === 'string' ? host : ''}`;
}
