/**
 * The plan as rule input: the expected-load series the rules compare with what is
 * measured, in the same shape as `schedule/expectedLoad.ts` (`ecampus_expected_sessions`
 * and `ecampus_expected_peak_sessions` per faculty), computed from the plan's forecast
 * (learned profiles) instead of the fixed 30-minute ramp, plus the expected login and
 * request rates (`vigie_plan_expected_logins_per_second`, `vigie_plan_expected_requests_per_second`)
 * so "logins 40 % above plan at 08:52" is one comparison in a rule. A feeder produces
 * them on the evaluation grid as data time advances, like `createScheduleFeeder`.
 */
import type { Sample } from '../core/samples.ts';
import { PLATFORM_EXPECTED_PEAK_SESSIONS, PLATFORM_EXPECTED_SESSIONS, type ScheduledExam } from '../schedule/index.ts';
import { addExamLoad, addBackground, emptyCurve, makeGrid } from './forecast.ts';
import { LOAD_CONSTANTS, type CapacityModel, type LoadProfile } from './model.ts';

/** Series names the plan feeds to the rules. */
export const PLAN_METRICS = {
  sessions: 'ecampus_expected_sessions',
  peakSessions: 'ecampus_expected_peak_sessions',
  logins: 'vigie_plan_expected_logins_per_second',
  requests: 'vigie_plan_expected_requests_per_second',
} as const;

/** Inputs of {@link planSeries}. */
export interface PlanSeriesInput {
  /** The timetable the plan settled on (e.g. `plan.proposedExams` once adopted, else `plan.exams`). */
  readonly exams: readonly ScheduledExam[];
  readonly capacity: CapacityModel;
  readonly profileFor: (faculty: string, enrolled: number) => LoadProfile;
  /** Window of the expected peak. Default 30 min. */
  readonly lookaheadMs?: number;
  readonly labels?: Readonly<Record<string, string>>;
}

/** Plan series per faculty every `stepMs` from `fromMs` to `toMs` inclusive, in time order. */
export function planSeries(input: PlanSeriesInput, fromMs: number, toMs: number, stepMs: number): Sample[] {
  if (!(stepMs > 0)) throw new RangeError(`planSeries: stepMs must be positive, got ${stepMs}`);
  const lookahead = input.lookaheadMs ?? 30 * 60_000;
  // A minute grid wide enough for the look-ahead; values at t are read from the minute containing t.
  const g = makeGrid(Math.floor(fromMs / 60_000) * 60_000, toMs + lookahead + 60_000);
  const faculties = [...new Set(input.exams.map((e) => e.faculty))].sort();
  const curves = faculties.map((f) => {
    const cap = input.capacity.faculties.get(f);
    const c = emptyCurve(g);
    const logins = emptyCurve(g);
    if (cap) addBackground(c, cap, input.profileFor(f, 0));
    for (const e of input.exams.filter((x) => x.faculty === f)) {
      const p = input.profileFor(f, e.enrolled);
      addExamLoad(c, g, e, e.start, p);
      // Logins alone: an exam curve with zero request rate leaves only the login round trips.
      addExamLoad(logins, g, e, e.start, { ...p, requestsPerStudent: { mean: 0, sd: 0, n: 0 } });
    }
    return { f, c, logins, labels: Object.freeze({ ...input.labels, faculty: f }) };
  });
  const idx = (t: number) => Math.min(g.length - 1, Math.max(0, Math.floor((t - g.fromMs) / g.stepMs)));
  // The platform total, as the schedule's ecampus_platform_expected_* series carry it.
  const platform = new Float64Array(g.length);
  for (const { c } of curves) for (let j = 0; j < g.length; j++) platform[j]! += c.sessions[j]!;
  const platformLabels = Object.freeze({ ...input.labels });
  const out: Sample[] = [];
  for (let t = fromMs; t <= toMs; t += stepMs) {
    const pi = idx(t);
    let platformPeak = 0;
    for (let j = pi; j <= idx(t + lookahead); j++) platformPeak = Math.max(platformPeak, platform[j]!);
    out.push({ metric: PLATFORM_EXPECTED_SESSIONS, labels: platformLabels, timestampMs: t, value: platform[pi]! });
    out.push({ metric: PLATFORM_EXPECTED_PEAK_SESSIONS, labels: platformLabels, timestampMs: t, value: platformPeak });
    for (const { c, logins, labels } of curves) {
      const i = idx(t);
      let peak = 0;
      for (let j = i; j <= idx(t + lookahead); j++) peak = Math.max(peak, c.sessions[j]!);
      out.push({ metric: PLAN_METRICS.sessions, labels, timestampMs: t, value: c.sessions[i]! });
      out.push({ metric: PLAN_METRICS.peakSessions, labels, timestampMs: t, value: peak });
      out.push({ metric: PLAN_METRICS.logins, labels, timestampMs: t, value: logins.requests[i]! / LOAD_CONSTANTS.loginRequests });
      out.push({ metric: PLAN_METRICS.requests, labels, timestampMs: t, value: c.requests[i]! });
    }
  }
  return out;
}

/** Feeds {@link planSeries} on the evaluation grid up to a watermark (same contract as `createScheduleFeeder`). */
export function createPlanFeeder(input: PlanSeriesInput, intervalMs: number, startMs: number): { feed(toMs: number): Sample[]; fedTo(): number } {
  if (!(intervalMs > 0)) throw new RangeError(`createPlanFeeder: intervalMs must be positive, got ${intervalMs}`);
  let fedTo = startMs - 1;
  return {
    feed(toMs) {
      if (input.exams.length === 0 || !(toMs > fedTo)) return [];
      const from = Math.floor(fedTo / intervalMs) * intervalMs + intervalMs;
      fedTo = toMs;
      return from <= toMs ? planSeries(input, from, toMs, intervalMs) : [];
    },
    fedTo: () => fedTo,
  };
}
