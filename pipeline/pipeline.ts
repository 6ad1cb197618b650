/**
 * The pipeline stage: consume OTLP messages from the transport as a consumer group,
 * decode and validate them, insert them into ClickHouse exactly once, and only then let
 * the transport commit. Poison messages go to the DLQ with a reason; rejected points are
 * counted by reason; nothing is dropped silently. After each acknowledged insert the
 * decoded samples are handed to tap listeners (the rules engine).
 *
 * Exactly once, keyed by Kafka position: every insert covers whole messages of one
 * partition in offset order and tags each row with its message's offset; ClickHouse
 * records the partition's high-water mark in the same insert (`samples_ingest`, see
 * migration 006). Before handling a batch the pipeline reads that mark and skips the
 * messages at or below it (`skippedRedelivered`), whatever the batch boundaries of the
 * redelivery; the dedup token `topic:partition:first-last` stays as a second guard (a
 * retried insert whose ack was lost). Messages inside the last stored insert's range are
 * re-inserted under that insert's own token: a no-op when its rows are stored, the
 * repair when a crash interrupted the insert between its bookkeeping and its rows.
 */
import { metrics, type Counter, type Histogram, type ObservableGauge, type ObservableResult } from '@opentelemetry/api';
import type { Clock } from '../core/clock.ts';
import { DecodeError, UnavailableError, VigieError, describeError } from '../core/errors.ts';
import { retry } from '../core/retry.ts';
import type { Sample } from '../core/samples.ts';
import type { MetricMapping } from './mapping.ts';
import { CARDINALITY_DEFAULTS, createCardinalityLimiter, decodeSamples, mergeCounts, VALIDATION_DEFAULTS, type CardinalityLimiter, type ToSamplesOptions, type ToSamplesResult } from '../otlp/decode.ts';
import { HEADERS, TOPICS, dlqTopicOf, type IncomingBatch, type IncomingMessage, type OutgoingMessage, type Transport, type TransportConsumer, type TransportProducer } from '../transport/types.ts';
import { createClickHouseSink, type ClickHouseSink } from './clickhouseSink.ts';
import { createCounterTracker } from './counterDeltas.ts';
import { dlqEnvelope } from './dlq.ts';
import { createRejectionReporter, MESSAGE_REASONS } from './rejections.ts';
import type { Storage } from './storage.ts';

/** Validation knobs, passed through to `toSamples`. */
export interface PipelineValidationOptions {
  readonly maxAgeMs?: number;
  readonly maxSkewMs?: number;
  readonly maxLabelValueLength?: number;
  readonly maxSeriesPerMetric?: number;
  /** Distinct metric families tracked (default 2,000); a name bomb beyond it is rejected as `metric_name_limit`. */
  readonly maxMetricNames?: number;
  /** Series tracked over all families (default 250,000); also sizes the sink's and the counter tracker's caches. */
  readonly maxSeries?: number;
  /** A series unseen this long (data time) is forgotten when a limit is hit (default 30 min). */
  readonly seriesIdleMs?: number;
  readonly resourceLabels?: boolean;
  readonly scopeLabels?: boolean;
}

