/**
 * Kafka implementation of the transport contract, on kafkajs 2.2.4 (checked against
 * Apache Kafka 4.1.1 in KRaft mode). Producers send keyed messages with acks=all;
 * consumers join a group, receive one batch per partition at a time, and commit the
 * batch's offsets only after the handler resolved. A rejected handler leaves the
 * offsets unresolved, so kafkajs fetches the same batch again after a backoff.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { ConnectionOptions } from 'node:tls';
import kafkajs from 'kafkajs';
import type {
  Admin,
  Consumer,
  EachBatchPayload,
  IHeaders,
  KafkaMessage,
  LogEntry,
  Producer,
  SASLOptions,
  logCreator as LogCreator,
} from 'kafkajs';
import { UnavailableError, describeError } from '../core/errors.ts';
import { backoffDelay } from '../core/retry.ts';
import type {
  IncomingBatch,
  IncomingMessage,
  OutgoingMessage,
  ProducerByteCounts,
  ProducerOptions,
  Transport,
  TransportConsumer,
  TransportProducer,
} from './types.ts';

const { Kafka, Partitioners, CompressionTypes, CompressionCodecs, logLevel: KafkaLogLevel } = kafkajs;

/**
 * Compressed bytes per producer. kafkajs gzips each record batch inside `send` and says
 * nothing of the result (its request-size event reports the response), so its built-in
 * GZIP codec is wrapped once to add what it produced to the counters of the send whose
 * async context it runs in. Behaviour is unchanged: same codec, same output.
 */
const compressionScope = new AsyncLocalStorage<{ sentBytes: number }>();
{
  const builtIn = CompressionCodecs[CompressionTypes.GZIP] as () => { compress(e: { buffer: Buffer }): Promise<Buffer>; decompress(b: Buffer): Promise<Buffer> };
  CompressionCodecs[CompressionTypes.GZIP] = () => {
    const codec = builtIn();
    return {
      async compress(encoder: { buffer: Buffer }): Promise<Buffer> {
        const out = await codec.compress(encoder);
        const scope = compressionScope.getStore();
        if (scope) scope.sentBytes += out.length;
        return out;
      },
      decompress: (b: Buffer) => codec.decompress(b),
    };
  };
}

