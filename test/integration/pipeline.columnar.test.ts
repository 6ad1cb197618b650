/**
 * The sink's columnar insert on the real engine (chDB): samples written as typed Arrow
 * columns must read back exactly as they went in — hostile strings, NaN, ±Inf, -0,
 * extreme timestamps, 64-bit fingerprints and offsets — and the same samples through the
 * JSONCompactEachRow path (the ClickHouse-server path) must store the same rows.
 */
import { describe, expect, it } from 'vitest';
import type { Sample } from '../../core/samples.ts';
import { seriesKeyOf } from '../../otlp/decode.ts';
import { createClickHouseSink, fastFingerprint } from '../../pipeline/clickhouseSink.ts';
import type { Storage } from '../../pipeline/storage.ts';
import { useTempStorage } from './support/tempStorage.ts';
import { migrate } from '../../schema/migrate.ts';
import { TABLES } from '../../schema/tables.ts';

let storage: Storage;
useTempStorage('pipeline-columnar', (s) => (storage = s));

// (No lone surrogates: the OTLP decoder's UTF-8 decoding cannot produce one.)
const HOSTILE = [
  '',
  "quote ' and \" and \\ backslash \\'",
  'new\nlines\n\nand\r\n\ttabs',
  'nul \u0000 byte',
  'émoji 🚀 and ünïcödé, 中文',
  ' leading and trailing space ',
  ',[]{}:"json"',
  'x'.repeat(300),
];
const VALUES = [NaN, Infinity, -Infinity, -0, 0, 5e-324, -Number.MAX_VALUE, Number.MAX_VALUE, 0.1 + 0.2, -1234567.890123];
const TIMESTAMPS = [
  Date.UTC(1900, 0, 1), // DateTime64 lower bound
  -1, // 1969-12-31T23:59:59.999
  0,
  -1.5, // truncated toward zero, as the JSON path does
  1.9,
  Date.UTC(2026, 11, 7, 8, 30, 0, 123),
  Date.UTC(2299, 11, 31, 23, 59, 59, 999), // upper bound
];

/** Samples covering every hostile string in every string column, and every value/timestamp. */
function hostileSamples(): Sample[] {
  const out: Sample[] = [];
  const n = Math.max(HOSTILE.length, VALUES.length, TIMESTAMPS.length) * 3;
  for (let i = 0; i < n; i++) {
    const s = (k: number) => HOSTILE[(i + k) % HOSTILE.length]!;
    out.push({
      metric: 'm_' + s(0),
      labels: { faculty: s(1), le: s(2), http_response_status_code: s(3), exam_id: s(4), other: s(5) },
      timestampMs: TIMESTAMPS[i % TIMESTAMPS.length]!,
      value: VALUES[i % VALUES.length]!,
    });
  }
  return out;
}

/** A stored row in a form that compares exactly: strings as UTF-8 hex, floats as their bits. */
interface Row {
  metric: string;
  fingerprint: string;
  faculty: string;
  ts: string;
  value: string;
  delta: string;
  le: string;
  status: string;
  exam: string;
}

const hex = (s: string) => Buffer.from(s, 'utf8').toString('hex').toUpperCase();
const bits = (v: number) => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return b.readBigUInt64LE().toString();
};

function expected(samples: readonly Sample[], deltas: readonly number[]): Row[] {
  return samples.map((s, i) => ({
    metric: hex(s.metric),
    fingerprint: fastFingerprint(seriesKeyOf(s)),
    faculty: hex(s.labels['faculty'] ?? ''),
    ts: String(Math.trunc(s.timestampMs)),
    value: bits(s.value),
    delta: bits(deltas[i]!),
    le: hex(s.labels['le'] ?? ''),
    status: hex(s.labels['http_response_status_code'] ?? ''),
    exam: hex(s.labels['exam_id'] ?? ''),
  }));
}

async function stored(database: string, table: string = TABLES.samples): Promise<Row[]> {
  const rs = await storage.client.query({
    query: `SELECT hex(metric) AS metric, toString(fingerprint) AS fingerprint, hex(faculty) AS faculty,
        toString(toUnixTimestamp64Milli(timestamp)) AS ts, toString(reinterpretAsUInt64(value)) AS value,
        toString(reinterpretAsUInt64(delta)) AS delta, hex(le) AS le, hex(status_code) AS status, hex(exam_id) AS exam
      FROM ${database}.${table}`,
    format: 'JSONEachRow',
  });
  return rs.json<Row>();
}

/** Migrated, with the raw table's 30-day TTL removed: else the extreme (old) timestamps expire at insert. */
async function migrateKeepingAll(database: string): Promise<void> {
  await migrate(storage.client, { database });
  for (const t of [TABLES.samples, TABLES.samples1m]) await storage.client.command({ query: `ALTER TABLE ${database}.${t} REMOVE TTL` });
}

const sortRows = (rows: Row[]) => [...rows].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

