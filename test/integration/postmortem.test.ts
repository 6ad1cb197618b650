/**
 * The post-mortem report on real chDB over the synthetic morning: it must find the
 * planted collapse minute, first deviation and the lead time of each page.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { formatPostmortemText, postmortem, type PostmortemReport } from '../../postmortem/index.ts';
import { writeSchedule } from '../../schedule/index.ts';
import {
  insertMorning,
  MORNING_SCHEDULE,
  MORNING_END_MS,
  MORNING_START_MS,
  openTestStore,
  plantedFacts,
} from '../unit/postmortem/syntheticMorning.ts';

type Store = Awaited<ReturnType<typeof openTestStore>>;
let store: Store;
let report: PostmortemReport;

beforeAll(async () => {
  store = await openTestStore();
  await insertMorning(store.client, store.database);
  report = await postmortem(store.client, { database: store.database, fromMs: MORNING_START_MS, toMs: MORNING_END_MS });
});
afterAll(async () => {
  await store?.close();
});

describe('postmortem on chDB', () => {
  it('finds the collapse minute and faculty', () => {
    expect(report.collapse?.faculty).toBe(plantedFacts.collapseFaculty);
    expect(report.collapse?.minuteMs).toBe(plantedFacts.collapseMinuteMs);
    expect(report.collapse?.errorRatio).toBeCloseTo(0.7, 2);
    const others = report.faculties.filter((f) => f.faculty !== plantedFacts.collapseFaculty);
    expect(others.map((f) => f.collapse)).toEqual([null, null]);
  });

  it('finds the first deviation (utilization above 0.8) before the collapse', () => {
    expect(report.firstDeviation).toMatchObject({
      faculty: 'sciences',
      minuteMs: plantedFacts.firstDeviationMinuteMs,
      kind: 'utilization',
    });
  });

  it('gives each page its lead time against the collapse', () => {
    const early = report.pages.find((p) => p.rule === plantedFacts.earlyPage.rule)!;
    expect(early.firedAtMs).toBe(plantedFacts.earlyPage.firedAtMs);
    expect(early.resolvedAtMs).toBe(plantedFacts.earlyPage.resolvedAtMs);
    expect(early.leadTimeMs).toBe(plantedFacts.earlyPage.leadTimeMs);
    const late = report.pages.find((p) => p.rule === plantedFacts.latePage.rule)!;
    expect(late.leadTimeMs).toBe(plantedFacts.latePage.leadTimeMs);
    expect(late.resolvedAtMs).toBeNull(); // resolved at 09:40, after the window
    // medecine never collapsed: its page is not measured against another faculty's collapse.
    expect(report.warnings.find((p) => p.rule === 'ExamLatencyHigh')!.leadTimeMs).toBeNull();
    // A warning is not a page.
    expect(report.pages.map((p) => p.rule)).not.toContain('ExamLatencyHigh');
  });

  it('orders alert transitions by time', () => {
    const times = report.alerts.map((a) => a.atMs);
    expect(times).toEqual([...times].sort((a, b) => a - b));
    expect(report.alerts.map((a) => a.state)).toContain('resolved');
  });

  it('reports per-faculty peaks', () => {
    const sci = report.faculties.find((f) => f.faculty === 'sciences')!;
    expect(sci.peakSessions?.value).toBe(plantedFacts.sciencesPeakSessions);
    expect(sci.peakCapacity).toBe(plantedFacts.sciencesCapacity);
    expect(sci.peakUtilization?.value).toBeCloseTo(2000 / 1500, 6);
    expect(sci.peakP95Seconds?.value).toBeGreaterThan(1);
    const droit = report.faculties.find((f) => f.faculty === 'droit')!;
    expect(droit.firstDeviation).toBeNull();
    expect(droit.peakP95Seconds?.value).toBeLessThan(0.2);
  });

  it('restricts to one faculty with a parameter, even a hostile one', async () => {
    const med = await postmortem(store.client, { database: store.database, fromMs: MORNING_START_MS, toMs: MORNING_END_MS, faculty: 'medecine' });
    expect(med.faculties.map((f) => f.faculty)).toEqual(['medecine']);
    expect(med.collapse).toBeNull();
    expect(med.pages).toEqual([]);
    expect(med.warnings.map((p) => p.rule)).toEqual(['ExamLatencyHigh']);
    expect(med.warnings[0]!.leadTimeMs).toBeNull();
    const evil = await postmortem(store.client, {
      database: store.database,
      fromMs: MORNING_START_MS,
      toMs: MORNING_END_MS,
      faculty: "x' OR 1=1 --",
    });
    expect(evil.faculties).toEqual([]);
    expect(evil.alerts).toEqual([]);
  });

  it('renders a readable timeline', () => {
    const text = formatPostmortemText(report);
    expect(text).toContain('COLLAPSE');
    expect(text).toMatch(/08:54\s+PAGE\s+ExamSessionsNearCapacity .*lead \+8m00s/);
    const timeline = text.slice(text.indexOf('Timeline (UTC)'));
    expect(timeline.indexOf('08:48')).toBeLessThan(timeline.indexOf('09:02'));
    // The headline: one collapse, the first page, one lead time, pages and warnings apart.
    expect(text).toMatch(/^collapse\s+09:02 \(sciences\)/m);
    expect(text).toMatch(/^lead time\s+\+8m00s/m);
    expect(text).toMatch(/^alerts fired\s+2 pages, 1 warnings/m);
  });
});

describe('exam schedule', () => {
  it('writes exams once: re-writing the same schedule replaces rows', async () => {
    expect(await writeSchedule(store.client, store.database, MORNING_SCHEDULE)).toBe(3);
    const rs = await store.client.query({
      query: `SELECT exam_id, faculty, toUnixTimestamp64Milli(start) AS start, enrolled, duration_ms FROM ${store.database}.exam_schedule FINAL ORDER BY exam_id`,
      format: 'JSONEachRow',
    });
    const rows = await rs.json<Record<string, unknown>>();
    expect(rows.map((r) => r['exam_id'])).toEqual(['DRO-201', 'MED-301', 'SCI-101']);
    expect(Number(rows[2]!['start'])).toBe(MORNING_SCHEDULE[0]!.start);
    expect(Number(rows[2]!['enrolled'])).toBe(2200);
  });

  it('rejects a malformed exam, naming it', async () => {
    await expect(writeSchedule(store.client, store.database, [{ id: 'X', faculty: 'f', start: Number.NaN, enrolled: 1, durationMs: 1 }])).rejects.toThrow(/exam #0 \("X"\): start/);
    await expect(writeSchedule(store.client, 'bad db', [])).rejects.toThrow(/identifier/);
  });
});
