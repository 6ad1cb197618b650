/**
 * Runs a simulated exam morning end to end: steps the pure model, records what it
 * produced on one OTel collector per simulated server (plus one for the database), and
 * triggers collection every `scrapeIntervalMs` of simulated time, stamping points with
 * the simulated clock. Paced by `compression` (real-time factor) or as fast as possible.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Attributes } from '@opentelemetry/api';
import { manualClock } from '../core/clock.ts';
import { ConfigError, describeError } from '../core/errors.ts';
import { TOPICS, type TransportProducer } from '../transport/types.ts';
import { createCollector, type Collector } from '../collectors/collector.ts';
import {
  DEFAULT_PARAMS,
  MODEL,
  MorningModel,
  TruthTracker,
  dayOf,
  morningSchedule,
  mulberry32,
  type FacultyStep,
  type Exam,
  type GroundTruth,
  type LatencyDist,
  type MorningParams,
  type RampShape,
  type Rng,
  type ServerSnapshot,
  type StepOutput,
} from './model.ts';

/** Options of `runMorning` (every field optional; defaults in `DEFAULT_MORNING`). */
export interface MorningOptions extends MorningParams {
  /** Real-time pacing factor: 90 plays 3 h in 2 min; Infinity = as fast as possible. */
  readonly compression: number;
  /** Simulated time between two collections. */
  readonly scrapeIntervalMs: number;
  /** The timetable to play (e.g. a planner's staggered one); default: the built-in `schedule()` of the day. */
  readonly exams?: readonly Exam[];
}

/** Default morning: collapse-prone capacity, linear 30-minute ramp, 15 s scrapes, no pacing. */
export const DEFAULT_MORNING: MorningOptions = { ...DEFAULT_PARAMS, compression: Infinity, scrapeIntervalMs: 15_000 };

/** Progress reported after each collection. */
export interface MorningProgress {
  readonly faculties: readonly FacultyStep[];
  readonly exportedSamples: number;
  readonly messagesSent: number;
}

/** Where the morning's telemetry goes. */
export interface MorningDeps {
  readonly producer: TransportProducer;
  /** Default `otlp_metrics`. */
  readonly topic?: string;
  onProgress?(simNowMs: number, info: MorningProgress): void;
  /** Stops the run early (the result covers what was simulated). */
  readonly signal?: AbortSignal;
}

/** Ground truth plus what was exported. */
export interface MorningResult extends GroundTruth {
  readonly startMs: number;
  readonly endMs: number;
  /** Sum of `countExportedSamples` over all successful exports. */
  readonly exportedSamples: number;
  readonly messagesSent: number;
  readonly bytesSent: number;
  readonly exportFailures: number;
  readonly lastExportError: string | null;
  readonly collections: number;
  /** Host names of the simulated resources (message keys are `ecampus/<host>`). */
  readonly hosts: readonly string[];
  readonly wallMs: number;
}

const RAMP_SHAPES: readonly RampShape[] = ['linear', 'early', 'late', 'step'];

