/**
 * In-process implementation of the transport contract, for the embedded mode (one
 * process runs the whole chain). It keeps Kafka's semantics that the stages rely on:
 * topics with N partitions chosen by the key's murmur2 hash (the same partition Kafka's
 * default partitioner picks), append-only logs, per-group committed offsets, one batch
 * per partition at a time, commit only after the handler resolved, redelivery of the
 * same batch after a backoff when it rejected. Nothing is persisted.
 *
 * Retention: a message is dropped once every group that has joined its topic (run a
 * consumer on it) has committed past it, so memory follows the backlog, not the history
 * (an embedded `vigie ingest` runs for days). A group that joins later starts at the
 * earliest message still held, as a Kafka group with `fromBeginning` starts at the
 * log's start after retention deleted older segments. Topics no group has joined yet
 * (a DLQ nobody reads) keep everything, so nothing is lost before its reader comes.
 */
import { UnavailableError, describeError } from '../core/errors.ts';
import { backoffDelay } from '../core/retry.ts';
import type {
  IncomingBatch,
  IncomingMessage,
  OutgoingMessage,
  Transport,
  TransportConsumer,
  TransportProducer,
} from './types.ts';

/** Options for {@link InProcessTransport}. */
export interface InProcessTransportOptions {
  /** Partitions of a topic created implicitly by a send or a subscribe (default 4, like the dev broker). */
  readonly defaultPartitions?: number;
  /**
   * Most messages handed to a handler in one batch (default 1000, ≈ 5 MB of OTLP: about
   * what one Kafka fetch returns per partition). A batch is one storage insert, and each
   * insert has a fixed cost (parts to write and merge): 500 made 12 inserts of the
   * benchmark hour instead of 7, for ~13 % more CPU (bench:pipeline).
   */
  readonly maxBatchSize?: number;
  /** Partitions whose batches one consumer handles at the same time (default 2, one batch per partition at a time). */
  readonly partitionsConsumedConcurrently?: number;
  /** First delay before a failed batch is redelivered, in ms (default 50, doubling up to 5 s). */
  readonly redeliveryBackoffMs?: number;
  /** Called when a handler rejects (the batch will be redelivered); default logs one line on stderr. */
  readonly onHandlerError?: (err: unknown, batch: { topic: string; partition: number; firstOffset: string; attempt: number }) => void;
}

