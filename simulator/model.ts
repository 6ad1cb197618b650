/**
 * The exam-morning load model: pure (no I/O, no clock), deterministic per seed. A fluid
 * model stepped every few simulated seconds: students log in over a ramp before each
 * exam, each faculty's server pool has finite sessions and workers, a shared DB pool
 * slows everyone when it fills, latency bends up as utilization → 1, and overload turns
 * into a metastable collapse (errors → user retries → more load, thrashing workers)
 * until students give up or exams are postponed.
 */

import type { ScheduledExam } from '../schedule/exam.ts';

// ---------------------------------------------------------------------------------
// Randomness

/** A seeded PRNG returning floats in [0, 1). */
export type Rng = () => number;

/** mulberry32: tiny, fast, good enough for simulation noise; same seed → same stream. */
export function mulberry32(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Standard normal variate (Box–Muller). */
export function gaussian(rng: Rng): number {
  const u = 1 - rng();
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Rounds `x` up or down at random so the expectation is `x` (keeps fluid totals honest). */
export function stochasticRound(x: number, rng: Rng): number {
  if (!(x > 0)) return 0;
  const f = Math.floor(x);
  return f + (rng() < x - f ? 1 : 0);
}

// ---------------------------------------------------------------------------------
// The university

/** A faculty and its dedicated server pool (capacity at `capacity = 1`). */
export interface FacultySpec {
  readonly code: string;
  readonly name: string;
  readonly students: number;
  /** Application servers in the faculty's pool. */
  readonly servers: number;
  /** Tested session capacity of the whole pool at `capacity = 1`. */
  readonly sessionCapacity: number;
}

/** The 11 faculties of a ~25,000-student university (ULiège-like). */
export const FACULTIES: readonly FacultySpec[] = [
  { code: 'medicine', name: 'Médecine', students: 4300, servers: 3, sessionCapacity: 1350 },
  { code: 'hec', name: 'HEC Liège (économie et gestion)', students: 3300, servers: 3, sessionCapacity: 1150 },
  { code: 'law', name: 'Droit, science politique et criminologie', students: 2900, servers: 3, sessionCapacity: 1100 },
  { code: 'engineering', name: 'Sciences appliquées', students: 2800, servers: 2, sessionCapacity: 1500 },
  { code: 'sciences', name: 'Sciences', students: 2700, servers: 2, sessionCapacity: 1000 },
  { code: 'philosophy', name: 'Philosophie et lettres', students: 2600, servers: 2, sessionCapacity: 900 },
  { code: 'psychology', name: 'Psychologie, logopédie et sciences de l’éducation', students: 2100, servers: 2, sessionCapacity: 1100 },
  { code: 'social-sciences', name: 'Sciences sociales', students: 1600, servers: 1, sessionCapacity: 650 },
  { code: 'veterinary', name: 'Médecine vétérinaire', students: 1400, servers: 1, sessionCapacity: 500 },
  { code: 'gembloux', name: 'Gembloux Agro-Bio Tech', students: 1300, servers: 1, sessionCapacity: 500 },
  { code: 'architecture', name: 'Architecture', students: 700, servers: 1, sessionCapacity: 300 },
];

/** One exam of the morning: the timetable's exam type (start windows and servers are not simulated). */
export type Exam = ScheduledExam;

/** Default simulated day (a Monday in the January session). */
export const DEFAULT_DAY_MS = Date.UTC(2026, 0, 12);

/**
 * 07:30 UTC of today, or of yesterday when today's morning (`durationMs` from 07:30) has
 * not ended yet: the default date of a simulated morning played now (`vigie simulate`,
 * `vigie demo`). A fixed day would age out of every ingest window and of the raw samples'
 * 30-day TTL; today's morning before it has ended would be dated in the future, and
 * Alertmanager refuses alerts that start after they end ("start time must be before end
 * time": it stamps their end on the wall clock).
 */
export function latestPastMorning(nowMs: number, durationMs: number): number {
  const d = new Date(nowMs);
  const today = Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 7, 30);
  return today + durationMs <= nowMs ? today : today - 86_400_000;
}

const EXAMS: readonly (readonly [id: string, faculty: string, hhmm: string, enrolled: number, minutes: number])[] = [
  ['med-anat-b1', 'medicine', '09:00', 1100, 60],
  ['med-phys-b2', 'medicine', '09:00', 800, 60],
  ['med-path-m1', 'medicine', '10:00', 300, 30],
  ['hec-micro-b1', 'hec', '09:00', 1000, 60],
  ['hec-compta-b2', 'hec', '09:00', 650, 60],
  ['hec-stat-m1', 'hec', '10:00', 250, 30],
  ['law-civil-b1', 'law', '09:00', 900, 60],
  ['law-crim-m1', 'law', '09:00', 300, 60],
  ['law-const-b2', 'law', '08:30', 400, 75],
  ['eng-analysis-b1', 'engineering', '09:00', 550, 60],
  ['eng-mech-b2', 'engineering', '08:30', 300, 60],
  ['sci-chem-b1', 'sciences', '09:00', 500, 60],
  ['sci-math-b2', 'sciences', '10:00', 300, 30],
  ['phil-hist-b1', 'philosophy', '09:00', 450, 60],
  ['phil-ling-b2', 'philosophy', '10:00', 200, 30],
  ['psy-intro-b1', 'psychology', '09:00', 600, 60],
  ['soc-stats-b1', 'social-sciences', '09:00', 350, 60],
  ['vet-anat-b1', 'veterinary', '09:00', 250, 60],
  ['gbx-bio-b1', 'gembloux', '08:30', 250, 60],
  ['arch-hist-b1', 'architecture', '10:00', 120, 30],
];

/** The exams a morning with these params runs: the day's schedule, staggered if asked. */
export function morningSchedule(p: Pick<MorningParams, 'start' | 'staggerMinutes'>): Exam[] {
  const exams = schedule(dayOf(p.start));
  const stagger = p.staggerMinutes ?? 0;
  if (!(stagger > 0)) return exams;
  const seen = new Map<string, number>();
  return exams.map((e) => {
    const k = `${e.faculty}|${e.start}`;
    const i = seen.get(k) ?? 0;
    seen.set(k, i + 1);
    return { ...e, start: e.start + i * stagger * 60_000 };
  });
}

/** The exams of the morning of `dayMs` (UTC midnight), ordered as listed. */
export function schedule(dayMs: number = DEFAULT_DAY_MS): Exam[] {
  return EXAMS.map(([id, faculty, hhmm, enrolled, minutes]) => {
    const [h, m] = hhmm.split(':').map(Number) as [number, number];
    return { id, faculty, start: dayMs + (h * 60 + m) * 60_000, enrolled, durationMs: minutes * 60_000 };
  });
}

// ---------------------------------------------------------------------------------
// Parameters

/** Shape of the login ramp before an exam starts. */
export type RampShape = 'linear' | 'early' | 'late' | 'step';

/** Knobs of a simulated morning. */
export interface MorningParams {
  readonly seed: number;
  /** Scales sessions, workers and DB pool: 1 = collapse-prone default, 2.5 = ample. */
  readonly capacity: number;
  readonly rampMinutes: number;
  readonly rampShape: RampShape;
  /** Multiplicative jitter (σ of a log-normal factor) on request rates. */
  readonly noise: number;
  /** Brief random traffic spikes (×1.5 for ~30 s, ~1 per faculty-hour). */
  readonly spikes: boolean;
  /** Simulated start, epoch ms. */
  readonly start: number;
  readonly durationMs: number;
  /** Model step, simulated ms. */
  readonly stepMs: number;
  /**
   * Processing capacity (workers) relative to the tested sizing, default 1. Below 1 the
   * worker pool saturates while sessions are still under their limit: e.g. a release
   * that made each page more expensive, or a pool sized for a lighter exam type.
   */
  readonly processingFactor?: number;
  /**
   * A database connection leak (a code path that never returns its connection): from
   * `startMs`, `perMinute` connections leave the shared pool for good. Workers that find
   * no free connection block, so processing capacity falls with the free pool, and the
   * contention slowdown starts as the pool fills.
   */
  readonly dbLeak?: { readonly startMs: number; readonly perMinute: number };
  /**
   * A traffic burst (a mass reload, a mail with a link, a bot): request rate × `factor`
   * for `durationMs` from `atMs`, on one faculty (or all without `faculty`). Whether it
   * recovers or tips into collapse is the model's business, not the burst's.
   */
  readonly burst?: { readonly atMs: number; readonly durationMs: number; readonly factor: number; readonly faculty?: string };
  /** Staggered starts: the k-th exam of a faculty sharing a start time starts k × this many minutes later. Default 0. */
  readonly staggerMinutes?: number;
}

/** Defaults: 07:30→10:30 UTC on 2026-01-12, capacity 1, linear 30-minute ramp. */
export const DEFAULT_PARAMS: MorningParams = {
  seed: 42,
  capacity: 1,
  rampMinutes: 30,
  rampShape: 'linear',
  noise: 0.05,
  spikes: false,
  start: DEFAULT_DAY_MS + 7.5 * 3_600_000,
  durationMs: 3 * 3_600_000,
  stepMs: 5_000,
};

/** Behavioural constants of the model (not user knobs, but named so they can be read). */
export const MODEL = {
  /** Share of enrolled students who show up. */
  attendance: 0.93,
  /** Share of attendees who arrive in the 10 minutes after the start (late-comers). */
  lateShare: 0.08,
  /** Students browsing courses (no exam) as a share of the faculty, all morning. */
  backgroundShare: 0.04,
  /** Page requests per second of a student in an exam (think time ~20 s). */
  requestRate: 0.05,
  /** Request-rate multiplier in the first minutes of an exam (everyone opens the quiz). */
  startBoost: 1.8,
  startBoostMs: 4 * 60_000,
  /** Worker-seconds per page request, and per login (heavier: SSO, session setup). */
  serviceTimeS: 0.4,
  loginRequests: 3,
  /** Worker cost of a login refused for lack of session slots, relative to a real one. */
  refusalCost: 0.15,
  /** Workers are sized so that tested capacity runs at this utilization. */
  testedUtilization: 0.6,
  /** Thrashing: goodput = capacity / (1 + κ(ρ − 1)) when offered load ρ > 1. */
  thrashing: 2,
  /** Share of failed requests a user re-sends (reload, back, re-submit). */
  retryShare: 0.85,
  /** A student without a session retries logging in about every this many ms. */
  loginRetryMs: 20_000,
  /** Waiting students give up at rate 1/patience once their exam has started. */
  patienceMs: 25 * 60_000,
  /** A faculty collapsed this long gets its running exams postponed. */
  postponeAfterMs: 35 * 60_000,
  /** Postponed students leave with this time constant. */
  leaveMs: 3 * 60_000,
  /** Request timeout (gateway), seconds. */
  timeoutS: 30,
  /** DB connections held per busy worker, and pool size at capacity 1. */
  dbPerWorker: 0.5,
  dbPoolMax: 160,
  /** Error ratio above which a faculty counts as collapsed, and for how long. */
  collapseErrorRatio: 0.5,
  collapseSustainMs: 60_000,
} as const;

// ---------------------------------------------------------------------------------
// Latency

/**
 * Mean response time (s) of a pool at offered utilization ρ: flat while idle, a knee
 * as ρ → 1 (M/M/c-like: base·(1 + ρ^8/(1−ρ))), capped at the timeout.
 */
export function meanLatencyS(baseS: number, rho: number, timeoutS: number = MODEL.timeoutS): number {
  const r = Math.min(Math.max(rho, 0), 0.999);
  return Math.min(timeoutS, baseS * (1 + r ** 8 / (1 - r)));
}

/** Share of requests exceeding the timeout when latency is ~exponential with mean `meanS`. */
export function timeoutShare(meanS: number, timeoutS: number = MODEL.timeoutS): number {
  return meanS <= 0 ? 0 : Math.exp(-timeoutS / meanS);
}

// ---------------------------------------------------------------------------------
// Step output

/** How the durations of a group of requests are distributed. */
export type LatencyDist =
  | { readonly kind: 'gamma2'; readonly meanS: number }
  | { readonly kind: 'fixed'; readonly valueS: number };

/** A group of identical requests served by one server during one step. */
export interface RequestFlow {
  readonly examId: string | null;
  readonly route: string;
  readonly method: 'GET' | 'POST';
  readonly status: 200 | 503 | 504;
  readonly count: number;
  readonly latency: LatencyDist;
}

/** Login attempts of one step on one server. */
export interface LoginFlow {
  readonly examId: string | null;
  readonly outcome: 'success' | 'failure';
  readonly count: number;
}

/** What one server reports for one step. */
export interface ServerSnapshot {
  readonly server: string;
  readonly faculty: string;
  /** Sessions per exam id ('' = browsing, no exam). */
  readonly sessions: ReadonlyMap<string, number>;
  readonly sessionCapacity: number;
  readonly activeRequests: number;
  readonly workersBusy: number;
  readonly workersMax: number;
  readonly cpuUtilization: number;
  readonly tcpEstablished: number;
  readonly tcpSynRecv: number;
  readonly tcpTimeWait: number;
  readonly requests: readonly RequestFlow[];
  readonly logins: readonly LoginFlow[];
}

/** Faculty-level truth of one step (for ground truth and progress reports). */
export interface FacultyStep {
  readonly faculty: string;
  readonly sessions: number;
  readonly demand: number;
  readonly sessionCapacity: number;
  /** Offered load / worker capacity. */
  readonly utilization: number;
  readonly errorRatio: number;
  readonly requestRate: number;
  readonly meanLatencyS: number;
  /** A random traffic spike is running (ground truth only: no collector reports it). */
  readonly spike: boolean;
}

/** Everything the model produced for one step ending at `atMs`. */
export interface StepOutput {
  readonly atMs: number;
  readonly faculties: readonly FacultyStep[];
  readonly servers: readonly ServerSnapshot[];
  readonly db: { readonly poolName: string; readonly used: number; readonly max: number; readonly cpu: number };
}

// ---------------------------------------------------------------------------------
// The model

interface ExamState {
  readonly exam: Exam;
  attendees: number;
  admitted: number;
  gaveUp: number;
  postponedAt: number | null;
  /** Students still present after postponement (decays). */
  remainingAfterPostpone: number;
}

interface FacultyState {
  readonly spec: FacultySpec;
  readonly exams: ExamState[];
  readonly servers: readonly { readonly name: string; readonly weight: number }[];
  readonly sessionCap: number;
  readonly workers: number;
  background: number;
  bgAdmitted: number;
  /** Failed requests of the previous step that users re-send now. */
  retryBacklog: number;
  lastErrorRatio: number;
  lastUtilization: number;
  collapsedForMs: number;
  spikeUntil: number;
}

/** Login ramp CDF: share of on-time arrivals done at fraction x ∈ [0,1] of the ramp. */
export function rampCdf(shape: RampShape, x: number, rampMs: number, stepMs: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  switch (shape) {
    case 'linear':
      return x;
    case 'early':
      return 1 - (1 - x) ** 2;
    case 'late':
      return x ** 3;
    case 'step': {
      // Everyone in the last minute (or last step if the ramp is shorter).
      const w = Math.min(1, Math.max(60_000, stepMs) / rampMs);
      return x < 1 - w ? 0 : (x - (1 - w)) / w;
    }
  }
}

/** Students of `e` who want to be connected at `t` (before give-ups and postponement). */
function wanted(e: ExamState, t: number, p: MorningParams): number {
  const { start, durationMs } = e.exam;
  const rampMs = p.rampMinutes * 60_000;
  const onTime = rampCdf(p.rampShape, (t - (start - rampMs)) / rampMs, rampMs, p.stepMs);
  const late = Math.min(1, Math.max(0, (t - start) / 600_000));
  const arrived = (1 - MODEL.lateShare) * onTime + MODEL.lateShare * late;
  // Submissions spread over the last 20 minutes (last third for short exams).
  const subWin = Math.min(20 * 60_000, durationMs / 3);
  const left = Math.min(1, Math.max(0, (t - (start + durationMs - subWin)) / subWin));
  return e.attendees * Math.max(0, arrived - left);
}

/** A simulated exam morning; call `step()` until `done`. */
export class MorningModel {
  readonly params: MorningParams;
  private readonly rng: Rng;
  private readonly faculties: FacultyState[];
  private readonly dbMax: number;
  private dbUsed = 0;
  /** Connections lost to a leak (params.dbLeak). */
  private leaked = 0;
  /** Connections the workers wanted in the previous step (for pool starvation under a leak). */
  private dbWanted = 0;
  private t: number;

  constructor(params: MorningParams, exams: readonly Exam[] = morningSchedule(params)) {
    this.params = params;
    this.rng = mulberry32(params.seed);
    this.t = params.start;
    this.dbMax = Math.round(MODEL.dbPoolMax * params.capacity);
    this.faculties = FACULTIES.map((spec) => {
      const servers = Array.from({ length: spec.servers }, (_, i) => ({
        name: `${spec.code}-app-${i + 1}`,
        weight: 1 + 0.08 * (this.rng() - 0.5),
      }));
      const wsum = servers.reduce((s, x) => s + x.weight, 0);
      const sessionCap = Math.round(spec.sessionCapacity * params.capacity);
      return {
        spec,
        exams: exams
          .filter((e) => e.faculty === spec.code)
          .map((exam) => ({
            exam,
            attendees: Math.round(exam.enrolled * MODEL.attendance),
            admitted: 0,
            gaveUp: 0,
            postponedAt: null,
            remainingAfterPostpone: 0,
          })),
        servers: servers.map((s) => ({ name: s.name, weight: s.weight / wsum })),
        sessionCap,
        workers: Math.ceil(((sessionCap * MODEL.requestRate * MODEL.serviceTimeS) / MODEL.testedUtilization) * (params.processingFactor ?? 1)),
        background: spec.students * MODEL.backgroundShare,
        bgAdmitted: spec.students * MODEL.backgroundShare,
        retryBacklog: 0,
        lastErrorRatio: 0,
        lastUtilization: 0,
        collapsedForMs: 0,
        spikeUntil: -Infinity,
      };
    });
  }

  /** Simulated time of the end of the last step. */
  now(): number {
    return this.t;
  }

  /** True once the simulated period is over. */
  get done(): boolean {
    return this.t >= this.params.start + this.params.durationMs;
  }

  /** Server names with their faculty, for building collectors up front. */
  servers(): { server: string; faculty: string }[] {
    return this.faculties.flatMap((f) => f.servers.map((s) => ({ server: s.name, faculty: f.spec.code })));
  }

  /** Session capacity and workers per faculty at this `capacity`. */
  capacities(): { faculty: string; sessionCapacity: number; workers: number }[] {
    return this.faculties.map((f) => ({ faculty: f.spec.code, sessionCapacity: f.sessionCap, workers: f.workers }));
  }

  /** Name and size of the shared DB pool. */
  dbPool(): { poolName: string; max: number } {
    return { poolName: 'ecampus-main', max: this.dbMax };
  }

  /** Advances one step and returns what happened during it. */
  step(): StepOutput {
    const p = this.params;
    const dt = p.stepMs;
    const dtS = dt / 1000;
    const t = this.t + dt;
    const rng = this.rng;
    if (p.dbLeak && t > p.dbLeak.startMs) this.leaked = Math.min(this.dbMax, this.leaked + (p.dbLeak.perMinute * dt) / 60_000);
    // Under a leak, workers that find no free connection block: processing capacity
    // shrinks to what the free pool can serve (previous step's demand for connections).
    const dbServe = p.dbLeak ? Math.min(1, Math.max(0, this.dbMax - this.leaked) / Math.max(1, this.dbWanted)) : 1;
    let dbWanted = 0;
    // DB contention from the previous step slows every pool (shared database).
    const dbU = this.dbMax > 0 ? this.dbUsed / this.dbMax : 0;
    const dbFactor = 1 + (dbU > 0.7 ? 1.5 * ((dbU - 0.7) / 0.3) ** 2 : 0);
    const serviceS = MODEL.serviceTimeS * dbFactor;
    let dbUsed = 0;
    const facultySteps: FacultyStep[] = [];
    const serverSnaps: ServerSnapshot[] = [];

    for (const f of this.faculties) {
      // --- demand: who wants a session now
      let loginAttempts = 0;
      const examLogin: { e: ExamState; attempts: number }[] = [];
      let demand = f.background;
      for (const e of f.exams) {
        let want = Math.max(0, wanted(e, t, p) - e.gaveUp);
        if (e.postponedAt !== null) {
          e.remainingAfterPostpone *= Math.exp(-dt / MODEL.leaveMs);
          want = Math.min(want, e.remainingAfterPostpone);
        }
        if (e.admitted > want) e.admitted = want;
        const waiting = want - e.admitted;
        // A student without a session tries about every loginRetryMs; the first try is immediate.
        const attempts = waiting * Math.min(1, dt / MODEL.loginRetryMs);
        examLogin.push({ e, attempts });
        loginAttempts += attempts;
        demand += want;
        // Giving up: slow before the start, faster after.
        const patience = t >= e.exam.start ? MODEL.patienceMs : 4 * MODEL.patienceMs;
        if (f.lastErrorRatio > 0.2 || e.admitted + 1 < want) e.gaveUp += waiting * (dt / patience);
      }
      // --- offered load (requests/s)
      const noiseF = Math.exp(p.noise * gaussian(rng));
      if (p.spikes && t > f.spikeUntil && rng() < dt / 3_600_000) f.spikeUntil = t + 30_000;
      const b = p.burst;
      const burstF = b && t > b.atMs && t <= b.atMs + b.durationMs && (b.faculty === undefined || b.faculty === f.spec.code) ? b.factor : 1;
      const spikeF = (t <= f.spikeUntil ? 1.5 : 1) * burstF;
      const examRates = f.exams.map((e) => {
        const since = t - e.exam.start;
        const boost = since >= 0 && since < MODEL.startBoostMs && e.postponedAt === null ? MODEL.startBoost : 1;
        return e.admitted * MODEL.requestRate * boost;
      });
      const bgRate = f.bgAdmitted * MODEL.requestRate * 0.5;
      const pageRate = (examRates.reduce((a, b) => a + b, 0) + bgRate) * noiseF * spikeF;
      // Logins beyond the free session slots are refused at the door (cheap 503s).
      const freeBefore = Math.max(0, f.sessionCap - f.bgAdmitted - f.exams.reduce((s, e) => s + e.admitted, 0));
      const admissible = Math.min(loginAttempts, freeBefore);
      const loginRate =
        ((admissible + (loginAttempts - admissible) * MODEL.refusalCost) * MODEL.loginRequests) / dtS;
      const retryRate = f.retryBacklog / dtS;
      const offered = pageRate + loginRate + retryRate;
      const capacityRps = (f.workers * dbServe) / serviceS;
      const rho = offered / capacityRps;
      const goodput = rho <= 1 ? offered : capacityRps / (1 + MODEL.thrashing * (rho - 1));
      const meanS = rho < 1 ? meanLatencyS(serviceS, rho) : MODEL.timeoutS * 0.8;
      const tShare = rho < 1 ? timeoutShare(meanS) : 0;
      const overloadErr = offered > 0 ? 1 - goodput / offered : 0;
      const errRatio = Math.min(1, overloadErr + (1 - overloadErr) * tShare);
      const share503 = rho <= 1 ? 0 : Math.min(0.8, Math.max(0.2, (rho - 1) / 2));

      // --- logins: session capacity first, then the overload lottery
      let sessionsNow = f.bgAdmitted + f.exams.reduce((s, e) => s + e.admitted, 0);
      let freeSlots = Math.max(0, f.sessionCap - sessionsNow);
      const loginsOut: { examId: string | null; ok: number; refused: number; failed: number }[] = [];
      for (const { e, attempts } of examLogin) {
        const served = attempts * (1 - errRatio);
        const ok = Math.min(served, freeSlots);
        freeSlots -= ok;
        e.admitted += ok;
        loginsOut.push({ examId: e.exam.id, ok, refused: served - ok, failed: attempts - served });
      }
      // Browsing students drift towards the background level.
      const bgTarget = Math.min(f.background, f.bgAdmitted + freeSlots);
      f.bgAdmitted += (bgTarget - f.bgAdmitted) * 0.1;
      sessionsNow = f.bgAdmitted + f.exams.reduce((s, e) => s + e.admitted, 0);

      // --- failures feed next step's retries
      const pageErrors = pageRate * errRatio * dtS;
      const refusedLogins = loginsOut.reduce((s, l) => s + l.refused, 0);
      f.retryBacklog = (pageErrors + retryRate * errRatio * dtS) * MODEL.retryShare;
      const totalReq = offered * dtS;
      const totalErr = totalReq * errRatio + refusedLogins * MODEL.loginRequests;
      const facErrRatio = totalReq > 0 ? Math.min(1, totalErr / totalReq) : 0;

      // --- collapse bookkeeping and postponement
      f.collapsedForMs = facErrRatio > MODEL.collapseErrorRatio ? f.collapsedForMs + dt : 0;
      if (f.collapsedForMs >= MODEL.postponeAfterMs) {
        for (const e of f.exams) {
          if (e.postponedAt === null && e.exam.start <= t + 15 * 60_000) {
            e.postponedAt = t;
            e.remainingAfterPostpone = Math.max(e.admitted, wanted(e, t, p) - e.gaveUp);
          }
        }
      }
      f.lastErrorRatio = facErrRatio;
      f.lastUtilization = rho;

      const busy = Math.min(f.workers, offered * serviceS);
      dbUsed += busy * MODEL.dbPerWorker;
      dbWanted += busy * MODEL.dbPerWorker;
      const queued = rho > 1 ? Math.min(f.workers * 4, (offered - goodput) * 2) : offered * Math.max(0, meanS - serviceS);
      const active = busy + queued;
      facultySteps.push({
        faculty: f.spec.code,
        sessions: sessionsNow,
        demand,
        sessionCapacity: f.sessionCap,
        utilization: rho,
        errorRatio: facErrRatio,
        requestRate: offered,
        meanLatencyS: meanS,
        spike: spikeF > 1,
      });

      // --- split per server
      const examShares = f.exams.map((e, i) => ({ e, rate: (examRates[i] ?? 0) * noiseF * spikeF }));
      for (const s of f.servers) {
        const w = s.weight;
        const sessions = new Map<string, number>();
        sessions.set('', Math.round(f.bgAdmitted * w));
        for (const e of f.exams) {
          if (e.exam.start - p.rampMinutes * 60_000 <= t || e.admitted > 0) sessions.set(e.exam.id, Math.round(e.admitted * w));
        }
        const requests: RequestFlow[] = [];
        const addFlows = (examId: string | null, route: string, method: 'GET' | 'POST', n: number, fast503: boolean): void => {
          const okN = stochasticRound(n * (1 - errRatio), rng);
          if (okN > 0) requests.push({ examId, route, method, status: 200, count: okN, latency: { kind: 'gamma2', meanS } });
          const errN = stochasticRound(n * errRatio, rng);
          if (errN > 0) {
            const n503 = fast503 ? errN : stochasticRound(errN * share503, rng);
            if (n503 > 0) requests.push({ examId, route, method, status: 503, count: n503, latency: { kind: 'gamma2', meanS: 0.02 } });
            if (errN - n503 > 0)
              requests.push({ examId, route, method, status: 504, count: errN - n503, latency: { kind: 'fixed', valueS: MODEL.timeoutS } });
          }
        };
        const retryPerPage = pageRate > 0 ? retryRate / pageRate : 0;
        for (const { e, rate } of examShares) {
          const n = rate * (1 + retryPerPage) * dtS * w;
          if (n <= 0) continue;
          addFlows(e.exam.id, '/mod/quiz/attempt.php', 'GET', n * 0.7, false);
          addFlows(e.exam.id, '/mod/quiz/processattempt.php', 'POST', n * 0.3, false);
        }
        addFlows(null, '/course/view.php', 'GET', bgRate * noiseF * (1 + retryPerPage) * dtS * w, false);
        const logins: LoginFlow[] = [];
        for (const l of loginsOut) {
          const ok = stochasticRound(l.ok * w, rng);
          const bad = stochasticRound((l.refused + l.failed) * w, rng);
          if (ok > 0) logins.push({ examId: l.examId, outcome: 'success', count: ok });
          if (bad > 0) logins.push({ examId: l.examId, outcome: 'failure', count: bad });
          const refusedReq = stochasticRound(l.refused * w, rng);
          if (ok > 0) requests.push({ examId: null, route: '/login/index.php', method: 'POST', status: 200, count: ok, latency: { kind: 'gamma2', meanS: meanS * 2 } });
          if (refusedReq > 0)
            requests.push({ examId: null, route: '/login/index.php', method: 'POST', status: 503, count: refusedReq, latency: { kind: 'gamma2', meanS: 0.05 } });
          const failedReq = bad - refusedReq;
          if (failedReq > 0)
            requests.push({ examId: null, route: '/login/index.php', method: 'POST', status: 504, count: failedReq, latency: { kind: 'fixed', valueS: MODEL.timeoutS } });
        }
        const sessionsTotal = [...sessions.values()].reduce((a, b) => a + b, 0);
        serverSnaps.push({
          server: s.name,
          faculty: f.spec.code,
          sessions,
          sessionCapacity: Math.round(f.sessionCap * w),
          activeRequests: Math.round(active * w),
          workersBusy: Math.round(busy * w),
          workersMax: Math.round(f.workers * w),
          cpuUtilization: Math.min(1, Math.max(0, 0.05 + 0.85 * (busy / f.workers) + (rho > 1 ? 0.1 : 0) + 0.02 * gaussian(rng))),
          tcpEstablished: Math.round(sessionsTotal * 0.6 + active * w),
          tcpSynRecv: Math.round((rho > 1 ? offered * overloadErr * share503 : 0) * w),
          tcpTimeWait: Math.round(offered * w * 4),
          requests,
          logins,
        });
      }
    }
    this.dbUsed = Math.min(this.dbMax, dbUsed + this.leaked);
    this.dbWanted = dbWanted;
    this.t = t;
    return {
      atMs: t,
      faculties: facultySteps,
      servers: serverSnaps,
      db: {
        poolName: 'ecampus-main',
        used: Math.round(this.dbUsed),
        max: this.dbMax,
        cpu: Math.min(1, 0.1 + 0.8 * (this.dbUsed / Math.max(1, this.dbMax))),
      },
    };
  }
}

/** UTC midnight of the day containing `ms`. */
export function dayOf(ms: number): number {
  return Math.floor(ms / 86_400_000) * 86_400_000;
}

// ---------------------------------------------------------------------------------
// Ground truth

/** Per-faculty ground truth of a morning. */
export interface FacultyTruth {
  readonly faculty: string;
  readonly sessionCapacity: number;
  readonly workers: number;
  readonly peakSessions: number;
  readonly peakDemand: number;
  readonly peakUtilization: number;
  readonly peakErrorRatio: number;
  /** Start of the first sustained collapse, or null. */
  readonly collapseAtMs: number | null;
  /** What led into that collapse (null without one), to tell foreseeable collapses from sudden ones. */
  readonly collapseTrigger: CollapseTrigger | null;
}

/** The run-up of a collapse, from the model's own state. */
export interface CollapseTrigger {
  /** Start of the unbroken run of overloaded steps (offered load > worker capacity) that ended in the collapse. */
  readonly overloadAtMs: number;
  /** Whether a random traffic spike was running when that overload began. */
  readonly spikeAtOverload: boolean;
  /** Highest utilization (offered load / worker capacity) in the 10 min before the overload began. */
  readonly peakUtilizationBefore: number;
  /** Highest sessions / session capacity in the 10 min before the overload began. */
  readonly peakSessionShareBefore: number;
}

/** What really happened, to score alerts against. */
export interface GroundTruth {
  /** First time any faculty's error ratio went > 0.5 and stayed there ≥ 1 min; null if never. */
  readonly collapseAtMs: number | null;
  readonly collapsedFaculties: string[];
  /** After a collapse: start of the first ≥ 5 min window with every faculty's error ratio < 0.05 and ρ < 1. */
  readonly recoveredAtMs: number | null;
  readonly faculties: FacultyTruth[];
}

/** The run-up of a collapse that began at `onsetMs`, from the steps before it (oldest first). */
function runUp(recent: readonly { start: number; rho: number; share: number; spike: boolean }[], onsetMs: number): CollapseTrigger {
  let i = recent.findIndex((r) => r.start >= onsetMs);
  if (i < 0) i = recent.length - 1;
  // Walk back over the unbroken overload (ρ > 1) that led into the onset.
  let j = i;
  while (j > 0 && recent[j - 1]!.rho > 1) j--;
  const overload = recent[j]!;
  const before = recent.filter((r) => r.start < overload.start && r.start >= overload.start - 10 * 60_000);
  const r3 = (x: number) => Math.round(x * 1000) / 1000;
  return {
    overloadAtMs: overload.start,
    spikeAtOverload: overload.spike,
    peakUtilizationBefore: r3(Math.max(0, ...before.map((r) => r.rho))),
    peakSessionShareBefore: r3(Math.max(0, ...before.map((r) => r.share))),
  };
}

/** Accumulates step outputs into a `GroundTruth` (pure). */
export class TruthTracker {
  private readonly per = new Map<
    string,
    {
      cap: number;
      workers: number;
      peakS: number;
      peakD: number;
      peakU: number;
      peakE: number;
      overSince: number | null;
      collapseAt: number | null;
      /** The last 20 min of steps, to describe a collapse's run-up once it is confirmed. */
      recent: { start: number; rho: number; share: number; spike: boolean }[];
      trigger: CollapseTrigger | null;
    }
  >();
  private healthySince: number | null = null;
  private recoveredAt: number | null = null;

  constructor(capacities: readonly { faculty: string; sessionCapacity: number; workers: number }[]) {
    for (const c of capacities) {
      this.per.set(c.faculty, { cap: c.sessionCapacity, workers: c.workers, peakS: 0, peakD: 0, peakU: 0, peakE: 0, overSince: null, collapseAt: null, recent: [], trigger: null });
    }
  }

  /** Folds one step in. */
  add(step: StepOutput, stepMs: number): void {
    let healthy = true;
    for (const f of step.faculties) {
      const s = this.per.get(f.faculty);
      if (s === undefined) continue;
      s.peakS = Math.max(s.peakS, f.sessions);
      s.peakD = Math.max(s.peakD, f.demand);
      s.peakU = Math.max(s.peakU, f.utilization);
      s.peakE = Math.max(s.peakE, f.errorRatio);
      const stepStart = step.atMs - stepMs;
      if (s.collapseAt === null) {
        s.recent.push({ start: stepStart, rho: f.utilization, share: f.sessionCapacity > 0 ? f.sessions / f.sessionCapacity : 0, spike: f.spike });
        while (s.recent[0]!.start < stepStart - 20 * 60_000) s.recent.shift();
      }
      if (f.errorRatio > MODEL.collapseErrorRatio) {
        s.overSince ??= stepStart;
        if (s.collapseAt === null && step.atMs - s.overSince >= MODEL.collapseSustainMs) {
          s.collapseAt = s.overSince;
          s.trigger = runUp(s.recent, s.overSince);
        }
      } else {
        s.overSince = null;
      }
      if (!(f.errorRatio < 0.05 && f.utilization < 1)) healthy = false;
    }
    const anyCollapse = [...this.per.values()].some((s) => s.collapseAt !== null);
    if (anyCollapse && this.recoveredAt === null) {
      if (healthy) {
        this.healthySince ??= step.atMs - stepMs;
        if (step.atMs - this.healthySince >= 5 * 60_000) this.recoveredAt = this.healthySince;
      } else {
        this.healthySince = null;
      }
    }
  }

  /** The ground truth so far. */
  result(): GroundTruth {
    const faculties: FacultyTruth[] = [...this.per.entries()].map(([faculty, s]) => ({
      faculty,
      sessionCapacity: s.cap,
      workers: s.workers,
      peakSessions: Math.round(s.peakS),
      peakDemand: Math.round(s.peakD),
      peakUtilization: Math.round(s.peakU * 1000) / 1000,
      peakErrorRatio: Math.round(s.peakE * 1000) / 1000,
      collapseAtMs: s.collapseAt,
      collapseTrigger: s.trigger,
    }));
    const collapsed = faculties.filter((f) => f.collapseAtMs !== null);
    const collapseAtMs = collapsed.length ? Math.min(...collapsed.map((f) => f.collapseAtMs as number)) : null;
    return {
      collapseAtMs,
      collapsedFaculties: collapsed.map((f) => f.faculty),
      recoveredAtMs: this.recoveredAt,
      faculties,
    };
  }
}
