/**
 * ClickHouse sink: writes samples (and, once per process, the series they belong to).
 * On chDB the samples go in as typed columns registered zero-copy as an Arrow table
 * (`ColumnarInsert`, no text to format or parse: about 3× the rows per CPU-second of
 * JSONCompactEachRow, measured in bench/pipeline.bench.ts); on a ClickHouse server, and
 * for the small `series` inserts, as JSONCompactEachRow. Idempotent per batch: the caller's dedup token goes into the
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
  /** Insert of typed columns (chDB, see `Storage.columnarInsert`): samples go this way when given. */
  readonly columnarInsert?: ColumnarInsert;
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
  fnv(key);
  return ((BigInt(fnvHi) << 32n) | BigInt(fnvLo)).toString();
}

/** Halves of the last {@link fnv} hash (no array per call). */
let fnvHi = 0;
let fnvLo = 0;

/** FNV-1a 64 of `key` into {@link fnvHi}/{@link fnvLo}. */
function fnv(key: string): void {
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
  fnvHi = hi;
  fnvLo = lo;
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

/**
 * One column handed to chDB as Arrow C data (the layout chdb's `ArrowRegisterColumns`
 * takes): `u` UTF-8 strings (validity, int32 offsets, bytes), `L` UInt64, `l` Int64,
 * `g` Float64 (validity, values). No nulls: the validity buffer is always null.
 */
export interface ArrowColumn {
  readonly name: string;
  readonly format: 'u' | 'L' | 'l' | 'g';
  readonly length: number;
  readonly nullCount: 0;
  readonly buffers: readonly (Buffer | null)[];
}

/**
 * An insert of typed columns: the columns are registered as a table function for the
 * duration of one statement, which `statement(source)` builds around `source` (the
 * table function, e.g. `arrowstream('t')`) as `INSERT … SETTINGS … SELECT … FROM source`.
 * The engine reads the column memory in place: it must not change until the promise settles.
 */
export type ColumnarInsert = (columns: readonly ArrowColumn[], statement: (source: string) => string) => Promise<void>;

/** A string column written into reused memory: Arrow `u` (int32 offsets + UTF-8 bytes). */
class StringColumn {
  offsets = new Int32Array(1);
  bytes: Buffer = Buffer.allocUnsafe(1 << 16);
  private end = 0;

  reset(rows: number): void {
    this.end = 0;
    if (this.offsets.length < rows + 1) this.offsets = new Int32Array(Math.max(rows + 1, this.offsets.length * 2));
    this.offsets[0] = 0;
  }

  /** Sets row `i` (rows are written in order) to the UTF-8 bytes `b` (a copy of bytes: 4× a string write). */
  set(i: number, b: Uint8Array): void {
    const n = b.length;
    if (n !== 0) {
      const end = this.end;
      const need = end + n;
      if (need > this.bytes.length) {
        const bigger = Buffer.allocUnsafe(Math.max(need, this.bytes.length * 2));
        this.bytes.copy(bigger, 0, 0, end);
        this.bytes = bigger;
      }
      // The values are short (metric names, `le`, status codes): a byte loop beats the
      // fixed cost of `TypedArray#set`, which is called five times per row.
      const out = this.bytes;
      if (n <= 32) for (let k = 0; k < n; k++) out[end + k] = b[k]!;
      else out.set(b, end);
      this.end = need;
    }
    this.offsets[i + 1] = this.end;
  }

  arrow(name: string, rows: number): ArrowColumn {
    return { name, format: 'u', length: rows, nullCount: 0, buffers: [null, Buffer.from(this.offsets.buffer, 0, (rows + 1) * 4), this.bytes.subarray(0, this.end)] };
  }
}

const TWO_32 = 4294967296;

/**
 * The samples columns of one insert in typed arrays that the sink reuses across inserts
 * (64-bit integers as two 32-bit halves, little-endian: no BigInt per row). Registered
 * with chDB as they are, so nothing is formatted as text and nothing parsed.
 */
export class ColumnBatch {
  rows = 0;
  private fp = new Uint32Array(0);
  private ts = new Int32Array(0);
  private value = new Float64Array(0);
  private delta = new Float64Array(0);
  private offset = new Uint32Array(0);
  private readonly strings = [new StringColumn(), new StringColumn(), new StringColumn(), new StringColumn(), new StringColumn()] as const;

  /** Starts a batch of at most `rows` rows (the memory of the previous one is overwritten). */
  reset(rows: number): void {
    this.rows = 0;
    if (this.value.length < rows) {
      const n = Math.max(rows, this.value.length * 2, 1024);
      this.fp = new Uint32Array(2 * n);
      this.ts = new Int32Array(2 * n);
      this.value = new Float64Array(n);
      this.delta = new Float64Array(n);
      this.offset = new Uint32Array(2 * n);
    }
    for (const c of this.strings) c.reset(rows);
  }

  /** Appends one sample of series `row`; `offLo`/`offHi` are its message's offset halves. */
  push(row: SeriesRow, s: Sample, delta: number, offLo: number, offHi: number): void {
    const i = this.rows++;
    const t = Math.trunc(s.timestampMs);
    if (!Number.isFinite(t)) throw new VigieError(`sample of ${s.metric} has no valid timestamp (${s.timestampMs})`, { retriable: false });
    const tHi = Math.floor(t / TWO_32);
    this.ts[2 * i] = t - tHi * TWO_32;
    this.ts[2 * i + 1] = tHi;
    this.fp[2 * i] = row.lo;
    this.fp[2 * i + 1] = row.hi;
    this.value[i] = s.value;
    this.delta[i] = delta;
    this.offset[2 * i] = offLo;
    this.offset[2 * i + 1] = offHi;
    const [metric, faculty, le, status, exam] = this.strings;
    const b = row.utf8!;
    metric.set(i, b[0]);
    faculty.set(i, b[1]);
    le.set(i, b[2]);
    status.set(i, b[3]);
    exam.set(i, b[4]);
  }

  /** The columns as Arrow, named as the table's columns (`source_offset` only when `withOffset`). */
  arrow(withOffset: boolean): ArrowColumn[] {
    const n = this.rows;
    const fixed = (name: string, format: 'L' | 'l' | 'g', a: Uint32Array | Int32Array | Float64Array, width: number): ArrowColumn => ({
      name,
      format,
      length: n,
      nullCount: 0,
      buffers: [null, Buffer.from(a.buffer, 0, n * width)],
    });
    const [metric, faculty, le, status, exam] = this.strings;
    const cols = [
      metric.arrow(SAMPLES.metric, n),
      fixed(SAMPLES.fingerprint, 'L', this.fp, 8),
      faculty.arrow(SAMPLES.faculty, n),
      fixed(SAMPLES.timestamp, 'l', this.ts, 8),
      fixed(SAMPLES.value, 'g', this.value, 8),
      fixed(SAMPLES_COUNTER.delta, 'g', this.delta, 8),
      le.arrow(SAMPLES_COUNTER.le, n),
      status.arrow(SAMPLES_COUNTER.statusCode, n),
      exam.arrow(SAMPLES_COUNTER.examId, n),
    ];
    if (withOffset) cols.push(fixed(SAMPLES_INGEST.sourceOffset, 'L', this.offset, 8));
    return cols;
  }
}

/**
 * What the sink keeps per known series: its fingerprint (decimal, and as 32-bit halves
 * for the columnar path), and what its rows repeat: on the columnar path the UTF-8 bytes
 * of its string columns (shared between series: they are low-cardinality), on the JSON
 * path the JSON around a row's varying columns (empty on the columnar one).
 */
interface SeriesRow {
  readonly fp: string;
  readonly hi: number;
  readonly lo: number;
  /** metric, faculty, le, status_code, exam_id (columnar path only). */
  readonly utf8: readonly [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array] | null;
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
  /** Idle column batches (columnar path), pooled like `bodies`. */
  const batches: ColumnBatch[] = [];
  const columnar = opts.columnarInsert;
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

  /**
   * UTF-8 of the strings the columnar rows repeat, one copy per distinct value (metric
   * names, faculties, `le`, status codes, exam ids: few), dropped with the series cache.
   */
  const utf8 = new Map<string, Uint8Array>();
  const utf8Of = (v: string): Uint8Array => {
    let b = utf8.get(v);
    if (b === undefined) utf8.set(v, (b = Buffer.from(v, 'utf8')));
    return b;
  };

  /** The cached row parts of the sample's series (hashing, and quoting on the JSON path, only for new series). */
  const seriesRow = (e: Encoder, s: Sample): SeriesRow => {
    // Cache keyed by series key: one lookup per sample.
    const key = seriesKeyOf(s);
    let row = known.get(key) ?? e.fresh.get(key)?.row;
    if (row === undefined) {
      fnv(key);
      const hi = fnvHi;
      const lo = fnvLo;
      const fp = ((BigInt(hi) << 32n) | BigInt(lo)).toString();
      const l = s.labels;
      const faculty = l['faculty'] ?? '';
      const le = l[COUNTER_LABELS.le] ?? '';
      const statusCode = l[COUNTER_LABELS.statusCode] ?? '';
      const examId = l[COUNTER_LABELS.examId] ?? '';
      const json = !columnar;
      row = {
        fp,
        hi,
        lo,
        utf8: json ? null : [utf8Of(s.metric), utf8Of(faculty), utf8Of(le), utf8Of(statusCode), utf8Of(examId)],
        head: json ? '[' + quote(e, s.metric) + ',' + fp + ',' + quote(e, faculty) + ',' : '',
        tail: json ? ',' + quote(e, le) + ',' + quote(e, statusCode) + ',' + quote(e, examId) : '',
      };
      e.fresh.set(key, { row, sample: s });
    }
    return row;
  };

  /** One JSONCompactEachRow line of the samples columns, without the closing bracket. */
  const encodeRow = (e: Encoder, s: Sample, delta: number): string => {
    const row = seriesRow(e, s);
    return row.head + Math.trunc(s.timestampMs) + ',' + s.value + ',' + delta + row.tail;
  };

  /**
   * One columnar insert of `batch` into `table`: the samples columns, then `extra`
   * (column names and the SELECT expressions giving them, e.g. the Kafka position).
   */
  const insertColumns = (insert: ColumnarInsert, table: string, batch: ColumnBatch, extra: readonly (readonly [string, string])[], withOffset: boolean, dedupToken: string): Promise<void> => {
    const names = [samplesColumns, ...extra.map(([c]) => c)].join(', ');
    const select = [
      SAMPLES.metric,
      SAMPLES.fingerprint,
      SAMPLES.faculty,
      `fromUnixTimestamp64Milli(${SAMPLES.timestamp}, 'UTC')`,
      SAMPLES.value,
      SAMPLES_COUNTER.delta,
      SAMPLES_COUNTER.le,
      SAMPLES_COUNTER.statusCode,
      SAMPLES_COUNTER.examId,
      ...extra.map(([, x]) => x),
    ].join(', ');
    // force_enable: a retried insert must be dropped by its token; if ClickHouse ever
    // judged this SELECT unstable it would fail here rather than store the rows twice.
    const settings = Object.entries({ ...tokenSettings(dedupToken), deduplicate_insert_select: 'force_enable' })
      .map(([k, v]) => `${k}=${typeof v === 'number' ? v : sqlString(v)}`)
      .join(', ');
    return insert(batch.arrow(withOffset), (source) => `INSERT INTO ${database}.${table} (${names}) SETTINGS ${settings} SELECT ${select} FROM ${source}`);
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
    if (known.size + e.fresh.size > maxCached) {
      known.clear();
      utf8.clear();
    }
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
      if (columnar) {
        const batch = batches.pop() ?? new ColumnBatch();
        try {
          batch.reset(samples.length);
          for (let i = 0; i < samples.length; i++) batch.push(seriesRow(e, samples[i]!), samples[i]!, deltas[i]!, 0, 0);
          await writeSeries(e);
          await insertColumns(columnar, TABLES.samples, batch, [], false, dedupToken);
        } catch (err) {
          throw classifyInsertError(err, `${samples.length} samples (token ${dedupToken})`);
        } finally {
          // Back to the pool only once the engine is done with the memory.
          if (batches.length < 4) batches.push(batch);
        }
      } else {
        const lines: string[] = new Array(samples.length);
        for (let i = 0; i < samples.length; i++) lines[i] = encodeRow(e, samples[i]!, deltas[i]!) + ']';
        await writeSeries(e);
        try {
          await insertRows(TABLES.samples, samplesColumns, lines, tokenSettings(dedupToken));
        } catch (err) {
          throw classifyInsertError(err, `${samples.length} samples (token ${dedupToken})`);
        }
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
      let rows = 0;
      let prev = -1n;
      const offsets: bigint[] = [];
      for (const m of messages) {
        // Offsets must increase: the view keeps the highest one as the high-water mark.
        const off = BigInt(m.offset);
        if (off <= prev) throw new VigieError(`insertIngest: offsets of ${chunk.topic}/${chunk.partition} not increasing (${prev} then ${off})`);
        offsets.push((prev = off));
        rows += m.samples.length;
      }
      if (rows === 0) return { rows: 0, newSeries: 0, durationMs: 0 };
      const what = () => `${rows} samples of ${chunk.topic}/${chunk.partition} offsets ${first}-${prev} (token ${dedupToken})`;
      if (columnar) {
        const batch = batches.pop() ?? new ColumnBatch();
        try {
          batch.reset(rows);
          for (let k = 0; k < messages.length; k++) {
            const m = messages[k]!;
            const off = offsets[k]!;
            const lo = Number(off & 0xffffffffn);
            const hi = Number(off >> 32n);
            const d = m.deltas;
            for (let i = 0; i < m.samples.length; i++) batch.push(seriesRow(e, m.samples[i]!), m.samples[i]!, d ? d[i]! : 0, lo, hi);
          }
          await writeSeries(e);
          const extra = [
            [SAMPLES_INGEST.sourceTopic, sqlString(chunk.topic)],
            [SAMPLES_INGEST.sourcePartition, `toUInt32(${chunk.partition >>> 0})`],
            [SAMPLES_INGEST.sourceOffset, SAMPLES_INGEST.sourceOffset],
            [SAMPLES_INGEST.sourceFirstOffset, `toUInt64('${first}')`],
          ] as const;
          try {
            await insertColumns(columnar, TABLES.samplesIngest, batch, extra, true, dedupToken);
          } catch (err) {
            throw classifyInsertError(err, what());
          }
        } finally {
          // Back to the pool only once the engine is done with the memory (the insert resolved or failed).
          if (batches.length < 4) batches.push(batch);
        }
      } else {
        const body = bodies.pop() ?? new BodyWriter();
        try {
          body.reset();
          const source = ',' + JSON.stringify(chunk.topic) + ',' + (chunk.partition >>> 0) + ',';
          for (const m of messages) {
            const suffix = source + m.offset + ',' + first + ']';
            const d = m.deltas;
            for (let i = 0; i < m.samples.length; i++) body.line(encodeRow(e, m.samples[i]!, d ? d[i]! : 0) + suffix);
          }
          await writeSeries(e);
          try {
            await insertRows(TABLES.samplesIngest, ingestColumns, body, tokenSettings(dedupToken));
          } catch (err) {
            throw classifyInsertError(err, what());
          }
        } finally {
          // Back to the pool only once the engine is done with the bytes (the insert resolved or failed).
          if (bodies.length < 4) bodies.push(body);
        }
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
