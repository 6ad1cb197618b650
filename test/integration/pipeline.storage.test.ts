/**
 * Schema and sink on the real ClickHouse engine (chDB, own temp data directory: chDB
 * locks one directory per process and vitest runs each file in its own fork).
 */
import { describe, expect, it } from 'vitest';
import type { Sample } from '../../core/samples.ts';
import { countStoredSamples, createClickHouseSink } from '../../pipeline/clickhouseSink.ts';
import { migrate } from '../../schema/migrate.ts';
import { TABLES } from '../../schema/tables.ts';
import type { Storage } from '../../pipeline/storage.ts';
import { useTempStorage } from './support/tempStorage.ts';

let storage: Storage;
useTempStorage('pipeline-storage', (s) => (storage = s));

const T0 = Date.UTC(2026, 10, 30, 8, 0, 0);
function batch(n: number, offsetMs: number, faculty = 'sciences'): Sample[] {
  return Array.from({ length: n }, (_, i) => ({
    metric: 'ecampus_sessions_active',
    labels: { faculty, instance: `web-${i % 3}` },
    timestampMs: T0 + offsetMs + i * 1000,
    value: i,
  }));
}

async function scalar(sql: string): Promise<number> {
  const rs = await storage.client.query({ query: sql, format: 'JSONEachRow' });
  const rows = await rs.json<Record<string, unknown>>();
  return Number(Object.values(rows[0] ?? {})[0] ?? 0);
}

describe('migrate on chDB', () => {
  it('creates every table once and is idempotent', async () => {
    const first = await migrate(storage.client, { database: 'm1' });
    expect(first.applied.length).toBeGreaterThanOrEqual(4);
    const second = await migrate(storage.client, { database: 'm1' });
    expect(second.applied).toEqual([]);
    expect(second.alreadyApplied).toEqual(first.applied);
    const tables = await storage.client.query({ query: "SELECT name FROM system.tables WHERE database = 'm1' ORDER BY name", format: 'JSONEachRow' });
    // Other migrations may add tables: check ours are there, and nothing is missing.
    expect((await tables.json<{ name: string }>()).map((r) => r.name)).toEqual(
      expect.arrayContaining([
        TABLES.alertsLog,
        TABLES.samples,
        TABLES.samples1m,
        TABLES.samples1mMv,
        TABLES.migrations,
        TABLES.series,
        TABLES.samplesIngest,
        TABLES.samplesIngestMv,
        TABLES.ingestOffsets,
      ]),
    );
    expect(await scalar('SELECT count() FROM m1.schema_migrations')).toBe(first.applied.length);
  });
});

describe('ClickHouse sink deduplication (PITFALLS: per-insert settings stay in the statement)', () => {
  it('the same token twice lands once; two different inserts after a tokened insert both land', async () => {
    await migrate(storage.client, { database: 'd1' });
    const sink = createClickHouseSink({ client: storage.client, database: 'd1', clock: () => T0 });
    await sink.insertSamples(batch(10, 0), { dedupToken: 'otlp_metrics:0:0-9' });
    await sink.insertSamples(batch(10, 0), { dedupToken: 'otlp_metrics:0:0-9' });
    expect(await countStoredSamples(storage.client, { database: 'd1' })).toBe(10);
    await sink.insertSamples(batch(5, 60_000), { dedupToken: 'otlp_metrics:0:10-14' });
    await sink.insertSamples(batch(7, 120_000, 'droit'), { dedupToken: 'otlp_metrics:1:0-6' });
    expect(await countStoredSamples(storage.client, { database: 'd1' })).toBe(22);
    // A plain client.insert after all that still lands (no sticky SET on the connection).
    await storage.client.insert({ table: 'd1.samples', values: [{ metric: 'x', fingerprint: '1', faculty: '', timestamp: T0, value: 1 }], format: 'JSONEachRow' });
    expect(await countStoredSamples(storage.client, { database: 'd1' })).toBe(23);
    expect(await countStoredSamples(storage.client, { database: 'd1', from: T0 + 60_000, to: T0 + 120_000 })).toBe(5);
  });

  it('a redelivered batch does not double the per-minute rollup', async () => {
    await migrate(storage.client, { database: 'd2' });
    const sink = createClickHouseSink({ client: storage.client, database: 'd2' });
    await sink.insertSamples(batch(120, 0), { dedupToken: 't:0:0-1' });
    await sink.insertSamples(batch(120, 0), { dedupToken: 't:0:0-1' });
    expect(await scalar('SELECT sum(count) FROM d2.samples_1m')).toBe(120);
    expect(await scalar("SELECT argMaxMerge(last) FROM d2.samples_1m WHERE minute = toDateTime('2026-11-30 08:01:00', 'UTC')")).toBe(119);
    expect(await scalar('SELECT count() FROM (SELECT fingerprint FROM d2.series FINAL)')).toBe(3);
  });

  it('registers each series once per process with its labels and faculty', async () => {
    await migrate(storage.client, { database: 'd3' });
    const sink = createClickHouseSink({ client: storage.client, database: 'd3' });
    const a = await sink.insertSamples(batch(6, 0), { dedupToken: 'a' });
    const b = await sink.insertSamples(batch(6, 10_000), { dedupToken: 'b' });
    expect([a.newSeries, b.newSeries]).toEqual([3, 0]);
    const rs = await storage.client.query({ query: "SELECT faculty, labels['instance'] AS instance FROM d3.series ORDER BY instance", format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([
      { faculty: 'sciences', instance: 'web-0' },
      { faculty: 'sciences', instance: 'web-1' },
      { faculty: 'sciences', instance: 'web-2' },
    ]);
    // samples.fingerprint joins series.fingerprint.
    expect(await scalar('SELECT count() FROM d3.samples s INNER JOIN d3.series r ON s.fingerprint = r.fingerprint')).toBe(12);
  });
});