/**
 * Kafka's murmur2 (the Java client's `Utils.murmur2`, also kafkajs's default
 * partitioner), so a key lands on the same partition number in both transports.
 */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const len = data.length;
  let h = 0x9747b28c ^ len;
  const whole = len - (len % 4);
  for (let i = 0; i < whole; i += 4) {
    let k = (data[i]! & 0xff) | ((data[i + 1]! & 0xff) << 8) | ((data[i + 2]! & 0xff) << 16) | ((data[i + 3]! & 0xff) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m);
    h ^= k;
  }
  const rest = len % 4;
  if (rest === 3) h ^= (data[whole + 2]! & 0xff) << 16;
  if (rest >= 2) h ^= (data[whole + 1]! & 0xff) << 8;
  if (rest >= 1) {
    h ^= data[whole]! & 0xff;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** The partition for `key` among `partitions` (Kafka's `toPositive(murmur2(key)) % n`). */
export function partitionForKey(key: string, partitions: number): number {
  return (murmur2(Buffer.from(key, 'utf8')) & 0x7fffffff) % partitions;
}

/** One partition's retained messages; `messages[i]` has offset `base + i`. */
interface PartitionLog {
  base: number;
  messages: IncomingMessage[];
}

interface TopicLog {
  readonly partitions: PartitionLog[];
  /** Groups that have run a consumer on this topic: retention waits for each of them. */
  readonly joined: Set<string>;
}

interface GroupState {
  /** Committed offset (next offset to consume) per topic, per partition. */
  readonly committed: Map<string, number[]>;
  /** Members in join order; partition p belongs to members[p % members.length]. */
  readonly members: InProcessConsumer[];
  /** `topic/partition` being handled: during a reassignment two members never hold one partition. */
  readonly inFlight: Set<string>;
}

interface DrainWaiter {
  readonly groupId: string;
  readonly topic: string;
  readonly resolve: () => void;
}

/** A transport inside this process: producers and consumers share its memory. */
export class InProcessTransport implements Transport {
  readonly kind = 'inprocess' as const;
  private readonly topics = new Map<string, TopicLog>();
  private readonly groups = new Map<string, GroupState>();
  private drainWaiters: DrainWaiter[] = [];
  /** Woken on every send and commit, so idle consumer loops need no polling. */
  private wakeups: (() => void)[] = [];
  readonly options: Required<Omit<InProcessTransportOptions, 'onHandlerError'>> & Pick<InProcessTransportOptions, 'onHandlerError'>;

  constructor(options: InProcessTransportOptions = {}) {
    this.options = {
      defaultPartitions: options.defaultPartitions ?? 4,
      maxBatchSize: options.maxBatchSize ?? 1000,
      partitionsConsumedConcurrently: options.partitionsConsumedConcurrently ?? 2,
      redeliveryBackoffMs: options.redeliveryBackoffMs ?? 50,
      onHandlerError: options.onHandlerError,
    };
  }

  producer(): TransportProducer {
    return new InProcessProducer(this);
  }

  consumer(groupId: string): InProcessConsumer {
    return new InProcessConsumer(this, groupId);
  }

  /** Creates missing topics with the given partition counts; existing topics are kept. */
  async ensureTopics(topics: readonly { name: string; partitions: number }[]): Promise<void> {
    for (const t of topics) this.topic(t.name, t.partitions);
  }

  /** Messages produced to `topic` and not yet committed by `groupId`. */
  lag(groupId: string, topic: string): number {
    const log = this.topics.get(topic);
    if (!log) return 0;
    const committed = this.committed(groupId, topic);
    let lag = 0;
    log.partitions.forEach((p, i) => {
      lag += p.base + p.messages.length - Math.max(committed[i] ?? 0, p.base);
    });
    return lag;
  }

  /**
   * Resolves once `groupId` has committed everything produced to `topic` so far (or
   * later, if more is produced meanwhile). Rejects after `timeoutMs` with the lag left.
   */
  drained(groupId: string, topic: string, timeoutMs = 30_000): Promise<void> {
    if (this.lag(groupId, topic) === 0) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const waiter: DrainWaiter = {
        groupId,
        topic,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        this.drainWaiters = this.drainWaiters.filter((w) => w !== waiter);
        reject(new UnavailableError(`group ${groupId} did not drain topic ${topic} within ${timeoutMs} ms (lag ${this.lag(groupId, topic)})`, { retriable: false }));
      }, timeoutMs);
      this.drainWaiters.push(waiter);
    });
  }

  // --- internals shared with the producer and consumer classes ---------------------

  /** @internal The log of `name`, created with `partitions` (or the default) if missing. */
  topic(name: string, partitions?: number): TopicLog {
    let log = this.topics.get(name);
    if (!log) {
      const n = partitions ?? this.options.defaultPartitions;
      if (!Number.isInteger(n) || n < 1) throw new UnavailableError(`topic ${name}: partitions must be a positive integer, got ${n}`, { retriable: false });
      log = { partitions: Array.from({ length: n }, () => ({ base: 0, messages: [] })), joined: new Set() };
      this.topics.set(name, log);
    }
    return log;
  }

  /** @internal */
  append(topic: string, messages: readonly OutgoingMessage[]): void {
    const log = this.topic(topic);
    const now = Date.now();
    for (const m of messages) {
      const p = log.partitions[partitionForKey(m.key, log.partitions.length)]!;
      p.messages.push({
        key: m.key,
        value: m.value.slice(),
        headers: { ...(m.headers ?? {}) },
        offset: String(p.base + p.messages.length),
        timestampMs: now,
      });
    }
    this.wake();
  }

  /** @internal */
  group(groupId: string): GroupState {
    let g = this.groups.get(groupId);
    if (!g) {
      g = { committed: new Map(), members: [], inFlight: new Set() };
      this.groups.set(groupId, g);
    }
    return g;
  }

  /** @internal Committed offsets of a group on a topic (a new group starts at 0: from the beginning). */
  committed(groupId: string, topic: string): number[] {
    const g = this.group(groupId);
    let c = g.committed.get(topic);
    const n = this.topic(topic).partitions.length;
    if (!c) {
      c = new Array<number>(n).fill(0);
      g.committed.set(topic, c);
    }
    return c;
  }

  /** @internal */
  commit(groupId: string, topic: string, partition: number, next: number): void {
    const c = this.committed(groupId, topic);
    if ((c[partition] ?? 0) < next) c[partition] = next;
    this.trim(topic, partition);
    this.drainWaiters = this.drainWaiters.filter((w) => {
      if (w.groupId === groupId && w.topic === topic && this.lag(groupId, topic) === 0) {
        w.resolve();
        return false;
      }
      return true;
    });
    this.wake();
  }

  /**
   * Drops the head of a partition that every joined group has committed. Done only when
   * at least half the held messages can go, so a long backlog is not copied on every
   * commit (amortised O(1) per message; at most twice the backlog is held).
   */
  private trim(topic: string, partition: number): void {
    const log = this.topic(topic);
    const p = log.partitions[partition]!;
    let low = Infinity;
    for (const groupId of log.joined) low = Math.min(low, this.committed(groupId, topic)[partition] ?? 0);
    const drop = Math.min(low, p.base + p.messages.length) - p.base;
    if (!Number.isFinite(drop) || drop <= 0 || drop * 2 < p.messages.length) return;
    // A new array: a batch in flight holds its own slice, so nothing it reads moves.
    p.messages = p.messages.slice(drop);
    p.base += drop;
  }

  /** @internal Resolves on the next send or commit, or after `ms`. */
  waitForChange(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        const i = this.wakeups.indexOf(done);
        if (i >= 0) this.wakeups.splice(i, 1);
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeups.push(done);
    });
  }

  /** @internal */
  wake(): void {
    const w = this.wakeups;
    this.wakeups = [];
    for (const f of w) f();
  }
}

