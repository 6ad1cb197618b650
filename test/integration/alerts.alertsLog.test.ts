/** Alert transitions land in the real `alerts_log` schema on chDB, readable by SQL. */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAlertsLogWriter } from '../../rules/alertsLog.ts';
import type { AlertTransition } from '../../rules/engine.ts';
import { migrate } from '../../schema/migrate.ts';
import { createStorage, type Storage } from '../../pipeline/storage.ts';

const T0 = Date.UTC(2026, 0, 12, 8, 0, 0);

describe('alerts_log writer on chDB', () => {
  let dir: string;
  let storage: Storage;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vigie-alog-'));
    storage = createStorage({ chdbPath: dir });
    await migrate(storage.client, { database: 'alog' });
  });
  afterAll(async () => {
    await storage?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('inserts every transition, twice in a row, with maps, UInt64 fingerprints and NaN values', async () => {
    const write = createAlertsLogWriter(storage.client, 'alog');
    const base: AlertTransition = {
      rule: 'FacultySessionsSaturationForecast',
      group: 'vigie-capacity',
      fingerprint: '18446744073709551557',
      state: 'pending',
      labels: { alertname: 'FacultySessionsSaturationForecast', faculty: 'med' },
      annotations: { summary: 'med sessions will reach capacity in ~8 min' },
      value: 8.25,
      activeAt: T0,
      at: T0,
    };
    await write([base]);
    await write([{ ...base, state: 'firing', at: T0 + 60_000 }, { ...base, state: 'resolved', value: NaN, at: T0 + 600_000 }]);
    const rs = await storage.client.query({
      query: `SELECT state, toString(fingerprint) AS fp, labels['faculty'] AS faculty, annotations['summary'] AS summary, value,
                     toUnixTimestamp64Milli(timestamp) AS ts, toUnixTimestamp64Milli(active_at) AS active
              FROM alog.alerts_log ORDER BY timestamp`,
      format: 'JSONEachRow',
    });
    const rows = await rs.json<{ state: string; fp: string; faculty: string; summary: string; value: number; ts: string | number; active: string | number }>();
    expect(rows.map((r) => r.state)).toEqual(['pending', 'firing', 'resolved']);
    expect(rows.every((r) => r.fp === base.fingerprint && r.faculty === 'med' && r.summary === base.annotations['summary'])).toBe(true);
    expect(rows.map((r) => Number(r.ts))).toEqual([T0, T0 + 60_000, T0 + 600_000]);
    expect(rows.map((r) => Number(r.active))).toEqual([T0, T0, T0]);
    expect(rows[0]!.value).toBe(8.25);
  });

  it('keeps one row when two evaluators of an HA pair insert the same transitions (migration 009)', async () => {
    const write = createAlertsLogWriter(storage.client, 'alog');
    const t: AlertTransition = {
      rule: 'HaPair',
      group: 'ha',
      fingerprint: '42',
      state: 'firing',
      labels: { alertname: 'HaPair', faculty: 'law' },
      annotations: { summary: 'law' },
      value: 3,
      activeAt: T0,
      at: T0 + 15_000,
    };
    await write([t]);
    await write([t]); // the other evaluator, same boundary, same data
    await write([{ ...t, state: 'resolved', at: T0 + 30_000 }]); // a different transition is kept
    const rs = await storage.client.query({ query: `SELECT state, count() AS n FROM alog.alerts_log WHERE rule = 'HaPair' GROUP BY state ORDER BY state`, format: 'JSONEachRow' });
    expect((await rs.json<{ state: string; n: string | number }>()).map((r) => [r.state, Number(r.n)])).toEqual([
      ['firing', 1],
      ['resolved', 1],
    ]);
  });
});