/** Options of {@link createPipeline}. */
export interface PipelineOptions {
  readonly transport: Transport;
  readonly storage: Pick<Storage, 'client' | 'database'> & Partial<Pick<Storage, 'readClient' | 'rawInsert' | 'columnarInsert'>>;
  /** Injected clock: validation windows and series registration times. */
  readonly clock: Clock;
  readonly topic?: string;
  readonly dlqTopic?: string;
  readonly groupId?: string;
  /** Most samples per ClickHouse insert; a larger transport batch is split on message boundaries (default 200,000). */
  readonly maxBatchSamples?: number;
  /** Larger messages go to the DLQ as `oversized` (default 4 MiB). */
  readonly maxMessageBytes?: number;
  /**
   * Largest DLQ message (value + key + headers) the pipeline produces; a larger payload is
   * truncated, with its origin and original size in headers (default 900 KiB, under
   * Kafka's default `max.message.bytes` of 1 MB, so a stock DLQ topic always accepts it).
   */
  readonly maxDlqMessageBytes?: number;
  /**
   * How long a DLQ send the broker could accept later (an outage) is retried before the
   * poison message is skipped, counted and logged as `dlq_failed` (default 60 s). A send
   * the broker refuses for good is skipped at once: one bad message never stops the stream.
   */
  readonly dlqRetryMs?: number;
  /** Consumer lag (messages) above which one `pipeline.lagging` line is logged, and a tenth of it for `caught_up` (default 10,000). */
  readonly lagWarnMessages?: number;
  /** Interval of the one-line-per-reason rejection log (default 30 s; also flushed at stop). */
  readonly rejectionLogIntervalMs?: number;
  readonly validation?: PipelineValidationOptions;
  /** Backoff of insert/DLQ retries (which never give up while running). */
  readonly retry?: { readonly initialMs?: number; readonly maxMs?: number };
  /** How long `stop()` lets an in-flight batch finish before abandoning it uncommitted (default 30 s). */
  readonly stopTimeoutMs?: number;
  /** One line per notable event (retries, DLQ, listener errors); default stderr. */
  readonly log?: (line: string) => void;
  /**
   * Called after each acknowledged insert, before the next one and before the batch is
   * committed (crash tests kill the process here; default none).
   */
  readonly afterInsert?: (info: InsertAck) => void | Promise<void>;
  /** Counter series whose last point is kept in memory (default 1,000,000; see `counterDeltas.ts`). */
  readonly maxCounterSeries?: number;
  /** The `metrics:` mapping (platform names → telemetry contract), applied before storage and the tap. */
  readonly mapping?: MetricMapping | null;
}

/** What {@link PipelineOptions.afterInsert} is told about an acknowledged insert. */
export interface InsertAck {
  readonly topic: string;
  readonly partition: number;
  readonly firstOffset: string;
  readonly lastOffset: string;
  /** True for the re-insert of the last stored insert's range after a redelivery. */
  readonly repair: boolean;
}

/** Counters since the pipeline was created (of committed batches only). */
export interface PipelineStats {
  readonly messages: number;
  readonly samplesStored: number;
  readonly dlq: number;
  readonly rejected: Readonly<Record<string, number>>;
  /** Failed insert attempts (each retried). */
  readonly insertErrors: number;
  readonly batches: number;
  readonly lastError: string | null;
  /** Redelivered messages skipped because ClickHouse already held their offsets (not stored again, not tapped). */
  readonly skippedRedelivered: number;
  /** Messages with no bytes or no resource metrics (committed, nothing to store). */
  readonly emptyMessages: number;
  /** Poison messages that could not be dead-lettered and were skipped (counted, logged). */
  readonly dlqFailed: number;
}

/** Receives the samples of each stored batch, after ClickHouse acknowledged them. */
export type SamplesListener = (samples: readonly Sample[]) => void;

/** A running (or startable) pipeline. */
export interface Pipeline {
  start(): Promise<void>;
  /** Graceful: lets the in-flight batch finish and commit, then leaves the group. */
  stop(): Promise<void>;
  /** Subscribes to stored samples; returns the unsubscribe function. */
  onSamples(listener: SamplesListener): () => void;
  stats(): PipelineStats;
  /** Consumer lag on the input topic. */
  lag(): Promise<number>;
  /** True when nothing is in flight and the group has committed everything produced. */
  drained(): Promise<boolean>;
}

/** DLQ reason codes set by the pipeline itself (decode reasons come from `DecodeError.reason`). */
export const DLQ_REASONS = {
  oversized: 'oversized',
  malformed: 'malformed_otlp',
  insertRejected: 'insert_rejected',
} as const;

class AbandonedError extends VigieError {}

/** The dedup token of an insert: its partition and first/last offsets. */
function dedupTokenOf(topic: string, partition: number, first: string | bigint, last: string | bigint): string {
  return `${topic}:${partition}:${first}-${last}`;
}

