/**
 * Exactly-once ingestion keyed by Kafka position, on the real engine (chDB, own temp
 * directory): redeliveries whose batch boundaries differ from the stored inserts, the
 * repair of an insert interrupted between its bookkeeping and its rows, and the schema
 * facts the design relies on (root part committed before dependent views run).
 */
import { describe, expect, it } from 'vitest';
import type { Sample } from '../../core/samples.ts';
import { countStoredSamples, createClickHouseSink } from '../../pipeline/clickhouseSink.ts';
import { createPipeline } from '../../pipeline/pipeline.ts';
import { migrate } from '../../schema/migrate.ts';
import { TABLES } from '../../schema/tables.ts';
import type { Storage } from '../../pipeline/storage.ts';
import { useTempStorage } from './support/tempStorage.ts';
import { TOPICS } from '../../transport/types.ts';
import { handDrivenTransport, otlpMessages, range, sumRange } from './support-pipeline/fixtures.ts';

let storage: Storage;
useTempStorage('pipeline-exactly-once', (s) => (storage = s));

async function scalar(sql: string): Promise<number> {
  const rs = await storage.client.query({ query: sql, format: 'JSONEachRow' });
  const rows = await rs.json<Record<string, unknown>>();
  return Number(Object.values(rows[0] ?? {})[0] ?? 0);
}

/** Rows in samples, the rollup's count, and the high-water mark of partition `p`. */
async function state(database: string, p = 0) {
  return {
    samples: await countStoredSamples(storage.client, { database }),
    rollup: await scalar(`SELECT sum(count) FROM ${database}.${TABLES.samples1m}`),
    offset: await scalar(`SELECT offset FROM ${database}.${TABLES.ingestOffsets} WHERE source_topic = '${TOPICS.metrics}' AND source_partition = ${p}`),
  };
}

describe('exactly-once ingestion on chDB', () => {
  it('offsets 0–9 stored, then 5–19 redelivered: rows of 0–19 exactly once, rollup not doubled, nothing re-tapped', async () => {
    const database = 'x1';
    await migrate(storage.client, { database });
    const { messages, samplesPerMessage } = await otlpMessages(20);
    const t = handDrivenTransport();
    const pipeline = createPipeline({ transport: t.transport, storage: { client: storage.client, columnarInsert: storage.columnarInsert!, database }, clock: Date.now, log: () => undefined });
    const tapped: Sample[] = [];
    pipeline.onSamples((s) => tapped.push(...s));
    await pipeline.start();

    await t.deliver(range(messages, 0, 9));
    expect(await state(database)).toEqual({ samples: sumRange(samplesPerMessage, 0, 9), rollup: sumRange(samplesPerMessage, 0, 9), offset: 9 });
    // Crash before the commit: the redelivery starts at 5 (say) and ends elsewhere — a
    // different dedup token, so only the stored offsets can tell 5–9 are there already.
    await t.deliver(range(messages, 5, 19));
    const total = sumRange(samplesPerMessage, 0, 19);
    expect(await state(database)).toEqual({ samples: total, rollup: total, offset: 19 });
    expect(tapped.length).toBe(total);
    expect(pipeline.stats()).toMatchObject({ messages: 25, samplesStored: total, skippedRedelivered: 5, dlq: 0 });

    // The whole range again, and a tail: nothing more, except the tail.
    await t.deliver(range(messages, 0, 19));
    expect(await state(database)).toEqual({ samples: total, rollup: total, offset: 19 });
    expect(tapped.length).toBe(total);
    expect(pipeline.stats().skippedRedelivered).toBe(25);
    await pipeline.stop();
  });

  it('the dedup token alone does not protect against shifted boundaries (why the offsets are needed)', async () => {
    const database = 'x2';
    await migrate(storage.client, { database });
    const sink = createClickHouseSink({ client: storage.client, columnarInsert: storage.columnarInsert!, database });
    const rows = (from: number, to: number): Sample[] =>
      Array.from({ length: to - from + 1 }, (_, i) => ({ metric: 'm', labels: { faculty: 'f' }, timestampMs: Date.UTC(2026, 10, 30, 8) + (from + i) * 1000, value: from + i }));
    await sink.insertSamples(rows(0, 9), { dedupToken: 'otlp_metrics:0:0-9' });
    await sink.insertSamples(rows(5, 19), { dedupToken: 'otlp_metrics:0:5-19' });
    expect(await countStoredSamples(storage.client, { database })).toBe(25); // 5–9 twice
  });

  it('watermarks are per partition, and each insert covers whole messages of one partition', async () => {
    const database = 'x3';
    await migrate(storage.client, { database });
    const { messages, samplesPerMessage } = await otlpMessages(8);
    const t = handDrivenTransport();
    // One message per insert: many inserts per batch, each its own token and offsets.
    const pipeline = createPipeline({ transport: t.transport, storage: { client: storage.client, columnarInsert: storage.columnarInsert!, database }, clock: Date.now, maxBatchSamples: 1, log: () => undefined });
    await pipeline.start();
    await t.deliver(range(messages, 0, 5, 0));
    await t.deliver(range(messages, 0, 3, 1)); // same offsets, other partition: all new
    await t.deliver(range(messages, 2, 7, 0));
    expect(await countStoredSamples(storage.client, { database })).toBe(sumRange(samplesPerMessage, 0, 7) + sumRange(samplesPerMessage, 0, 3));
    expect((await state(database, 0)).offset).toBe(7);
    expect((await state(database, 1)).offset).toBe(3);
    expect(pipeline.stats().skippedRedelivered).toBe(4);
    await pipeline.stop();
  });

  it('repairs an insert whose offsets were recorded but whose rows were not (crash between the two commits)', async () => {
    const database = 'x4';
    await migrate(storage.client, { database });
    const { messages, samplesPerMessage } = await otlpMessages(10);
    const t = handDrivenTransport();
    const pipeline = createPipeline({ transport: t.transport, storage: { client: storage.client, columnarInsert: storage.columnarInsert!, database }, clock: Date.now, log: () => undefined });
    await pipeline.start();
    await t.deliver(range(messages, 0, 3));

    // Offsets 4–6 reach samples_ingest (the bookkeeping) but not samples: the view is detached.
    await storage.client.command({ query: `DETACH TABLE ${database}.${TABLES.samplesIngestMv}` });
    await t.deliver(range(messages, 4, 6));
    await storage.client.command({ query: `ATTACH TABLE ${database}.${TABLES.samplesIngestMv}` });
    expect(await state(database)).toMatchObject({ samples: sumRange(samplesPerMessage, 0, 3), offset: 6 });

    // Redelivery from the last commit (4): 4–6 are re-inserted under their original token
    // (rows stored now), 7–9 are new.
    await t.deliver(range(messages, 4, 9));
    const total = sumRange(samplesPerMessage, 0, 9);
    expect(await state(database)).toEqual({ samples: total, rollup: total, offset: 9 });
    // And once more: the repair is a no-op when the rows are there.
    await t.deliver(range(messages, 4, 9));
    await t.deliver(range(messages, 0, 9));
    expect(await state(database)).toEqual({ samples: total, rollup: total, offset: 9 });
    await pipeline.stop();
  });
});

