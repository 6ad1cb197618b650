/**
 * The plan as rule input: the expected-load series the rules compare with what is
 * measured, in the same shape as `schedule/expectedLoad.ts` (`ecampus_expected_sessions`
 * and `ecampus_expected_peak_sessions` per faculty, `ecampus_platform_expected_*` for the
 * platform), computed from the plan's forecast (learned profiles, browsing students)
 * instead of the fixed 30-minute ramp, plus the expected login and request rates
 * (`vigie_plan_expected_logins_per_second`, `vigie_plan_expected_requests_per_second`)
 * so "logins 40 % above plan" is one comparison in a rule.
 *
 * One minute table ({@link planTable}) is what `vigie plan --store` writes and what the
 * rules stage reads back; {@link sampleTable} puts it on the evaluation grid, so the
 * values a rule sees are the same whether the plan was computed now or stored yesterday.
 */
import type { Labels, Sample } from '../core/samples.ts';
import { PLATFORM_EXPECTED_PEAK_SESSIONS, PLATFORM_EXPECTED_SESSIONS, type ScheduledExam } from '../schedule/index.ts';
import { addExamLoad, addBackground, emptyCurve, makeGrid } from './forecast.ts';
import { LOAD_CONSTANTS, type CapacityModel, type LoadProfile } from './model.ts';

/** Series names the plan feeds to the rules (per faculty). */
export const PLAN_METRICS = {
  sessions: 'ecampus_expected_sessions',
  peakSessions: 'ecampus_expected_peak_sessions',
  logins: 'vigie_plan_expected_logins_per_second',
  requests: 'vigie_plan_expected_requests_per_second',
} as const;

/** Every series name of a plan table, in the order the table (and its samples) list them. */
export const PLAN_SERIES_ORDER: readonly string[] = [
  PLATFORM_EXPECTED_SESSIONS,
  PLATFORM_EXPECTED_PEAK_SESSIONS,
  PLAN_METRICS.sessions,
  PLAN_METRICS.peakSessions,
  PLAN_METRICS.logins,
  PLAN_METRICS.requests,
];

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

/** One series of a plan table: a value per minute. */
export interface PlanTableSeries {
  readonly metric: string;
  readonly labels: Labels;
  readonly values: Float64Array;
}

/**
 * The plan's series minute by minute: `values[i]` holds for every instant of the minute
 * `fromMs + i × 60 s`. Platform series first, then each faculty (sorted) in
 * {@link PLAN_SERIES_ORDER}.
 */
export interface PlanTable {
  readonly fromMs: number;
  readonly minutes: number;
  readonly series: readonly PlanTableSeries[];
}

const MIN = 60_000;

/** The plan table of the minutes [minute of `fromMs`, minute of `toMs`]. */
export function planTable(input: PlanSeriesInput, fromMs: number, toMs: number): PlanTable {
  const lookahead = input.lookaheadMs ?? 30 * MIN;
  const first = Math.floor(fromMs / MIN) * MIN;
  const minutes = Math.floor(toMs / MIN) - first / MIN + 1;
  if (!(minutes >= 1)) throw new RangeError(`planTable: to (${new Date(toMs).toISOString()}) is before from (${new Date(fromMs).toISOString()})`);
  // A minute grid wide enough for the look-ahead of the last minute.
  const g = makeGrid(first, first + (minutes - 1) * MIN + lookahead + MIN);
  const ahead = Math.floor(lookahead / MIN);
  const peakOf = (xs: Float64Array): Float64Array => {
    const out = new Float64Array(minutes);
    for (let i = 0; i < minutes; i++) {
      let p = 0;
      for (let j = i; j <= Math.min(g.length - 1, i + ahead); j++) p = Math.max(p, xs[j]!);
      out[i] = p;
    }
    return out;
  };
  const head = (xs: Float64Array): Float64Array => xs.slice(0, minutes);
  const faculties = [...new Set(input.exams.map((e) => e.faculty))].sort();
  const platform = new Float64Array(g.length);
  const perFaculty: PlanTableSeries[] = [];
  for (const f of faculties) {
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
    for (let j = 0; j < g.length; j++) platform[j]! += c.sessions[j]!;
    const labels: Labels = Object.freeze({ ...input.labels, faculty: f });
    perFaculty.push(
      { metric: PLAN_METRICS.sessions, labels, values: head(c.sessions) },
      { metric: PLAN_METRICS.peakSessions, labels, values: peakOf(c.sessions) },
      { metric: PLAN_METRICS.logins, labels, values: head(logins.requests).map((v) => v / LOAD_CONSTANTS.loginRequests) },
      { metric: PLAN_METRICS.requests, labels, values: head(c.requests) },
    );
  }
  const platformLabels: Labels = Object.freeze({ ...input.labels });
  return {
    fromMs: first,
    minutes,
    series: [
      { metric: PLATFORM_EXPECTED_SESSIONS, labels: platformLabels, values: head(platform) },
      { metric: PLATFORM_EXPECTED_PEAK_SESSIONS, labels: platformLabels, values: peakOf(platform) },
      ...perFaculty,
    ],
  };
}

/** Whether the table has a value at `tMs`. */
export function tableCovers(table: PlanTable, tMs: number): boolean {
  const i = Math.floor((tMs - table.fromMs) / MIN);
  return i >= 0 && i < table.minutes;
}

/**
 * The table's samples every `stepMs` from `fromMs` to `toMs` inclusive, in time order
 * (instants the table does not cover are skipped). `accept(t)` may skip more.
 */
export function sampleTable(table: PlanTable, fromMs: number, toMs: number, stepMs: number, accept?: (tMs: number) => boolean): Sample[] {
  if (!(stepMs > 0)) throw new RangeError(`sampleTable: stepMs must be positive, got ${stepMs}`);
  const out: Sample[] = [];
  for (let t = fromMs; t <= toMs; t += stepMs) {
    const i = Math.floor((t - table.fromMs) / MIN);
    if (i < 0 || i >= table.minutes || (accept && !accept(t))) continue;
    for (const s of table.series) out.push({ metric: s.metric, labels: s.labels, timestampMs: t, value: s.values[i]! });
  }
  return out;
}

/** Plan series per faculty and platform every `stepMs` from `fromMs` to `toMs` inclusive, in time order. */
export function planSeries(input: PlanSeriesInput, fromMs: number, toMs: number, stepMs: number): Sample[] {
  if (!(stepMs > 0)) throw new RangeError(`planSeries: stepMs must be positive, got ${stepMs}`);
  return sampleTable(planTable(input, fromMs, toMs), fromMs, toMs, stepMs);
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
