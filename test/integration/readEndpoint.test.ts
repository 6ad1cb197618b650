/**
 * The read-only ClickHouse-compatible endpoint over an embedded chDB directory, driven by
 * the real `@clickhouse/client` over HTTP as Grafana's data source and other Vigie
 * commands drive it: every dashboard panel's and annotation's SQL returns what it returns
 * on the owning connection; parameters, settings, formats, gzip and auth work; writes are
 * refused; and a request's settings never leak into the writer's connection.
 */
import { createClient, type ClickHouseClient } from '@clickhouse/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dashboardCatalog, expandMacros, type MacroContext } from '../../dashboards/index.ts';
import { startReadEndpoint, type ReadEndpoint } from '../../pipeline/readEndpoint.ts';
import { insertMorning, MORNING_END_MS, MORNING_START_MS, openTestStore, plantedFacts } from '../unit/postmortem/syntheticMorning.ts';
import { postmortem } from '../../postmortem/index.ts';

type Store = Awaited<ReturnType<typeof openTestStore>>;
let store: Store;
let endpoint: ReadEndpoint;
let secured: ReadEndpoint;
let http: ClickHouseClient;

const ctx: MacroContext = {
  from: MORNING_START_MS,
  to: MORNING_END_MS,
  intervalMs: 60_000,
  vars: { faculty: plantedFacts.collapseFaculty, faculties: ['droit', 'medecine', 'sciences'] },
};

beforeAll(async () => {
  store = await openTestStore();
  await insertMorning(store.client, store.database);
  endpoint = await startReadEndpoint({ chdbPath: store.dir, database: store.database, port: 0 });
  secured = await startReadEndpoint({ chdbPath: store.dir, database: store.database, port: 0, username: 'grafana', password: 's3cret' });
  http = createClient({ url: endpoint.url, database: store.database });
});
afterAll(async () => {
  await http?.close();
  await endpoint?.close();
  await secured?.close();
  await store?.close();
});

const rows = async (client: ClickHouseClient, query: string, extra: Record<string, unknown> = {}): Promise<unknown[]> =>
  (await client.query({ query, format: 'JSONCompactEachRow', ...extra })).json<unknown>();

describe('read endpoint with @clickhouse/client', () => {
  it('answers ping on 127.0.0.1', async () => {
    expect(endpoint.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect((await http.ping()).success).toBe(true);
  });

  it('returns the same rows as the owning connection for every dashboard panel and annotation', async () => {
    let checked = 0;
    for (const d of dashboardCatalog({ database: store.database, datasourceUid: 'vigie-clickhouse' })) {
      for (const sql of [...d.panels.map((p) => p.rawSql), ...Object.values(d.annotations)]) {
        const q = expandMacros(sql, ctx);
        const direct = await rows(store.client, q);
        const served = await rows(http, q);
        expect(served, `${d.uid}: ${q.slice(0, 80)}`).toEqual(direct);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(20);
  });

  it('runs the whole post-mortem through it (query parameters, JSONEachRow)', async () => {
    const opts = { database: store.database, fromMs: MORNING_START_MS, toMs: MORNING_END_MS };
    const served = await postmortem(http, opts);
    expect(served).toEqual(await postmortem(store.client, opts));
    expect(served.collapse?.minuteMs).toBe(plantedFacts.collapseMinuteMs);
  });

  it('binds parameters, takes the database from the URL and keeps each request\'s settings to itself', async () => {
    expect(await rows(http, 'SELECT {x:UInt32} + 1, {s:String}, currentDatabase()', { query_params: { x: 41, s: "it's" } })).toEqual([[42, "it's", store.database]]);
    const set = await rows(http, "SELECT getSetting('max_threads')", { clickhouse_settings: { max_threads: 1 } });
    expect(set).toEqual([[1]]);
    const next = await rows(http, "SELECT getSetting('max_threads')");
    expect(next).not.toEqual([[1]]);
    // The writer's connection (the pipeline's inserts) never sees an endpoint setting.
    expect(await rows(store.client, "SELECT toUInt8(getSetting('max_threads') = 1), toUInt8(getSetting('readonly'))")).toEqual([[0, 0]]);
  });

  it('uses default_format when the SQL names none, and the SQL FORMAT clause otherwise', async () => {
    const url = new URL(endpoint.url);
    url.searchParams.set('default_format', 'CSV');
    url.searchParams.set('query', 'SELECT 1 AS a, 2 AS b');
    const csv = await fetch(url);
    expect(await csv.text()).toBe('1,2\n');
    expect(csv.headers.get('x-clickhouse-format')).toBe('CSV');
    const tsv = await fetch(endpoint.url, { method: 'POST', body: 'SELECT 1 AS a FORMAT JSONEachRow' });
    expect(await tsv.text()).toBe('{"a":1}\n');
  });

  it('gzips responses when asked (enable_http_compression)', async () => {
    const gz = createClient({ url: endpoint.url, database: store.database, compression: { response: true } });
    try {
      expect(await rows(gz, 'SELECT number FROM numbers(3)')).toEqual([[0], [1], [2]]);
    } finally {
      await gz.close();
    }
  });

  it('refuses writes, DDL and multi-statement writes, with ClickHouse READONLY (164)', async () => {
    for (const query of [`INSERT INTO ${store.database}.alerts_log SELECT * FROM ${store.database}.alerts_log LIMIT 1`, `DROP TABLE ${store.database}.alerts_log`, `CREATE TABLE x (a UInt8) ENGINE = Memory`, `SELECT 1; DROP TABLE ${store.database}.alerts_log`]) {
      await expect(http.command({ query }), query).rejects.toMatchObject({ code: '164' });
    }
    await expect(rows(http, 'SELECT 1', { clickhouse_settings: { readonly: 0 } })).rejects.toThrow(/readonly/i);
    expect(await rows(store.client, `SELECT toUInt8(count() > 0) FROM ${store.database}.alerts_log`)).toEqual([[1]]);
  });

  it('answers engine errors in ClickHouse\'s shape', async () => {
    await expect(rows(http, 'SELECT * FROM no_such_table')).rejects.toMatchObject({ code: '60', type: 'UNKNOWN_TABLE' });
  });

  it('checks basic auth when a password is configured', async () => {
    const wrong = createClient({ url: secured.url, username: 'grafana', password: 'nope' });
    const right = createClient({ url: secured.url, username: 'grafana', password: 's3cret', database: store.database });
    try {
      await expect(rows(wrong, 'SELECT 1')).rejects.toMatchObject({ code: '516' });
      expect(await rows(right, 'SELECT 1')).toEqual([[1]]);
    } finally {
      await wrong.close();
      await right.close();
    }
  });
});