/**
 * kafkajs 2.2.4's request queue arms `setTimeout(…, 0 − now)` when no request is pending;
 * Node ≥ 23 turns each into a TimeoutNegativeWarning on stderr (a 1 ms timer, harmless).
 * Operators should see Vigie's lines, not that: this one warning is dropped, every other
 * warning still goes through.
 */
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const type = typeof rest[0] === 'string' ? rest[0] : (rest[0] as { type?: string } | undefined)?.type;
  if (type === 'TimeoutNegativeWarning') return;
  (emitWarning as (w: string | Error, ...r: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

/** SASL mechanism and credentials. */
export interface KafkaSasl {
  readonly mechanism: 'plain' | 'scram-sha-256' | 'scram-sha-512';
  readonly username: string;
  readonly password: string;
}

/** See `KafkaTransportOptions.maxBytesPerPartition`. */
const DEFAULT_MAX_BYTES_PER_PARTITION = 4 * 1024 * 1024;

/** How much kafkajs may say on stderr. */
export type KafkaLogLevelName = 'nothing' | 'error' | 'warn' | 'info' | 'debug';

/** Options for {@link KafkaTransport}. */
export interface KafkaTransportOptions {
  /** Bootstrap brokers, `host:port` (the PLAINTEXT listener, not the controller's). */
  readonly brokers: readonly string[];
  readonly clientId?: string;
  /** Default `warn`: kafkajs logs every reconnect at info level. */
  readonly logLevel?: KafkaLogLevelName;
  /** TCP connect timeout in ms (default 3000). */
  readonly connectionTimeoutMs?: number;
  /** First delay before a failed batch is redelivered, in ms (default 200, doubling up to 10 s). */
  readonly redeliveryBackoffMs?: number;
  /**
   * Longest time a fetch waits on the broker for new data (default 1000 ms, kafkajs's is
   * 5000). New data is returned at once either way; this bounds how long disconnect()
   * waits for an idle long-poll to come back.
   */
  readonly maxWaitTimeMs?: number;
  /**
   * Partitions whose batches are handled at the same time (default 2; kafkajs
   * `partitionsConsumedConcurrently`): while one partition's batch waits on storage the
   * next one is decoded. Each partition still gets one batch at a time, in order.
   */
  readonly partitionsConsumedConcurrently?: number;
  /**
   * Most bytes one fetch returns per partition (default 4 MiB; kafkajs's is 1 MiB). A
   * partition's batch becomes one insert: at 1 MiB (≈ 30,000 OTLP samples) a catch-up
   * made 2–3× more, smaller inserts than the in-process transport, each with its fixed
   * cost in the storage (parts to write and merge), bench:pipeline.
   */
  readonly maxBytesPerPartition?: number;
  /** TLS options of every broker connection (kafkajs `ssl`). */
  readonly ssl?: ConnectionOptions | boolean;
  /** SASL authentication (kafkajs `sasl`). */
  readonly sasl?: KafkaSasl;
  /** Where Vigie's transport lines go (broker lost / reconnected / client messages); default stderr. */
  readonly log?: (line: string) => void;
  /** Called when a handler rejects (the batch will be redelivered); default logs one line on stderr. */
  readonly onHandlerError?: (err: unknown, batch: { topic: string; partition: number; firstOffset: string; attempt: number }) => void;
}

const LEVELS: Record<KafkaLogLevelName, number> = {
  nothing: KafkaLogLevel.NOTHING,
  error: KafkaLogLevel.ERROR,
  warn: KafkaLogLevel.WARN,
  info: KafkaLogLevel.INFO,
  debug: KafkaLogLevel.DEBUG,
};

/**
 * Transient answers that kafkajs logs at ERROR level while it retries on its own
 * (e.g. the first group join on a fresh broker, before `__consumer_offsets` exists).
 */
const BENIGN = [
  'The group coordinator is not available',
  'This is not the correct coordinator for this group',
  'There is no leader for this topic-partition',
  'The coordinator is loading and hence can\'t process requests',
];

/** Client messages that mean "the broker (or its coordinator) is out of reach", not a bug. */
const CONNECTIVITY = /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|EPIPE|Connection error|Connection timeout|Closed connection|Connection closed|not connected|KafkaJSConnection|Request timed out|timed out|Failed to connect|Restarting the consumer|NumberOfRetriesExceeded|Crash|LEADER_NOT_AVAILABLE|leader is not available|not available|Broker not found|group is rebalancing/i;

/**
 * What kafkajs says, turned into one Vigie line per state change: `broker_lost` when the
 * broker goes out of reach (the client's own retry chatter is muted while it is),
 * `reconnected` when a fetch, send or offset read succeeds again; other client messages
 * once per minute each, with a repeat count. `ok()` is called by the transport on success.
 */
export class KafkaHealth {
  private state: 'unknown' | 'up' | 'lost' = 'unknown';
  private lostAt = 0;
  private muted = 0;
  private readonly lastSaid = new Map<string, { at: number; repeats: number }>();
  private readonly brokers: string;
  private readonly write: (line: string) => void;
  private readonly now: () => number;
  private readonly repeatMs: number;

  constructor(opts: { readonly brokers: readonly string[]; readonly log?: (line: string) => void; readonly now?: () => number; readonly repeatMs?: number }) {
    this.brokers = opts.brokers.join(',');
    this.write = opts.log ?? ((l) => process.stderr.write(l + '\n'));
    this.now = opts.now ?? Date.now;
    this.repeatMs = opts.repeatMs ?? 60_000;
  }

  /** True while the broker is out of reach. */
  get lost(): boolean {
    return this.state === 'lost';
  }

  /** A round trip with the broker succeeded. */
  ok(): void {
    if (this.state === 'lost') {
      const s = ((this.now() - this.lostAt) / 1000).toFixed(1);
      this.write(`vigie transport.kafka.reconnected brokers=${this.brokers}: back after ${s} s (${this.muted} client messages muted meanwhile)`);
    }
    this.state = 'up';
    this.muted = 0;
  }

  /** One kafkajs log entry. */
  onClientLog(label: string, namespace: string, message: string, error: string): void {
    if (BENIGN.some((b) => error.includes(b) || message.includes(b))) return;
    const text = error ? `${message}: ${error}` : message;
    if (this.state === 'lost') {
      this.muted++;
      return;
    }
    if (CONNECTIVITY.test(text)) {
      this.state = 'lost';
      this.lostAt = this.now();
      this.muted = 0;
      this.write(`vigie transport.kafka.broker_lost brokers=${this.brokers}: ${text}; retrying, client messages muted until it is back`);
      return;
    }
    const key = `${namespace}|${message}`;
    const prev = this.lastSaid.get(key);
    const t = this.now();
    if (prev && t - prev.at < this.repeatMs) {
      prev.repeats++;
      return;
    }
    const again = prev && prev.repeats > 0 ? ` (${prev.repeats} more like it in the last ${this.repeatMs / 1000} s)` : '';
    this.lastSaid.set(key, { at: t, repeats: 0 });
    this.write(`vigie transport.kafka.client ${label} [${namespace}] ${text}${again}`);
  }

  /** A kafkajs `logCreator` feeding {@link onClientLog}. */
  logCreator(): LogCreator {
    return () => (entry: LogEntry) => {
      const log = entry.log as unknown as Record<string, unknown> & { message: string };
      const error = typeof log['error'] === 'string' ? log['error'] : '';
      this.onClientLog(entry.label, entry.namespace, String(log.message), error);
    };
  }
}

/** Kafka header values arrive as Buffer, string or arrays of them; the last value wins. */
function decodeHeaders(headers: IHeaders | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!headers) return out;
  for (const [k, v] of Object.entries(headers)) {
    const last = Array.isArray(v) ? v[v.length - 1] : v;
    if (last === undefined) continue;
    out[k] = typeof last === 'string' ? last : last.toString('utf8');
  }
  return out;
}

/** A kafkajs message as the transport contract's message (key and header values as UTF-8 strings). */
export function toIncomingMessage(m: KafkaMessage): IncomingMessage {
  return {
    key: m.key ? m.key.toString('utf8') : null,
    value: m.value ? new Uint8Array(m.value.buffer, m.value.byteOffset, m.value.byteLength) : new Uint8Array(0),
    headers: decodeHeaders(m.headers),
    offset: m.offset,
    timestampMs: Number(m.timestamp),
  };
}

function sleepUnless(ms: number, stopped: () => boolean): Promise<void> {
  return new Promise((resolve) => {
    const started = Date.now();
    const tick = () => {
      if (stopped() || Date.now() - started >= ms) resolve();
      else setTimeout(tick, Math.min(50, ms));
    };
    tick();
  });
}

/** A transport on a Kafka cluster. */
export class KafkaTransport implements Transport {
  readonly kind = 'kafka' as const;
  readonly brokers: readonly string[];
  private readonly kafka: InstanceType<typeof Kafka>;
  private readonly opts: KafkaTransportOptions;
  /** Broker reachability as the operator sees it (one line per change). */
  readonly health: KafkaHealth;

  constructor(opts: KafkaTransportOptions) {
    if (opts.brokers.length === 0) throw new UnavailableError('KafkaTransport needs at least one broker (host:port)', { retriable: false });
    this.opts = opts;
    this.brokers = opts.brokers;
    this.health = new KafkaHealth({ brokers: opts.brokers, ...(opts.log ? { log: opts.log } : {}) });
    this.kafka = new Kafka({
      clientId: opts.clientId ?? 'vigie',
      brokers: [...opts.brokers],
      connectionTimeout: opts.connectionTimeoutMs ?? 3_000,
      ...(opts.ssl !== undefined ? { ssl: opts.ssl } : {}),
      ...(opts.sasl !== undefined ? { sasl: { ...opts.sasl } as SASLOptions } : {}),
      logLevel: LEVELS[opts.logLevel ?? 'warn'],
      logCreator: this.health.logCreator(),
    });
  }

  /** A producer; call `connect()` before `send()`. */
  producer(opts: ProducerOptions = {}): TransportProducer {
    return new KafkaProducer(this.kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: true }), this.brokers, this.health, opts);
  }

  /** A consumer in group `groupId`; a new group starts from the beginning of the topic. */
  consumer(groupId: string): KafkaConsumer {
    return new KafkaConsumer(this.kafka, groupId, this.opts, this.health);
  }

  /** Creates the topics that do not exist yet; existing topics are left as they are. */
  async ensureTopics(topics: readonly { name: string; partitions: number }[]): Promise<void> {
    await withAdmin(this.kafka, this.brokers, async (admin) => {
      const existing = new Set(await admin.listTopics());
      const missing = topics.filter((t) => !existing.has(t.name));
      if (missing.length === 0) return;
      try {
        await admin.createTopics({
          topics: missing.map((t) => ({ topic: t.name, numPartitions: t.partitions })),
          waitForLeaders: true,
        });
      } catch (err) {
        // Another process may have created them in between.
        if (!describeError(err).includes('already exists')) throw err;
      }
    });
  }

  /** Members of a consumer group now (0 when it has none or does not exist). */
  async groupMembers(groupId: string): Promise<number> {
    return withAdmin(this.kafka, this.brokers, async (admin) => {
      const { groups } = await admin.describeGroups([groupId]);
      return groups[0]?.members.length ?? 0;
    });
  }

  /** Connects an admin client and lists topics: a readiness probe. */
  async ping(): Promise<void> {
    await withAdmin(this.kafka, this.brokers, async (admin) => {
      await admin.listTopics();
    });
  }
}

