/**
 * Learning load profiles from past mornings (pure part): an exam's sessions curve gives
 * back the attendance, ramp and stay it was drawn with; profiles fall back to the
 * documented defaults where history says nothing, and say so.
 */
import { describe, expect, it } from 'vitest';
import { addExamLoad, emptyCurve, makeGrid } from '../../../planner/forecast.ts';
import { observeExam, profileLookup, profilesFrom, sizeClass } from '../../../planner/history.ts';
import { DEFAULT_PROFILE, type LoadProfile } from '../../../planner/model.ts';

const START = Date.UTC(2026, 0, 12, 9);

function curveOf(profile: LoadProfile, enrolled: number, durationMin: number) {
  const g = makeGrid(START - 2 * 3_600_000, START + 3 * 3_600_000);
  const c = emptyCurve(g);
  addExamLoad(c, g, { id: 'x', faculty: 'law', start: START, enrolled, durationMs: durationMin * 60_000 }, START, profile);
  return Array.from(c.sessions, (s, i) => ({ t: g.fromMs + i * g.stepMs, sessions: s }));
}

describe('learning from past mornings', () => {
  it('recovers attendance, ramp and stay from an exam curve', () => {
    const truth: LoadProfile = { ...DEFAULT_PROFILE, attendance: { mean: 0.8, sd: 0, n: 1 }, rampMinutes: { mean: 18, sd: 0, n: 1 }, stayRatio: { mean: 0.7, sd: 0, n: 1 } };
    const o = observeExam({ faculty: 'law', enrolled: 600, startMs: START, durationMs: 60 * 60_000 }, curveOf(truth, 600, 60))!;
    expect(o.attendance).toBeCloseTo(0.8, 2);
    expect(o.rampMinutes).toBeGreaterThan(15);
    expect(o.rampMinutes).toBeLessThan(21);
    expect(o.stayRatio).toBeGreaterThan(0.6);
    expect(o.stayRatio).toBeLessThan(0.8);
  });

  it('builds profiles per faculty and size with their spread, and falls back to the defaults', () => {
    const obs = [0.8, 0.9, 0.85].map((a, i) => ({ faculty: 'law', enrolled: 400 + i, attendance: a, rampMinutes: 20, stayRatio: 0.8 }));
    const profiles = profilesFrom(obs, new Map([['law', [0.04, 0.05]]]));
    const law = profiles.get('law')!;
    expect(law.source).toBe('history');
    expect(law.attendance.mean).toBeCloseTo(0.85, 6);
    expect(law.attendance.sd).toBeCloseTo(0.05, 6);
    expect(law.attendance.n).toBe(3);
    expect(law.requestsPerStudent.mean).toBeCloseTo(0.045, 6);
    const lookup = profileLookup({ byKey: profiles, examsUsed: 3, fromMs: 0, toMs: 1 });
    expect(lookup('law', 450)).toBe(profiles.get(`law|${sizeClass(450)}`));
    expect(lookup('law', 1000).source).toBe('history'); // no 800+ exam: the faculty's profile
    expect(lookup('hec', 300)).toBe(DEFAULT_PROFILE);
    expect(profileLookup(null)('law', 1)).toBe(DEFAULT_PROFILE);
  });
});