function addTo(chunk: Chunk, m: IncomingMessage, samples: Sample[]): void {
  chunk.messages.push(m);
  chunk.perMessage.push(samples);
  chunk.samples += samples.length;
}

interface Chunk {
  /** Messages with at least one sample, in offset order. */
  readonly messages: IncomingMessage[];
  /** Their samples, message by message (parallel to `messages`). */
  readonly perMessage: Sample[][];
  samples: number;
  /** Set on the re-insert of the last stored insert's range: that insert's own dedup token. */
  readonly repairToken?: string;
}

interface Instruments {
  readonly messages: Counter;
  readonly stored: Counter;
  readonly dlq: Counter;
  readonly rejected: Counter;
  readonly insertErrors: Counter;
  readonly skipped: Counter;
  readonly empty: Counter;
  readonly dlqFailed: Counter;
  readonly insertDuration: Histogram;
  readonly batchSamples: Histogram;
}

function instruments(): Instruments {
  // Created at start(): the global MeterProvider is not a proxy, it must be registered first.
  const meter = metrics.getMeter('vigie.pipeline');
  return {
    messages: meter.createCounter('pipeline.messages', { description: 'OTLP messages consumed and committed' }),
    stored: meter.createCounter('pipeline.samples.stored', { description: 'Samples acknowledged by ClickHouse' }),
    dlq: meter.createCounter('pipeline.dlq', { description: 'Messages sent to the dead-letter topic, by reason' }),
    rejected: meter.createCounter('pipeline.samples.rejected', { description: 'Samples rejected by validation, by reason' }),
    insertErrors: meter.createCounter('pipeline.clickhouse.insert.errors', { description: 'Failed ClickHouse insert attempts (retried)' }),
    skipped: meter.createCounter('pipeline.messages.skipped_redelivered', { description: 'Redelivered messages skipped because their offsets were already stored' }),
    empty: meter.createCounter('pipeline.messages.empty', { description: 'Messages with no bytes or no resource metrics (committed, nothing stored)' }),
    dlqFailed: meter.createCounter('pipeline.dlq.failed', { description: 'Poison messages that could not be dead-lettered and were skipped' }),
    insertDuration: meter.createHistogram('pipeline.clickhouse.insert.duration', { unit: 's', description: 'Duration of one acknowledged ClickHouse insert' }),
    batchSamples: meter.createHistogram('pipeline.batch.samples', { unit: '{sample}', description: 'Samples per ClickHouse insert' }),
  };
}

/**
 * What the pipeline and the rules-only stream tap validate with, set up once from the
 * same options: the cardinality limiter, the rejection reporter (one line per reason per
 * interval) and the decode options at a given data "now".
 */
export function createValidation(v: PipelineValidationOptions, log: (line: string) => void): {
  readonly limiter: CardinalityLimiter;
  readonly rejections: ReturnType<typeof createRejectionReporter>;
  decodeOptions(nowMs: number): ToSamplesOptions;
} {
  const limiter = createCardinalityLimiter({
    maxSeriesPerMetric: v.maxSeriesPerMetric ?? VALIDATION_DEFAULTS.maxSeriesPerMetric,
    maxMetricNames: v.maxMetricNames ?? CARDINALITY_DEFAULTS.maxMetricNames,
    maxSeries: v.maxSeries ?? CARDINALITY_DEFAULTS.maxSeries,
    idleMs: v.seriesIdleMs ?? CARDINALITY_DEFAULTS.idleMs,
  });
  const rejections = createRejectionReporter({
    log,
    limits: {
      maxAgeMs: v.maxAgeMs ?? VALIDATION_DEFAULTS.maxAgeMs,
      maxSkewMs: v.maxSkewMs ?? VALIDATION_DEFAULTS.maxSkewMs,
      maxLabelValueLength: v.maxLabelValueLength ?? VALIDATION_DEFAULTS.maxLabelValueLength,
      maxSeriesPerMetric: v.maxSeriesPerMetric ?? VALIDATION_DEFAULTS.maxSeriesPerMetric,
      maxMetricNames: v.maxMetricNames ?? CARDINALITY_DEFAULTS.maxMetricNames,
    },
  });
  const decodeOptions = (nowMs: number): ToSamplesOptions => ({
    nowMs,
    cardinality: limiter,
    ...(v.maxAgeMs !== undefined ? { maxAgeMs: v.maxAgeMs } : {}),
    ...(v.maxSkewMs !== undefined ? { maxSkewMs: v.maxSkewMs } : {}),
    ...(v.maxLabelValueLength !== undefined ? { maxLabelValueLength: v.maxLabelValueLength } : {}),
    ...(v.resourceLabels !== undefined ? { resourceLabels: v.resourceLabels } : {}),
    ...(v.scopeLabels !== undefined ? { scopeLabels: v.scopeLabels } : {}),
  });
  return { limiter, rejections, decodeOptions };
}

