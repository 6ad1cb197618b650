/**
 * Test helper: decodes OTLP/protobuf bytes with the generated protobufjs code of
 * otlp-transformer 0.217 (aliased `otlp-proto-decoder`), independent of Vigie's codec.
 */
import { createRequire } from 'node:module';

/** Plain-object view of a decoded ExportMetricsServiceRequest (longs as decimal strings). */
export interface DecodedRequest {
  resourceMetrics: {
    resource?: { attributes?: DecodedKV[] };
    scopeMetrics?: {
      scope?: { name?: string };
      metrics?: DecodedMetric[];
    }[];
  }[];
}
/** A decoded attribute. */
export interface DecodedKV {
  key: string;
  value: { stringValue?: string; intValue?: string; doubleValue?: number; boolValue?: boolean };
}
/** A decoded data point (gauge/sum or histogram fields). */
export interface DecodedPoint {
  attributes?: DecodedKV[];
  startTimeUnixNano: string;
  timeUnixNano: string;
  asDouble?: number;
  asInt?: string;
  count?: string;
  sum?: number;
  bucketCounts?: string[];
  explicitBounds?: number[];
}
/** A decoded metric. */
export interface DecodedMetric {
  name: string;
  unit?: string;
  gauge?: { dataPoints?: DecodedPoint[] };
  sum?: { dataPoints?: DecodedPoint[]; aggregationTemporality?: number; isMonotonic?: boolean };
  histogram?: { dataPoints?: DecodedPoint[]; aggregationTemporality?: number };
  exponentialHistogram?: unknown;
}

interface GeneratedType {
  decode(bytes: Uint8Array): unknown;
  toObject(msg: unknown, opts: { longs: StringConstructor; defaults?: boolean }): unknown;
}
const require = createRequire(import.meta.url);
const generated = require('otlp-proto-decoder/build/src/generated/root.js') as {
  opentelemetry: { proto: { collector: { metrics: { v1: { ExportMetricsServiceRequest: GeneratedType } } } } };
};
const Req = generated.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

/** Decodes one request. */
export function decodeRequest(bytes: Uint8Array): DecodedRequest {
  return Req.toObject(Req.decode(bytes), { longs: String }) as DecodedRequest;
}

/** Every metric of a decoded request. */
export function allMetrics(req: DecodedRequest): DecodedMetric[] {
  return req.resourceMetrics.flatMap((rm) => (rm.scopeMetrics ?? []).flatMap((sm) => sm.metrics ?? []));
}

/** Every data point of a decoded request, with its metric. */
export function allPoints(req: DecodedRequest): { metric: DecodedMetric; point: DecodedPoint }[] {
  return allMetrics(req).flatMap((metric) =>
    (metric.gauge?.dataPoints ?? metric.sum?.dataPoints ?? metric.histogram?.dataPoints ?? []).map((point) => ({
      metric,
      point,
    })),
  );
}

/** Samples of a decoded request by the shared rule (gauge/sum 1, histogram buckets+sum+count). */
export function countDecodedSamples(req: DecodedRequest): number {
  let n = 0;
  for (const m of allMetrics(req)) {
    n += (m.gauge?.dataPoints ?? []).length + (m.sum?.dataPoints ?? []).length;
    for (const p of m.histogram?.dataPoints ?? []) n += (p.explicitBounds ?? []).length + 1 + 2;
  }
  return n;
}

/** Attributes of a point as a plain record. */
export function attrsOf(kvs: DecodedKV[] | undefined): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const kv of kvs ?? []) {
    const v = kv.value;
    out[kv.key] = v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.doubleValue ?? v.boolValue ?? ''));
  }
  return out;
}
