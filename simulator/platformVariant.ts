/**
 * The simulated morning as another platform would export it over OTLP: the decoded
 * samples go through a telemetry profile (`telemetry.ts`: one platform-wide session
 * limit, no worker gauges, status-class request counters), the metric names are the
 * platform's own, and the result is produced to Kafka as OTLP again. `vigie simulate
 * --metric-set NAME` uses it so `vigie ingest` and its `metrics:` mapping can be tried on
 * a platform that does not speak Vigie's telemetry contract.
 */
import { promSamplesToBatches } from '../collectors/remoteWrite.ts';
import { encodeBatch } from '../collectors/pointBatch.ts';
import { createCardinalityLimiter, decodeMetricsRequest, toSamples } from '../otlp/decode.ts';
import type { OutgoingMessage, TransportProducer } from '../transport/index.ts';
import { createTelemetryTransform, type TelemetryProfile } from './telemetry.ts';

/** A named platform: what it exposes, and under which names. */
export interface PlatformVariant {
  readonly profile: TelemetryProfile;
  /** Contract name → the platform's own name (what its exporter calls the metric). */
  readonly names: Readonly<Record<string, string>>;
  /** Contract metrics this platform does not export at all. */
  readonly drop: readonly string[];
}

/**
 * `platform-b`: an LMS with one platform-wide session limit, no worker gauge, and request
 * counters by status class; its own metric names. The mapping that feeds it to Vigie's
 * pack is in docs/telemetry-contract.md.
 */
export const PLATFORM_VARIANTS: Readonly<Record<string, PlatformVariant>> = {
  'platform-b': {
    profile: { capacity: 'platform', workers: false, status: 'class', gaps: [], missingScrapeShare: 0, restarts: [], seed: 7 },
    names: {
      ecampus_sessions_active: 'lms_users_online',
      ecampus_capacity_sessions: 'lms_session_limit',
      http_server_requests_total: 'lms_http_requests_total',
    },
    drop: [],
  },
};

/** Wraps `producer` so every message it sends is re-exported as `variant` would. */
export function createVariantProducer(producer: TransportProducer, variant: PlatformVariant): TransportProducer & { produced(): number } {
  const transform = createTelemetryTransform(variant.profile);
  const limiter = createCardinalityLimiter();
  let produced = 0;
  // Cumulative sums start with the morning, as a real exporter's do (a start time that
  // moved every message would read as a counter reset).
  let startMs: number | undefined;
  return {
    produced: () => produced,
    connect: () => producer.connect(),
    disconnect: () => producer.disconnect(),
    async send(topic, messages) {
      const out: OutgoingMessage[] = [];
      for (const m of messages) {
        const decoded = toSamples(decodeMetricsRequest(m.value), { nowMs: Number.MAX_SAFE_INTEGER / 2, maxAgeMs: Number.MAX_SAFE_INTEGER, cardinality: limiter, scopeLabels: false });
        const samples = transform(decoded.samples).filter((s) => !variant.drop.includes(s.metric));
        if (samples.length === 0) continue;
        startMs ??= samples[0]!.timestampMs;
        produced += samples.length;
        const prom = samples.map((s) => {
          const { instance, job, ...rest } = s.labels;
          return { labels: { ...rest, __name__: variant.names[s.metric] ?? s.metric, ...(job ? { job } : {}), ...(instance ? { instance } : {}) }, value: s.value, timestampMs: s.timestampMs };
        });
        for (const b of promSamplesToBatches(prom, { resource: {}, nowMs: samples[0]!.timestampMs, scope: 'lms.exporter', startMs })) {
          out.push({ key: m.key ?? '', value: encodeBatch(b), headers: {} });
        }
      }
      if (out.length) await producer.send(topic, out);
    },
  };
}
