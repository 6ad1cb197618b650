import { describe, expect, it } from 'vitest';
import { expectedPeak, expectedSessionsAt, scheduleReachMs, scheduleSeries } from '../../../schedule/expectedLoad.ts';

const DAY = Date.UTC(2026, 0, 12);
const at = (hh: number, mm: number) => DAY + (hh * 60 + mm) * 60_000;
const exams = [
  { id: 'a', faculty: 'med', start: at(9, 0), enrolled: 1000, durationMs: 3_600_000 },
  { id: 'b', faculty: 'med', start: at(10, 0), enrolled: 500, durationMs: 1_800_000 },
  { id: 'c', faculty: 'law', start: at(8, 30), enrolled: 200, durationMs: 3_600_000 },
];

describe('schedule series', () => {
  it('ramps attendance × enrolled linearly over the ramp before the start and drops at the end', () => {
    expect(expectedSessionsAt(exams.slice(0, 1), at(8, 30), 0.9, 30)).toBe(0);
    expect(expectedSessionsAt(exams.slice(0, 1), at(8, 45), 0.9, 30)).toBeCloseTo(450, 9);
    expect(expectedSessionsAt(exams.slice(0, 1), at(9, 30), 0.9, 30)).toBeCloseTo(900, 9);
    expect(expectedSessionsAt(exams.slice(0, 1), at(10, 0), 0.9, 30)).toBe(0);
  });

  it('emits expected and look-ahead peak series per faculty, in time order', () => {
    const s = scheduleSeries(exams, at(8, 0), at(8, 40), 60_000, { attendance: 1, lookaheadMs: 30 * 60_000 });
    expect(s.every((x, i) => i === 0 || x.timestampMs >= s[i - 1]!.timestampMs)).toBe(true);
    const pick = (metric: string, faculty: string, t: number) => s.find((x) => x.metric === metric && x.labels['faculty'] === faculty && x.timestampMs === t)?.value;
    expect(pick('ecampus_expected_sessions', 'med', at(8, 0))).toBe(0);
    // At 8:40 the next 30 min reach 9:10: the whole 9:00 exam is expected.
    expect(pick('ecampus_expected_peak_sessions', 'med', at(8, 40))).toBeCloseTo(1000, 9);
    expect(pick('ecampus_expected_peak_sessions', 'med', at(8, 0))).toBeCloseTo(0, 9);
    expect(pick('ecampus_expected_peak_sessions', 'law', at(8, 0))).toBeCloseTo(200, 9);
    expect(() => scheduleSeries(exams, 0, 1, 0)).toThrow(/stepMs/);
  });

  it('spreads the arrivals of an exam with a start window over ramp + window; each student leaves a duration after starting', () => {
    const w = [{ id: 'w', faculty: 'med', start: at(9, 0), enrolled: 1000, durationMs: 3_600_000, startWindowMs: 20 * 60_000 }];
    expect(expectedSessionsAt(w, at(8, 30), 1, 30)).toBe(0);
    expect(expectedSessionsAt(w, at(8, 55), 1, 30)).toBeCloseTo(500, 9);
    expect(expectedSessionsAt(w, at(9, 20), 1, 30)).toBeCloseTo(1000, 9);
    expect(expectedSessionsAt(w, at(9, 59), 1, 30)).toBeCloseTo(1000, 9);
    // Those who arrived before 9:00 (30 of the 50 arrival minutes) leave at 10:00, the rest over the next 20 min.
    expect(expectedSessionsAt(w, at(10, 0), 1, 30)).toBeCloseTo(400, 9);
    expect(expectedSessionsAt(w, at(10, 10), 1, 30)).toBeCloseTo(200, 9);
    expect(expectedSessionsAt(w, at(10, 20), 1, 30)).toBe(0);
    // The window flattens the ramp: 300 online at 8:45 where the same exam without a window has 500.
    expect(expectedSessionsAt(w, at(8, 45), 1, 30)).toBeCloseTo(300, 9);
    expect(expectedPeak(w, at(8, 0), at(11, 0), 1, 30)).toEqual({ value: 1000, atMs: at(9, 20) });
  });

  it('adds platform series (no faculty label) equal to the sum over faculties', () => {
    const s = scheduleSeries(exams, at(8, 0), at(10, 30), 5 * 60_000, { attendance: 0.9, labels: { job: 'vigie-schedule' } });
    const platform = s.filter((x) => x.metric === 'ecampus_platform_expected_sessions');
    expect(platform).toHaveLength(31);
    for (const p of platform) {
      expect(p.labels).toEqual({ job: 'vigie-schedule' });
      const sum = s.filter((x) => x.metric === 'ecampus_expected_sessions' && x.timestampMs === p.timestampMs).reduce((a, x) => a + x.value, 0);
      expect(p.value).toBeCloseTo(sum, 9);
    }
    // Peak over [8:40, 9:10]: law's 200 (8:30–9:30) + med's 900 from 9:00 = 1100 (med's `b` starts ramping at 9:30).
    const peak = s.find((x) => x.metric === 'ecampus_platform_expected_peak_sessions' && x.timestampMs === at(8, 40));
    expect(peak?.value).toBeCloseTo(0.9 * 1200, 9);
    expect(scheduleReachMs()).toBe(60 * 60_000);
  });
});