async function withAdmin<T>(kafka: InstanceType<typeof Kafka>, brokers: readonly string[], fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = kafka.admin();
  try {
    await admin.connect();
  } catch (err) {
    throw new UnavailableError(`cannot connect to Kafka at ${brokers.join(',')}: is the broker running?`, { cause: err });
  }
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

/**
 * The broker's refusal that no retry can fix (a protocol error kafkajs marks
 * non-retriable: MESSAGE_TOO_LARGE, RECORD_LIST_TOO_LARGE, TOPIC_AUTHORIZATION_FAILED…),
 * as its type name; undefined for outages and timeouts, which may heal.
 */
export function permanentKafkaError(err: unknown): string | undefined {
  let cur: unknown = err;
  for (let depth = 0; cur instanceof Error && depth < 6; depth++) {
    const e = cur as Error & { retriable?: boolean; type?: string };
    if (e.name === 'KafkaJSProtocolError' && e.retriable === false) return e.type ?? e.message;
    cur = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/**
 * Producer with acks=all; resolves once every message of the call is acknowledged. With
 * `compression: 'gzip'` kafkajs compresses each record batch (built in, no codec to
 * install). Bytes are counted on both sides: message keys and values as handed in, and
 * the compressed record batches (the messages' bytes when uncompressed), so the saving
 * is measured, not assumed.
 */
class KafkaProducer implements TransportProducer {
  private readonly producer: Producer;
  private readonly brokers: readonly string[];
  private readonly health: KafkaHealth | undefined;
  private readonly compression: number | undefined;
  private messageBytes = 0;
  private readonly compressed = { sentBytes: 0 };
  constructor(producer: Producer, brokers: readonly string[], health?: KafkaHealth, opts: ProducerOptions = {}) {
    this.producer = producer;
    this.brokers = brokers;
    this.health = health;
    this.compression = opts.compression === 'gzip' ? CompressionTypes.GZIP : undefined;
  }

  byteCounts(): ProducerByteCounts {
    return { messageBytes: this.messageBytes, sentBytes: this.compression === undefined ? this.messageBytes : this.compressed.sentBytes };
  }

  async connect(): Promise<void> {
    try {
      await this.producer.connect();
    } catch (err) {
      throw new UnavailableError(`Kafka producer cannot connect to ${this.brokers.join(',')}`, { cause: err });
    }
  }

  async send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (messages.length === 0) return;
    try {
      const record = {
        topic,
        acks: -1,
        ...(this.compression !== undefined ? { compression: this.compression } : {}),
        messages: messages.map((m) => ({
          key: m.key,
          value: Buffer.from(m.value.buffer, m.value.byteOffset, m.value.byteLength),
          ...(m.headers ? { headers: { ...m.headers } } : {}),
        })),
      };
      await compressionScope.run(this.compressed, () => this.producer.send(record));
      this.health?.ok();
      for (const m of messages) this.messageBytes += m.value.byteLength + Buffer.byteLength(m.key);
    } catch (err) {
      const permanent = permanentKafkaError(err);
      throw new UnavailableError(
        `Kafka send to topic ${topic} failed (${messages.length} messages)${permanent ? `: the broker refuses it for good (${permanent})` : ''}`,
        { cause: err, retriable: permanent === undefined },
      );
    }
  }

  async disconnect(): Promise<void> {
    await this.producer.disconnect();
  }
}

/** A consumer group member; see the module comment for the commit/redelivery rules. */
export class KafkaConsumer implements TransportConsumer {
  private readonly consumer: Consumer;
  private readonly admin: Admin;
  private stopping = false;
  /** Redelivery attempts per `topic/partition/firstOffset`, for the backoff. */
  private readonly attempts = new Map<string, number>();

  readonly groupId: string;
  private readonly opts: KafkaTransportOptions;
  private readonly health: KafkaHealth | undefined;
  constructor(
    kafka: InstanceType<typeof Kafka>,
    groupId: string,
    opts: KafkaTransportOptions,
    health?: KafkaHealth,
  ) {
    this.groupId = groupId;
    this.opts = opts;
    this.health = health;
    // Heartbeats must go on while a long handler runs, so they are sent from a timer too.
    this.consumer = kafka.consumer({ groupId, allowAutoTopicCreation: true, sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: opts.maxWaitTimeMs ?? 1_000,
      maxBytesPerPartition: opts.maxBytesPerPartition ?? DEFAULT_MAX_BYTES_PER_PARTITION,
    });
    this.admin = kafka.admin();
    const ok = () => this.health?.ok();
    this.consumer.on(this.consumer.events.FETCH, ok);
    this.consumer.on(this.consumer.events.GROUP_JOIN, ok);
  }

  async connect(): Promise<void> {
    try {
      await this.consumer.connect();
      await this.admin.connect();
    } catch (err) {
      throw new UnavailableError(`Kafka consumer (group ${this.groupId}) cannot connect to ${this.opts.brokers.join(',')}`, { cause: err });
    }
  }

  /** Subscribes and starts the consumer loop; resolves once the loop is started. */
  async run(topic: string, handler: (batch: IncomingBatch) => Promise<void>): Promise<void> {
    await this.consumer.subscribe({ topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently ?? 2,
      eachBatch: (payload) => this.onBatch(payload, handler),
    });
  }

  private async onBatch(payload: EachBatchPayload, handler: (batch: IncomingBatch) => Promise<void>): Promise<void> {
    const { batch } = payload;
    if (batch.isEmpty() || this.stopping) return;
    const first = batch.firstOffset() ?? batch.messages[0]?.offset ?? '0';
    const key = `${batch.topic}/${batch.partition}/${first}`;
    const incoming: IncomingBatch = { topic: batch.topic, partition: batch.partition, messages: batch.messages.map(toIncomingMessage) };
    const beat = setInterval(() => {
      payload.heartbeat().catch(() => undefined);
    }, 3_000);
    try {
      await handler(incoming);
    } catch (err) {
      // Not resolved, not committed: kafkajs fetches from the same offset next time.
      const attempt = (this.attempts.get(key) ?? 0) + 1;
      this.attempts.set(key, attempt);
      const report = this.opts.onHandlerError ?? defaultHandlerError;
      report(err, { topic: batch.topic, partition: batch.partition, firstOffset: first, attempt });
      await sleepUnless(backoffDelay(attempt - 1, this.opts.redeliveryBackoffMs ?? 200, 10_000), () => this.stopping || !payload.isRunning());
      return;
    } finally {
      clearInterval(beat);
    }
    this.attempts.delete(key);
    const next = (BigInt(batch.lastOffset()) + 1n).toString();
    // A commit failure (e.g. a rebalance) is a kafkajs error: rethrow so kafkajs rejoins;
    // the offsets stay unresolved and the batch is redelivered to whoever owns it next.
    await payload.commitOffsetsIfNecessary({ topics: [{ topic: batch.topic, partitions: [{ partition: batch.partition, offset: next }] }] });
    payload.resolveOffset(batch.lastOffset());
  }

  /** Produced minus committed messages for this group, summed over the topic's partitions. */
  async lag(topic: string): Promise<number> {
    const [ends, committed] = await Promise.all([
      this.admin.fetchTopicOffsets(topic),
      this.admin.fetchOffsets({ groupId: this.groupId, topics: [topic] }),
    ]);
    this.health?.ok();
    const byPartition = new Map<number, string>();
    for (const t of committed) for (const p of t.partitions) byPartition.set(p.partition, p.offset);
    let lag = 0n;
    for (const p of ends) {
      const c = byPartition.get(p.partition);
      const from = c === undefined || c === '-1' ? BigInt(p.low) : BigInt(c);
      const d = BigInt(p.high) - from;
      if (d > 0n) lag += d;
    }
    return Number(lag);
  }

  /** Leaves the group after the in-flight batch (a pending redelivery backoff is cut short). */
  async disconnect(): Promise<void> {
    this.stopping = true;
    await this.consumer.disconnect();
    await this.admin.disconnect().catch(() => undefined);
  }
}

function defaultHandlerError(err: unknown, b: { topic: string; partition: number; firstOffset: string; attempt: number }): void {
  process.stderr.write(
    `vigie transport.kafka.redeliver topic=${b.topic} partition=${b.partition} offset=${b.firstOffset} attempt=${b.attempt}: ${describeError(err).replace(/\n/g, ' ')}\n`,
  );
}
