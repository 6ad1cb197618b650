/**
 * `buildPlan`: the plan of one or more session mornings, from a timetable, the learned
 * load profiles and the platform's capacity. It forecasts the load, flags the minutes
 * above the chosen share of capacity, gives the collapse risk at every exam start, and
 * computes three remedies: staggered start times (per faculty pool), an assignment of
 * exams to servers, and the capacity needed to hold the unchanged timetable. What-ifs
 * (`capacity=+2 servers`, `shift=exam-id:+15m`) change the inputs before all of that.
 */
import type { ScheduledExam } from '../schedule/index.ts';
import { ConfigError } from '../core/errors.ts';
import { solveBinPacking, type PackBin, type PackItem, type PackSolution } from './binpack.ts';
import { addExamLoad, emptyCurve, forecastLoad, makeGrid, gridTime, type Forecast, type Grid, type Variant } from './forecast.ts';
import { profileLookup, type LearnedProfiles } from './history.ts';
import { addServers, scaleCapacity, type CapacityModel, type LoadProfile } from './model.ts';
import { headroomKey, riskAt, type Risk, type RiskTable } from './risk.ts';
import { solveStagger, type StaggerSolution } from './stagger.ts';

/** A change to the inputs, applied before planning. */
export type WhatIf =
  | { readonly kind: 'servers'; readonly extra: number; readonly faculty: string | null; readonly text: string }
  | { readonly kind: 'scale'; readonly factor: number; readonly text: string }
  | { readonly kind: 'shift'; readonly examId: string; readonly minutes: number; readonly text: string };

/**
 * Parses one `--what-if`: `capacity=+2 servers`, `capacity=+1 servers@medicine`,
 * `capacity=x1.5`, `shift=exam-id:+15m` (or `-30m`, `+1h`).
 */
export function parseWhatIf(text: string): WhatIf {
  const t = text.trim();
  let m = /^capacity=([+-]\d+)\s*servers?(?:@([\w.-]+))?$/i.exec(t);
  if (m) return { kind: 'servers', extra: Number(m[1]), faculty: m[2] ?? null, text: t };
  m = /^capacity=[x×*](\d+(?:\.\d+)?)$/i.exec(t);
  if (m) return { kind: 'scale', factor: Number(m[1]), text: t };
  m = /^shift=([^:]+):([+-]?\d+)(m|min|h)$/i.exec(t);
  if (m) return { kind: 'shift', examId: m[1]!, minutes: Number(m[2]) * (m[3]!.toLowerCase() === 'h' ? 60 : 1), text: t };
  throw new ConfigError(`--what-if "${text}": expected capacity=+N servers[@faculty], capacity=xF or shift=EXAM-ID:±Nm`);
}

/** Options of {@link buildPlan}. */
export interface PlanOptions {
  readonly exams: readonly ScheduledExam[];
  readonly capacity: CapacityModel;
  readonly profiles: LearnedProfiles | null;
  readonly risk: RiskTable;
  /** Share of capacity not to pass (flags and the solvers' target). Default 0.95 (one large exam alone fills a demo pool to ~0.92). */
  readonly target?: number;
  /** Shift step in minutes. Default 5. */
  readonly stepMinutes?: number;
  /** Window for exams without `shiftWindow`: minutes earlier / later allowed. Default 30 / 90. */
  readonly earlierMinutes?: number;
  readonly laterMinutes?: number;
  /** Plan on the mean profile or one standard deviation above it. Default mean. */
  readonly band?: Variant;
  readonly whatIfs?: readonly WhatIf[];
  /** Exact-search budget of each solver (peak evaluations / nodes). */
  readonly budget?: number;
}

/** A run of minutes above the target. */
export interface Flag {
  readonly scope: string;
  readonly fromMs: number;
  readonly toMs: number;
  readonly peak: number;
  readonly peakAtMs: number;
}

/** One exam start (a faculty's exams starting at the same minute) and its risk. */
export interface StartRisk {
  readonly faculty: string;
  readonly startMs: number;
  readonly examIds: readonly string[];
  /** Planned peak utilization around the start (−30 min … +10 min), the shared DB pool included. */
  readonly plannedPeak: number;
  readonly risk: Risk;
}