describe('columnar insert (Arrow, chDB)', () => {
  it('the storage offers it on chDB', () => {
    expect(typeof storage.columnarInsert).toBe('function');
  });

  it('insertIngest stores exactly what went in, with 64-bit offsets, and is deduplicated by its token', async () => {
    const database = 'c1';
    await migrateKeepingAll(database);
    const sink = createClickHouseSink({ client: storage.client, columnarInsert: storage.columnarInsert!, database });
    const samples = hostileSamples();
    const half = Math.floor(samples.length / 2);
    const deltas = samples.map((_, i) => VALUES[(i + 3) % VALUES.length]!);
    // Offsets above 2^32 and near 2^63: both halves of the UInt64 columns matter.
    const first = '9223372036854775000';
    const second = '9223372036854775806';
    const chunk = {
      topic: "t'op\\ic",
      partition: 3,
      messages: [
        { offset: first, samples: samples.slice(0, half), deltas: deltas.slice(0, half) },
        { offset: second, samples: samples.slice(half), deltas: deltas.slice(half) },
      ],
    };
    const r = await sink.insertIngest(chunk, { dedupToken: 'c1:3:a' });
    expect(r.rows).toBe(samples.length);
    expect(sortRows(await stored(database))).toEqual(sortRows(expected(samples, deltas)));
    expect(await sink.readWatermark("t'op\\ic", 3)).toEqual({ offset: BigInt(second), firstOffset: BigInt(first) });

    // Same token: dropped in samples and in the rollups it feeds.
    await sink.insertIngest(chunk, { dedupToken: 'c1:3:a' });
    expect((await stored(database)).length).toBe(samples.length);
    const count1m = await storage.client.query({ query: `SELECT sum(count) AS n FROM ${database}.${TABLES.samples1m}`, format: 'JSONEachRow' });
    expect(Number((await count1m.json<{ n: string }>())[0]!.n)).toBe(samples.length);
    // A different token right after: lands (no sticky setting).
    await sink.insertIngest({ ...chunk, messages: [{ offset: '9223372036854775807', samples: samples.slice(0, 2) }] }, { dedupToken: 'c1:3:b' });
    expect((await stored(database)).length).toBe(samples.length + 2);
    expect(await sink.readWatermark("t'op\\ic", 3)).toEqual({ offset: 9223372036854775807n, firstOffset: 9223372036854775807n });
  });

  it('stores the same rows as the JSONCompactEachRow path (differential, finite values)', async () => {
    await migrateKeepingAll('c2a');
    await migrateKeepingAll('c2b');
    const viaColumns = createClickHouseSink({ client: storage.client, columnarInsert: storage.columnarInsert!, database: 'c2a' });
    const viaJson = createClickHouseSink({ client: storage.client, rawInsert: storage.rawInsert!, database: 'c2b' });
    // JSON has no NaN/Infinity, and the JSON path writes -0 as 0 (the columnar one keeps
    // the sign, checked above): the differential covers the other values.
    const samples = hostileSamples().filter((s) => Number.isFinite(s.value) && !Object.is(s.value, -0));
    const deltas = samples.map((_, i) => (i % 4) * 0.25);
    const chunk = { topic: 't', partition: 0, messages: [{ offset: '41', samples, deltas }] };
    await viaColumns.insertIngest(chunk, { dedupToken: 'c2' });
    await viaJson.insertIngest(chunk, { dedupToken: 'c2' });
    const a = sortRows(await stored('c2a'));
    expect(a.length).toBe(samples.length);
    expect(a).toEqual(sortRows(await stored('c2b')));
    // The series registered alongside are the same too.
    const series = async (db: string) => (await storage.client.query({ query: `SELECT toString(fingerprint) AS fp, hex(metric) AS m, toJSONString(labels) AS l FROM ${db}.${TABLES.series} ORDER BY fp, m, l`, format: 'JSONEachRow' })).json();
    expect(await series('c2a')).toEqual(await series('c2b'));
  });

  it('insertSamples (no Kafka position) goes the columnar way too, with counter increases', async () => {
    const database = 'c3';
    await migrate(storage.client, { database });
    const sink = createClickHouseSink({ client: storage.client, columnarInsert: storage.columnarInsert!, database });
    const t0 = Date.UTC(2026, 11, 7, 8);
    const counter = (i: number, v: number): Sample => ({ metric: 'http_server_request_duration_count', labels: { faculty: 'f', exam_id: 'e1' }, timestampMs: t0 + i * 15_000, value: v });
    await sink.insertSamples([counter(0, 10), counter(1, 15)], { dedupToken: 'c3:a' });
    await sink.insertSamples([counter(2, 4)], { dedupToken: 'c3:b' }); // a reset: the increase is the new value
    const rs0 = await storage.client.query({ query: `SELECT delta FROM ${database}.${TABLES.samples} ORDER BY timestamp`, format: 'JSONEachRow' });
    expect((await rs0.json<{ delta: number }>()).map((r) => r.delta)).toEqual([0, 5, 4]);
    const rs = await storage.client.query({ query: `SELECT sum(delta) AS d FROM ${database}.${TABLES.counters1m}`, format: 'JSONEachRow' });
    expect(Number((await rs.json<{ d: number }>())[0]!.d)).toBe(9);
  });

  it('a non-finite timestamp is refused with the metric named, before anything is stored', async () => {
    const database = 'c4';
    await migrate(storage.client, { database });
    const sink = createClickHouseSink({ client: storage.client, columnarInsert: storage.columnarInsert!, database });
    const bad: Sample = { metric: 'bad_metric', labels: {}, timestampMs: NaN, value: 1 };
    await expect(sink.insertIngest({ topic: 't', partition: 0, messages: [{ offset: '1', samples: [bad] }] }, { dedupToken: 'c4' })).rejects.toThrow(/bad_metric/);
    expect(await sink.readWatermark('t', 0)).toBeNull();
  });
});