/** Builds the pipeline; nothing runs until `start()`. */
export function createPipeline(opts: PipelineOptions): Pipeline {
  const topic = opts.topic ?? TOPICS.metrics;
  const dlqTopic = opts.dlqTopic ?? dlqTopicOf(topic);
  const maxDlqBytes = opts.maxDlqMessageBytes ?? 900 * 1024;
  const dlqRetryMs = opts.dlqRetryMs ?? 60_000;
  const groupId = opts.groupId ?? 'vigie-pipeline';
  const maxBatchSamples = opts.maxBatchSamples ?? 200_000;
  const maxMessageBytes = opts.maxMessageBytes ?? 4 * 1024 * 1024;
  const stopTimeoutMs = opts.stopTimeoutMs ?? 30_000;
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const v = opts.validation ?? {};
  const maxSeries = v.maxSeries ?? CARDINALITY_DEFAULTS.maxSeries;
  const { limiter, rejections, decodeOptions } = createValidation(v, log);
  let rejectionTimer: ReturnType<typeof setInterval> | undefined;
  // The sink's series cache and the counter tracker hold at most what the limiter admits.
  const sink: ClickHouseSink = createClickHouseSink({ client: opts.storage.client, ...(opts.storage.readClient ? { readClient: opts.storage.readClient } : {}), ...(opts.storage.rawInsert ? { rawInsert: opts.storage.rawInsert } : {}), ...(opts.storage.columnarInsert ? { columnarInsert: opts.storage.columnarInsert } : {}), database: opts.storage.database, clock: opts.clock, maxCachedSeries: maxSeries });
  // Counter increases at ingest: last point per series, applied only after an acknowledged
  // insert; a miss (restart, partition moved here) reads the last stored point once.
  const counters = createCounterTracker({ maxSeries: opts.maxCounterSeries ?? maxSeries, lookup: (r) => sink.lastPoints(r) });
  /** Highest offset this process stored per partition: a different watermark means another writer (state is stale). */
  const wroteUpTo = new Map<string, bigint>();
  const listeners = new Set<SamplesListener>();
  const inFlight = new Set<Promise<void>>();

  const s = { messages: 0, samplesStored: 0, dlq: 0, insertErrors: 0, batches: 0, lastError: null as string | null, skippedRedelivered: 0, emptyMessages: 0, dlqFailed: 0 };
  const rejected: Record<string, number> = {};
  let consumer: TransportConsumer | undefined;
  let producer: TransportProducer | undefined;
  let ins: Instruments | undefined;
  let stopping = false;
  let abandoned = false;
  const wakeSleepers = new Set<() => void>();

  /** Backoff sleep that `stop()` can cut short once the stop timeout expired. */
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        wakeSleepers.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      wakeSleepers.add(done);
    });

  /** Retries `fn` on retriable errors until it succeeds or `stop()` abandons the batch. */
  const persist = <T>(what: string, fn: () => Promise<T>): Promise<T> =>
    retry(
      async () => {
        if (abandoned) throw new AbandonedError(`pipeline stopping: ${what} abandoned uncommitted, it will be redelivered`);
        return fn();
      },
      {
        retries: Number.MAX_SAFE_INTEGER,
        initialMs: opts.retry?.initialMs ?? 200,
        maxMs: opts.retry?.maxMs ?? 10_000,
        isRetriable: (e) => !(e instanceof AbandonedError) && (!(e instanceof VigieError) || e.retriable),
        sleep,
        onRetry: (err, attempt, delay) => {
          s.lastError = describeError(err);
          log(`vigie pipeline.retry what="${what}" attempt=${attempt} delay_ms=${delay}: ${s.lastError.replace(/\n/g, ' ')}`);
        },
      },
    );

  const toDlq = (batch: IncomingBatch, m: IncomingMessage, reason: string, detail: string): OutgoingMessage =>
    dlqEnvelope(m, { reason, detail, origin: `${batch.topic}/${batch.partition}/${m.offset}` }, maxDlqBytes);

  /**
   * Sends dead letters without ever blocking the stream for good: an outage is retried
   * for `dlqRetryMs`, a refusal (too large, not authorized) falls back to a header-only
   * envelope, and what still cannot be written is counted, logged and skipped.
   * Returns how many were written.
   */
  const sendDlq = async (out: readonly OutgoingMessage[], what: string): Promise<OutgoingMessage[]> => {
    if (out.length === 0) return [];
    const deadline = Date.now() + dlqRetryMs;
    const trySend = (msgs: readonly OutgoingMessage[]) =>
      retry(
        async () => {
          if (abandoned) throw new AbandonedError(`pipeline stopping: ${what} abandoned uncommitted, it will be redelivered`);
          return producer!.send(dlqTopic, msgs);
        },
        {
          retries: Number.MAX_SAFE_INTEGER,
          initialMs: opts.retry?.initialMs ?? 200,
          maxMs: opts.retry?.maxMs ?? 10_000,
          isRetriable: (e) => !(e instanceof AbandonedError) && Date.now() < deadline && (!(e instanceof VigieError) || e.retriable),
          sleep,
          onRetry: (err, attempt, delay) => {
            s.lastError = describeError(err);
            log(`vigie pipeline.retry what="${what}" attempt=${attempt} delay_ms=${delay}: ${s.lastError.replace(/\n/g, ' ')}`);
          },
        },
      );
    try {
      await trySend(out);
      return [...out];
    } catch (err) {
      if (err instanceof AbandonedError) throw err;
      // One by one, so one refused message does not take the others with it.
      const written: OutgoingMessage[] = [];
      for (const msg of out) {
        try {
          await trySend([msg]);
          written.push(msg);
          continue;
        } catch (e1) {
          if (e1 instanceof AbandonedError) throw e1;
          try {
            // Headers only: the origin header points to the payload in the input topic.
            await trySend([{ ...msg, value: new Uint8Array(0), headers: { ...msg.headers, [HEADERS.truncated]: 'true' } }]);
            written.push(msg);
            continue;
          } catch (e2) {
            if (e2 instanceof AbandonedError) throw e2;
            s.dlqFailed++;
            ins?.dlqFailed.add(1);
            rejections.add({ [MESSAGE_REASONS.dlqFailed]: 1 }, { [MESSAGE_REASONS.dlqFailed]: msg.headers?.[HEADERS.origin] ?? '?' });
            s.lastError = describeError(e2);
            log(
              `vigie pipeline.dlq_failed origin=${msg.headers?.[HEADERS.origin] ?? '?'} reason=${msg.headers?.[HEADERS.reason] ?? '?'}: ` +
                `skipped (not dead-lettered): ${s.lastError.replace(/\n/g, ' ')}`,
            );
          }
        }
      }
      return written;
    }
  };

  const mapping = opts.mapping ?? null;
  const handle = async (batch: IncomingBatch): Promise<void> => {
    if (stopping) throw new UnavailableError('pipeline stopping: batch left uncommitted for redelivery');
    const nowMs = opts.clock();
    const toSamplesOpts = decodeOptions(nowMs);
    // Where ClickHouse stands on this partition, read before every batch: the transport
    // contract has no "partition assigned" signal, and between two batches another
    // member may have stored (and crashed before committing) what we are handed now.
    const wm = await persist(`read of the stored offsets of ${batch.topic}/${batch.partition}`, () =>
      sink.readWatermark(batch.topic, batch.partition),
    );
    const scope = `${batch.topic}/${batch.partition}`;
    if ((wm?.offset ?? null) !== (wroteUpTo.get(scope) ?? null)) {
      // Someone else (another member, or this process before a restart of the group)
      // stored this partition since we last did: our last points may be behind.
      counters.forget(scope);
      wroteUpTo.delete(scope);
    }
    const dlq: OutgoingMessage[] = [];
    const dlqReasons: string[] = [];
    const batchRejected: Record<string, number> = {};
    const batchExamples: Record<string, string> = {};
    let empties = 0;
    let emptyExample: string | undefined;
    const chunks: Chunk[] = [];
    let skipped = 0;
    let cur: Chunk = { messages: [], perMessage: [], samples: 0 };
    const repair: Chunk | undefined =
      wm === null ? undefined : { messages: [], perMessage: [], samples: 0, repairToken: dedupTokenOf(batch.topic, batch.partition, wm.firstOffset, wm.offset) };
    let prevOffset = -1n;
    for (const m of batch.messages) {
      const offset = BigInt(m.offset);
      if (offset <= prevOffset) throw new VigieError(`transport handed ${batch.topic}/${batch.partition} offsets out of order (${prevOffset} then ${offset})`);
      prevOffset = offset;
      // At or below the high-water mark: already stored (and its poison messages already
      // in the DLQ, which is written before the inserts). Not stored again, not tapped.
      const stored = wm !== null && offset <= wm.offset;
      if (stored) skipped++;
      if (stored && offset < wm.firstOffset) continue;
      if (m.value.byteLength > maxMessageBytes) {
        if (stored) continue;
        dlq.push(toDlq(batch, m, DLQ_REASONS.oversized, `message of ${m.value.byteLength} bytes exceeds maxMessageBytes=${maxMessageBytes}`));
        continue;
      }
      let decoded: ToSamplesResult;
      try {
        const all = decodeSamples(m.value, toSamplesOpts);
        decoded = all;
        if (all.empty) {
          // A null/empty value decodes as an empty request: nothing to store, but counted.
          if (!stored) {
            empties++;
            if (emptyExample === undefined) emptyExample = `${batch.topic}/${batch.partition}/${m.offset} (${m.value.byteLength} bytes)`;
          }
          continue;
        }
        if (mapping) decoded = { ...decoded, samples: mapping(decoded.samples) };
      } catch (err) {
        if (stored) continue;
        const reason = err instanceof DecodeError ? err.reason : DLQ_REASONS.malformed;
        dlq.push(toDlq(batch, m, reason, err instanceof Error ? err.message : String(err)));
        continue;
      }
      if (stored) {
        // Inside the last stored insert's range: re-insert it under that insert's token.
        if (decoded.samples.length > 0) addTo(repair!, m, decoded.samples);
        continue;
      }
      mergeCounts(batchRejected, decoded.rejected);
      for (const [r, ex] of Object.entries(decoded.examples)) if (batchExamples[r] === undefined) batchExamples[r] = ex;
      if (decoded.samples.length === 0) continue;
      if (cur.samples > 0 && cur.samples + decoded.samples.length > maxBatchSamples) {
        chunks.push(cur);
        cur = { messages: [], perMessage: [], samples: 0 };
      }
      addTo(cur, m, decoded.samples);
    }
    if (cur.messages.length > 0) chunks.push(cur);
    if (repair && repair.messages.length > 0) chunks.unshift(repair);

    // DLQ before inserts: once the handler resolves the offsets are committed, so every
    // poison message must be safely in the DLQ first.
    for (const w of await sendDlq(dlq, `DLQ send of ${dlq.length} messages`)) dlqReasons.push(w.headers?.[HEADERS.reason] ?? DLQ_REASONS.malformed);

    let stored = 0;
    const storedSamples: Sample[][] = [];
    // Taken off the list as they go: an inserted chunk's decoded samples become garbage
    // while the next chunk is encoded, instead of living until the whole batch is done.
    for (let chunk = chunks.shift(); chunk !== undefined; chunk = chunks.shift()) {
      const first = chunk.messages[0]!.offset;
      const last = chunk.messages[chunk.messages.length - 1]!.offset;
      const dedupToken = chunk.repairToken ?? dedupTokenOf(batch.topic, batch.partition, first, last);
      // Computed once per chunk (a retried insert carries the same increases); a repair
      // reads the points before its range from ClickHouse, never from memory, which may
      // already be past that range.
      const pending = await persist(`counter increases of ${dedupToken}`, () =>
        counters.compute(chunk.perMessage, { scope, fresh: chunk.repairToken !== undefined }),
      );
      const ingest = {
        topic: batch.topic,
        partition: batch.partition,
        messages: chunk.messages.map((m, i) => ({ offset: m.offset, samples: chunk.perMessage[i]!, deltas: pending.deltas[i]! })),
      };
      try {
        // Retried with the same token: an insert whose ack was lost is dropped by ClickHouse.
        const summary = await persist(`insert ${dedupToken}`, async () => {
          try {
            return await sink.insertIngest(ingest, { dedupToken });
          } catch (err) {
            s.insertErrors++;
            ins?.insertErrors.add(1);
            throw err;
          }
        });
        pending.commit();
        const lastOff = BigInt(last);
        if ((wroteUpTo.get(scope) ?? -1n) < lastOff) wroteUpTo.set(scope, lastOff);
        await opts.afterInsert?.({ topic: batch.topic, partition: batch.partition, firstOffset: first, lastOffset: last, repair: chunk.repairToken !== undefined });
        if (chunk.repairToken !== undefined) continue;
        ins?.insertDuration.record(summary.durationMs / 1000);
        ins?.batchSamples.record(chunk.samples);
        stored += chunk.samples;
        if (listeners.size > 0) storedSamples.push(chunk.perMessage.flat());
      } catch (err) {
        if (err instanceof AbandonedError || (err instanceof VigieError && err.retriable)) throw err;
        // ClickHouse refuses the data itself: retrying cannot help, park the messages.
        const detail = describeError(err);
        s.lastError = detail;
        log(`vigie pipeline.insert_rejected token=${dedupToken}: ${detail.replace(/\n/g, ' ')}`);
        const out = chunk.messages.map((m) => toDlq(batch, m, DLQ_REASONS.insertRejected, detail));
        for (const _ of await sendDlq(out, `DLQ send of ${out.length} rejected messages`)) dlqReasons.push(DLQ_REASONS.insertRejected);
      }
    }

    // Committed from here on (the transport commits when we resolve): count, then tap.
    s.batches++;
    s.messages += batch.messages.length;
    s.samplesStored += stored;
    s.skippedRedelivered += skipped;
    s.dlq += dlqReasons.length;
    s.emptyMessages += empties;
    mergeCounts(rejected, batchRejected);
    rejections.add(batchRejected, batchExamples);
    if (empties > 0) rejections.add({ [MESSAGE_REASONS.empty]: empties }, emptyExample !== undefined ? { [MESSAGE_REASONS.empty]: emptyExample } : {});
    if (ins) {
      ins.messages.add(batch.messages.length);
      ins.stored.add(stored);
      if (skipped > 0) ins.skipped.add(skipped);
      if (empties > 0) ins.empty.add(empties);
      for (const r of dlqReasons) ins.dlq.add(1, { reason: r });
      for (const [r, n] of Object.entries(batchRejected)) ins.rejected.add(n, { reason: r });
    }
    for (const samples of storedSamples) {
      for (const l of listeners) {
        try {
          l(samples);
        } catch (err) {
          log(`vigie pipeline.tap_error: ${describeError(err).replace(/\n/g, ' ')}`);
        }
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

  let lagGauge: ObservableGauge | undefined;
  let seriesGauge: ObservableGauge | undefined;
  const observeSeries = (r: ObservableResult): void => {
    const z = limiter.size();
    r.observe(z.series, { kind: 'series' });
    r.observe(z.metrics, { kind: 'metrics' });
  };
  // The scrape reads a value refreshed in the background: a scrape must answer at once
  // even while the broker is away (an unknown lag leaves the point out).
  let lagCached: number | undefined;
  let lagTimer: ReturnType<typeof setInterval> | undefined;
  let lagRefreshing = false;
  let lagging = false;
  const refreshLag = async (): Promise<void> => {
    if (!consumer || lagRefreshing) return;
    lagRefreshing = true;
    try {
      lagCached = await consumer.lag(topic);
      const warn = opts.lagWarnMessages ?? 10_000;
      if (!lagging && lagCached >= warn) {
        lagging = true;
        log(`vigie pipeline.lagging topic=${topic} lag=${lagCached}: ingest is ${lagCached} messages behind the producers`);
      } else if (lagging && lagCached <= warn / 10) {
        lagging = false;
        log(`vigie pipeline.caught_up topic=${topic} lag=${lagCached}`);
      }
    } catch {
      lagCached = undefined;
    } finally {
      lagRefreshing = false;
    }
  };
  const observeLag = (r: ObservableResult): void => {
    if (lagCached !== undefined) r.observe(lagCached, { topic });
  };

  return {
    async start() {
      if (consumer) return;
      stopping = false;
      abandoned = false;
      ins = instruments();
      lagGauge = metrics.getMeter('vigie.pipeline').createObservableGauge('pipeline.consumer.lag', { unit: '{message}', description: 'Messages of the input topic not yet committed by the consumer group' });
      lagGauge.addCallback(observeLag);
      const meter = metrics.getMeter('vigie.pipeline');
      seriesGauge = meter.createObservableGauge('pipeline.cardinality.series', { description: 'Series tracked by the cardinality limiter (bounded by maxSeries)' });
      seriesGauge.addCallback(observeSeries);
      rejectionTimer = setInterval(() => rejections.flush(), opts.rejectionLogIntervalMs ?? 30_000);
      rejectionTimer.unref();
      lagTimer = setInterval(() => void refreshLag(), 5_000);
      lagTimer.unref();
      await opts.transport.ensureTopics([
        { name: topic, partitions: 4 },
        { name: dlqTopic, partitions: 1 },
      ]);
      producer = opts.transport.producer();
      await producer.connect();
      consumer = opts.transport.consumer(groupId);
      await consumer.connect();
      await consumer.run(topic, tracked);
      void refreshLag();
    },
    async stop() {
      if (!consumer) return;
      stopping = true;
      const timer = setTimeout(() => {
        abandoned = true;
        for (const w of [...wakeSleepers]) w();
      }, stopTimeoutMs);
      lagGauge?.removeCallback(observeLag);
      seriesGauge?.removeCallback(observeSeries);
      try {
        await Promise.all([...inFlight]);
        await consumer.disconnect();
        await producer?.disconnect();
      } finally {
        clearTimeout(timer);
        clearInterval(rejectionTimer);
        clearInterval(lagTimer);
        rejections.flush();
        consumer = undefined;
        producer = undefined;
      }
    },
    onSamples(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    stats: () => ({ ...s, rejected: { ...rejected } }),
    lag: async () => (consumer ? consumer.lag(topic) : 0),
    async drained() {
      if (inFlight.size > 0 || !consumer) return inFlight.size === 0 && !consumer;
      return (await consumer.lag(topic)) === 0 && inFlight.size === 0;
    },
  };
}
