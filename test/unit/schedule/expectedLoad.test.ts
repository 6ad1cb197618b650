import { describe, expect, it } from 'vitest';
import { expectedSessionsAt, scheduleSeries } from '../../../schedule/expectedLoad.ts';

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
});