/** The faculty's stagger. */
export interface FacultyStagger {
  readonly faculty: string;
  readonly solution: StaggerSolution;
}

/** Capacity to hold the unchanged timetable under the target. */
export interface CapacityNeed {
  readonly scope: string;
  readonly peak: number;
  /** Multiply the current capacity by this. */
  readonly factor: number;
  readonly currentServers: number;
  readonly serversNeeded: number;
}

/** The plan. */
export interface Plan {
  readonly exams: readonly ScheduledExam[];
  readonly proposedExams: readonly ScheduledExam[];
  readonly capacity: CapacityModel;
  readonly target: number;
  readonly band: Variant;
  readonly whatIfs: readonly WhatIf[];
  readonly profileSource: ReadonlyMap<string, LoadProfile>;
  readonly riskSource: string;
  readonly before: Forecast;
  readonly after: Forecast;
  readonly flags: readonly Flag[];
  readonly flagsAfter: readonly Flag[];
  readonly starts: readonly StartRisk[];
  readonly startsAfter: readonly StartRisk[];
  readonly stagger: readonly FacultyStagger[];
  /** Exams (split into parts when larger than one server) packed onto the platform's servers. */
  readonly packing: { readonly solution: PackSolution; readonly parts: ReadonlyMap<string, number> };
  readonly capacityNeeded: readonly CapacityNeed[];
}

const MIN = 60_000;

/** Applies what-ifs to the inputs. */
export function applyWhatIfs(exams: readonly ScheduledExam[], capacity: CapacityModel, whatIfs: readonly WhatIf[]): { exams: ScheduledExam[]; capacity: CapacityModel } {
  let cap = capacity;
  let ex = [...exams];
  for (const w of whatIfs) {
    if (w.kind === 'servers') cap = addServers(cap, w.extra, w.faculty);
    else if (w.kind === 'scale') cap = scaleCapacity(cap, w.factor);
    else {
      if (!ex.some((e) => e.id === w.examId)) throw new ConfigError(`--what-if "${w.text}": no exam "${w.examId}" in the timetable`);
      ex = ex.map((e) => (e.id === w.examId ? { ...e, start: e.start + w.minutes * MIN } : e));
    }
  }
  return { exams: ex, capacity: cap };
}

/** Runs of `u > target` on the grid. */
function flagRuns(scope: string, g: Grid, u: Float64Array, target: number): Flag[] {
  const out: Flag[] = [];
  let i = 0;
  while (i < u.length) {
    if (!(u[i]! > target)) {
      i++;
      continue;
    }
    let j = i;
    let peakAt = i;
    while (j + 1 < u.length && u[j + 1]! > target) {
      j++;
      if (u[j]! > u[peakAt]!) peakAt = j;
    }
    out.push({ scope, fromMs: gridTime(g, i), toMs: gridTime(g, j), peak: u[peakAt]!, peakAtMs: gridTime(g, peakAt) });
    i = j + 1;
  }
  return out;
}

function flagsOf(f: Forecast, target: number, band: Variant, exams: readonly ScheduledExam[]): Flag[] {
  const out: Flag[] = [];
  for (const fac of f.faculties) out.push(...flagRuns(fac.faculty, f.grid, band === 'high' ? fac.utilizationHigh : fac.utilization, target));
  // A pool without server assignments splits evenly: its servers' flags would repeat the faculty's.
  const assigned = new Set(exams.filter((e) => e.server !== undefined).map((e) => e.faculty));
  for (const s of f.servers) if (assigned.has(s.faculty)) out.push(...flagRuns(s.server, f.grid, s.utilization, target));
  const db = band === 'high' ? f.platform.dbConnectionsHigh : f.platform.dbConnections;
  out.push(...flagRuns('platform (database pool)', f.grid, db.map((v) => v / f.platform.dbPoolMax), target));
  return out.sort((a, b) => a.fromMs - b.fromMs || a.scope.localeCompare(b.scope));
}

