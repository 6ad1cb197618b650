/**
 * Saved post-mortem queries (`postmortem/queries/*.sql`) on real chDB over the synthetic
 * morning: each runs with its parameters and finds what was planted; values only ever
 * travel as query parameters, so hostile input stays data.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bindParams, formatResult, listSavedQueries, loadSavedQuery, runSavedQuery } from '../../postmortem/savedQueries.ts';
import { insertMorning, MORNING_END_MS, MORNING_START_MS, openTestStore, plantedFacts } from '../unit/postmortem/syntheticMorning.ts';

type Store = Awaited<ReturnType<typeof openTestStore>>;
let store: Store;

const window = { from: new Date(MORNING_START_MS).toISOString(), to: String(MORNING_END_MS) };
const run = (name: string, params: Record<string, string> = {}) =>
  runSavedQuery(store.client, { name, params: { ...window, ...params }, database: store.database });
const ms = (v: unknown): number => Date.parse(String(v).replace(' ', 'T') + 'Z');

beforeAll(async () => {
  store = await openTestStore();
  await insertMorning(store.client, store.database);
});
afterAll(async () => {
  await store?.close();
});

describe('saved queries on chDB', () => {
  it('ships the six queries, each with a description and typed params', () => {
    const qs = listSavedQueries();
    expect(qs.map((q) => q.name)).toEqual(['alert_lead_times', 'error_budget', 'exam_load', 'faculty_peaks', 'first_deviation', 'timeline']);
    for (const q of qs) {
      expect(q.description.length).toBeGreaterThan(10);
      expect(q.params.map((p) => p.name)).toEqual(expect.arrayContaining(['from', 'to']));
    }
  });

  for (const q of listSavedQueries()) {
    it(`${q.name} runs with its params and returns rows`, async () => {
      const r = await run(q.name);
      expect(r.rows.length).toBeGreaterThan(0);
      expect(r.columns.length).toBeGreaterThan(2);
    });
  }

  it('timeline: sciences passes 0.5 error ratio at the planted collapse minute', async () => {
    const r = await run('timeline', { faculty: 'sciences' });
    const col = (n: string) => r.columns.findIndex((c) => c.name === n);
    expect(new Set(r.rows.map((row) => row[col('faculty')]))).toEqual(new Set(['sciences']));
    const first = r.rows.find((row) => Number(row[col('error_ratio')]) > 0.5)!;
    expect(ms(first[col('minute')])).toBe(plantedFacts.collapseMinuteMs);
  });

  it('first_deviation finds 08:48 for sciences at the default 0.8, and nothing at 5', async () => {
    const r = await run('first_deviation');
    expect(r.rows[0]![0]).toBe('sciences');
    expect(ms(r.rows[0]![1])).toBe(plantedFacts.firstDeviationMinuteMs);
    expect((await run('first_deviation', { utilization: '5' })).rows).toEqual([]);
  });

  it('alert_lead_times: the early page leads the collapse by 8 minutes, the late one trails by 2', async () => {
    const r = await run('alert_lead_times');
    const col = (n: string) => r.columns.findIndex((c) => c.name === n);
    const lead = (rule: string) => Number(r.rows.find((row) => row[col('rule')] === rule)![col('lead_seconds')]);
    expect(lead(plantedFacts.earlyPage.rule)).toBe(plantedFacts.earlyPage.leadTimeMs / 1000);
    expect(lead(plantedFacts.latePage.rule)).toBe(plantedFacts.latePage.leadTimeMs / 1000);
    expect(r.rows.find((row) => row[col('rule')] === 'ExamLatencyHigh')![col('lead_seconds')]).toBeNull();
  });

  it('faculty_peaks and exam_load agree on the sciences peak', async () => {
    const peaks = await run('faculty_peaks');
    expect(peaks.rows[0]!.slice(0, 2)).toEqual(['sciences', plantedFacts.sciencesPeakSessions]);
    const exams = await run('exam_load');
    const sci = exams.rows.find((row) => row[0] === 'SCI-101')!;
    expect(Number(sci[5])).toBe(plantedFacts.sciencesPeakSessions);
  });

  it('error_budget: sciences burnt far more than its budget, droit none', async () => {
    const r = await run('error_budget');
    const byF = new Map(r.rows.map((row) => [row[0], row]));
    expect(Number(byF.get('sciences')![5])).toBeGreaterThan(10);
    expect(Number(byF.get('droit')![2])).toBe(0);
  });

  it('a hostile faculty is a value, not SQL', async () => {
    expect((await run('timeline', { faculty: "x' OR 1=1 --" })).rows).toEqual([]);
    expect((await run('exam_load', { faculty: "sciences'; DROP TABLE vigie_test.series; --" })).rows).toEqual([]);
    expect((await run('faculty_peaks')).rows.length).toBe(3); // tables intact
  });

  it('rejects values that do not fit the declared type, naming the parameter', async () => {
    await expect(run('first_deviation', { utilization: '0.8 OR 1=1' })).rejects.toThrow(/utilization/);
    await expect(run('timeline', { from: "2026-01-12'; DROP TABLE x; --" })).rejects.toThrow(/--param from=/);
    await expect(run('alert_lead_times', { min_requests: '-1' })).rejects.toThrow(/min_requests/);
  });

  it('names a missing parameter, an undeclared one, an unknown query, a bad database', async () => {
    await expect(runSavedQuery(store.client, { name: 'timeline', params: { to: '1' }, database: store.database })).rejects.toThrow(/missing parameter "from"/);
    await expect(run('timeline', { bogus: '1' })).rejects.toThrow(/no parameter "bogus"/);
    await expect(run('nope')).rejects.toThrow(/unknown query "nope"; available: alert_lead_times, error_budget/);
    await expect(run('../../etc/passwd')).rejects.toThrow(/unknown query/);
    await expect(runSavedQuery(store.client, { name: 'timeline', params: window, database: 'x; DROP' })).rejects.toThrow(/identifier/);
  });

  it('formats as table, CSV and JSON', async () => {
    const r = await run('faculty_peaks');
    const table = formatResult(r, 'table');
    expect(table.split('\n')[0]).toMatch(/^faculty\s+peak_sessions/);
    const csv = formatResult(r, 'csv').trim().split('\n');
    expect(csv).toHaveLength(4);
    expect(csv[0]).toBe(r.columns.map((c) => c.name).join(','));
    const json = JSON.parse(formatResult(r, 'json')) as Array<Record<string, unknown>>;
    expect(json[0]!['faculty']).toBe('sciences');
  });

  it('binds defaults and types without touching the SQL text', () => {
    const q = loadSavedQuery('timeline');
    expect(bindParams(q, { from: '2026-01-12T08:30:00Z', to: '1768210200000' })).toEqual({ from: MORNING_START_MS, to: 1768210200000, faculty: '' });
    expect(q.sql).toContain('{faculty:String}');
  });
});
