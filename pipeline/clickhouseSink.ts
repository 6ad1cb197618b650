/**
 * ClickHouse sink: writes samples (and, once per process, the series they belong to)
 * with JSONCompactEachRow. Idempotent per batch: the caller's dedup token goes into the
 * INSERT statement itself, never into `clickhouse_settings` — on the chDB connection
 * those become a sticky `SET` and silently drop the next, different insert (PITFALLS).
 * The pipeline's path is `insertIngest` (rows tagged with their Kafka position, into
 * `samples_ingest`, which records each partition's high-water mark in the same insert)
 * and `readWatermark`; `insertSamples` writes `samples` directly, without a position.
 */
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Clock } from '../core/clock.ts';
import { UnavailableError, VigieError } from '../core/errors.ts';
import type { Labels, Sample } from '../core/samples.ts';
import { seriesKeyOf } from '../otlp/decode.ts';
import { createCounterTracker, type LastPoint, type LastPointLookup } from './counterDeltas.ts';
import { COUNTER_LABELS, INGEST_OFFSETS, SAMPLES, SAMPLES_COUNTER, SAMPLES_INGEST, SERIES, TABLES } from '../schema/tables.ts';

/** Options of one insert. */
export interface InsertOptions {
  /** Same token ⇒ same rows: a repeated insert with it is dropped by ClickHouse. */
  readonly dedupToken: string;
}

/** What one insert wrote. */
export interface InsertSummary {
  readonly rows: number;
  readonly newSeries: number;
  readonly durationMs: number;
}

/** The samples decoded from one transport message, with its offset. */
export interface IngestMessage {
  /** Kafka offset, a decimal string. */
  readonly offset: string;
  readonly samples: readonly Sample[];
  /** Counter increase of each sample (parallel to `samples`, see `counterDeltas.ts`); absent = 0. */
  readonly deltas?: ArrayLike<number>;
}

/** Whole messages of one partition, in increasing offset order: one exactly-once insert. */
export interface IngestChunk {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly IngestMessage[];
}

/** What `samples_ingest` holds for a partition: its highest stored offset and the first offset of that insert. */
export interface IngestWatermark {
  readonly offset: bigint;
  readonly firstOffset: bigint;
}

/** Writes samples and series into one database. */
export interface ClickHouseSink {
  /** Straight into `samples` (no Kafka position): backfills, tests, the simulator. */
  insertSamples(samples: readonly Sample[], opts: InsertOptions): Promise<InsertSummary>;
  /**
   * Into `samples_ingest`, each row tagged with its message's position: ClickHouse records
   * the partition's high-water mark in the same insert that stores the rows.
   */
  insertIngest(chunk: IngestChunk, opts: InsertOptions): Promise<InsertSummary>;
  /** The partition's high-water mark, or null when nothing of it is stored. */
  readWatermark(topic: string, partition: number): Promise<IngestWatermark | null>;
  /** Series registered by this process (cached fingerprints). */
  knownSeries(): number;
  /**
   * Last stored point of each series before its bound, within the counter lookback
   * window (for the counter tracker after a restart); series with none are omitted.
   */
  lastPoints: LastPointLookup;
}

/** Options of {@link createClickHouseSink}. */
export interface ClickHouseSinkOptions {
  readonly client: ClickHouseClient;
  /** Client of the sink's reads (`readWatermark`, `lastPoints`); default `client` (see `Storage.readClient`). */
  readonly readClient?: ClickHouseClient;
  /** Zero-copy insert of a body (chDB's `rawInsert`, see `Storage.rawInsert`); without it inserts go through `client.exec`. */
  readonly rawInsert?: RawInsert;
  readonly database: string;
  readonly clock?: Clock;
  /** Fingerprints cached in memory before the cache restarts (default 1,000,000). */
  readonly maxCachedSeries?: number;
  /** How far back `lastPoints` looks before a series counts as new (default 15 min). */
  readonly counterLookbackMs?: number;
}