function startRisks(exams: readonly ScheduledExam[], f: Forecast, table: RiskTable, band: Variant): StartRisk[] {
  const groups = new Map<string, ScheduledExam[]>();
  for (const e of exams) {
    const k = `${e.faculty}|${e.start}`;
    groups.set(k, [...(groups.get(k) ?? []), e]);
  }
  const out: StartRisk[] = [];
  for (const list of groups.values()) {
    const { faculty, start } = list[0]!;
    const fac = f.faculties.find((x) => x.faculty === faculty);
    if (!fac) continue;
    const u = band === 'high' ? fac.utilizationHigh : fac.utilization;
    let peak = 0;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < u.length; i++) {
      const t = gridTime(f.grid, i);
      if (t >= start - 30 * MIN && t <= start + 10 * MIN) {
        peak = Math.max(peak, u[i]!);
        lo = Math.min(lo, i);
        hi = Math.max(hi, i);
      }
    }
    const key = headroomKey(peak, f.platform, lo, hi);
    out.push({ faculty, startMs: start, examIds: list.map((e) => e.id), plannedPeak: key, risk: riskAt(table, key) });
  }
  return out.sort((a, b) => a.startMs - b.startMs || a.faculty.localeCompare(b.faculty));
}

/** The grid a plan needs: every exam's ramp and end, widened by the shift windows. */
export function planGrid(exams: readonly ScheduledExam[], earlierMin: number, laterMin: number): Grid {
  if (exams.length === 0) throw new ConfigError('planner: the timetable has no exam in the requested period');
  const lo = Math.min(...exams.map((e) => Math.min(e.start - earlierMin * MIN, e.shiftWindow?.earliestMs ?? Infinity))) - 90 * MIN;
  const hi = Math.max(...exams.map((e) => Math.max(e.start + laterMin * MIN, e.shiftWindow?.latestMs ?? -Infinity) + e.durationMs)) + 30 * MIN;
  return makeGrid(Math.floor(lo / MIN) * MIN, Math.ceil(hi / MIN) * MIN);
}

