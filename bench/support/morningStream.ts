/**
 * One simulated morning as the stream of decoded samples the pipeline taps, without
 * Kafka or ClickHouse: simulator → collectors → an in-memory producer → `otlp/decode.ts`
 * (decode + toSamples, the same calls the pipeline makes) → a listener, called once per
 * OTLP message with the wall time the message arrived (for latency measurements).
 */
import type { Sample } from '../../core/samples.ts';
import { createCardinalityLimiter, decodeMetricsRequest, toSamples } from '../../otlp/decode.ts';
import { runMorning, type MorningOptions, type MorningResult } from '../../simulator/index.ts';
import type { OutgoingMessage, TransportProducer } from '../../transport/types.ts';

/** Receives the samples of one OTLP message; `arrivalMs` is `performance.now()` when the message was produced. */
export type MorningListener = (samples: readonly Sample[], arrivalMs: number) => void;

/** Result of {@link streamMorning}: ground truth plus decode totals. */
export interface MorningStreamResult {
  readonly truth: MorningResult;
  readonly samples: number;
  readonly rejected: Readonly<Record<string, number>>;
  readonly decodeMs: number;
  readonly wallMs: number;
}

/** Runs one morning as fast as possible and hands every decoded message to `listener`. */
export async function streamMorning(sim: Partial<MorningOptions>, listener: MorningListener): Promise<MorningStreamResult> {
  const t0 = performance.now();
  let simNow = sim.start ?? Date.UTC(2026, 0, 12, 7, 30);
  const limiter = createCardinalityLimiter();
  let samples = 0;
  let decodeMs = 0;
  const rejected: Record<string, number> = {};
  const producer: TransportProducer = {
    connect: async () => {},
    disconnect: async () => {},
    async send(_topic: string, messages: readonly OutgoingMessage[]) {
      for (const m of messages) {
        const arrival = performance.now();
        const decoded = toSamples(decodeMetricsRequest(m.value), { nowMs: simNow, cardinality: limiter });
        decodeMs += performance.now() - arrival;
        for (const [k, n] of Object.entries(decoded.rejected)) rejected[k] = (rejected[k] ?? 0) + n;
        samples += decoded.samples.length;
        listener(decoded.samples, arrival);
      }
    },
  };
  const truth = await runMorning(
    { ...sim, compression: Infinity },
    {
      producer,
      onProgress: (at) => {
        simNow = at;
      },
    },
  );
  return { truth, samples, rejected, decodeMs, wallMs: performance.now() - t0 };
}
