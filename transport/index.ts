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
import { readFileSync } from 'node:fs';
import type { ConnectionOptions } from 'node:tls';
import { ConfigError } from '../core/errors.ts';
import { InProcessTransport } from './inprocess.ts';
import { KafkaTransport, type KafkaSasl } from './kafka.ts';
import type { Transport } from './types.ts';

export { HEADERS, PRODUCER_COMPRESSIONS, TOPICS, dlqTopicOf } from './types.ts';
export type {
  IncomingBatch,
  IncomingMessage,
  OutgoingMessage,
  ProducerByteCounts,
  ProducerCompression,
  ProducerOptions,
  Transport,
  TransportConsumer,
  TransportProducer,
} from './types.ts';
export { KafkaConsumer, KafkaHealth, KafkaTransport, permanentKafkaError, toIncomingMessage } from './kafka.ts';
export type { KafkaLogLevelName, KafkaSasl, KafkaTransportOptions } from './kafka.ts';
export { InProcessConsumer, InProcessTransport, murmur2, partitionForKey } from './inprocess.ts';
export type { InProcessTransportOptions } from './inprocess.ts';

/** TLS settings as the config file states them (file paths). */
export interface KafkaTlsFiles {
  readonly caFile?: string | undefined;
  readonly certFile?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly servername?: string | undefined;
}

/** SASL settings as the config file states them; the password may come from the environment. */
export interface KafkaSaslInput {
  readonly mechanism: KafkaSasl['mechanism'];
  readonly username: string;
  readonly password?: string | undefined;
}

/** Options for {@link createTransport}. */
export interface CreateTransportOptions {
  /** Kafka bootstrap brokers (`host:port`); none or empty means the in-process transport. */
  readonly kafkaBrokers?: readonly string[];
  readonly clientId?: string;
  readonly tls?: KafkaTlsFiles | undefined;
  readonly sasl?: KafkaSaslInput | undefined;
  /** Where transport lines go (default stderr). */
  readonly log?: (line: string) => void;
  /** Environment for `VIGIE_KAFKA_PASSWORD` (default `process.env`). */
  readonly env?: NodeJS.ProcessEnv;
}

function readPem(what: string, file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`kafka.tls.${what}: cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
}

/** kafkajs `ssl` options from file paths; errors name the key and the file. */
export function kafkaTlsOptions(tls: KafkaTlsFiles): ConnectionOptions {
  if ((tls.certFile === undefined) !== (tls.keyFile === undefined)) {
    throw new ConfigError('kafka.tls: certFile and keyFile go together (mutual TLS needs both)');
  }
  return {
    ...(tls.caFile !== undefined ? { ca: [readPem('caFile', tls.caFile)] } : {}),
    ...(tls.certFile !== undefined ? { cert: readPem('certFile', tls.certFile) } : {}),
    ...(tls.keyFile !== undefined ? { key: readPem('keyFile', tls.keyFile) } : {}),
    ...(tls.servername !== undefined ? { servername: tls.servername } : {}),
  };
}

/** SASL credentials with the password from the file or `VIGIE_KAFKA_PASSWORD` (the environment wins). */
export function kafkaSaslOptions(sasl: KafkaSaslInput, env: NodeJS.ProcessEnv = process.env): KafkaSasl {
  const password = env['VIGIE_KAFKA_PASSWORD'] ?? sasl.password;
  if (password === undefined) throw new ConfigError(`kafka.sasl: no password for user ${sasl.username}; set kafka.sasl.password or VIGIE_KAFKA_PASSWORD`);
  return { mechanism: sasl.mechanism, username: sasl.username, password };
}

/** Kafka when brokers are given, else the in-process transport of the embedded mode. */
export function createTransport(opts: CreateTransportOptions = {}): Transport {
  const brokers = (opts.kafkaBrokers ?? []).map((b) => b.trim()).filter((b) => b.length > 0);
  if (brokers.length > 0) {
    return new KafkaTransport({
      brokers,
      ...(opts.clientId ? { clientId: opts.clientId } : {}),
      ...(opts.tls !== undefined ? { ssl: kafkaTlsOptions(opts.tls) } : {}),
      ...(opts.sasl !== undefined ? { sasl: kafkaSaslOptions(opts.sasl, opts.env) } : {}),
      ...(opts.log ? { log: opts.log } : {}),
    });
  }
  return new InProcessTransport();
}
