/**
 * Risk of collapse for a given headroom: how often, in simulated mornings, a faculty
 * whose planned peak utilization was about this high actually collapsed. The
 * calibration plays the simulator's pure model (no telemetry, a fraction of a second
 * per morning) over a grid of capacities and login-ramp shapes with traffic spikes on,
 * and scores each faculty-morning by the planner's own forecast of it, so the risk
 * answers the planner's question: "with this planned headroom, what happened?".
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { DEFAULT_PARAMS, FACULTIES, MODEL, MorningModel, TruthTracker, dayOf, schedule, type Exam, type RampShape } from '../simulator/model.ts';
import { forecastLoad, makeGrid } from './forecast.ts';
import { DEFAULT_PROFILE, configuredCapacity } from './model.ts';

/** One scored faculty-morning. */
export interface RiskObservation {
  readonly plannedPeak: number;
  readonly collapsed: boolean;
}

/** The calibration: observations sorted by planned peak. */
export interface RiskTable {
  readonly observations: readonly RiskObservation[];
  /** Where the observations came from, for the report. */
  readonly source: string;
}

/** A risk read from the table. */
export interface Risk {
  /** Share of comparable mornings that collapsed. */
  readonly probability: number;
  readonly collapsed: number;
  readonly comparable: number;
  /** Planned-peak range of the comparable mornings. */
  readonly from: number;
  readonly to: number;
}

/**
 * The planned peak a risk is read at: the faculty pool's own peak utilization, or the
 * shared database pool's when that is higher — a saturated database slows every pool,
 * so a faculty with headroom still collapses when the platform's pool runs out.
 */
export function headroomKey(facultyPeak: number, platform: { readonly dbConnections: Float64Array; readonly dbPoolMax: number }, from = 0, to = platform.dbConnections.length - 1): number {
  let db = 0;
  for (let i = Math.max(0, from); i <= Math.min(to, platform.dbConnections.length - 1); i++) db = Math.max(db, platform.dbConnections[i]!);
  return Math.max(facultyPeak, db / platform.dbPoolMax);
}

/** Options of {@link calibrateRisk}. */
export interface CalibrationOptions {
  readonly capacities?: readonly number[];
  readonly shapes?: readonly RampShape[];
  readonly seeds?: readonly number[];
  /** Timetable to play (default: the simulator's morning). */
  readonly exams?: (dayMs: number) => Exam[];
}

/** Plays the simulator over the grid and scores each faculty-morning (a few seconds on one core). */
export function calibrateRisk(opts: CalibrationOptions = {}): RiskTable {
  const capacities = opts.capacities ?? [0.8, 1, 1.2, 1.4, 1.6, 1.9, 2.3];
  const shapes = opts.shapes ?? ['linear', 'early', 'late', 'step'];
  const seeds = opts.seeds ?? [7];
  const observations: RiskObservation[] = [];
  for (const capacity of capacities) {
    const cap = configuredCapacity(capacity);
    const params = { ...DEFAULT_PARAMS, capacity, spikes: true, noise: 0.1, stepMs: 10_000 };
    const exams = (opts.exams ?? schedule)(dayOf(params.start));
    const grid = makeGrid(params.start, params.start + params.durationMs);
    const planned = forecastLoad({ exams, capacity: cap, profileFor: () => DEFAULT_PROFILE, grid });
    const peaks = new Map(planned.faculties.map((f) => [f.faculty, headroomKey(Math.max(...f.utilization), planned.platform)]));
    for (const rampShape of shapes) {
      for (const seed of seeds) {
        const p = { ...params, rampShape, seed };
        const model = new MorningModel(p, exams);
        const truth = new TruthTracker(model.capacities());
        while (!model.done) truth.add(model.step(), p.stepMs);
        for (const f of truth.result().faculties) {
          const plannedPeak = peaks.get(f.faculty);
          if (plannedPeak !== undefined) observations.push({ plannedPeak, collapsed: f.collapseAtMs !== null });
        }
      }
    }
  }
  observations.sort((a, b) => a.plannedPeak - b.plannedPeak);
  return {
    observations,
    source: `simulator: ${capacities.length} capacities × ${shapes.length} ramp shapes × ${seeds.length} seed(s), spikes on (${observations.length} faculty-mornings)`,
  };
}

/**
 * The calibration, read from `cachePath` when it was computed with the same options and
 * the same simulator constants, else computed (seconds) and written there. The key
 * covers the model's constants and faculties, so a simulator change recalibrates.
 */
export function loadOrCalibrateRisk(cachePath: string, opts: Omit<CalibrationOptions, 'exams'> = {}): RiskTable & { readonly cached: boolean } {
  const key = createHash('sha256').update(JSON.stringify({ v: 1, opts, MODEL, FACULTIES, DEFAULT_PARAMS, DEFAULT_PROFILE })).digest('hex');
  if (existsSync(cachePath)) {
    try {
      const c = JSON.parse(readFileSync(cachePath, 'utf8')) as { key: string; table: RiskTable };
      if (c.key === key && Array.isArray(c.table.observations)) return { ...c.table, cached: true };
    } catch {
      // unreadable cache: recalibrate and overwrite it
    }
  }
  const table = calibrateRisk(opts);
  mkdirSync(dirname(cachePath), { recursive: true });
  const tmp = `${cachePath}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify({ key, table }));
  renameSync(tmp, cachePath);
  return { ...table, cached: false };
}

/**
 * Risk at a planned peak: the share of collapses among the `k` observations nearest in
 * planned peak (default 12), so sparse regions widen the comparison instead of
 * returning a guess from one or two mornings.
 */
export function riskAt(table: RiskTable, plannedPeak: number, k = 12): Risk {
  const obs = [...table.observations].sort((a, b) => Math.abs(a.plannedPeak - plannedPeak) - Math.abs(b.plannedPeak - plannedPeak)).slice(0, k);
  if (obs.length === 0) return { probability: NaN, collapsed: 0, comparable: 0, from: NaN, to: NaN };
  const collapsed = obs.filter((o) => o.collapsed).length;
  return {
    probability: collapsed / obs.length,
    collapsed,
    comparable: obs.length,
    from: Math.min(...obs.map((o) => o.plannedPeak)),
    to: Math.max(...obs.map((o) => o.plannedPeak)),
  };
}