class InProcessProducer implements TransportProducer {
  private connected = false;
  private readonly transport: InProcessTransport;
  constructor(transport: InProcessTransport) {
    this.transport = transport;
  }

  async connect(): Promise<void> {
    this.connected = true;
  }

  async send(topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
    if (!this.connected) throw new UnavailableError(`in-process producer: send to ${topic} before connect() (or after disconnect())`, { retriable: false });
    this.transport.append(topic, messages);
  }

  async disconnect(): Promise<void> {
    this.connected = false;
  }
}

/** A member of an in-process consumer group. */
export class InProcessConsumer implements TransportConsumer {
  private loop: Promise<void> | undefined;
  private stopping = false;
  /** The partition whose batch was started last (round-robin cursor of `consume`). */
  private lastStarted = -1;
  private topicName: string | undefined;
  /** Per partition: failed attempts of the current batch and when it may be retried. */
  private readonly retries = new Map<number, { attempt: number; at: number }>();

  private readonly transport: InProcessTransport;
  readonly groupId: string;
  constructor(
    transport: InProcessTransport,
    groupId: string,
  ) {
    this.transport = transport;
    this.groupId = groupId;
  }

  async connect(): Promise<void> {
    this.stopping = false;
  }

  /** Joins the group on `topic` and starts the loop; resolves at once, work goes on asynchronously. */
  async run(topic: string, handler: (batch: IncomingBatch) => Promise<void>): Promise<void> {
    if (this.loop) throw new UnavailableError(`in-process consumer (group ${this.groupId}) is already running on ${this.topicName}`, { retriable: false });
    this.topicName = topic;
    this.transport.topic(topic).joined.add(this.groupId);
    this.transport.group(this.groupId).members.push(this);
    this.loop = this.consume(topic, handler);
  }

  async lag(topic: string): Promise<number> {
    return this.transport.lag(this.groupId, topic);
  }

  /** Stops the loop after the in-flight batch and leaves the group. */
  async disconnect(): Promise<void> {
    this.stopping = true;
    this.transport.wake();
    await this.loop;
    this.loop = undefined;
    const members = this.transport.group(this.groupId).members;
    const i = members.indexOf(this);
    if (i >= 0) members.splice(i, 1);
    this.transport.wake();
  }

