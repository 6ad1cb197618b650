/**
 * Every ClickHouse panel and annotation of every dashboard, its SQL expanded the way
 * Grafana and the ClickHouse plugin would, runs on real chDB over a synthetic morning
 * and returns the columns its panel type needs; plus checks of what the panels show.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  dashboardCatalog,
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
  vars: { faculty: plantedFacts.collapseFaculty, faculties: ['droit', 'medecine', 'sciences'] },
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

const isNumeric = (t: string): boolean => /^(Nullable\()?(Float|U?Int|Decimal)/.test(t);

describe('every dashboard query on chDB', () => {
  for (const d of dashboardCatalog({ database: 'vigie_test', datasourceUid: 'vigie-clickhouse' })) {
    for (const p of d.panels) {
      it(`${d.uid} panel ${p.id} "${p.title}" (${p.kind}) returns its columns in order`, async () => {
        const r = await run(expandMacros(p.rawSql, ctx()));
        expect(r.rows.length).toBeGreaterThan(0);
        if (p.kind === 'table') {
          expect(r.names).toEqual(p.columns);
          return;
        }
        expect(r.names[0]).toBe('time');
        expect(r.types[0]).toMatch(/^DateTime/);
        const labelCols = p.kind === 'timeseriesLong' ? 1 : 0;
        for (const t of r.types.slice(1, 1 + labelCols)) expect(t).toMatch(/^(LowCardinality\()?String/);
        expect(r.types.length).toBeGreaterThan(1 + labelCols);
        for (const t of r.types.slice(1 + labelCols)) expect(isNumeric(t), t).toBe(true);
        const times = r.rows.map((row) => ms(row[0]));
        expect([...times].sort((a, b) => a - b)).toEqual(times);
        const keys = r.rows.map((row) => `${row[0]}|${labelCols ? row[1] : ''}`);
        expect(new Set(keys).size).toBe(keys.length);
      });
    }
    for (const [name, sql] of Object.entries(d.annotations)) {
      it(`${d.uid} annotation "${name}" returns time, text, tags`, async () => {
        const r = await run(expandMacros(sql, ctx()));
        expect(r.rows.length).toBeGreaterThan(0);
        expect(r.names).toEqual(['time', 'text', 'tags']);
        expect(r.types[0]).toMatch(/^DateTime/);
      });
    }
    it(`${d.uid}: counter panels read counters_1m (increases from ingest), no per-series window at query time`, () => {
      for (const p of d.panels.filter((x) => /http_server_request_duration_(count|bucket)/.test(x.rawSql))) {
        expect(p.rawSql, p.title).toContain('`vigie_test`.`counters_1m`');
        expect(p.rawSql, p.title).not.toMatch(/lagInFrame/);
      }
    });
    it(`${d.uid}: every SQL reads rollups, never raw samples`, () => {
      for (const sql of [...d.panels.map((p) => p.rawSql), ...Object.values(d.annotations)]) {
        expect(sql).not.toMatch(/`vigie_test`\.`samples`/);
      }
    });
  }

  const catalog = dashboardCatalog({ database: 'vigie_test', datasourceUid: 'x' });
  const panel = (uid: string, title: string) => catalog.find((d) => d.uid === uid)!.panels.find((p) => p.title.startsWith(title))!;

  it('overview: the faculties-now table forecasts saturation for the rising faculty only', async () => {
    // The 08:45 minute's last sample (08:45:45) has 100 + 60 × 15.75 = 1045 sessions rising by
    // 60/min against 1500: (1500 - 1045) / 60 ≈ 7.6 min.
    const r = await run(expandMacros(panel('vigie-overview', 'Faculties now').rawSql, ctx({ to: Date.UTC(2026, 0, 12, 8, 45) })));
    const byFaculty = new Map(r.rows.map((row) => [String(row[0]), row]));
    expect(Number(byFaculty.get('sciences')![4])).toBeCloseTo((1500 - 1045) / 60, 6);
    expect(byFaculty.get('droit')![4]).toBeNull(); // flat: never saturates
    expect(Number(byFaculty.get('sciences')![3])).toBeCloseTo(1045 / 1500, 6);
    expect(r.rows[0]![0]).toBe('sciences'); // most loaded first
  });

  it('overview: minutes to saturation is 0 once sessions reach capacity', async () => {
    const r = await run(expandMacros(panel('vigie-overview', 'Forecast').rawSql, ctx()));
    const sci = r.rows.filter((row) => row[1] === 'sciences');
    const at = (h: number, m: number) => sci.find((row) => ms(row[0]) === Date.UTC(2026, 0, 12, h, m));
    expect(Number(at(9, 0)![2])).toBe(0);
    expect(Number(at(8, 40)![2])).toBeCloseTo((1500 - 745) / 60, 6); // 08:40:45 → 745 sessions
  });

  it('faculty: sessions by exam and utilization by server break the faculty down', async () => {
    const exams = await run(expandMacros(panel('vigie-faculty', 'Sessions by exam').rawSql, ctx()));
    expect(new Set(exams.rows.map((row) => row[1]))).toEqual(new Set(['SCI-101']));
    const servers = await run(expandMacros(panel('vigie-faculty', 'Servers').rawSql, ctx()));
    expect(servers.rows.map((row) => row[0]).sort()).toEqual(['sciences-1', 'sciences-2']);
    expect(Number(servers.rows[0]![3])).toBeCloseTo(1000 / 750, 6);
  });

  it('exam morning: exam starts come from exam_schedule', async () => {
    const anno = catalog.find((d) => d.uid === 'vigie-exam-morning')!.annotations['Exam starts']!;
    const r = await run(expandMacros(anno, ctx({ vars: { faculties: ['sciences', 'medecine'], faculty: 'x' } })));
    expect(r.rows.map((row) => [ms(row[0]), String(row[1]).split(' ')[0]])).toEqual([
      [Date.UTC(2026, 0, 12, 8, 30), 'SCI-101'],
      [Date.UTC(2026, 0, 12, 8, 45), 'MED-301'],
    ]);
  });
});

describe('faculty dashboard SQL on chDB', () => {
  const panels = facultyPanelSql({ database: 'vigie_test', datasourceUid: 'vigie-clickhouse' });

  for (const p of panels.filter((x) => x.kind !== 'timeseriesLong')) {
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
      } else if (p.kind === 'table') {
        expect(r.names).toEqual(p.columns);
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
         WHERE metric = 'http_server_request_duration_bucket' AND faculty = 'sciences'
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
