/**
 * Every panel of the faculty dashboard, its SQL expanded the way Grafana and the
 * ClickHouse plugin would, runs on real chDB over a synthetic morning and returns
 * the columns its panel type needs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  expandMacros,
  facultyAnnotationSql,
  facultyPanelSql,
  facultyVariableSql,
  type MacroContext,
} from '../../dashboards/index.ts';
import { histogramQuantile } from '../../postmortem/index.ts';
import {
  insertMorning,
  LE,
  MORNING_END_MS,
  MORNING_START_MS,
  openTestStore,
  plantedFacts,
} from '../unit/postmortem/syntheticMorning.ts';

type Store = Awaited<ReturnType<typeof openTestStore>>;
let store: Store;

interface Result {
  names: string[];
  types: string[];
  rows: unknown[][];
}

async function run(sql: string): Promise<Result> {
  const rs = await store.client.query({ query: sql, format: 'JSONCompactEachRowWithNamesAndTypes' });
  const [names, types, ...rows] = await rs.json<unknown[]>();
  return { names: names as string[], types: types as string[], rows };
}

const ctx = (over: Partial<MacroContext> = {}): MacroContext => ({
  from: MORNING_START_MS,
  to: MORNING_END_MS,
  intervalMs: 60_000,
  vars: { faculty: plantedFacts.collapseFaculty },
  ...over,
});

/** `'2026-01-12 09:02:00'` → epoch ms (chDB answers DateTime in UTC). */
const ms = (v: unknown): number => Date.parse(String(v).replace(' ', 'T') + 'Z');

beforeAll(async () => {
  store = await openTestStore();
  await insertMorning(store.client, store.database);
});
afterAll(async () => {
  await store?.close();
});

describe('faculty dashboard SQL on chDB', () => {
  const panels = facultyPanelSql({ database: 'vigie_test', datasourceUid: 'vigie-clickhouse' });

  for (const p of panels) {
    it(`panel ${p.id} "${p.title}" returns ${p.kind === 'timeseries' ? 'time first, then numbers' : 'a non-empty table'}`, async () => {
      const r = await run(expandMacros(p.rawSql, ctx()));
      expect(r.rows.length).toBeGreaterThan(0);
      if (p.kind === 'timeseries') {
        expect(r.names[0]).toBe('time');
        expect(r.types[0]).toMatch(/^DateTime/);
        for (const t of r.types.slice(1)) expect(t).toMatch(/^(Nullable\()?(Float|U?Int)/);
        const times = r.rows.map((row) => ms(row[0]));
        expect([...times].sort((a, b) => a - b)).toEqual(times);
        expect(new Set(times).size).toBe(times.length);
      } else {
        expect(r.names).toEqual(['firing_since', 'rule', 'severity', 'exam_id', 'server', 'summary', 'value']);
      }
    });
  }

  it('buckets by the panel interval (5 min → 12 points in the hour)', async () => {
    const sessions = panels.find((p) => p.title.startsWith('Sessions'))!;
    const r = await run(expandMacros(sessions.rawSql, ctx({ intervalMs: 300_000 })));
    expect(r.rows.length).toBe(12);
  });

  it('sessions vs capacity shows the ramp past capacity', async () => {
    const r = await run(expandMacros(panels[0]!.rawSql, ctx()));
    const capacity = r.rows.map((row) => Number(row[2]));
    const sessions = r.rows.map((row) => Number(row[1]));
    expect(new Set(capacity)).toEqual(new Set([plantedFacts.sciencesCapacity]));
    expect(Math.max(...sessions)).toBe(plantedFacts.sciencesPeakSessions);
  });

  it('error ratio crosses 0.5 exactly at the planted collapse minute', async () => {
    const errors = panels.find((p) => p.title.startsWith('Error'))!;
    const r = await run(expandMacros(errors.rawSql, ctx()));
    const first = r.rows.find((row) => Number(row[1]) > 0.5);
    expect(first && ms(first[0])).toBe(plantedFacts.collapseMinuteMs);
    const before = r.rows.find((row) => ms(row[0]) === plantedFacts.collapseMinuteMs - 60_000)!;
    expect(Number(before[1])).toBeLessThan(0.01);
  });

  it('p95 in SQL equals histogram_quantile computed in TypeScript', async () => {
    const latency = panels.find((p) => p.title.startsWith('Request latency'))!;
    const r = await run(expandMacros(latency.rawSql, ctx()));
    const byMinute = new Map(r.rows.map((row) => [ms(row[0]), row]));
    // 09:10: sciences has collapsed, latency ~3 s.
    const minute = Date.UTC(2026, 0, 12, 9, 10);
    const buckets = await bucketIncreases(minute);
    const expected95 = histogramQuantile(0.95, buckets);
    const expected50 = histogramQuantile(0.5, buckets);
    const row = byMinute.get(minute)!;
    expect(Number(row[2])).toBeCloseTo(expected95!, 9);
    expect(Number(row[1])).toBeCloseTo(expected50!, 9);
    expect(Number(row[2])).toBeGreaterThan(1);
  });

  it('the alerts annotation returns time, text, tags for firing and resolved transitions', async () => {
    const r = await run(expandMacros(facultyAnnotationSql({ database: 'vigie_test', datasourceUid: 'x' }), ctx()));
    expect(r.names).toEqual(['time', 'text', 'tags']);
    expect(r.types[0]).toMatch(/^DateTime/);
    expect(r.rows.map((row) => String(row[1]).split(':')[0])).toEqual(['firing', 'firing', 'resolved']);
    expect(String(r.rows[0]![2])).toBe('firing,page,SCI-101,sciences-1');
  });

  it('the faculty variable lists every faculty', async () => {
    const r = await run(facultyVariableSql({ database: 'vigie_test' }));
    expect(r.rows.map((row) => row[0])).toEqual(['droit', 'medecine', 'sciences']);
  });

  it('a faculty name with a quote stays one SQL string', async () => {
    const annotation = facultyAnnotationSql({ database: 'vigie_test', datasourceUid: 'x' });
    for (const sql of [...panels.map((p) => p.rawSql), annotation]) {
      const r = await run(expandMacros(sql, ctx({ vars: { faculty: "l'école" } })));
      expect(r.rows.length).toBe(0);
    }
  });
});

async function bucketIncreases(minuteMs: number): Promise<{ le: number; count: number }[]> {
  const read = async (mMs: number): Promise<Map<string, number>> => {
    const r = await run(
      `SELECT s.le AS le, sum(v) AS v FROM (
         SELECT fingerprint, argMaxMerge(last) AS v FROM vigie_test.samples_1m
         WHERE metric = 'http_server_request_duration_seconds_bucket' AND faculty = 'sciences'
           AND minute = toDateTime(${mMs / 1000}, 'UTC') GROUP BY fingerprint) AS r
       INNER JOIN (SELECT fingerprint, any(labels['le']) AS le FROM vigie_test.series GROUP BY fingerprint) AS s
         ON s.fingerprint = r.fingerprint
       GROUP BY le`,
    );
    return new Map(r.rows.map(([le, v]) => [String(le), Number(v)]));
  };
  const [now, prev] = [await read(minuteMs), await read(minuteMs - 60_000)];
  return LE.map((le) => ({ le: le === '+Inf' ? Infinity : Number(le), count: (now.get(le) ?? 0) - (prev.get(le) ?? 0) }));
}
