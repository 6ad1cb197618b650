/**
 * The load the exam timetable predicts, as rule-input series written into the rules
 * engine's store next to the measured ones:
 *
 * - `ecampus_expected_sessions{faculty}`: students expected online at t;
 * - `ecampus_expected_peak_sessions{faculty}`: the maximum of that curve over
 *   [t, t + `lookaheadMs`] — what the timetable says is still to come;
 * - `ecampus_platform_expected_sessions` / `ecampus_platform_expected_peak_sessions`: the
 *   same over every faculty, without a `faculty` label (separate names, so a rule on the
 *   platform never has to exclude per-faculty series, and `sum()` is not needed).
 *
 * Model: attendance × enrolled students arrive evenly over the `rampMinutes` before the
 * start and, for an exam with a start window, on through the window (students may start
 * any time in [start, start + window]); each student works `durationMs` from when they may
 * start (the start, or their arrival within the window) and leaves. Without a window
 * everyone leaves at start + duration, as before windows existed.
 *
 * A measured ramp that follows the timetable while the expected peak stays under capacity
 * is explained and need not page; an expected peak above capacity pages before the ramp
 * even gets there (see `rules/packs/default.yml`).
 */
import type { Labels, Sample } from '../core/samples.ts';
import type { ScheduledExam } from './exam.ts';

/** Per-faculty expected sessions (unchanged name: the shipped rule pack reads it). */
export const EXPECTED_SESSIONS = 'ecampus_expected_sessions';
/** Per-faculty look-ahead peak of {@link EXPECTED_SESSIONS}. */
export const EXPECTED_PEAK_SESSIONS = 'ecampus_expected_peak_sessions';
/** Platform-wide expected sessions (no `faculty` label). */
export const PLATFORM_EXPECTED_SESSIONS = 'ecampus_platform_expected_sessions';
/** Platform-wide look-ahead peak. */
export const PLATFORM_EXPECTED_PEAK_SESSIONS = 'ecampus_platform_expected_peak_sessions';

/** Options of {@link scheduleSeries} and the load model. */
export interface ScheduleSeriesOptions {
  /** Share of enrolled students expected to connect. Default 0.93. */
  readonly attendance?: number;
  /** Students arrive over this many minutes before the start. Default 30. */
  readonly rampMinutes?: number;
  /** Window of the `*_expected_peak_sessions` series. Default 30 min (one ramp). */
  readonly lookaheadMs?: number;
  /** Extra labels on every series (e.g. `{ job: 'vigie-schedule' }`). */
  readonly labels?: Readonly<Record<string, string>>;
}

/** Model defaults, in one place. */
export const LOAD_DEFAULTS = { attendance: 0.93, rampMinutes: 30, lookaheadMs: 30 * 60_000 } as const;

/**
 * How long before an exam's start it shapes the series (its ramp plus the look-ahead of
 * the peak): a reader of stored exams for a window must extend the window's end by this.
 */
export function scheduleReachMs(opts: ScheduleSeriesOptions = {}): number {
  return (opts.rampMinutes ?? LOAD_DEFAULTS.rampMinutes) * 60_000 + (opts.lookaheadMs ?? LOAD_DEFAULTS.lookaheadMs);
}

/** Share of an exam's students arrived by t (arrivals even over ramp + window). */
function arrived(e: ScheduledExam, t: number, rampMs: number): number {
  const from = e.start - rampMs;
  const span = rampMs + (e.startWindowMs ?? 0);
  if (span <= 0) return t >= e.start ? 1 : 0;
  return Math.min(1, Math.max(0, (t - from) / span));
}

/** Expected connected students of one exam at t, as a share of attendance × enrolled. */
function onlineShare(e: ScheduledExam, t: number, rampMs: number): number {
  // Who arrived before the start leaves at start + duration; who arrived at a within the
  // window leaves at a + duration: the share gone by t is the share arrived by t − duration.
  const gone = t >= e.start + e.durationMs ? arrived(e, t - e.durationMs, rampMs) : 0;
  return arrived(e, t, rampMs) - gone;
}

