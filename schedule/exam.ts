/**
 * The exam as every stage sees it: the timetable parsers produce it, the expected-load
 * series and the backtests read it, `exam_schedule` stores it, the simulator plays it.
 */

/** One scheduled exam. */
export interface ScheduledExam {
  /** Stable exam identifier (CSV `exam_id`, iCalendar `UID`); unique within a timetable. */
  readonly id: string;
  readonly faculty: string;
  /** Planned start, epoch milliseconds. */
  readonly start: number;
  /** Students enrolled (expected sessions are attendance × enrolled). */
  readonly enrolled: number;
  readonly durationMs: number;
  /**
   * Students may start any time within [start, start + startWindowMs] (a staggered
   * start); absent or 0: everyone starts at `start`.
   */
  readonly startWindowMs?: number;
  /** Server (or pool) the exam runs on, when the timetable says so. */
  readonly server?: string;
  /**
   * The planner's freedom: the earliest and latest start the timetabling office allows
   * (epoch ms), which bounds the staggered start times `vigie plan` proposes. Absent: the
   * planner's default window. Not to be confused with `startWindowMs` (students' spread).
   */
  readonly shiftWindow?: { readonly earliestMs: number; readonly latestMs: number };
}

/** Last instant an exam keeps students online: the last allowed start plus the duration. */
export function examEndMs(e: ScheduledExam): number {
  return e.start + (e.startWindowMs ?? 0) + e.durationMs;
}
