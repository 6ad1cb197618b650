/**
 * Schedule awareness: the load the exam schedule predicts, as rule-input series the
 * CLI writes into the rules engine's store next to the measured ones:
 *
 * - `ecampus_expected_sessions{faculty}`: students expected online at t — attendance ×
 *   enrolled, arriving linearly over `rampMinutes` before each exam's start, leaving at
 *   its end;
 * - `ecampus_expected_peak_sessions{faculty}`: the maximum of that curve over
 *   [t, t + `lookaheadMs`] — what the schedule says is still to come.
 *
 * A measured ramp that follows the schedule while the expected peak stays under
 * capacity is explained and need not page; an expected peak above capacity pages
 * before the ramp even gets there (see `alerts/rules/default.yml`).
 */
import type { Sample } from '../../core/samples.ts';
import type { ScheduledExam } from '../../core/schedule.ts';

export type { ScheduledExam } from '../../core/schedule.ts';

/** Options of {@link scheduleSeries}. */
export interface ScheduleSeriesOptions {
  /** Share of enrolled students expected to connect. Default 0.93. */
  readonly attendance?: number;
  /** Students arrive over this many minutes before the start. Default 30. */
  readonly rampMinutes?: number;
  /** Window of `ecampus_expected_peak_sessions`. Default 30 min (one ramp). */
  readonly lookaheadMs?: number;
  /** Extra labels on every series (e.g. `{ job: 'vigie-schedule' }`). */
  readonly labels?: Readonly<Record<string, string>>;
}

/** Expected connected students of `exams` (one faculty or all) at `tMs`. */
export function expectedSessionsAt(exams: readonly ScheduledExam[], tMs: number, attendance = 0.93, rampMinutes = 30): number {
  const rampMs = rampMinutes * 60_000;
  let sum = 0;
  for (const e of exams) {
    if (tMs >= e.start + e.durationMs) continue;
    const x = (tMs - (e.start - rampMs)) / rampMs;
    if (x <= 0) continue;
    sum += attendance * e.enrolled * Math.min(1, x);
  }
  return sum;
}

/**
 * Samples of `ecampus_expected_sessions` and `ecampus_expected_peak_sessions` per
 * faculty, every `stepMs` from `fromMs` to `toMs` inclusive, in time order.
 */
export function scheduleSeries(exams: readonly ScheduledExam[], fromMs: number, toMs: number, stepMs: number, opts: ScheduleSeriesOptions = {}): Sample[] {
  if (!(stepMs > 0)) throw new RangeError(`scheduleSeries: stepMs must be positive, got ${stepMs}`);
  const attendance = opts.attendance ?? 0.93;
  const ramp = opts.rampMinutes ?? 30;
  const lookahead = opts.lookaheadMs ?? 30 * 60_000;
  const byFaculty = new Map<string, ScheduledExam[]>();
  for (const e of exams) {
    let l = byFaculty.get(e.faculty);
    if (!l) byFaculty.set(e.faculty, (l = []));
    l.push(e);
  }
  const faculties = [...byFaculty.keys()].sort();
  const labelsOf = new Map(faculties.map((f) => [f, Object.freeze({ ...opts.labels, faculty: f })]));
  const out: Sample[] = [];
  for (let t = fromMs; t <= toMs; t += stepMs) {
    for (const f of faculties) {
      const ex = byFaculty.get(f)!;
      const labels = labelsOf.get(f)!;
      // The curve is piecewise linear: its max over a window is at the window's ends or at a breakpoint inside.
      let peak = expectedSessionsAt(ex, t, attendance, ramp);
      const end = t + lookahead;
      peak = Math.max(peak, expectedSessionsAt(ex, end, attendance, ramp));
      for (const e of ex) {
        for (const b of [e.start, e.start + e.durationMs - 1]) {
          if (b > t && b < end) peak = Math.max(peak, expectedSessionsAt(ex, b, attendance, ramp));
        }
      }
      out.push({ metric: 'ecampus_expected_sessions', labels, timestampMs: t, value: expectedSessionsAt(ex, t, attendance, ramp) });
      out.push({ metric: 'ecampus_expected_peak_sessions', labels, timestampMs: t, value: peak });
    }
  }
  return out;
}
