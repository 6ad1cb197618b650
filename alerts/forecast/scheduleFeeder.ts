/**
 * The exam schedule as rule input, fed step by step as data time advances: the one
 * helper the live chain, the backtest and the detection bench share, so the
 * `ecampus_expected_sessions` / `ecampus_expected_peak_sessions` samples a rule sees at
 * an evaluation instant are the same whichever of them drives the engine.
 *
 * Samples sit on the evaluation grid (multiples of `intervalMs`), from the first grid
 * point ≥ `startMs` up to the watermark passed to `feed` (inclusive); each grid point is
 * produced once, however the watermark advances.
 */
import type { Sample } from '../../core/samples.ts';
import { scheduleSeries, type ScheduledExam, type ScheduleSeriesOptions } from './schedule.ts';

/** Produces the schedule samples not yet fed, up to a watermark. */
export interface ScheduleFeeder {
  /** Schedule samples on grid points in (last fed watermark, `toMs`], in time order; empty when there is nothing new. */
  feed(toMs: number): Sample[];
  /** Highest watermark fed so far. */
  fedTo(): number;
}

/** Creates a feeder over `exams`; grid points before `startMs` are never produced. */
export function createScheduleFeeder(exams: readonly ScheduledExam[], intervalMs: number, startMs: number, opts: ScheduleSeriesOptions = {}): ScheduleFeeder {
  if (!(intervalMs > 0)) throw new RangeError(`createScheduleFeeder: intervalMs must be positive, got ${intervalMs}`);
  if (!Number.isFinite(startMs)) throw new RangeError(`createScheduleFeeder: startMs must be finite, got ${startMs}`);
  let fedTo = startMs - 1;
  return {
    feed(toMs) {
      if (exams.length === 0 || !(toMs > fedTo)) return [];
      // First grid point strictly after what was fed (and not before startMs).
      const from = Math.floor(fedTo / intervalMs) * intervalMs + intervalMs;
      fedTo = toMs;
      return from <= toMs ? scheduleSeries(exams, from, toMs, intervalMs, opts) : [];
    },
    fedTo: () => fedTo,
  };
}
