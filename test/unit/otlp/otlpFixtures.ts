/**
 * Test fixtures: real OTLP/protobuf requests made by the OpenTelemetry SDK itself
 * (MeterProvider → MetricReader → ProtobufMetricsSerializer 0.223), plus an optional
 * PrometheusExporter on the same instruments to compare names against.
 */
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationType, MeterProvider, MetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { Meter } from '@opentelemetry/api';

/** A MetricReader collected by hand. */
export class ManualReader extends MetricReader {
  protected override async onForceFlush(): Promise<void> {}
  protected override async onShutdown(): Promise<void> {}
}

/** One SDK set-up: record with `meter`, then `collect()` bytes and/or Prometheus text. */
export interface SdkFixture {
  readonly meter: Meter;
  collect(): Promise<{ resourceMetrics: ResourceMetrics; bytes: Uint8Array }>;
  prometheusText(): Promise<string>;
  shutdown(): Promise<void>;
}

/** Creates an SDK with a manual reader and a (server-less) PrometheusExporter. */
export function sdkFixture(resource: Record<string, string> = { 'service.name': 'ecampus', 'host.name': 'web-1' }): SdkFixture {
  const reader = new ManualReader();
  const prom = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({
    resource: resourceFromAttributes(resource),
    readers: [reader, prom],
    views: [{ instrumentName: 'exp.*', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM } }],
  });
  return {
    meter: provider.getMeter('vigie.test', '1.0.0'),
    async collect() {
      const { resourceMetrics } = await reader.collect();
      const bytes = ProtobufMetricsSerializer.serializeRequest(resourceMetrics);
      if (!bytes) throw new Error('serializer returned nothing');
      return { resourceMetrics, bytes };
    },
    async prometheusText() {
      const { resourceMetrics } = await prom.collect();
      // The serializer the exporter's HTTP handler uses.
      const { PrometheusSerializer } = await import('@opentelemetry/exporter-prometheus');
      return new PrometheusSerializer().serialize(resourceMetrics);
    },
    shutdown: () => provider.shutdown(),
  };
}

/** Records the semantic-convention instruments Vigie relies on. */
export function recordTypicalMetrics(meter: Meter, faculties = ['sciences', 'droit'], scale = 1): void {
  const duration = meter.createHistogram('http.server.request.duration', {
    unit: 's',
    advice: { explicitBucketBoundaries: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10] },
  });
  const logins = meter.createCounter('ecampus.logins');
  const active = meter.createUpDownCounter('http.server.active_requests', { unit: '{request}' });
  const sessions = meter.createGauge('ecampus.sessions.active');
  for (const faculty of faculties) {
    for (let i = 0; i < 3 * scale; i++) {
      duration.record(0.01 * (i + 1), { 'http.route': '/exam/:id', 'http.response.status_code': 200, faculty, 'exam.id': `E${i}` });
    }
    logins.add(5, { faculty });
    active.add(2, { faculty });
    sessions.record(120, { faculty });
  }
}

/** Parses Prometheus text exposition into `name{sorted labels} value` lines. */
export function parseExposition(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`cannot parse exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z0-9_]+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!.replace(/\\"/g, '"').replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
    out.set(key(m[1]!, labels), m[3] === '+Inf' ? Infinity : Number(m[3]));
  }
  return out;
}

/** `name{a="x",b="y"}` with sorted label names. */
export function key(name: string, labels: Readonly<Record<string, string>>): string {
  return name + '{' + Object.keys(labels).sort().map((k) => `${k}="${labels[k]}"`).join(',') + '}';
}
