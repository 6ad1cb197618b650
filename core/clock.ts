/**
 * Time as a seam. Nothing in the rules engine, notifier or simulator reads the wall
 * clock directly: they receive a `Clock`, so the same code runs live, in tests and
 * in backtests over stored history.
 */

/** Returns "now" in epoch milliseconds. */
export type Clock = () => number;

/** The wall clock, for live processes only. */
export const systemClock: Clock = () => Date.now();

/** A clock tests and simulations move by hand. */
export interface ManualClock {
  readonly now: Clock;
  set(ms: number): void;
  advance(ms: number): void;
}

/** Creates a manual clock starting at `startMs`. */
export function manualClock(startMs: number): ManualClock {
  let t = startMs;
  return {
    now: () => t,
    set: (ms) => {
      t = ms;
    },
    advance: (ms) => {
      t += ms;
    },
  };
}
