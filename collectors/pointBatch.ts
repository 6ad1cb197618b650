/**
 * A small, SDK-free model of what a collector observed at one instant (gauges,
 * cumulative sums, cumulative histograms) and its OTLP encoding. Collectors that keep
 * their own state (the access-log tailer persists its counters with its file positions)
 * or translate another format (scrapes, remote write, OpenMetrics files) build these
 * instead of going through OTel instruments, whose state cannot be persisted.
 */
import type { OtlpMetricsRequest } from '../otlp/decode.ts';
import { encodeRequestObject } from '../otlp/request.ts';

/** String attributes of a point or a resource. */
export type PointAttributes = Readonly<Record<string, string>>;

/** One gauge or sum value. */
export interface NumberPoint {
  readonly attributes: PointAttributes;
  readonly value: number;
  /** Epoch ms; default: the batch's `timeMs`. */
  readonly timeMs?: number;
}

/** One cumulative explicit-bucket histogram value. */
export interface HistogramPoint {
  readonly attributes: PointAttributes;
  /** Per-bucket (not cumulative) counts, `bounds.length + 1` of them. */
  readonly bucketCounts: readonly number[];
  /** Absent when the source had none (an OpenMetrics histogram may omit `_sum`). */
  readonly sum?: number;
  readonly count: number;
  readonly timeMs?: number;
}

/** One metric and its points. Sums and histograms are cumulative from `startMs` of the batch. */
export type MetricPoints =
  | { readonly kind: 'gauge'; readonly name: string; readonly unit?: string; readonly description?: string; readonly points: readonly NumberPoint[] }
  | {
      readonly kind: 'sum';
      readonly name: string;
      readonly unit?: string;
      readonly description?: string;
      readonly monotonic: boolean;
      readonly points: readonly NumberPoint[];
    }
  | {
      readonly kind: 'histogram';
      readonly name: string;
      readonly unit?: string;
      readonly description?: string;
      readonly bounds: readonly number[];
      readonly points: readonly HistogramPoint[];
    };

/** What one resource reports at one instant. */
export interface PointBatch {
  /** Resource attributes; `service.name` and `host.name` make the transport key. */
  readonly resource: PointAttributes;
  /** Instrumentation scope name (which collector produced it). */
  readonly scope: string;
  /** Time of the observation (epoch ms). */
  readonly timeMs: number;
  /** Start of the cumulative series (epoch ms); default `timeMs`. */
  readonly startMs?: number;
  readonly metrics: readonly MetricPoints[];
}

/** Transport key of a batch: `service.name/host.name`. */
export function batchKey(b: PointBatch): string {
  return `${b.resource['service.name'] ?? ''}/${b.resource['host.name'] ?? ''}`;
}

/** Samples the pipeline will make of the batch (same count as `countExportedSamples`). */
export function batchSamples(b: PointBatch): number {
  let n = 0;
  for (const m of b.metrics) n += m.kind === 'histogram' ? m.points.length * (m.bounds.length + 3) : m.points.length;
  return n;
}

const nanos = (ms: number): string => (BigInt(Math.round(ms * 1000)) * 1000n).toString();
const kvs = (a: PointAttributes) => Object.keys(a).map((key) => ({ key, value: { stringValue: a[key] } }));

/** The batch as an OTLP request object (cumulative temporality). */
export function batchToRequest(b: PointBatch): OtlpMetricsRequest {
  const start = nanos(b.startMs ?? b.timeMs);
  const metrics = b.metrics
    .filter((m) => m.points.length > 0)
    .map((m) => {
      const head = { name: m.name, unit: m.unit ?? '', description: m.description ?? '' };
      if (m.kind === 'histogram') {
        return {
          ...head,
          histogram: {
            aggregationTemporality: 2,
            dataPoints: m.points.map((p) => {
              if (p.bucketCounts.length !== m.bounds.length + 1) {
                throw new Error(`histogram ${m.name}: ${p.bucketCounts.length} bucket counts for ${m.bounds.length} bounds`);
              }
              return {
                attributes: kvs(p.attributes),
                startTimeUnixNano: start,
                timeUnixNano: nanos(p.timeMs ?? b.timeMs),
                count: String(p.count),
                ...(p.sum !== undefined ? { sum: p.sum } : {}),
                bucketCounts: p.bucketCounts.map(String),
                explicitBounds: [...m.bounds],
              };
            }),
          },
        };
      }
      const dataPoints = m.points.map((p) => ({
        attributes: kvs(p.attributes),
        startTimeUnixNano: start,
        timeUnixNano: nanos(p.timeMs ?? b.timeMs),
        asDouble: p.value,
      }));
      return m.kind === 'gauge'
        ? { ...head, gauge: { dataPoints } }
        : { ...head, sum: { aggregationTemporality: 2, isMonotonic: m.monotonic, dataPoints } };
    });
  return {
    resourceMetrics: [{ resource: { attributes: kvs(b.resource) }, scopeMetrics: [{ scope: { name: b.scope }, metrics }] }],
  } as unknown as OtlpMetricsRequest;
}

/** Serializes the batch as one OTLP/protobuf `ExportMetricsServiceRequest`. */
export function encodeBatch(b: PointBatch): Uint8Array {
  return encodeRequestObject(batchToRequest(b));
}