/** Validates options; errors name the key and the accepted values. */
export function resolveMorningOptions(opts: Partial<MorningOptions>): MorningOptions {
  const o: MorningOptions = { ...DEFAULT_MORNING, ...stripUndefined(opts) };
  const positive = (key: keyof MorningOptions, v: number, allowInf = false): void => {
    if (!(v > 0) || (!allowInf && !Number.isFinite(v))) {
      throw new ConfigError(`morning option "${key}" must be a positive${allowInf ? '' : ' finite'} number, got ${String(v)}`);
    }
  };
  if (!Number.isInteger(o.seed)) throw new ConfigError(`morning option "seed" must be an integer, got ${String(o.seed)}`);
  positive('capacity', o.capacity);
  positive('rampMinutes', o.rampMinutes);
  positive('durationMs', o.durationMs);
  positive('stepMs', o.stepMs);
  positive('scrapeIntervalMs', o.scrapeIntervalMs);
  positive('compression', o.compression, true);
  if (!RAMP_SHAPES.includes(o.rampShape)) {
    throw new ConfigError(`morning option "rampShape" must be one of ${RAMP_SHAPES.join('|')}, got ${String(o.rampShape)}`);
  }
  if (!(o.noise >= 0 && o.noise <= 1)) throw new ConfigError(`morning option "noise" must be in [0, 1], got ${String(o.noise)}`);
  if (!Number.isFinite(o.start)) throw new ConfigError(`morning option "start" must be epoch milliseconds, got ${String(o.start)}`);
  return o;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** Draws one request duration (seconds); successful requests never exceed the timeout. */
function drawLatency(d: LatencyDist, rng: Rng): number {
  if (d.kind === 'fixed') return d.valueS;
  const v = (d.meanS / 2) * (-Math.log(1 - rng()) - Math.log(1 - rng()));
  return Math.min(v, MODEL.timeoutS);
}

/** Records one server's step on its collector's instruments. */
class ServerRecorder {
  private readonly attrCache = new Map<string, Attributes>();
  private readonly collector: Collector;
  private readonly server: string;
  private readonly faculty: string;
  constructor(
    collector: Collector,
    server: string,
    faculty: string,
  ) {
    this.collector = collector;
    this.server = server;
    this.faculty = faculty;
  }

  private attrs(key: string, make: () => Attributes): Attributes {
    let a = this.attrCache.get(key);
    if (a === undefined) {
      a = make();
      this.attrCache.set(key, a);
    }
    return a;
  }

  record(s: ServerSnapshot, rng: Rng): void {
    const { state, logins, requestDuration } = this.collector.instruments;
    const faculty = this.faculty;
    const server = this.server;
    for (const [examId, n] of s.sessions) {
      state.sessionsActive.set(examId === '' ? { faculty, server } : { faculty, 'exam.id': examId, server }, n);
    }
    state.capacitySessions.set({ faculty, server }, s.sessionCapacity);
    state.activeRequests.set({ faculty, server }, s.activeRequests);
    state.workersBusy.set({ faculty, server }, s.workersBusy);
    state.workersMax.set({ faculty, server }, s.workersMax);
    state.cpuUtilization.set({ server, faculty }, s.cpuUtilization);
    state.networkConnections.set({ server, 'network.connection.state': 'established' }, s.tcpEstablished);
    state.networkConnections.set({ server, 'network.connection.state': 'syn_received' }, s.tcpSynRecv);
    state.networkConnections.set({ server, 'network.connection.state': 'time_wait' }, s.tcpTimeWait);
    for (const l of s.logins) {
      const a = this.attrs(`L|${l.examId ?? ''}|${l.outcome}`, () =>
        l.examId === null ? { faculty, outcome: l.outcome } : { faculty, 'exam.id': l.examId, outcome: l.outcome },
      );
      logins.add(l.count, a);
    }
    for (const r of s.requests) {
      const a = this.attrs(`R|${r.examId ?? ''}|${r.route}|${r.method}|${r.status}`, () => {
        const base: Record<string, string | number> = {
          faculty,
          'http.route': r.route,
          'http.request.method': r.method,
          'http.response.status_code': r.status,
        };
        if (r.examId !== null) base['exam.id'] = r.examId;
        return base;
      });
      for (let i = 0; i < r.count; i++) requestDuration.record(drawLatency(r.latency, rng), a);
    }
  }
}

/**
 * Simulates a morning and exports its telemetry through the collectors. Resolves with
 * the ground truth (collapse, recovery, peaks) and export totals.
 */
export async function runMorning(options: Partial<MorningOptions>, deps: MorningDeps): Promise<MorningResult> {
  const o = resolveMorningOptions(options);
  const wallStart = performance.now();
  const model = new MorningModel(o, o.exams ?? morningSchedule(o));
  const truth = new TruthTracker(model.capacities());
  const clock = manualClock(o.start);
  const topic = deps.topic ?? TOPICS.metrics;
  const mk = (hostName: string): Collector =>
    createCollector({
      producer: deps.producer,
      topic,
      resource: { hostName, collectorName: 'vigie-simulator' },
      timestampOverride: clock.now,
      startTimeMs: o.start,
    });
  const recorders = model.servers().map(({ server, faculty }) => {
    const c = mk(server);
    return { collector: c, recorder: new ServerRecorder(c, server, faculty) };
  });
  const dbPool = model.dbPool();
  const dbHost = 'db-1';
  const dbCollector = mk(dbHost);
  const collectors = [...recorders.map((r) => r.collector), dbCollector];
  const rng = mulberry32((o.seed ^ 0x5bd1e995) >>> 0);

  let exportedSamples = 0;
  let exportFailures = 0;
  let lastExportError: string | null = null;
  let collections = 0;
  let nextScrape = o.start + o.scrapeIntervalMs;
  let last: StepOutput | undefined;

  const collectAll = async (): Promise<void> => {
    const results = await Promise.allSettled(collectors.map((c) => c.collect()));
    collections++;
    for (const r of results) {
      if (r.status === 'fulfilled') exportedSamples += r.value.samples;
      else {
        exportFailures++;
        lastExportError = describeError(r.reason);
      }
    }
  };
  const messages = (): number => collectors.reduce((s, c) => s + c.stats().messages, 0);

  try {
    while (!model.done && deps.signal?.aborted !== true) {
      const step = model.step();
      last = step;
      truth.add(step, o.stepMs);
      clock.set(step.atMs);
      for (let i = 0; i < recorders.length; i++) {
        const snap = step.servers[i];
        if (snap !== undefined) recorders[i]!.recorder.record(snap, rng);
      }
      const db = dbCollector.instruments.state;
      const pool = { 'db.client.connections.pool.name': dbPool.poolName };
      db.dbConnectionsUsage.set({ ...pool, 'db.client.connections.state': 'used' }, step.db.used);
      db.dbConnectionsUsage.set({ ...pool, 'db.client.connections.state': 'idle' }, step.db.max - step.db.used);
      db.dbConnectionsMax.set(pool, step.db.max);
      db.cpuUtilization.set({ server: dbHost }, step.db.cpu);

      if (step.atMs >= nextScrape) {
        nextScrape += o.scrapeIntervalMs;
        await collectAll();
        deps.onProgress?.(step.atMs, { faculties: step.faculties, exportedSamples, messagesSent: messages() });
        const due = Number.isFinite(o.compression) ? (step.atMs - o.start) / o.compression - (performance.now() - wallStart) : 0;
        if (due > 0) await sleep(due);
        else {
          // Unpaced, or paced but behind schedule (a busy machine): still yield to the
          // event loop once per collection. A send to the in-process transport resolves
          // on microtasks only, so without this the morning never lets I/O callbacks run:
          // the pipeline's chDB inserts complete but are never handled, nothing is stored
          // and no rule is evaluated until the whole morning has been produced.
          await new Promise<void>((r) => setImmediate(r));
        }
      }
    }
    // Final collection so the last partial interval is not lost.
    if (last !== undefined && last.atMs + o.scrapeIntervalMs > nextScrape) await collectAll();
  } finally {
    await Promise.allSettled(collectors.map((c) => c.shutdown()));
  }
  const stats = collectors.map((c) => c.stats());
  return {
    ...truth.result(),
    startMs: o.start,
    endMs: last?.atMs ?? o.start,
    exportedSamples,
    messagesSent: stats.reduce((s, x) => s + x.messages, 0),
    bytesSent: stats.reduce((s, x) => s + x.bytes, 0),
    exportFailures,
    lastExportError,
    collections,
    hosts: [...model.servers().map((s) => s.server), dbHost],
    wallMs: Math.round(performance.now() - wallStart),
  };
}
