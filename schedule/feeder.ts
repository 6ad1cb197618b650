/**
 * The timetable as rule input, fed step by step as data time advances: the one helper
 * the live chain, the backtest and the detection bench share, so the expected-load
 * samples a rule sees at an evaluation instant are the same whichever of them drives the
 * engine.
 *
 * Samples sit on the evaluation grid (multiples of `intervalMs`), from the first grid
 * point ≥ `startMs` up to the watermark passed to `feed` (inclusive); each grid point is
 * produced once, however the watermark advances. A timetable that changes while running
 * (`setExams`, from a live schedule source) shapes the grid points not yet fed; what was
 * fed stays as it was, as a live Prometheus keeps the samples it scraped.
 */
import type { Sample } from '../core/samples.ts';
import type { ScheduledExam } from './exam.ts';
import { scheduleSeries, type ScheduleSeriesOptions } from './expectedLoad.ts';

/** Produces the expected-load samples not yet fed, up to a watermark. */
export interface ScheduleFeeder {
  /** Samples on grid points in (last fed watermark, `toMs`], in time order; empty when there is nothing new. */
  feed(toMs: number): Sample[];
  /** Highest watermark fed so far. */
  fedTo(): number;
  /** Replaces the timetable for every grid point not yet fed. */
  setExams(exams: readonly ScheduledExam[]): void;
}

/** Creates a feeder over `exams`; grid points before `startMs` are never produced. */
export function createScheduleFeeder(exams: readonly ScheduledExam[], intervalMs: number, startMs: number, opts: ScheduleSeriesOptions = {}): ScheduleFeeder {
  if (!(intervalMs > 0)) throw new RangeError(`createScheduleFeeder: intervalMs must be positive, got ${intervalMs}`);
  if (!Number.isFinite(startMs)) throw new RangeError(`createScheduleFeeder: startMs must be finite, got ${startMs}`);
  let fedTo = startMs - 1;
  let current = exams;
  return {
    feed(toMs) {
      if (!(toMs > fedTo)) return [];
      // First grid point strictly after what was fed (and not before startMs).
      const from = Math.floor(fedTo / intervalMs) * intervalMs + intervalMs;
      fedTo = toMs;
      return from <= toMs && current.length ? scheduleSeries(current, from, toMs, intervalMs, opts) : [];
    },
    fedTo: () => fedTo,
    setExams(next) {
      current = next;
    },
  };
}
