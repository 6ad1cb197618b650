/**
 * The exam schedule as every stage sees it: the simulator produces it, the rules read
 * its expected load, the pipeline's `exam_schedule` table stores it, the post-mortem and
 * dashboards annotate with it.
 */

/** One scheduled exam (the simulator's `schedule()` returns these). */
export interface ScheduledExam {
  readonly id: string;
  readonly faculty: string;
  /** Planned start, epoch milliseconds. */
  readonly start: number;
  readonly enrolled: number;
  readonly durationMs: number;
  /**
   * Optional: the earliest and latest start the timetabling office allows (epoch ms),
   * which bounds the planner's staggered start times. Absent: the planner's default window.
   */
  readonly startWindow?: { readonly earliestMs: number; readonly latestMs: number };
  /** Optional: the application server the exam is assigned to (the planner's bin packing proposes one). */
  readonly server?: string;
}
