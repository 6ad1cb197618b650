/**
 * The expected load of a timetable, minute by minute: concurrent sessions, requests per
 * second and database connection-pool use, per faculty, per server and for the
 * platform, with an upper band from the profiles' uncertainty. Pure: the same function
 * feeds the plan, the stagger and bin-packing solvers, and the rule series.
 *
 * The curve of one exam follows the simulator's behaviour: on-time students log in
 * linearly over the ramp before the start, late-comers over the 10 minutes after it, and
 * everyone leaves over the submission window around `start + stayRatio × duration`;
 * requests are a per-student rate, boosted in the first minutes, plus login round trips.
 */
import type { ScheduledExam } from '../schedule/index.ts';
import { LOAD_CONSTANTS as K, type CapacityModel, type FacultyCapacity, type LoadProfile } from './model.ts';

/** The minute grid every curve is sampled on. */
export interface Grid {
  readonly fromMs: number;
  readonly stepMs: number;
  readonly length: number;
}

/** Builds the grid covering [fromMs, toMs] every `stepMs` (default one minute). */
export function makeGrid(fromMs: number, toMs: number, stepMs = 60_000): Grid {
  if (!(toMs >= fromMs)) throw new RangeError(`planner grid: to (${new Date(toMs).toISOString()}) is before from (${new Date(fromMs).toISOString()})`);
  return { fromMs, stepMs, length: Math.floor((toMs - fromMs) / stepMs) + 1 };
}

/** Time of grid index `i`. */
export const gridTime = (g: Grid, i: number): number => g.fromMs + i * g.stepMs;

/** Load on the grid: sessions and requests/s. */
export interface LoadCurve {
  readonly sessions: Float64Array;
  readonly requests: Float64Array;
}

/** Which end of the uncertainty band to draw a curve at. */
export type Variant = 'mean' | 'high';

/** The profile's values for a variant: `high` = one standard deviation towards more load. */
function values(p: LoadProfile, v: Variant) {
  const hi = v === 'high' ? 1 : 0;
  return {
    attendance: Math.min(1, p.attendance.mean + hi * p.attendance.sd),
    rampMs: Math.max(5, p.rampMinutes.mean - hi * p.rampMinutes.sd) * 60_000,
    rate: p.requestsPerStudent.mean + hi * p.requestsPerStudent.sd,
    stayRatio: p.stayRatio.n > 0 ? p.stayRatio.mean : null,
  };
}

const clamp01 = (x: number) => (x <= 0 ? 0 : x >= 1 ? 1 : x);

/** Adds the load of `exam` starting at `startMs` into `into` (sessions and requests/s). */
export function addExamLoad(into: LoadCurve, g: Grid, exam: ScheduledExam, startMs: number, profile: LoadProfile, variant: Variant = 'mean', share = 1): void {
  const v = values(profile, variant);
  const A = Math.round(exam.enrolled * v.attendance) * share;
  const d = exam.durationMs;
  const subWin = Math.min(20 * 60_000, d / 3);
  // Without learned history: the simulator's submission window, ending at the exam's end.
  const mid = v.stayRatio === null ? startMs + d - subWin / 2 : startMs + v.stayRatio * d;
  const lateMs = K.lateMinutes * 60_000;
  const arrivedAt = (t: number) => (1 - K.lateShare) * clamp01((t - (startMs - v.rampMs)) / v.rampMs) + K.lateShare * clamp01((t - startMs) / lateMs);
  const first = Math.max(0, Math.floor((startMs - v.rampMs - g.fromMs) / g.stepMs));
  const last = Math.min(g.length - 1, Math.ceil((mid + subWin / 2 - g.fromMs) / g.stepMs));
  for (let i = first; i <= last; i++) {
    const t = g.fromMs + i * g.stepMs;
    const arrived = arrivedAt(t);
    const left = clamp01((t - (mid - subWin / 2)) / subWin);
    const sessions = A * Math.max(0, arrived - left);
    if (sessions <= 0 && arrived <= 0) continue;
    const boost = t >= startMs && t < startMs + K.startBoostMinutes * 60_000 ? K.startBoost : 1;
    // Login round trips: arrivals per second over the minute around t.
    const loginsPerS = (A * Math.max(0, arrivedAt(t) - arrivedAt(t - g.stepMs))) / (g.stepMs / 1000);
    into.sessions[i]! += sessions;
    into.requests[i]! += sessions * v.rate * boost + loginsPerS * K.loginRequests;
  }
}

/** An empty curve on `g`. */
export function emptyCurve(g: Grid): LoadCurve {
  return { sessions: new Float64Array(g.length), requests: new Float64Array(g.length) };
}

/** Adds the faculty's browsing students (present all morning). */
export function addBackground(into: LoadCurve, cap: FacultyCapacity, profile: LoadProfile, variant: Variant = 'mean', share = 1): void {
  const rate = values(profile, variant).rate * K.backgroundRateShare;
  const bg = cap.backgroundSessions * share;
  for (let i = 0; i < into.sessions.length; i++) {
    into.sessions[i]! += bg;
    into.requests[i]! += bg * rate;
  }
}

