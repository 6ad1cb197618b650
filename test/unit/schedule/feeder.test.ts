import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createScheduleFeeder } from '../../../schedule/feeder.ts';
import type { ScheduledExam } from '../../../schedule/exam.ts';
import { scheduleSeries } from '../../../schedule/expectedLoad.ts';

const DAY = Date.UTC(2026, 0, 12);
const START = DAY + 7.5 * 3_600_000;
const STEP = 15_000;
const EXAMS: ScheduledExam[] = [
  { id: 'a', faculty: 'medicine', start: DAY + 9 * 3_600_000, enrolled: 1100, durationMs: 3_600_000 },
  { id: 'b', faculty: 'law', start: DAY + 8.5 * 3_600_000, enrolled: 400, durationMs: 75 * 60_000 },
];

describe('createScheduleFeeder', () => {
  it('yields, over any sequence of watermarks, exactly the grid samples of one scheduleSeries call', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -20_000, max: 200_000 }), { minLength: 1, maxLength: 60 }), (deltas) => {
        const feeder = createScheduleFeeder(EXAMS, STEP, START);
        const got = [];
        let w = START;
        let maxW = -Infinity;
        for (const d of deltas) {
          w += d; // watermarks may stall or go back (ignored)
          maxW = Math.max(maxW, w);
          got.push(...feeder.feed(w));
        }
        const want = maxW >= START ? scheduleSeries(EXAMS, START, maxW, STEP) : [];
        expect(got).toEqual(want);
        expect(feeder.fedTo()).toBe(Math.max(START - 1, maxW));
      }),
      { seed: 7, numRuns: 200 },
    );
  });

  it('starts at the first grid point at or after startMs', () => {
    const feeder = createScheduleFeeder(EXAMS, STEP, START + 7_000);
    const ts = [...new Set(feeder.feed(START + 60_000).map((s) => s.timestampMs))];
    expect(ts).toEqual([START + 15_000, START + 30_000, START + 45_000, START + 60_000]);
  });

  it('feeds nothing without exams', () => {
    expect(createScheduleFeeder([], STEP, START).feed(START + 3_600_000)).toEqual([]);
  });

  it('setExams: a new timetable shapes the grid points not yet fed, what was fed stays', () => {
    const feeder = createScheduleFeeder(EXAMS, STEP, START);
    const before = feeder.feed(START + 30 * 60_000);
    const moved = EXAMS.map((e) => ({ ...e, start: e.start + 3_600_000 }));
    feeder.setExams(moved);
    const after = feeder.feed(START + 3 * 3_600_000);
    expect(before).toEqual(scheduleSeries(EXAMS, START, START + 30 * 60_000, STEP));
    expect(after).toEqual(scheduleSeries(moved, START + 30 * 60_000 + STEP, START + 3 * 3_600_000, STEP));
    feeder.setExams([]);
    expect(feeder.feed(START + 4 * 3_600_000)).toEqual([]);
    expect(feeder.fedTo()).toBe(START + 4 * 3_600_000);
  });
});
