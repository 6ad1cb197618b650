/**
 * The transport contract shared by collectors (producers) and the pipeline (consumer
 * group). Two implementations: Kafka (kafkajs) and in-process (embedded mode). Both
 * carry the same bytes: one serialized OTLP ExportMetricsServiceRequest per message.
 */

/** Default topic names (the OpenTelemetry Collector Kafka exporter's default, plus DLQ). */
export const TOPICS = {
  metrics: 'otlp_metrics',
  dlq: 'otlp_metrics.dlq',
} as const;

/** The dead-letter topic of an input topic: `<topic>.dlq`, the one naming rule every entry point uses. */
export function dlqTopicOf(topic: string): string {
  return `${topic}.dlq`;
}

/** Header names Vigie sets on messages. */
export const HEADERS = {
  /** Why a message went to the DLQ (a short reason code). */
  reason: 'vigie.reason',
  /** Human-readable detail of the DLQ reason. */
  detail: 'vigie.detail',
  /** Where the DLQ message came from: `topic/partition/offset`. */
  origin: 'vigie.origin',
  /** Size in bytes of the original message value (the DLQ copy may be truncated). */
  originalBytes: 'vigie.original.bytes',
  /** `true` when the DLQ value is only the first bytes of the original (the origin header points to the rest). */
  truncated: 'vigie.truncated',
} as const;

/** A message to produce. `key` identifies the resource (service + host) for ordering. */
export interface OutgoingMessage {
  readonly key: string;
  readonly value: Uint8Array;
  readonly headers?: Readonly<Record<string, string>>;
}

/** A consumed message with its position. */
export interface IncomingMessage {
  readonly key: string | null;
  readonly value: Uint8Array;
  readonly headers: Readonly<Record<string, string>>;
  /** Offset as a decimal string (Kafka offsets are int64). */
  readonly offset: string;
  readonly timestampMs: number;
}

/** A batch of consecutive messages from one partition. */
export interface IncomingBatch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly IncomingMessage[];
}

/**
 * Produces messages; resolves once the transport acknowledged them (acks=all on Kafka).
 * A send the broker refuses for good (too large, not authorized) rejects with a
 * non-retriable `VigieError`; an outage rejects with a retriable one.
 */
export interface TransportProducer {
  connect(): Promise<void>;
  send(topic: string, messages: readonly OutgoingMessage[]): Promise<void>;
  disconnect(): Promise<void>;
  /** Bytes handed to `send` (keys and values) and bytes sent for them after compression, when the transport knows. */
  byteCounts?(): ProducerByteCounts;
}

/** Compression of produced batches (Kafka record-batch compression; consumers decompress transparently). */
export const PRODUCER_COMPRESSIONS = ['none', 'gzip'] as const;
/** One of {@link PRODUCER_COMPRESSIONS}. */
export type ProducerCompression = (typeof PRODUCER_COMPRESSIONS)[number];

/** Options of a producer. */
export interface ProducerOptions {
  /** Default `none`. */
  readonly compression?: ProducerCompression;
}

/** What compression saved: message bytes (keys and values) before, record-batch bytes sent after. */
export interface ProducerByteCounts {
  readonly messageBytes: number;
  readonly sentBytes: number;
}

/**
 * Consumes a topic as a member of a consumer group. The handler is called with one
 * batch at a time per partition; the batch's offsets are committed only after the
 * handler's promise resolves. A rejected handler means: do not commit, redeliver.
 */
export interface TransportConsumer {
  connect(): Promise<void>;
  run(topic: string, handler: (batch: IncomingBatch) => Promise<void>): Promise<void>;
  /** Messages produced but not yet committed for the group (consumer lag), summed over partitions. */
  lag(topic: string): Promise<number>;
  disconnect(): Promise<void>;
}

/** A transport: a way to make producers and consumers on one backend. */
export interface Transport {
  readonly kind: 'kafka' | 'inprocess';
  producer(opts?: ProducerOptions): TransportProducer;
  consumer(groupId: string): TransportConsumer;
  /** Creates topics if missing (no-op in-process). */
  ensureTopics(topics: readonly { name: string; partitions: number }[]): Promise<void>;
  /** Members of a consumer group now (Kafka; absent in-process, where one process is the group). */
  groupMembers?(groupId: string): Promise<number>;
}