/** Utilization of a pool: the larger of its session share and its worker share. */
export function utilization(c: LoadCurve, sessionCapacity: number, requestCapacity: number): Float64Array {
  const u = new Float64Array(c.sessions.length);
  for (let i = 0; i < u.length; i++) u[i] = Math.max(c.sessions[i]! / sessionCapacity, c.requests[i]! / requestCapacity);
  return u;
}

/** Expected load of one faculty's pool. */
export interface FacultyForecast {
  readonly faculty: string;
  readonly capacity: FacultyCapacity;
  readonly profile: LoadProfile;
  readonly mean: LoadCurve;
  readonly high: LoadCurve;
  /** max(sessions / session capacity, requests / request capacity) per minute, mean and high. */
  readonly utilization: Float64Array;
  readonly utilizationHigh: Float64Array;
}

/** Expected load of one server. */
export interface ServerForecast {
  readonly server: string;
  readonly faculty: string;
  readonly load: LoadCurve;
  readonly sessionCapacity: number;
  readonly requestCapacity: number;
  readonly utilization: Float64Array;
}

/** Expected load of the whole timetable. */
export interface Forecast {
  readonly grid: Grid;
  readonly faculties: readonly FacultyForecast[];
  readonly servers: readonly ServerForecast[];
  readonly platform: {
    readonly load: LoadCurve;
    /** Database connections in use (busy workers × connections per worker), mean and high. */
    readonly dbConnections: Float64Array;
    readonly dbConnectionsHigh: Float64Array;
    readonly dbPoolMax: number;
  };
}

/** Inputs of {@link forecastLoad}. */
export interface ForecastInput {
  readonly exams: readonly ScheduledExam[];
  readonly capacity: CapacityModel;
  readonly profileFor: (faculty: string, enrolled: number) => LoadProfile;
  readonly grid: Grid;
}

/**
 * Forecasts `exams` on the grid. A faculty absent from the capacity model is an error
 * naming it (the plan cannot compare its load with anything).
 */
export function forecastLoad(input: ForecastInput): Forecast {
  const { exams, capacity, profileFor, grid } = input;
  const byFaculty = new Map<string, ScheduledExam[]>();
  for (const e of exams) {
    if (!capacity.faculties.has(e.faculty)) {
      throw new RangeError(`planner: exam "${e.id}" belongs to faculty "${e.faculty}", which has no capacity (known: ${[...capacity.faculties.keys()].join(', ')})`);
    }
    let l = byFaculty.get(e.faculty);
    if (!l) byFaculty.set(e.faculty, (l = []));
    l.push(e);
  }
  const faculties: FacultyForecast[] = [];
  const servers: ServerForecast[] = [];
  const platform = emptyCurve(grid);
  const platformHigh = emptyCurve(grid);
  for (const [faculty, cap] of [...capacity.faculties].sort(([a], [b]) => a.localeCompare(b))) {
    const list = byFaculty.get(faculty) ?? [];
    if (list.length === 0) continue;
    const baseProfile = profileFor(faculty, 0);
    const mean = emptyCurve(grid);
    const high = emptyCurve(grid);
    addBackground(mean, cap, baseProfile, 'mean');
    addBackground(high, cap, baseProfile, 'high');
    const perServer = new Map(cap.servers.map((s) => [s, emptyCurve(grid)]));
    for (const s of perServer.values()) addBackground(s, cap, baseProfile, 'mean', 1 / cap.servers.length);
    for (const e of list) {
      const p = profileFor(faculty, e.enrolled);
      addExamLoad(mean, grid, e, e.start, p, 'mean');
      addExamLoad(high, grid, e, e.start, p, 'high');
      const assigned = e.server !== undefined ? perServer.get(e.server) : undefined;
      if (e.server !== undefined && assigned === undefined) throw new RangeError(`planner: exam "${e.id}" is assigned to server "${e.server}", which is not in ${faculty}'s pool (${cap.servers.join(', ')})`);
      if (assigned) addExamLoad(assigned, grid, e, e.start, p, 'mean');
      else for (const s of perServer.values()) addExamLoad(s, grid, e, e.start, p, 'mean', 1 / cap.servers.length);
    }
    faculties.push({
      faculty,
      capacity: cap,
      profile: baseProfile,
      mean,
      high,
      utilization: utilization(mean, cap.sessionCapacity, cap.requestCapacity),
      utilizationHigh: utilization(high, cap.sessionCapacity, cap.requestCapacity),
    });
    const n = cap.servers.length;
    for (const [server, load] of perServer) {
      servers.push({ server, faculty, load, sessionCapacity: cap.sessionCapacity / n, requestCapacity: cap.requestCapacity / n, utilization: utilization(load, cap.sessionCapacity / n, cap.requestCapacity / n) });
    }
    for (let i = 0; i < grid.length; i++) {
      platform.sessions[i]! += mean.sessions[i]!;
      platform.requests[i]! += mean.requests[i]!;
      platformHigh.sessions[i]! += high.sessions[i]!;
      platformHigh.requests[i]! += high.requests[i]!;
    }
  }
  const db = (c: LoadCurve) => c.requests.map((r) => r * K.serviceTimeS * K.dbPerWorker);
  return { grid, faculties, servers, platform: { load: platform, dbConnections: db(platform), dbConnectionsHigh: db(platformHigh), dbPoolMax: capacity.dbPoolMax } };
}
