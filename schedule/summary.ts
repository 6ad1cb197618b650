/**
 * The timetable at a glance, for planners days before a session and for `vigie schedule
 * import|show`: per faculty and for the whole platform, how many exams and students, the
 * expected peak of concurrent sessions and when it comes, against tested capacity when
 * it is known (and saying so when it is not, rather than guessing one).
 */
import type { ScheduledExam } from './exam.ts';
import { expectedPeak, LOAD_DEFAULTS } from './expectedLoad.ts';

/** One line of the summary: a faculty, or the platform (`faculty` undefined). */
export interface LoadSummaryRow {
  /** Undefined for the platform row. */
  readonly faculty?: string;
  readonly exams: number;
  readonly enrolled: number;
  readonly peakSessions: number;
  readonly peakAtMs: number;
  /** Tested capacity when known. */
  readonly capacity?: number;
  /** Faculties without a known capacity (platform row only: its capacity is their sum, so unknown when one lacks it). */
  readonly capacityMissingFor?: readonly string[];
}

/** Options of {@link summarizeLoad}. */
export interface SummarizeLoadOptions {
  readonly fromMs: number;
  readonly toMs: number;
  /** Tested sessions per faculty (each faculty its own server pool). */
  readonly capacity?: Readonly<Record<string, number>>;
  readonly attendance?: number;
  readonly rampMinutes?: number;
}

/**
 * Faculty rows (by name) then the platform row, over the exams given. The platform's
 * capacity is the sum of the faculties' when every faculty with an exam has one.
 */
export function summarizeLoad(exams: readonly ScheduledExam[], opts: SummarizeLoadOptions): LoadSummaryRow[] {
  const attendance = opts.attendance ?? LOAD_DEFAULTS.attendance;
  const ramp = opts.rampMinutes ?? LOAD_DEFAULTS.rampMinutes;
  const byFaculty = new Map<string, ScheduledExam[]>();
  for (const e of exams) {
    const l = byFaculty.get(e.faculty) ?? [];
    l.push(e);
    byFaculty.set(e.faculty, l);
  }
  const row = (list: readonly ScheduledExam[]) => {
    const p = expectedPeak(list, opts.fromMs, opts.toMs, attendance, ramp);
    return { exams: list.length, enrolled: list.reduce((n, e) => n + e.enrolled, 0), peakSessions: p.value, peakAtMs: p.atMs };
  };
  const rows: LoadSummaryRow[] = [...byFaculty.keys()].sort().map((faculty) => {
    const cap = opts.capacity?.[faculty];
    return { faculty, ...row(byFaculty.get(faculty)!), ...(cap !== undefined ? { capacity: cap } : {}) };
  });
  const missing = rows.filter((r) => r.capacity === undefined).map((r) => r.faculty!);
  const total = rows.reduce((n, r) => n + (r.capacity ?? 0), 0);
  rows.push({ ...row(exams), ...(missing.length === 0 && rows.length > 0 ? { capacity: total } : { capacityMissingFor: missing }) });
  return rows;
}
