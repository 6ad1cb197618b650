/**
 * One collector = one monitored resource (a server): a MeterProvider with the e-Campus
 * instruments, a reader, and an `OtlpTransportExporter`. Simulations trigger collection
 * by hand (`collect()`), live processes pass `intervalMs` for periodic export.
 */
import {
  MeterProvider,
  MetricReader,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { Attributes } from '@opentelemetry/api';
import type { Clock } from '../core/clock.ts';
import { VigieError } from '../core/errors.ts';
import { TOPICS, type TransportProducer } from '../transport/types.ts';
import { createEcampusInstruments, type EcampusInstruments, type EcampusState } from './meters.ts';
import { OtlpTransportExporter, type ExporterStats, type ExportOutcome } from './otlpKafkaExporter.ts';

/** A reader that collects only when its owner calls `collect()` (simulation, tests). */
export class ManualMetricReader extends MetricReader {
  protected override async onShutdown(): Promise<void> {}
  protected override async onForceFlush(): Promise<void> {}
}

/** Identity of the monitored resource. */
export interface CollectorResource {
  /** `host.name`, also the second half of the message key. */
  readonly hostName: string;
  /** `service.name`; default `ecampus`. */
  readonly serviceName?: string;
  /** `vigie.collector`; default `vigie-collector`. */
  readonly collectorName?: string;
  /** Extra resource attributes. */
  readonly attributes?: Attributes;
}

/** Options of `createCollector`. */
export interface CollectorOptions {
  readonly producer: TransportProducer;
  /** Default `otlp_metrics`. */
  readonly topic?: string;
  readonly resource: CollectorResource;
  /** Stamp points with this clock instead of the wall clock (simulations). */
  readonly timestampOverride?: Clock;
  /** Start time of cumulative series when `timestampOverride` is set; default its time at creation. */
  readonly startTimeMs?: number;
  /** Live mode: export every `intervalMs` with a PeriodicExportingMetricReader; `collect()` then flushes. */
  readonly intervalMs?: number;
  /** Shares a state object with other code (e.g. a probe); default a fresh one. */
  readonly state?: EcampusState;
}

/** A running collector. */
export interface Collector {
  readonly meterProvider: MeterProvider;
  readonly instruments: EcampusInstruments;
  /** Collects and exports now; resolves with the samples and bytes sent. */
  collect(): Promise<ExportOutcome>;
  stats(): ExporterStats;
  /** Stops the reader and exporter (does not disconnect the producer). */
  shutdown(): Promise<void>;
}

/** Builds a collector for one resource. */
export function createCollector(opts: CollectorOptions): Collector {
  const { hostName } = opts.resource;
  if (hostName === '') throw new VigieError('collector resource.hostName must not be empty');
  const resource = resourceFromAttributes({
    ...(opts.resource.attributes ?? {}),
    'service.name': opts.resource.serviceName ?? 'ecampus',
    'host.name': hostName,
    'vigie.collector': opts.resource.collectorName ?? 'vigie-collector',
  });
  const clock = opts.timestampOverride;
  const exporter = new OtlpTransportExporter({
    producer: opts.producer,
    topic: opts.topic ?? TOPICS.metrics,
    ...(clock === undefined ? {} : { timestampOverride: { clock, startTimeMs: opts.startTimeMs ?? clock() } }),
  });

  let manual: ManualMetricReader | undefined;
  let reader: MetricReader;
  if (opts.intervalMs !== undefined) {
    reader = new PeriodicExportingMetricReader({
      exporter,
      exportIntervalMillis: opts.intervalMs,
      exportTimeoutMillis: Math.min(30_000, opts.intervalMs),
    });
  } else {
    manual = new ManualMetricReader();
    reader = manual;
  }
  const meterProvider = new MeterProvider({ resource, readers: [reader] });
  const instruments = createEcampusInstruments(meterProvider.getMeter('vigie.collectors.ecampus'), opts.state);

  return {
    meterProvider,
    instruments,
    async collect(): Promise<ExportOutcome> {
      if (manual === undefined) {
        const before = exporter.stats();
        await meterProvider.forceFlush();
        const after = exporter.stats();
        return { samples: after.samples - before.samples, bytes: after.bytes - before.bytes };
      }
      const { resourceMetrics } = await manual.collect();
      return exporter.send(resourceMetrics);
    },
    stats: () => exporter.stats(),
    async shutdown(): Promise<void> {
      await meterProvider.shutdown();
      await exporter.shutdown();
    },
  };
}
