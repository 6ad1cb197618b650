/**
 * Transport: the contract between the collectors (which produce) and the pipeline
 * (a consumer group), shared by both and owned by neither.
 *
 * In: serialized OTLP `ExportMetricsServiceRequest` messages, keyed by resource
 * (service + host) so one resource's points stay ordered in one partition.
 * Out: batches of those messages, one partition at a time, to a consumer group whose
 * offsets are committed only after its handler resolved (at-least-once delivery).
 *
 * Two implementations with the same semantics: Kafka (kafkajs, production and the
 * integration tests) and in-process (embedded mode, one process runs everything).
 */
import { InProcessTransport } from './inprocess.ts';
import { KafkaTransport } from './kafka.ts';
import type { Transport } from './types.ts';

export { HEADERS, TOPICS, dlqTopicOf } from './types.ts';
export type {
  IncomingBatch,
  IncomingMessage,
  OutgoingMessage,
  Transport,
  TransportConsumer,
  TransportProducer,
} from './types.ts';
export { KafkaConsumer, KafkaHealth, KafkaTransport, permanentKafkaError, toIncomingMessage } from './kafka.ts';
export type { KafkaLogLevelName, KafkaTransportOptions } from './kafka.ts';
export { InProcessConsumer, InProcessTransport, murmur2, partitionForKey } from './inprocess.ts';
export type { InProcessTransportOptions } from './inprocess.ts';

/** Options for {@link createTransport}. */
export interface CreateTransportOptions {
  /** Kafka bootstrap brokers (`host:port`); none or empty means the in-process transport. */
  readonly kafkaBrokers?: readonly string[];
  readonly clientId?: string;
}

/** Kafka when brokers are given, else the in-process transport of the embedded mode. */
export function createTransport(opts: CreateTransportOptions = {}): Transport {
  const brokers = (opts.kafkaBrokers ?? []).map((b) => b.trim()).filter((b) => b.length > 0);
  if (brokers.length > 0) {
    return new KafkaTransport({ brokers, ...(opts.clientId ? { clientId: opts.clientId } : {}) });
  }
  return new InProcessTransport();
}