describe('engine facts the design relies on (chDB)', () => {
  // Both insert paths: typed columns (INSERT … SELECT, chDB's) and JSONCompactEachRow (a server's).
  it.each(['columnar', 'json'] as const)('a failing dependent view leaves the root part committed: bookkeeping is never behind the rows (%s insert)', async (path) => {
    const database = `x5${path}`;
    await migrate(storage.client, { database });
    const c = storage.client;
    // Stand-in for "the process dies while the dependent views run": a view that throws.
    await c.command({ query: `CREATE TABLE ${database}.boom (x UInt64) ENGINE = MergeTree ORDER BY x` });
    await c.command({ query: `CREATE MATERIALIZED VIEW ${database}.boom_mv TO ${database}.boom AS SELECT throwIf(source_offset >= 100, 'boom') AS x FROM ${database}.${TABLES.samplesIngest}` });
    const sink = createClickHouseSink({ client: c, ...(path === 'columnar' ? { columnarInsert: storage.columnarInsert! } : {}), database });
    const sample: Sample = { metric: 'm', labels: { faculty: 'f' }, timestampMs: Date.UTC(2026, 10, 30, 8), value: 1 };
    await expect(sink.insertIngest({ topic: 't', partition: 0, messages: [{ offset: '100', samples: [sample] }] }, { dedupToken: 't:0:100-100' })).rejects.toThrow(/boom/);
    expect(await sink.readWatermark('t', 0)).toEqual({ offset: 100n, firstOffset: 100n });
    expect(await sink.readWatermark('t', 1)).toBeNull();
  });

  it('samples_ingest keeps one row per partition per insert (optimize_on_insert), and a token-only redelivery is dropped', async () => {
    const database = 'x6';
    await migrate(storage.client, { database });
    const sink = createClickHouseSink({ client: storage.client, columnarInsert: storage.columnarInsert!, database });
    const samples = (n: number, base: number): Sample[] =>
      Array.from({ length: n }, (_, i) => ({ metric: 'm', labels: { faculty: 'f', i: String(i) }, timestampMs: Date.UTC(2026, 10, 30, 8) + base + i, value: i }));
    const chunk = { topic: 't', partition: 2, messages: [{ offset: '10', samples: samples(50, 0) }, { offset: '11', samples: samples(70, 1000) }] };
    await sink.insertIngest(chunk, { dedupToken: 't:2:10-11' });
    await sink.insertIngest(chunk, { dedupToken: 't:2:10-11' });
    expect(await countStoredSamples(storage.client, { database })).toBe(120);
    expect(await scalar(`SELECT count() FROM ${database}.${TABLES.samplesIngest}`)).toBe(1);
    expect(await sink.readWatermark('t', 2)).toEqual({ offset: 11n, firstOffset: 10n });
    await expect(sink.insertIngest({ topic: 't', partition: 2, messages: [{ offset: '12', samples: [] }, { offset: '12', samples: [] }] }, { dedupToken: 'x' })).rejects.toThrow(/not increasing/);
  });
});