/** Expected connected students of `exams` (one faculty or all) at `tMs`. */
export function expectedSessionsAt(exams: readonly ScheduledExam[], tMs: number, attendance: number = LOAD_DEFAULTS.attendance, rampMinutes: number = LOAD_DEFAULTS.rampMinutes): number {
  const rampMs = rampMinutes * 60_000;
  let sum = 0;
  for (const e of exams) {
    const s = onlineShare(e, tMs, rampMs);
    if (s > 0) sum += attendance * e.enrolled * s;
  }
  return sum;
}

/** The highest expected load in a window and when it is first reached. */
export interface ExpectedPeak {
  readonly value: number;
  readonly atMs: number;
}

/**
 * Maximum of the expected-sessions curve of `exams` over [fromMs, toMs]. The curve is
 * piecewise linear with drops at each exam's end, so its maximum is at an end of the
 * window or at a breakpoint (arrival ends, just before a drop) inside it.
 */
export function expectedPeak(exams: readonly ScheduledExam[], fromMs: number, toMs: number, attendance: number = LOAD_DEFAULTS.attendance, rampMinutes: number = LOAD_DEFAULTS.rampMinutes): ExpectedPeak {
  const rampMs = rampMinutes * 60_000;
  let best: ExpectedPeak = { value: expectedSessionsAt(exams, fromMs, attendance, rampMinutes), atMs: fromMs };
  const consider = (t: number) => {
    if (t <= fromMs || t > toMs) return;
    const v = expectedSessionsAt(exams, t, attendance, rampMinutes);
    if (v > best.value || (v === best.value && t < best.atMs)) best = { value: v, atMs: t };
  };
  consider(toMs);
  for (const e of exams) {
    const w = e.startWindowMs ?? 0;
    for (const b of [e.start - rampMs, e.start, e.start + w, e.start + e.durationMs - 1, e.start + e.durationMs, e.start + w + e.durationMs - 1]) consider(b);
  }
  return best;
}

/**
 * Samples of the four expected-load series (per faculty, then platform), every `stepMs`
 * from `fromMs` to `toMs` inclusive, in time order.
 */
export function scheduleSeries(exams: readonly ScheduledExam[], fromMs: number, toMs: number, stepMs: number, opts: ScheduleSeriesOptions = {}): Sample[] {
  if (!(stepMs > 0)) throw new RangeError(`scheduleSeries: stepMs must be positive, got ${stepMs}`);
  const attendance = opts.attendance ?? LOAD_DEFAULTS.attendance;
  const ramp = opts.rampMinutes ?? LOAD_DEFAULTS.rampMinutes;
  const lookahead = opts.lookaheadMs ?? LOAD_DEFAULTS.lookaheadMs;
  if (exams.length === 0) return [];
  const byFaculty = new Map<string, ScheduledExam[]>();
  for (const e of exams) {
    let l = byFaculty.get(e.faculty);
    if (!l) byFaculty.set(e.faculty, (l = []));
    l.push(e);
  }
  const groups: { exams: readonly ScheduledExam[]; labels: Labels; now: string; peak: string }[] = [...byFaculty.keys()].sort().map((f) => ({
    exams: byFaculty.get(f)!,
    labels: Object.freeze({ ...opts.labels, faculty: f }),
    now: EXPECTED_SESSIONS,
    peak: EXPECTED_PEAK_SESSIONS,
  }));
  groups.push({ exams, labels: Object.freeze({ ...opts.labels }), now: PLATFORM_EXPECTED_SESSIONS, peak: PLATFORM_EXPECTED_PEAK_SESSIONS });
  const out: Sample[] = [];
  for (let t = fromMs; t <= toMs; t += stepMs) {
    for (const g of groups) {
      out.push({ metric: g.now, labels: g.labels, timestampMs: t, value: expectedSessionsAt(g.exams, t, attendance, ramp) });
      out.push({ metric: g.peak, labels: g.labels, timestampMs: t, value: expectedPeak(g.exams, t, t + lookahead, attendance, ramp).value });
    }
  }
  return out;
}
