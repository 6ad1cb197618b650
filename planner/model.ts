/**
 * What the planner needs to know about the platform and about how students load it:
 * per-faculty load profiles (attendance, login ramp, requests per student, how long a
 * student stays) with their uncertainty, and the capacity each faculty's pool and the
 * shared database pool hold. Both come from stored history when there is some, else from
 * documented defaults (the simulator's university, which is the demo's configuration);
 * every value says which.
 */
import { FACULTIES, MODEL } from '../simulator/model.ts';

/** A learned quantity: mean, standard deviation, and how many observations gave it (0 = default). */
export interface Estimate {
  readonly mean: number;
  readonly sd: number;
  readonly n: number;
}

/** Where a profile or a capacity came from (`simulator`: the demo's simulated university). */
export type Provenance = 'history' | 'defaults' | 'config' | 'simulator';

/** How one faculty's students load the platform around an exam. */
export interface LoadProfile {
  /** Share of enrolled students who connect. */
  readonly attendance: Estimate;
  /** On-time students log in linearly over this many minutes before the start. */
  readonly rampMinutes: Estimate;
  /** Page requests per second of a connected student (steady state). */
  readonly requestsPerStudent: Estimate;
  /** Minutes a student stays connected, as a share of the exam's duration (after the start). */
  readonly stayRatio: Estimate;
  readonly source: Provenance;
}

/** The load model's constants that are not learned (the simulator's behaviour, named). */
export const LOAD_CONSTANTS = {
  /** Share of attendees who arrive in the 10 minutes after the start. */
  lateShare: MODEL.lateShare,
  lateMinutes: 10,
  /** Request-rate multiplier during the first minutes of an exam (everyone opens the quiz). */
  startBoost: MODEL.startBoost,
  startBoostMinutes: MODEL.startBoostMs / 60_000,
  /** Requests per login (SSO round trips, session set-up). */
  loginRequests: MODEL.loginRequests,
  /** Browsing students request at half an exam-taker's rate. */
  backgroundRateShare: 0.5,
  /** Worker-seconds per request and DB connections per busy worker (connection-pool use). */
  serviceTimeS: MODEL.serviceTimeS,
  dbPerWorker: MODEL.dbPerWorker,
} as const;

/**
 * Documented defaults, used when no stored morning says otherwise: the simulator's
 * behaviour (93 % attendance, 30-minute linear ramp, one request per 20 s, students stay
 * until the submissions at the end), with deliberately wide uncertainties.
 */
export const DEFAULT_PROFILE: LoadProfile = {
  attendance: { mean: MODEL.attendance, sd: 0.05, n: 0 },
  rampMinutes: { mean: 30, sd: 10, n: 0 },
  requestsPerStudent: { mean: MODEL.requestRate, sd: 0.01, n: 0 },
  stayRatio: { mean: 0.9, sd: 0.05, n: 0 },
  source: 'defaults',
};

/** Capacity of one faculty's server pool. */
export interface FacultyCapacity {
  readonly faculty: string;
  /** Session slots of the whole pool. */
  readonly sessionCapacity: number;
  /** Requests per second the pool's workers serve (workers / service time). */
  readonly requestCapacity: number;
  /** Server names of the pool (each holds an equal share). */
  readonly servers: readonly string[];
  /** Students browsing without an exam (sessions held all morning). */
  readonly backgroundSessions: number;
}

/** The platform's capacity as the planner uses it. */
export interface CapacityModel {
  readonly faculties: ReadonlyMap<string, FacultyCapacity>;
  /** Shared database connection pool. */
  readonly dbPoolMax: number;
  readonly source: Provenance;
}

/**
 * The demo's platform: the simulator's university scaled by `factor`, exactly as
 * `vigie demo --capacity` builds it. Never a campus's capacity (see `capacity.ts`).
 */
export function configuredCapacity(factor = 1): CapacityModel {
  if (!(factor > 0)) throw new RangeError(`configuredCapacity: capacity factor must be positive, got ${factor}`);
  const faculties = new Map<string, FacultyCapacity>();
  for (const f of FACULTIES) {
    const sessionCapacity = Math.round(f.sessionCapacity * factor);
    const workers = Math.ceil((sessionCapacity * MODEL.requestRate * MODEL.serviceTimeS) / MODEL.testedUtilization);
    faculties.set(f.code, {
      faculty: f.code,
      sessionCapacity,
      requestCapacity: workers / MODEL.serviceTimeS,
      servers: Array.from({ length: f.servers }, (_, i) => `${f.code}-app-${i + 1}`),
      backgroundSessions: f.students * MODEL.backgroundShare,
    });
  }
  return { faculties, dbPoolMax: Math.round(MODEL.dbPoolMax * factor), source: 'simulator' };
}

/** A copy of `cap` where `faculty` (or every faculty when null) has `extra` more servers of the same size. */
export function addServers(cap: CapacityModel, extra: number, faculty: string | null): CapacityModel {
  const faculties = new Map<string, FacultyCapacity>();
  for (const [k, f] of cap.faculties) {
    if (faculty !== null && k !== faculty) {
      faculties.set(k, f);
      continue;
    }
    const n = f.servers.length;
    const scale = (n + extra) / n;
    if (!(n + extra >= 1)) throw new RangeError(`capacity what-if: ${k} would have ${n + extra} servers`);
    const servers = Array.from({ length: n + extra }, (_, i) => f.servers[i] ?? `${k}-app-${i + 1}`);
    faculties.set(k, { ...f, sessionCapacity: Math.round(f.sessionCapacity * scale), requestCapacity: f.requestCapacity * scale, servers });
  }
  if (faculty !== null && !cap.faculties.has(faculty)) throw new RangeError(`capacity what-if: unknown faculty "${faculty}" (known: ${[...cap.faculties.keys()].join(', ')})`);
  // The database pool is sized with the application tier.
  const total = (c: ReadonlyMap<string, FacultyCapacity>) => [...c.values()].reduce((s, f) => s + f.sessionCapacity, 0);
  return { faculties, dbPoolMax: Math.round((cap.dbPoolMax * total(faculties)) / Math.max(1, total(cap.faculties))), source: cap.source };
}

/** A copy of `cap` with every capacity multiplied by `factor`. */
export function scaleCapacity(cap: CapacityModel, factor: number): CapacityModel {
  if (!(factor > 0)) throw new RangeError(`capacity what-if: factor must be positive, got ${factor}`);
  const faculties = new Map<string, FacultyCapacity>();
  for (const [k, f] of cap.faculties) faculties.set(k, { ...f, sessionCapacity: Math.round(f.sessionCapacity * factor), requestCapacity: f.requestCapacity * factor });
  return { faculties, dbPoolMax: Math.round(cap.dbPoolMax * factor), source: cap.source };
}
