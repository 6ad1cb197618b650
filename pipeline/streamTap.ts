/**
 * The stream tap: the pipeline's decode → validate → `metrics:` mapping, without storage,
 * as its own consumer group. When ingest is scaled out, each storage instance sees only
 * its partitions, so a rules evaluator (`vigie ingest --rules-only`) reads the whole
 * topic through this tap instead, in a group of its own, and gets exactly the samples the
 * storage instances store: same decoder, same validation limits, same mapping.
 *
 * Offsets are committed once a batch was handed to the listeners: the evaluator's windows
 * live in memory, so a restarted evaluator is warmed from the store (as `vigie ingest`
 * is) and redelivered messages are simply evaluated again. Poison messages are counted by
 * reason and logged, never dead-lettered here: the storage group owns the DLQ.
 */
import { metrics, type Counter } from '@opentelemetry/api';
import type { Clock } from '../core/clock.ts';
import { DecodeError, UnavailableError } from '../core/errors.ts';
import type { Sample } from '../core/samples.ts';
import { decodeSamples, mergeCounts } from '../otlp/decode.ts';
import { TOPICS, type IncomingBatch, type Transport, type TransportConsumer } from '../transport/types.ts';
import type { MetricMapping } from './mapping.ts';
import type { Pipeline, PipelineStats, PipelineValidationOptions, SamplesListener } from './pipeline.ts';
import { createValidation, DLQ_REASONS } from './pipeline.ts';
import { MESSAGE_REASONS } from './rejections.ts';

/** Options of {@link createStreamTap}. */
export interface StreamTapOptions {
  readonly transport: Transport;
  /** Validation windows (the data's "now"), as in the pipeline. */
  readonly clock: Clock;
  readonly topic?: string;
  /** The evaluator's own group: never the storage group, or it would take partitions away from storage. */
  readonly groupId: string;
  readonly validation?: PipelineValidationOptions;
  readonly mapping?: MetricMapping | null;
  /** Larger messages are counted as `oversized` and skipped (default 4 MiB, the pipeline's). */
  readonly maxMessageBytes?: number;
  /** Interval of the one-line-per-reason rejection log (default 30 s). */
  readonly rejectionLogIntervalMs?: number;
  readonly log?: (line: string) => void;
}

/** The tap's counters: the pipeline's shape (nothing is stored: `samplesStored` and `dlq` stay 0) plus what it handed on. */
export interface StreamTapStats extends PipelineStats {
  /** Samples handed to the listeners (the rules). */
  readonly samplesTapped: number;
}

/** A stream tap: the {@link Pipeline} lifecycle (start, stop, onSamples, lag), so the CLI wires it like the pipeline. */
export interface StreamTap extends Pipeline {
  stats(): StreamTapStats;
}

/** Builds the tap; nothing runs until `start()`. */
export function createStreamTap(opts: StreamTapOptions): StreamTap {
  const topic = opts.topic ?? TOPICS.metrics;
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const v = opts.validation ?? {};
  const maxMessageBytes = opts.maxMessageBytes ?? 4 * 1024 * 1024;
  const { limiter, rejections, decodeOptions } = createValidation(v, log);
  const listeners = new Set<SamplesListener>();
  const inFlight = new Set<Promise<void>>();
  const s = { messages: 0, samplesTapped: 0, emptyMessages: 0, batches: 0, lastError: null as string | null };
  const rejected: Record<string, number> = {};
  let consumer: TransportConsumer | undefined;
  let stopping = false;
  let rejectionTimer: ReturnType<typeof setInterval> | undefined;
  let tapped: Counter | undefined;
  let rejectedCounter: Counter | undefined;

  const handle = async (batch: IncomingBatch): Promise<void> => {
    if (stopping) throw new UnavailableError('stream tap stopping: batch left uncommitted for redelivery');
    const toSamplesOpts = decodeOptions(opts.clock());
    const batchRejected: Record<string, number> = {};
    const examples: Record<string, string> = {};
    const out: Sample[] = [];
    for (const m of batch.messages) {
      const where = `${batch.topic}/${batch.partition}/${m.offset}`;
      if (m.value.byteLength > maxMessageBytes) {
        mergeCounts(batchRejected, { [DLQ_REASONS.oversized]: 1 });
        examples[DLQ_REASONS.oversized] ??= `${where} (${m.value.byteLength} bytes)`;
        continue;
      }
      try {
        const decoded = decodeSamples(m.value, toSamplesOpts);
        if (decoded.empty) {
          // Counted apart, as in the pipeline (the stop summary lists empties on their own).
          s.emptyMessages++;
          rejections.add({ [MESSAGE_REASONS.empty]: 1 }, { [MESSAGE_REASONS.empty]: where });
          continue;
        }
        mergeCounts(batchRejected, decoded.rejected);
        for (const [r, ex] of Object.entries(decoded.examples)) examples[r] ??= ex;
        const samples = opts.mapping ? opts.mapping(decoded.samples) : decoded.samples;
        for (const x of samples) out.push(x);
      } catch (err) {
        const reason = err instanceof DecodeError ? err.reason : DLQ_REASONS.malformed;
        mergeCounts(batchRejected, { [reason]: 1 });
        examples[reason] ??= where;
      }
    }
    s.batches++;
    s.messages += batch.messages.length;
    s.samplesTapped += out.length;
    mergeCounts(rejected, batchRejected);
    rejections.add(batchRejected, examples);
    tapped?.add(out.length);
    for (const [r, n] of Object.entries(batchRejected)) rejectedCounter?.add(n, { reason: r });
    if (out.length === 0) return;
    for (const l of listeners) {
      try {
        l(out);
      } catch (err) {
        s.lastError = String(err);
        log(`vigie tap.listener_error: ${s.lastError.replace(/\n/g, ' ')}`);
      }
    }
  };

  const tracked = (batch: IncomingBatch): Promise<void> => {
    const p = handle(batch);
    const settled = p.then(
      () => undefined,
      () => undefined,
    );
    inFlight.add(settled);
    void settled.then(() => inFlight.delete(settled));
    return p;
  };

  return {
    async start() {
      if (consumer) return;
      stopping = false;
      const meter = metrics.getMeter('vigie.tap');
      tapped = meter.createCounter('tap.samples', { description: 'Samples decoded from the whole topic and handed to the rules' });
      rejectedCounter = meter.createCounter('pipeline.samples.rejected', { description: 'Samples rejected by validation, by reason' });
      rejectionTimer = setInterval(() => rejections.flush(), opts.rejectionLogIntervalMs ?? 30_000);
      rejectionTimer.unref();
      consumer = opts.transport.consumer(opts.groupId);
      await consumer.connect();
      await consumer.run(topic, tracked);
    },
    async stop() {
      if (!consumer) return;
      stopping = true;
      try {
        await Promise.all([...inFlight]);
        await consumer.disconnect();
      } finally {
        clearInterval(rejectionTimer);
        rejections.flush();
        consumer = undefined;
      }
    },
    onSamples(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stats: () => ({
      messages: s.messages,
      samplesStored: 0,
      samplesTapped: s.samplesTapped,
      dlq: 0,
      rejected: { ...rejected },
      insertErrors: 0,
      batches: s.batches,
      lastError: s.lastError,
      skippedRedelivered: 0,
      emptyMessages: s.emptyMessages,
      dlqFailed: 0,
    }),
    lag: async () => (consumer ? consumer.lag(topic) : 0),
    async drained() {
      if (!consumer) return inFlight.size === 0;
      return (await consumer.lag(topic)) === 0 && inFlight.size === 0;
    },
  };
}
