/**
 * Drives evaluations from data time instead of timers: given the stream of watermarks
 * (latest sample time seen), calls `evaluate` once at every interval boundary the
 * watermark crossed, in order. A simulation at compressed time therefore evaluates at
 * exactly the same instants as a live run, and deterministically.
 */
import type { EvaluationResult } from './engine.ts';

/** Options of {@link createWatermarkScheduler}. */
export interface WatermarkSchedulerOptions {
  /** The engine's evaluate (or any function of evaluation time). */
  readonly evaluate: (nowMs: number) => EvaluationResult;
  /** Boundary spacing; boundaries are the multiples of it (epoch-aligned). Default 15 s. */
  readonly intervalMs?: number;
  /**
   * Wait until the watermark is this far past a boundary before evaluating it, so
   * samples stamped at the boundary from slower series have arrived. Default 0.
   */
  readonly delayMs?: number;
  /** At most this many boundaries are evaluated per observe() (catch-up after a gap). Default 10 000. */
  readonly maxCatchUp?: number;
}

/** The scheduler. */
export interface WatermarkScheduler {
  /** Reports a new watermark; returns the results of the evaluations it triggered. */
  observe(watermarkMs: number): EvaluationResult[];
  /** Last boundary evaluated, if any. */
  lastEvaluatedAt(): number | undefined;
}

/** Creates a watermark-driven scheduler. The first observe() evaluates the boundary at or before it. */
export function createWatermarkScheduler(opts: WatermarkSchedulerOptions): WatermarkScheduler {
  const interval = opts.intervalMs ?? 15_000;
  const delay = opts.delayMs ?? 0;
  const maxCatchUp = opts.maxCatchUp ?? 10_000;
  let last: number | undefined;
  return {
    observe(watermarkMs) {
      const target = Math.floor((watermarkMs - delay) / interval) * interval;
      const out: EvaluationResult[] = [];
      if (!Number.isFinite(target)) return out;
      let next = last === undefined ? target : last + interval;
      if (target - next > maxCatchUp * interval) next = target - (maxCatchUp - 1) * interval;
      for (; next <= target; next += interval) {
        out.push(opts.evaluate(next));
        last = next;
      }
      return out;
    },
    lastEvaluatedAt: () => last,
  };
}