/**
 * FNV-1a 64 of `seriesKey(metric, labels)` on two 32-bit halves, identical to
 * `core/samples.ts#fingerprint` (checked by a unit test) but without a BigInt per character.
 */
export function fastFingerprint(key: string): string {
  // offset basis 0xcbf29ce484222325
  let hi = 0xcbf29ce4;
  let lo = 0x84222325;
  for (let i = 0; i < key.length; i++) {
    lo = (lo ^ key.charCodeAt(i)) >>> 0;
    // h * 0x100000001b3 = h * 0x1b3 + (h << 40)  (mod 2^64)
    const t = lo * 0x1b3;
    const tLo = t % 4294967296;
    const carry = (t - tLo) / 4294967296;
    hi = (hi * 0x1b3 + carry + ((lo << 8) >>> 0)) % 4294967296;
    lo = tLo;
  }
  return ((BigInt(hi) << 32n) | BigInt(lo)).toString();
}

/**
 * An insert of a JSONCompactEachRow body handed over as bytes, with its settings in the
 * statement itself (never a sticky `SET`, see PITFALLS): chDB's `rawInsert`.
 */
export type RawInsert = (p: {
  readonly table: string;
  readonly columns: readonly string[];
  readonly format: 'JSONCompactEachRow';
  readonly values: Buffer;
  readonly settings?: Readonly<Record<string, string | number>>;
}) => Promise<unknown>;

/** What the sink keeps per known series: its fingerprint and the JSON around a row's varying columns. */
interface SeriesRow {
  readonly fp: string;
  /** `[metric,fingerprint,faculty,` */
  readonly head: string;
  /** `,le,status_code,exam_id` (the labels the counter rollup groups by). */
  readonly tail: string;
}

const NON_RETRIABLE_CODES = new Set([
  '6', // CANNOT_PARSE_TEXT
  '16', // NO_SUCH_COLUMN_IN_TABLE
  '26', // CANNOT_PARSE_QUOTED_STRING
  '27', // CANNOT_PARSE_INPUT_ASSERTION_FAILED
  '41', // CANNOT_PARSE_DATETIME
  '53', // TYPE_MISMATCH
  '62', // SYNTAX_ERROR
  '69', // ARGUMENT_OUT_OF_BOUND
  '70', // CANNOT_CONVERT_TYPE
  '72', // CANNOT_PARSE_NUMBER
  '117', // INCORRECT_DATA
  '131', // TOO_LARGE_STRING_SIZE
]);

/**
 * Maps an insert failure to a Vigie error: data errors (parse, type) are not retriable;
 * everything else — network, timeouts, too many parts, memory, missing table while
 * migrations run — is retriable.
 */
export function classifyInsertError(err: unknown, what: string): VigieError {
  if (err instanceof VigieError) return err;
  // chDB's own errors carry the ClickHouse code as `clickhouseCode` (their `code` is a class name).
  const code = String((err as { clickhouseCode?: unknown })?.clickhouseCode ?? (err as { code?: unknown })?.code ?? '');
  const message = err instanceof Error ? err.message : String(err);
  if (NON_RETRIABLE_CODES.has(code)) {
    return new VigieError(`ClickHouse rejected the data of ${what} (code ${code}): ${message}`, { retriable: false, cause: err });
  }
  return new UnavailableError(`ClickHouse insert of ${what} failed (${code || 'no code'}): ${message}; will retry`, { cause: err });
}

const OFFSET = /^\d{1,19}$/;

