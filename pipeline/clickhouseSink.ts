/**
 * ClickHouse sink: writes samples (and, once per process, the series they belong to)
 * with JSONCompactEachRow. Idempotent per batch: the caller's dedup token goes into the
 * INSERT statement itself, never into `clickhouse_settings` — on the chDB connection
 * those become a sticky `SET` and silently drop the next, different insert (PITFALLS).
 */
import { Readable } from 'node:stream';
import type { ClickHouseClient } from '@clickhouse/client';
import type { Clock } from '../core/clock.ts';
import { UnavailableError, VigieError } from '../core/errors.ts';
import type { Labels, Sample } from '../core/samples.ts';
import { seriesKeyFast } from '../otlp/decode.ts';
import { SAMPLES, SERIES, TABLES } from './schema/tables.ts';

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

/** Writes samples and series into one database. */
export interface ClickHouseSink {
  insertSamples(samples: readonly Sample[], opts: InsertOptions): Promise<InsertSummary>;
  /** Series registered by this process (cached fingerprints). */
  knownSeries(): number;
}

/** Options of {@link createClickHouseSink}. */
export interface ClickHouseSinkOptions {
  readonly client: ClickHouseClient;
  readonly database: string;
  readonly clock?: Clock;
  /** Fingerprints cached in memory before the cache restarts (default 1,000,000). */
  readonly maxCachedSeries?: number;
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
  const code = String((err as { code?: unknown })?.code ?? '');
  const message = err instanceof Error ? err.message : String(err);
  if (NON_RETRIABLE_CODES.has(code)) {
    return new VigieError(`ClickHouse rejected the data of ${what} (code ${code}): ${message}`, { retriable: false, cause: err });
  }
  return new UnavailableError(`ClickHouse insert of ${what} failed (${code || 'no code'}): ${message}; will retry`, { cause: err });
}

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
export function createClickHouseSink(opts: ClickHouseSinkOptions): ClickHouseSink {
  const { client, database } = opts;
  const clock = opts.clock ?? Date.now;
  const maxCached = opts.maxCachedSeries ?? 1_000_000;
  /** seriesKey → fingerprint for series already written to `series` by this process. */
  const known = new Map<string, string>();
  const samplesColumns = [SAMPLES.metric, SAMPLES.fingerprint, SAMPLES.faculty, SAMPLES.timestamp, SAMPLES.value].join(', ');
  const seriesColumns = [SERIES.fingerprint, SERIES.metric, SERIES.faculty, SERIES.labels, SERIES.firstSeen].join(', ');

  return {
    knownSeries: () => known.size,
    async insertSamples(samples, { dedupToken }) {
      const started = performance.now();
      if (samples.length === 0) return { rows: 0, newSeries: 0, durationMs: 0 };
      const fresh = new Map<string, { fp: string; sample: Sample }>();
      const lines: string[] = new Array(samples.length);
      // Cache keyed by series key: one key build per sample, hashing only for new series.
      const local = new Map<string, string>();
      const quoted = new Map<string, string>();
      for (let i = 0; i < samples.length; i++) {
        const s = samples[i]!;
        const key = seriesKeyFast(s.metric, s.labels);
        let fp = known.get(key) ?? local.get(key);
        if (fp === undefined) {
          fp = fastFingerprint(key);
          local.set(key, fp);
          fresh.set(key, { fp, sample: s });
        }
        let metricJson = quoted.get(s.metric);
        if (metricJson === undefined) quoted.set(s.metric, (metricJson = JSON.stringify(s.metric)));
        const faculty = s.labels['faculty'] ?? '';
        let facultyJson = quoted.get(faculty);
        if (facultyJson === undefined) quoted.set(faculty, (facultyJson = JSON.stringify(faculty)));
        lines[i] = '[' + metricJson + ',' + fp + ',' + facultyJson + ',' + Math.trunc(s.timestampMs) + ',' + s.value + ']';
      }
      const now = clock();
      if (fresh.size > 0) {
        const rows: string[] = [];
        for (const { fp, sample } of fresh.values()) {
          rows.push(JSON.stringify([fp, sample.metric, sample.labels['faculty'] ?? '', sample.labels as Labels, now]).replace(/^\["(\d+)"/, '[$1'));
        }
        // Series rows are idempotent by nature (ReplacingMergeTree): no token needed.
        const stmt = `INSERT INTO ${database}.${TABLES.series} (${seriesColumns}) FORMAT JSONCompactEachRow`;
        try {
          await execInsert(client, stmt, rows.join('\n') + '\n');
        } catch (err) {
          throw classifyInsertError(err, `${fresh.size} series rows`);
        }
      }
      const stmt =
        `INSERT INTO ${database}.${TABLES.samples} (${samplesColumns}) ` +
        `SETTINGS insert_deduplication_token=${sqlString(dedupToken)}, deduplicate_blocks_in_dependent_materialized_views=1 ` +
        `FORMAT JSONCompactEachRow`;
      try {
        await execInsert(client, stmt, lines.join('\n') + '\n');
      } catch (err) {
        throw classifyInsertError(err, `${samples.length} samples (token ${dedupToken})`);
      }
      if (known.size + fresh.size > maxCached) known.clear();
      for (const [key, { fp }] of fresh) known.set(key, fp);
      return { rows: samples.length, newSeries: fresh.size, durationMs: performance.now() - started };
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
