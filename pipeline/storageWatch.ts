/**
 * What a rules-only evaluator (`vigie ingest --rules-only`) knows of the storage
 * instances, for the watchdog rule (`VigiePipelineStalled`): the storage group's consumer
 * lag, read from Kafka without joining that group, and when the store last moved (the
 * sum of the partitions' stored high-water marks in `ingest_offsets` changed). Without
 * it, a scaled-out deployment's evaluator would watch only its own consumer, and a
 * stalled storage group (ClickHouse down) would never page.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Clock } from '../core/clock.ts';
import { INGEST_OFFSETS, TABLES } from '../schema/tables.ts';

/** Options of {@link createStorageWatch}; the reads are seams (Kafka admin, ClickHouse) so tests drive them. */
export interface StorageWatchOptions {
  /** The storage group's lag on the input topic (messages). */
  readonly lag: () => Promise<number>;
  /** A number that grows whenever the storage group stores (the sum of the stored high-water marks). */
  readonly storedProgress: () => Promise<bigint>;
  readonly clock: Clock;
  /** How often the store is polled (default 5 s). */
  readonly pollMs?: number;
  readonly log?: (line: string) => void;
}

/** A running watch. */
export interface StorageWatch {
  /** The storage group's lag (NaN when Kafka cannot tell). */
  lag(): Promise<number>;
  /** Wall time the store was last seen moving (the watch's start until then). */
  lastStoredAt(): number;
  /** One poll now (the timer calls it too). */
  poll(): Promise<void>;
  stop(): void;
}

/** Starts polling the store; the first poll runs at once. */
export function createStorageWatch(opts: StorageWatchOptions): StorageWatch {
  let last = opts.clock();
  let progress: bigint | undefined;
  let failing = false;
  const poll = async (): Promise<void> => {
    try {
      const p = await opts.storedProgress();
      if (progress !== undefined && p !== progress) last = opts.clock();
      progress = p;
      if (failing) opts.log?.('vigie ingest: the store answers again (storage progress watch)');
      failing = false;
    } catch (err) {
      // Unreadable store: no progress seen, which is what the watchdog should judge.
      if (!failing) opts.log?.(`vigie ingest: cannot read the storage group's progress from the store: ${err instanceof Error ? err.message : String(err)}`);
      failing = true;
    }
  };
  const timer = setInterval(() => void poll(), opts.pollMs ?? 5_000);
  timer.unref();
  void poll();
  return {
    lag: () => opts.lag().catch(() => NaN),
    lastStoredAt: () => last,
    poll,
    stop: () => clearInterval(timer),
  };
}

/** The storage progress of `topic` in `database`: the sum of its partitions' stored high-water marks. */
export function storedProgressOf(client: Pick<ClickHouseClient, 'query'>, database: string, topic: string): () => Promise<bigint> {
  return async () => {
    const rs = await client.query({
      query: `SELECT toString(sum(${INGEST_OFFSETS.offset})) AS p FROM ${database}.${TABLES.ingestOffsets} WHERE ${INGEST_OFFSETS.topic} = {topic:String}`,
      query_params: { topic },
      format: 'JSONEachRow',
    });
    const rows = await rs.json<{ p: string }>();
    return BigInt(rows[0]?.p ?? '0');
  };
}