function sqlString(s: string): string {
  return "'" + s.replace(/\\/g, '\\\\').replace(/'/g, "\\'") + "'";
}

async function execInsert(client: ClickHouseClient, statement: string, body: string): Promise<void> {
  const res = await client.exec({ query: statement, values: Readable.from([body]) });
  // Drain so the HTTP socket goes back to the pool.
  for await (const _chunk of res.stream) {
    /* discard */
  }
}

/** Creates a sink on `database` with its own in-memory series cache. */
/**
 * An insert body written line by line into one growing Buffer that the sink reuses
 * across inserts: no array of row strings, no joined string and no second copy into
 * bytes per insert (those were ~15 % of the pipeline's JS time and most of its garbage).
 */
export class BodyWriter {
  private buf: Buffer = Buffer.allocUnsafe(1 << 20);
  private end = 0;

  /** Starts a new body (the bytes of the previous one are overwritten). */
  reset(): void {
    this.end = 0;
  }

  /** Appends `s` and a newline. */
  line(s: string): void {
    // UTF-8 takes at most 3 bytes per UTF-16 unit: grow before writing, never truncate.
    const need = this.end + s.length * 3 + 1;
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(need, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    this.end += this.buf.write(s, this.end, 'utf8');
    this.buf[this.end++] = 0x0a;
  }

  /** The body so far: a view on the reused memory, valid until the next `reset`. */
  bytes(): Buffer {
    return this.buf.subarray(0, this.end);
  }
}

export function createClickHouseSink(opts: ClickHouseSinkOptions): ClickHouseSink {
  const { client, database } = opts;
  const reader = opts.readClient ?? client;
  const clock = opts.clock ?? Date.now;
  const maxCached = opts.maxCachedSeries ?? 1_000_000;
  /**
   * seriesKey → the series' fingerprint and the constant parts of its rows, for series
   * already written to `series` by this process: a row is then two cached strings around
   * its timestamp, value and increase.
   */
  const known = new Map<string, SeriesRow>();
  /** Idle insert bodies: concurrent inserts (one per partition in flight) each take their own. */
  const bodies: BodyWriter[] = [];
  const lookbackMs = opts.counterLookbackMs ?? 15 * 60_000;
  const samplesColumns = [
    SAMPLES.metric,
    SAMPLES.fingerprint,
    SAMPLES.faculty,
    SAMPLES.timestamp,
    SAMPLES.value,
    SAMPLES_COUNTER.delta,
    SAMPLES_COUNTER.le,
    SAMPLES_COUNTER.statusCode,
    SAMPLES_COUNTER.examId,
  ].join(', ');
  const ingestColumns = [
    samplesColumns,
    SAMPLES_INGEST.sourceTopic,
    SAMPLES_INGEST.sourcePartition,
    SAMPLES_INGEST.sourceOffset,
    SAMPLES_INGEST.sourceFirstOffset,
  ].join(', ');
  const seriesColumns = [SERIES.fingerprint, SERIES.metric, SERIES.faculty, SERIES.labels, SERIES.firstSeen].join(', ');
  /**
   * One insert of JSONCompactEachRow rows: zero-copy through `rawInsert` when given (the
   * body goes to the engine as bytes, not spliced into a SQL string), else `client.exec`
   * with the settings in the statement.
   */
  const insertRows = async (table: string, columns: string, rows: readonly string[] | BodyWriter, settings: Readonly<Record<string, string | number>> | null): Promise<void> => {
    if (opts.rawInsert) {
      const values = rows instanceof BodyWriter ? rows.bytes() : Buffer.from(rows.join('\n') + '\n');
      await opts.rawInsert({ table: `${database}.${table}`, columns: columns.split(', '), format: 'JSONCompactEachRow', values, ...(settings ? { settings } : {}) });
      return;
    }
    const body = rows instanceof BodyWriter ? rows.bytes().toString('utf8') : rows.join('\n') + '\n';
    const set = settings
      ? 'SETTINGS ' + Object.entries(settings).map(([k, v]) => `${k}=${typeof v === 'number' ? v : sqlString(v)}`).join(', ') + ' '
      : '';
    await execInsert(client, `INSERT INTO ${database}.${table} (${columns}) ${set}FORMAT JSONCompactEachRow`, body);
  };

  /** Per-insert state: the series first seen in it, and the JSON of the strings it quotes. */
  interface Encoder {
    readonly fresh: Map<string, { row: SeriesRow; sample: Sample }>;
    readonly quoted: Map<string, string>;
  }
  const encoder = (): Encoder => ({ fresh: new Map(), quoted: new Map() });

  const quote = (e: Encoder, v: string): string => {
    let q = e.quoted.get(v);
    if (q === undefined) e.quoted.set(v, (q = JSON.stringify(v)));
    return q;
  };

  /** One JSONCompactEachRow line of the samples columns, without the closing bracket. */
  const encodeRow = (e: Encoder, s: Sample, delta: number): string => {
    // Cache keyed by series key: one lookup per sample, hashing and quoting only for new series.
    const key = seriesKeyOf(s);
    let row = known.get(key) ?? e.fresh.get(key)?.row;
    if (row === undefined) {
      const fp = fastFingerprint(key);
      const l = s.labels;
      row = {
        fp,
        head: '[' + quote(e, s.metric) + ',' + fp + ',' + quote(e, l['faculty'] ?? '') + ',',
        tail: ',' + quote(e, l[COUNTER_LABELS.le] ?? '') + ',' + quote(e, l[COUNTER_LABELS.statusCode] ?? '') + ',' + quote(e, l[COUNTER_LABELS.examId] ?? ''),
      };
      e.fresh.set(key, { row, sample: s });
    }
    return row.head + Math.trunc(s.timestampMs) + ',' + s.value + ',' + delta + row.tail;
  };

  const lastPoints: LastPointLookup = async (requests) => {
    const out = new Map<string, LastPoint>();
    // Batches keep the parameters small; one query per batch.
    for (let i = 0; i < requests.length; i += 5000) {
      const batch = requests.slice(i, i + 5000);
      const byFp = new Map<string, string>();
      const fps: string[] = [];
      const bounds: number[] = [];
      const metrics = new Set<string>();
      const faculties = new Set<string>();
      let lo = Infinity;
      let hi = -Infinity;
      for (const r of batch) {
        const fp = known.get(r.key)?.fp ?? fastFingerprint(r.key);
        byFp.set(fp, r.key);
        fps.push(fp);
        bounds.push(Math.trunc(r.beforeMs));
        metrics.add(r.metric);
        faculties.add(r.labels['faculty'] ?? '');
        lo = Math.min(lo, r.beforeMs - lookbackMs);
        hi = Math.max(hi, r.beforeMs);
      }
      const S = SAMPLES;
      let rows: { fp: string; v: number; ts: string | number }[];
      try {
        const rs = await reader.query({
          query: `WITH arrayMap(x -> toUInt64(x), splitByChar(',', {fps:String})) AS fps,
              arrayMap(x -> toInt64(x), splitByChar(',', {bounds:String})) AS bounds
            SELECT toString(${S.fingerprint}) AS fp, argMax(${S.value}, ${S.timestamp}) AS v, toString(toUnixTimestamp64Milli(max(${S.timestamp}))) AS ts
            FROM ${database}.${TABLES.samples}
            WHERE ${S.metric} IN {metrics:Array(String)} AND ${S.faculty} IN {faculties:Array(String)}
              AND ${S.fingerprint} IN (SELECT arrayJoin(fps))
              AND ${S.timestamp} >= fromUnixTimestamp64Milli({lo:Int64}, 'UTC') AND ${S.timestamp} < fromUnixTimestamp64Milli({hi:Int64}, 'UTC')
              AND toUnixTimestamp64Milli(${S.timestamp}) < transform(${S.fingerprint}, fps, bounds, toInt64(0))
              AND toUnixTimestamp64Milli(${S.timestamp}) >= transform(${S.fingerprint}, fps, bounds, toInt64(0)) - {lookback:Int64}
            GROUP BY ${S.fingerprint}`,
          query_params: {
            fps: fps.join(','),
            bounds: bounds.join(','),
            metrics: [...metrics],
            faculties: [...faculties],
            lo: Math.trunc(lo),
            hi: Math.trunc(hi),
            lookback: Math.trunc(lookbackMs),
          },
          format: 'JSONEachRow',
        });
        rows = await rs.json();
      } catch (err) {
        throw new UnavailableError(`cannot read the last points of ${batch.length} counter series from ${database}.${TABLES.samples}; will retry`, { cause: err });
      }
      for (const r of rows) {
        const key = byFp.get(r.fp);
        if (key !== undefined) out.set(key, { timestampMs: Number(r.ts), value: Number(r.v) });
      }
    }
    return out;
  };
  /** Increases of rows written with `insertSamples` (backfills, tests): one writer per series assumed. */
  const directTracker = createCounterTracker({ lookup: lastPoints });

  /** Registers the series first seen in this insert (before the samples that use them). */
  const writeSeries = async (e: Encoder): Promise<void> => {
    if (e.fresh.size === 0) return;
    const now = clock();
    const rows: string[] = [];
    for (const { row, sample } of e.fresh.values()) {
      rows.push(JSON.stringify([row.fp, sample.metric, sample.labels['faculty'] ?? '', sample.labels as Labels, now]).replace(/^\["(\d+)"/, '[$1'));
    }
    // Series rows are idempotent by nature (ReplacingMergeTree): no token needed.
    try {
      await insertRows(TABLES.series, seriesColumns, rows, null);
    } catch (err) {
      throw classifyInsertError(err, `${e.fresh.size} series rows`);
    }
  };

  const remember = (e: Encoder): void => {
    if (known.size + e.fresh.size > maxCached) known.clear();
    for (const [key, { row }] of e.fresh) known.set(key, row);
  };

  // distributed_foreground_insert: in cluster mode the ack must mean "stored on the shard"
  // (a Distributed table queues in the background otherwise); no effect on other tables.
  const tokenSettings = (dedupToken: string) => ({
    insert_deduplication_token: dedupToken,
    deduplicate_blocks_in_dependent_materialized_views: 1,
    distributed_foreground_insert: 1,
  });

  return {
    knownSeries: () => known.size,
    lastPoints,
    async insertSamples(samples, { dedupToken }) {
      const started = performance.now();
      if (samples.length === 0) return { rows: 0, newSeries: 0, durationMs: 0 };
      const e = encoder();
      const pending = await directTracker.compute([samples]);
      const deltas = pending.deltas[0]!;
      const lines: string[] = new Array(samples.length);
      for (let i = 0; i < samples.length; i++) lines[i] = encodeRow(e, samples[i]!, deltas[i]!) + ']';
      await writeSeries(e);
      try {
        await insertRows(TABLES.samples, samplesColumns, lines, tokenSettings(dedupToken));
      } catch (err) {
        throw classifyInsertError(err, `${samples.length} samples (token ${dedupToken})`);
      }
      pending.commit();
      remember(e);
      return { rows: samples.length, newSeries: e.fresh.size, durationMs: performance.now() - started };
    },

    async insertIngest(chunk, { dedupToken }) {
      const started = performance.now();
      const { messages } = chunk;
      if (messages.length === 0) return { rows: 0, newSeries: 0, durationMs: 0 };
      for (const m of [messages[0]!, messages[messages.length - 1]!]) {
        if (!OFFSET.test(m.offset)) throw new VigieError(`insertIngest: offset ${JSON.stringify(m.offset)} is not a non-negative integer`);
      }
      const first = messages[0]!.offset;
      const e = encoder();
      const body = bodies.pop() ?? new BodyWriter();
      body.reset();
      let rows = 0;
      const source = ',' + JSON.stringify(chunk.topic) + ',' + (chunk.partition >>> 0) + ',';
      let prev = -1n;
      for (const m of messages) {
        // Offsets must increase: the view keeps the highest one as the high-water mark.
        const off = BigInt(m.offset);
        if (off <= prev) throw new VigieError(`insertIngest: offsets of ${chunk.topic}/${chunk.partition} not increasing (${prev} then ${off})`);
        prev = off;
        const suffix = source + m.offset + ',' + first + ']';
        const d = m.deltas;
        for (let i = 0; i < m.samples.length; i++) body.line(encodeRow(e, m.samples[i]!, d ? d[i]! : 0) + suffix);
        rows += m.samples.length;
      }
      try {
        if (rows === 0) return { rows: 0, newSeries: 0, durationMs: 0 };
        await writeSeries(e);
        try {
          await insertRows(TABLES.samplesIngest, ingestColumns, body, tokenSettings(dedupToken));
        } catch (err) {
          throw classifyInsertError(err, `${rows} samples of ${chunk.topic}/${chunk.partition} offsets ${first}-${prev} (token ${dedupToken})`);
        }
      } finally {
        // Back to the pool only once the engine is done with the bytes (the insert resolved or failed).
        if (bodies.length < 4) bodies.push(body);
      }
      remember(e);
      return { rows, newSeries: e.fresh.size, durationMs: performance.now() - started };
    },

    async readWatermark(topic, partition) {
      let rows: { offset: string | number; first_offset: string | number }[];
      try {
        const rs = await reader.query({
          query:
            `SELECT toString(${INGEST_OFFSETS.offset}) AS offset, toString(${INGEST_OFFSETS.firstOffset}) AS first_offset ` +
            `FROM ${database}.${TABLES.ingestOffsets} ` +
            `WHERE ${INGEST_OFFSETS.topic} = {topic:String} AND ${INGEST_OFFSETS.partition} = {partition:UInt32}`,
          query_params: { topic, partition },
          format: 'JSONEachRow',
        });
        rows = await rs.json();
      } catch (err) {
        throw new UnavailableError(`cannot read the stored offsets of ${topic}/${partition} from ${database}.${TABLES.ingestOffsets}; will retry`, { cause: err });
      }
      const row = rows[0];
      return row ? { offset: BigInt(row.offset), firstOffset: BigInt(row.first_offset) } : null;
    },
  };
}

const sinks = new WeakMap<ClickHouseClient, Map<string, ClickHouseSink>>();

/**
 * One-shot form of {@link ClickHouseSink.insertSamples}, sharing one sink (and series
 * cache) per client and database.
 */
export function insertSamples(
  client: ClickHouseClient,
  samples: readonly Sample[],
  opts: InsertOptions & { readonly database?: string },
): Promise<InsertSummary> {
  const database = opts.database ?? 'vigie';
  let byDb = sinks.get(client);
  if (!byDb) sinks.set(client, (byDb = new Map()));
  let sink = byDb.get(database);
  if (!sink) byDb.set(database, (sink = createClickHouseSink({ client, database })));
  return sink.insertSamples(samples, { dedupToken: opts.dedupToken });
}

/** Counts rows in `samples`, optionally in `[from, to)` epoch ms (tests and demos). */
export async function countStoredSamples(
  client: ClickHouseClient,
  opts: { readonly database?: string; readonly from?: number; readonly to?: number } = {},
): Promise<number> {
  const database = opts.database ?? 'vigie';
  const where: string[] = [];
  const params: Record<string, number> = {};
  if (opts.from !== undefined) {
    where.push(`${SAMPLES.timestamp} >= fromUnixTimestamp64Milli({from:Int64}, 'UTC')`);
    params['from'] = opts.from;
  }
  if (opts.to !== undefined) {
    where.push(`${SAMPLES.timestamp} < fromUnixTimestamp64Milli({to:Int64}, 'UTC')`);
    params['to'] = opts.to;
  }
  const rs = await client.query({
    query: `SELECT count() AS n FROM ${database}.${TABLES.samples}${where.length ? ' WHERE ' + where.join(' AND ') : ''}`,
    query_params: params,
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ n: string | number }>();
  return Number(rows[0]?.n ?? 0);
}