  private assigned(partitions: number): number[] {
    const members = this.transport.group(this.groupId).members;
    const me = members.indexOf(this);
    if (me < 0) return [];
    const out: number[] = [];
    for (let p = 0; p < partitions; p++) if (p % members.length === me) out.push(p);
    return out;
  }

  /**
   * The consumer loop: up to `partitionsConsumedConcurrently` partitions are handled at
   * once (one batch per partition at a time, as in Kafka), so while one partition's batch
   * waits on storage the next one is decoded.
   */
  private async consume(topic: string, handler: (batch: IncomingBatch) => Promise<void>): Promise<void> {
    const { partitionsConsumedConcurrently } = this.transport.options;
    const log = this.transport.topic(topic);
    const running = new Map<number, Promise<void>>();
    while (!this.stopping) {
      let started = false;
      let nextRetryAt = Infinity;
      // Round robin: each scan starts after the partition that started a batch last, so a
      // partition with a long backlog never starves the others (the data watermark of the
      // rules follows the slowest source, and would otherwise run ahead on one partition).
      const mine = this.assigned(log.partitions.length);
      const first = mine.findIndex((p) => p > this.lastStarted);
      const order = first <= 0 ? mine : [...mine.slice(first), ...mine.slice(0, first)];
      for (const partition of order) {
        if (this.stopping || running.size >= partitionsConsumedConcurrently) break;
        if (running.has(partition)) continue;
        const lock = `${topic}/${partition}`;
        const inFlight = this.transport.group(this.groupId).inFlight;
        if (inFlight.has(lock)) continue;
        const held = log.partitions[partition]!;
        const from = Math.max(this.transport.committed(this.groupId, topic)[partition] ?? 0, held.base);
        if (from >= held.base + held.messages.length) continue;
        const retry = this.retries.get(partition);
        if (retry && retry.at > Date.now()) {
          nextRetryAt = Math.min(nextRetryAt, retry.at);
          continue;
        }
        started = true;
        this.lastStarted = partition;
        inFlight.add(lock);
        const { maxBatchSize } = this.transport.options;
        const batch: IncomingBatch = { topic, partition, messages: held.messages.slice(from - held.base, from - held.base + maxBatchSize) };
        const done = this.handleBatch(batch, from, handler).finally(() => {
          inFlight.delete(lock);
          running.delete(partition);
          this.transport.wake();
        });
        running.set(partition, done);
      }
      if (this.stopping) break;
      if (started) {
        // Let timers and I/O run between batches (handlers may be synchronous in tests).
        await new Promise<void>((r) => setImmediate(r));
      } else {
        // Woken by a send, a commit or a finished batch; or when a retry is due.
        const wait = Number.isFinite(nextRetryAt) ? Math.max(1, nextRetryAt - Date.now()) : 1_000;
        await this.transport.waitForChange(wait);
      }
    }
    await Promise.all(running.values());
  }

  /** One batch of one partition: handled, then committed; on failure scheduled for redelivery. */
  private async handleBatch(batch: IncomingBatch, from: number, handler: (batch: IncomingBatch) => Promise<void>): Promise<void> {
    const { redeliveryBackoffMs } = this.transport.options;
    const { topic, partition } = batch;
    try {
      await handler(batch);
    } catch (err) {
      const attempt = (this.retries.get(partition)?.attempt ?? 0) + 1;
      const at = Date.now() + backoffDelay(attempt - 1, redeliveryBackoffMs, 5_000);
      this.retries.set(partition, { attempt, at });
      const report = this.transport.options.onHandlerError ?? defaultHandlerError;
      report(err, { topic, partition, firstOffset: String(from), attempt });
      return;
    }
    this.retries.delete(partition);
    this.transport.commit(this.groupId, topic, partition, from + batch.messages.length);
  }
}

function defaultHandlerError(err: unknown, b: { topic: string; partition: number; firstOffset: string; attempt: number }): void {
  process.stderr.write(
    `vigie transport.inprocess.redeliver topic=${b.topic} partition=${b.partition} offset=${b.firstOffset} attempt=${b.attempt}: ${describeError(err).replace(/\n/g, ' ')}\n`,
  );
}