/** Builds the plan (pure apart from CPU: the solvers run here). */
export function buildPlan(opts: PlanOptions): Plan {
  const target = opts.target ?? 0.95;
  if (!(target > 0 && target <= 1.5)) throw new ConfigError(`planner: --target must be in (0, 1.5], got ${target}`);
  const step = opts.stepMinutes ?? 5;
  if (!(step > 0 && Number.isInteger(step))) throw new ConfigError(`planner: --step must be a positive whole number of minutes, got ${step}`);
  const earlier = opts.earlierMinutes ?? 30;
  const later = opts.laterMinutes ?? 90;
  const band = opts.band ?? 'mean';
  const whatIfs = opts.whatIfs ?? [];
  const { exams, capacity } = applyWhatIfs(opts.exams, opts.capacity, whatIfs);
  const profileFor = profileLookup(opts.profiles);
  const grid = planGrid(exams, earlier, later);
  const before = forecastLoad({ exams, capacity, profileFor, grid });

  // --- staggered starts, one faculty pool at a time
  const stagger: FacultyStagger[] = [];
  const shifts = new Map<string, number>();
  for (const fac of before.faculties) {
    const list = exams.filter((e) => e.faculty === fac.faculty);
    const base = emptyCurve(grid);
    for (let i = 0; i < grid.length; i++) {
      base.sessions[i] = fac.capacity.backgroundSessions;
      base.requests[i] = fac.capacity.backgroundSessions * profileFor(fac.faculty, 0).requestsPerStudent.mean * 0.5;
    }
    const items = list.map((e) => {
      const lo = e.shiftWindow ? e.shiftWindow.earliestMs : e.start - earlier * MIN;
      const hi = e.shiftWindow ? e.shiftWindow.latestMs : e.start + later * MIN;
      const cand: number[] = [];
      for (let m = -Math.floor((e.start - lo) / MIN / step) * step; e.start + m * MIN <= hi; m += step) cand.push(m);
      if (!cand.includes(0)) cand.push(0);
      const p = profileFor(e.faculty, e.enrolled);
      const curves = cand.map((m) => {
        const c = emptyCurve(grid);
        addExamLoad(c, grid, e, e.start + m * MIN, p, band);
        return c;
      });
      return { id: e.id, shifts: cand, sessions: curves.map((c) => c.sessions), requests: curves.map((c) => c.requests) };
    });
    const solution = solveStagger({
      items,
      baseSessions: base.sessions,
      baseRequests: base.requests,
      sessionCapacity: fac.capacity.sessionCapacity,
      requestCapacity: fac.capacity.requestCapacity,
      target,
      ...(opts.budget !== undefined ? { budget: opts.budget } : {}),
    });
    stagger.push({ faculty: fac.faculty, solution });
    // Short of the target, the shifts that lower the peak most are still proposed (and flagged as not enough).
    if (solution.peakAfter < solution.peakBefore) for (const [id, m] of solution.shifts) if (m !== 0) shifts.set(id, m);
  }
  const proposedExams = exams.map((e) => (shifts.has(e.id) ? { ...e, start: e.start + shifts.get(e.id)! * MIN } : e));
  const after = forecastLoad({ exams: proposedExams, capacity, profileFor, grid });

  // --- exams to servers (unchanged timetable) across the whole platform: "servers per exam"
  const packItems: PackItem[] = [];
  const parts = new Map<string, number>();
  const bins: PackBin[] = [];
  for (const fac of before.faculties) {
    const n = fac.capacity.servers.length;
    const bgS = new Float64Array(grid.length).fill(fac.capacity.backgroundSessions / n);
    const bgR = new Float64Array(grid.length).fill((fac.capacity.backgroundSessions / n) * profileFor(fac.faculty, 0).requestsPerStudent.mean * 0.5);
    for (const id of fac.capacity.servers) bins.push({ id, sessionCapacity: fac.capacity.sessionCapacity / n, requestCapacity: fac.capacity.requestCapacity / n, baseSessions: bgS, baseRequests: bgR });
  }
  const largest = bins.reduce((a, b) => (b.sessionCapacity > a.sessionCapacity ? b : a), bins[0]!);
  for (const e of exams) {
    const c = emptyCurve(grid);
    addExamLoad(c, grid, e, e.start, profileFor(e.faculty, e.enrolled), band);
    let peak = 0;
    for (let i = 0; i < grid.length; i++) peak = Math.max(peak, c.sessions[i]! / largest.sessionCapacity, c.requests[i]! / largest.requestCapacity);
    // An exam larger than one server is split into equal parts, one per server.
    const k = Math.max(1, Math.ceil(peak / (target * 0.85)));
    parts.set(e.id, k);
    for (let j = 0; j < k; j++) packItems.push({ id: k > 1 ? `${e.id}#${j + 1}` : e.id, sessions: c.sessions.map((v) => v / k), requests: c.requests.map((v) => v / k) });
  }
  const packing = {
    solution: solveBinPacking({ items: packItems, bins, target, ...(opts.budget !== undefined ? { budget: opts.budget } : {}) }),
    parts,
  };

  // --- capacity for the unchanged timetable
  const capacityNeeded: CapacityNeed[] = before.faculties.map((fac) => {
    const peak = Math.max(...(band === 'high' ? fac.utilizationHigh : fac.utilization));
    const factor = peak / target;
    const n = fac.capacity.servers.length;
    return { scope: fac.faculty, peak, factor, currentServers: n, serversNeeded: Math.max(n, Math.ceil(n * factor - 1e-9)) };
  });
  const db = band === 'high' ? before.platform.dbConnectionsHigh : before.platform.dbConnections;
  const dbPeak = Math.max(...db) / before.platform.dbPoolMax;
  capacityNeeded.push({ scope: 'platform (database pool)', peak: dbPeak, factor: dbPeak / target, currentServers: 0, serversNeeded: 0 });

  const profileSource = new Map(before.faculties.map((f) => [f.faculty, profileFor(f.faculty, 0)]));
  return {
    exams,
    proposedExams,
    capacity,
    target,
    band,
    whatIfs,
    profileSource,
    riskSource: opts.risk.source,
    before,
    after,
    flags: flagsOf(before, target, band, exams),
    flagsAfter: flagsOf(after, target, band, proposedExams),
    starts: startRisks(exams, before, opts.risk, band),
    startsAfter: startRisks(proposedExams, after, opts.risk, band),
    stagger,
    packing,
    capacityNeeded,
  };
}
