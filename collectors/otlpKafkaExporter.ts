/**
 * A `PushMetricExporter` that writes each ResourceMetrics as one OTLP/protobuf message
 * on the transport (Kafka or in-process), keyed by `service.name/host.name`.
 * Optionally rewrites data-point timestamps from an injected clock: the SDK stamps
 * points with the wall clock, a simulation runs on compressed time.
 */
import type { HrTime } from '@opentelemetry/api';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import {
  AggregationTemporality,
  type InstrumentType,
  type MetricData,
  type PushMetricExporter,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import type { Clock } from '../core/clock.ts';
import { describeError, UnavailableError } from '../core/errors.ts';
import type { TransportProducer } from '../transport/types.ts';
import { countExportedSamples, encodeMetricsRequest, resourceKey } from '../otlp/encode.ts';
import { selfMeter } from '../core/selfTelemetry.ts';

/** Self-monitoring counters shared by every exporter of the process (no-op until self-telemetry starts). */
const selfMetrics = (() => {
  const m = selfMeter('vigie.collectors');
  return {
    samples: m.createCounter('collectors.otlp.exported_samples', { description: 'Samples exported on the transport' }),
    bytes: m.createCounter('collectors.otlp.exported_bytes', { description: 'OTLP bytes exported on the transport', unit: 'By' }),
    failures: m.createCounter('collectors.otlp.export_failures', { description: 'Failed exports' }),
  };
})();

/** Counters of what an exporter did since it was created. */
export interface ExporterStats {
  readonly exports: number;
  readonly messages: number;
  readonly samples: number;
  readonly bytes: number;
  readonly failures: number;
  readonly lastError: string | null;
}

/** Options of `OtlpTransportExporter`. */
export interface OtlpTransportExporterOptions {
  readonly producer: TransportProducer;
  readonly topic: string;
  /** When set, every point's `endTime` becomes `clock()` and `startTime` becomes `startTimeMs`. */
  readonly timestampOverride?: { readonly clock: Clock; readonly startTimeMs: number };
}

/** Result of one export: samples (see `countExportedSamples`) and bytes sent. */
export interface ExportOutcome {
  readonly samples: number;
  readonly bytes: number;
}

/** Converts epoch milliseconds to an OTel HrTime. */
export function msToHrTime(ms: number): HrTime {
  const s = Math.floor(ms / 1000);
  return [s, Math.round((ms - s * 1000) * 1e6)];
}

/** Returns a copy of `rm` with every data point stamped `[startMs, endMs]`. */
export function restampResourceMetrics(rm: ResourceMetrics, startMs: number, endMs: number): ResourceMetrics {
  const startTime = msToHrTime(startMs);
  const endTime = msToHrTime(endMs);
  return {
    resource: rm.resource,
    scopeMetrics: rm.scopeMetrics.map((sm) => ({
      scope: sm.scope,
      metrics: sm.metrics.map(
        (m) =>
          ({
            ...m,
            dataPoints: (m.dataPoints as readonly object[]).map((dp) => ({ ...dp, startTime, endTime })),
          }) as MetricData,
      ),
    })),
  };
}

/** Serializes ResourceMetrics to OTLP/protobuf and produces them on a transport topic. */
export class OtlpTransportExporter implements PushMetricExporter {
  private readonly opts: OtlpTransportExporterOptions;
  private readonly pending = new Set<Promise<unknown>>();
  private isShutdown = false;
  private s = { exports: 0, messages: 0, samples: 0, bytes: 0, failures: 0, lastError: null as string | null };

  constructor(opts: OtlpTransportExporterOptions) {
    this.opts = opts;
  }

  /** PushMetricExporter entry point (used by PeriodicExportingMetricReader). */
  export(metrics: ResourceMetrics, resultCallback: (result: ExportResult) => void): void {
    const p = this.send(metrics).then(
      () => resultCallback({ code: ExportResultCode.SUCCESS }),
      (err: unknown) =>
        resultCallback({ code: ExportResultCode.FAILED, error: err instanceof Error ? err : new Error(String(err)) }),
    );
    this.pending.add(p);
    void p.finally(() => this.pending.delete(p));
  }

  /**
   * Exports one ResourceMetrics and resolves with what was sent; rejects (and counts a
   * failure) when encoding or the transport fails. Empty collections send nothing.
   */
  async send(metrics: ResourceMetrics): Promise<ExportOutcome> {
    if (this.isShutdown) throw new UnavailableError('OTLP transport exporter is shut down', { retriable: false });
    this.s.exports++;
    try {
      const o = this.opts.timestampOverride;
      const rm = o === undefined ? metrics : restampResourceMetrics(metrics, o.startTimeMs, o.clock());
      const samples = countExportedSamples(rm);
      if (samples === 0) return { samples: 0, bytes: 0 };
      const value = encodeMetricsRequest(rm);
      await this.opts.producer.send(this.opts.topic, [{ key: resourceKey(rm), value }]);
      this.s.messages++;
      this.s.samples += samples;
      this.s.bytes += value.byteLength;
      selfMetrics.samples.add(samples);
      selfMetrics.bytes.add(value.byteLength);
      return { samples, bytes: value.byteLength };
    } catch (err) {
      this.s.failures++;
      selfMetrics.failures.add(1);
      this.s.lastError = describeError(err);
      throw new UnavailableError(`exporting metrics of "${resourceKey(metrics)}" to topic "${this.opts.topic}" failed`, {
        cause: err,
      });
    }
  }

  /** Cumulative temporality for every instrument (Prometheus-compatible). */
  selectAggregationTemporality(_instrumentType: InstrumentType): AggregationTemporality {
    return AggregationTemporality.CUMULATIVE;
  }

  /** Waits for in-flight exports. */
  async forceFlush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }

  /** Flushes, then refuses further exports. Does not disconnect the shared producer. */
  async shutdown(): Promise<void> {
    await this.forceFlush();
    this.isShutdown = true;
  }

  /** Snapshot of the counters. */
  stats(): ExporterStats {
    return { ...this.s };
  }
}
