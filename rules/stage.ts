/**
 * The rules stage, assembled once: series store → rule engine → watermark scheduler, with
 * the exam schedule's expected-load series fed in step with data time, alert state
 * persisted across restarts, transitions written to `alerts_log`, and notifications handed
 * to the pager (routing + durable outbox + receivers).
 *
 * In: samples (from the pipeline's tap, a backtest's read of stored history, or a
 * benchmark's recorded morning) and the data watermark. Out: alert transitions and
 * notifications. `vigie ingest`, `vigie demo`, `vigie rules backtest` and the benchmarks
 * all build their rules stage here, so what is measured and tested is what runs live.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { Clock } from '../core/clock.ts';
import type { Sample } from '../core/samples.ts';
import { createAlertsLogWriter } from './alertsLog.ts';
import { createRuleEngine, type AlertTransition, type EvaluationResult, type RuleEngine } from './engine.ts';
import { createScheduleFeeder, type ScheduleFeeder, type ScheduledExam } from '../schedule/index.ts';
import type { NotifyFn } from '../paging/receivers/types.ts';
import { createPager, parsePagingConfig, type Pager, type PagerStats, type PagingConfigInput } from '../paging/routing/index.ts';
import { requiredRetentionByMetric, requiredRetentionMs, type RuleGroup } from './ruleFile.ts';
import { createWatermarkScheduler } from './scheduler.ts';
import { createStatePersister, readStateFile, type EngineStateSnapshot, type StatePersister } from './statePersistence.ts';
import { createSeriesStore, type SeriesStore } from './windows.ts';

/** Where notifications go: a paging config (receivers, routes, outbox) and the CLI's shorthands. */
export interface PagerSpec {
  readonly paging?: PagingConfigInput | undefined;
  /** Shorthand for an Alertmanager (API v2) receiver. */
  readonly alertmanagerUrl?: string | undefined;
  /** Shorthand for generic webhook receivers (Alertmanager webhook format v4). */
  readonly webhookUrls?: readonly string[] | undefined;
  /** Outbox journal directory (required when there is any receiver). */
  readonly journalDir?: string | undefined;
  readonly clock: Clock;
  readonly log?: ((line: string) => void) | undefined;
}

/** The pager for the receivers the spec names; null when there are none. */
export function buildPager(spec: PagerSpec): Pager | null {
  const base = spec.paging ?? {};
  const receivers = [...(base.receivers ?? [])];
  if (spec.alertmanagerUrl) receivers.push({ name: 'alertmanager', type: 'alertmanager', url: spec.alertmanagerUrl });
  (spec.webhookUrls ?? []).forEach((url, i) => receivers.push({ name: `webhook-${i + 1}`, type: 'webhook', url }));
  if (receivers.length === 0) return null;
  if (!spec.journalDir) throw new Error('an outbox journal directory is required when alerts are sent to receivers');
  // Without an explicit route, every alert goes to every receiver.
  const route = base.route ?? { receiver: receivers[0]!.name, routes: receivers.map((r) => ({ receiver: r.name, continue: true })) };
  return createPager({ config: parsePagingConfig({ ...base, receivers, route }), journalDir: spec.journalDir, clock: spec.clock, ...(spec.log ? { log: spec.log } : {}) });
}

/** Options of {@link createRulesStage}. */
export interface RulesStageOptions {
  readonly groups: readonly RuleGroup[];
  /** Evaluation interval (ms), default 15 s; evaluations happen on its multiples. */
  readonly intervalMs?: number;
  readonly semantics?: 'v3' | 'v2';
  readonly lookbackMs?: number;
  /**
   * How much history the store keeps per metric: what the rules' ranges need (the
   * default), never less than `minRetentionMs` (default 10 min, for ad-hoc reads).
   */
  readonly minRetentionMs?: number;
  /** Only store samples of metrics some rule selects (benchmark baselines; same results, less work). */
  readonly onlySelectedMetrics?: boolean;
  /**
   * The exam timetable: its expected-load series are fed up to each watermark before the
   * boundary is evaluated. `startMs`: no schedule sample before it (default: first watermark).
   */
  readonly schedule?: { readonly exams: readonly ScheduledExam[]; readonly startMs?: number };
  /**
   * A stored plan (`vigie plan --store`): on the evaluation points it covers, its series
   * replace the timetable's expected-load series (same names and labels) and add the
   * plan-only ones (`vigie_plan_expected_*`). Without it the stage feeds the timetable
   * exactly as before plans existed.
   */
  readonly plan?: ExpectedLoadOverride | null;
  /** Notifications: a pager built from this spec (production), or any NotifyFn (benchmarks). */
  readonly pager?: PagerSpec;
  readonly notify?: NotifyFn;
  /** Alert state file: restored at creation (if younger than 1 h), written after every evaluation that changed it. */
  readonly statePath?: string;
  /** `nowMs` used to judge whether the state file is too old to resume from. */
  readonly stateNowMs?: number;
  /** Transitions also go to `<database>.alerts_log`. */
  readonly alertsLog?: { readonly client: Pick<ClickHouseClient, 'insert'>; readonly database: string };
  /**
   * The student-facing status notices (`status/`): told every transition, refreshed after
   * every evaluation so a notice's promised next update stays in the future.
   */
  readonly status?: { onTransitions(ts: readonly AlertTransition[]): Promise<void>; refresh(): Promise<number> };
  /** Every transition, as it happens (after the alerts log write was started). */
  readonly onTransitions?: (transitions: readonly AlertTransition[]) => void;
  /** Every evaluation result (errors, samples loaded…), in order. */
  readonly onEvaluation?: (result: EvaluationResult) => void;
  /**
   * Live data can stop (a collector dies, the pipeline stalls); evaluations must go on so
   * absence is seen and the watchdog pages. When no sample has advanced the watermark for
   * `idleAdvanceMs` of wall time (`wallClock`), the watermark moves on with the wall clock
   * from where the data left it. Off when absent (replays, backtests, benchmarks).
   */
  readonly idleAdvance?: { readonly afterMs: number; readonly wallClock: Clock };
  /**
   * Live only (with `idleAdvance`): a collector from which nothing has arrived for this
   * long of wall time no longer holds the watermark back, so one dead collector cannot
   * stop every evaluation. Default 60 s. Staleness is judged on arrival, never on data
   * time, so partitions replayed at different speeds never skip each other's samples.
   */
  readonly staleInstanceMs?: number;
  readonly log?: (line: string) => void;
}

/**
 * Expected-load series that take the timetable's place where they apply: the CLI builds
 * one from the stored plans (`planner/store.ts`), so the stage needs no planner.
 */
export interface ExpectedLoadOverride {
  /** Whether the override gives the expected series at `tMs`. */
  covers(tMs: number): boolean;
  /** Its samples every `stepMs` from `fromMs` to `toMs` inclusive, at covered instants only, in time order. */
  samples(fromMs: number, toMs: number, stepMs: number): Sample[];
}

/** The running rules stage. */
export interface RulesStage {
  /**
   * Adds samples and evaluates every boundary the data watermark crossed. The watermark
   * is the oldest of the per-`instance` latest timestamps, so a boundary is evaluated only
   * once every live collector has reported past it, whatever the partition interleaving.
   */
  add(samples: readonly Sample[]): void;
  /** Adds samples to the store only; returns the new data watermark (−∞ before any sample). */
  ingest(samples: readonly Sample[]): number;
  /** Feeds the schedule up to `watermarkMs` and evaluates the boundaries up to it. */
  advance(watermarkMs: number): void;
  /** Called about once a second by live processes: applies the idle advance. */
  tick(): void;
  /** Replaces the timetable (a reload): takes effect for schedule samples not yet fed. */
  setSchedule(exams: readonly ScheduledExam[]): void;
  /** Replaces the stored plan (null: none, the timetable alone): takes effect for expected-load samples not yet fed. */
  setPlan(plan: ExpectedLoadOverride | null): void;
  /** Evaluates up to `endMs`, then waits for the alerts log and notifications in flight. */
  finish(endMs: number): Promise<void>;
  /** Flushes state, stops the pager (its outbox keeps what was not delivered). */
  stop(): Promise<void>;
  readonly engine: RuleEngine;
  readonly store: SeriesStore;
  readonly pager: Pager | null;
  pagerStats(): PagerStats | null;
  /** Last evaluated boundary. */
  lastEvaluatedAt(): number | undefined;
  /** The watermark evaluations have reached (data, or idle advance); −∞ before any. */
  watermark(): number;
}

/** Builds the rules stage. */
export function createRulesStage(opts: RulesStageOptions): RulesStage {
  const intervalMs = opts.intervalMs ?? 15_000;
  const lookbackMs = opts.lookbackMs ?? 5 * 60_000;
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const byMetric = requiredRetentionByMetric(opts.groups, lookbackMs);
  const keep = opts.onlySelectedMetrics && !byMetric.has('*') ? new Set(byMetric.keys()) : null;
  const store = createSeriesStore({
    retentionMs: Math.max(opts.minRetentionMs ?? 10 * 60_000, requiredRetentionMs(opts.groups, lookbackMs)) + 2 * intervalMs,
    retentionByMetricMs: byMetric,
  });
  const pager = opts.pager ? buildPager({ log, ...opts.pager }) : null;
  pager?.start();
  const notify = opts.notify ?? pager?.notify;
  const writeLog = opts.alertsLog ? createAlertsLogWriter(opts.alertsLog.client, opts.alertsLog.database) : null;
  let initialState: EngineStateSnapshot | undefined;
  if (opts.statePath) initialState = readStateFile(opts.statePath, opts.stateNowMs !== undefined ? { nowMs: opts.stateNowMs } : {});
  const engine = createRuleEngine({
    groups: opts.groups,
    store,
    evaluationIntervalMs: intervalMs,
    lookbackMs,
    ...(opts.semantics ? { semantics: opts.semantics } : {}),
    ...(initialState ? { initialState } : {}),
    ...(notify ? { notify } : {}),
    onTransitions: async (ts) => {
      opts.onTransitions?.(ts);
      await Promise.all([writeLog?.(ts), opts.status?.onTransitions(ts)]);
    },
  });
  const persister: StatePersister | null = opts.statePath ? createStatePersister({ path: opts.statePath, engine }) : null;
  const deliveries = new Set<Promise<void>>();
  const scheduler = createWatermarkScheduler({
    intervalMs,
    evaluate: (now) => {
      const r = engine.evaluate(now);
      persister?.afterEvaluation(r);
      const d = r.delivered.finally(() => deliveries.delete(d));
      deliveries.add(d);
      if (opts.status) {
        const refresh = opts.status.refresh().then(
          () => undefined,
          (err: unknown) => log(`vigie: status notice refresh failed: ${(err as Error).message}`),
        );
        const rd = refresh.finally(() => deliveries.delete(rd));
        deliveries.add(rd);
      }
      opts.onEvaluation?.(r);
      return r;
    },
  });

  let exams: readonly ScheduledExam[] = opts.schedule?.exams ?? [];
  let feeder: ScheduleFeeder | null = null;
  let plan: ExpectedLoadOverride | null = opts.plan ?? null;
  let gridStart: number | null = opts.schedule?.startMs ?? null;
  // Highest watermark the expected load was fed to (by either source).
  let expectedFedTo = -Infinity;
  const feedSchedule = (toMs: number) => {
    gridStart ??= toMs;
    if (plan === null) {
      expectedFedTo = toMs;
      // Without a plan: the timetable alone, exactly as before plans existed.
      if (exams.length === 0) return;
      feeder ??= createScheduleFeeder(exams, intervalMs, gridStart);
      const s = feeder.feed(toMs);
      if (s.length) store.add(s);
      return;
    }
    const p = plan;
    // The timetable's samples where the plan is silent, the plan's where it speaks: one
    // source per instant, so a series never gets two values for one evaluation point.
    const fromSchedule = exams.length ? (feeder ??= createScheduleFeeder(exams, intervalMs, gridStart)).feed(toMs).filter((x) => !p.covers(x.timestampMs)) : [];
    const after = Math.max(expectedFedTo, gridStart - 1);
    const from = Math.floor(after / intervalMs) * intervalMs + intervalMs;
    const fromPlan = toMs > after && from <= toMs ? p.samples(from, toMs, intervalMs) : [];
    expectedFedTo = toMs;
    const batch = fromSchedule.length && fromPlan.length ? [...fromSchedule, ...fromPlan].sort((a, b) => a.timestampMs - b.timestampMs) : fromSchedule.length ? fromSchedule : fromPlan;
    if (batch.length) store.add(batch);
  };

  const staleMs = opts.staleInstanceMs ?? 60_000;
  const wallClock = opts.idleAdvance?.wallClock;
  const latestByInstance = new Map<string, number>();
  const arrivedAt = new Map<string, number>();
  let advanced = -Infinity;
  let lastAdvanceWall = opts.idleAdvance?.wallClock() ?? 0;
  const watermarkOf = (): number => {
    const wall = wallClock?.();
    let w = Infinity;
    for (const [inst, ts] of latestByInstance) {
      if (wall !== undefined && wall - (arrivedAt.get(inst) ?? wall) > staleMs) continue;
      w = Math.min(w, ts);
    }
    return Number.isFinite(w) ? w : -Infinity;
  };
  const ingest = (samples: readonly Sample[]): number => {
    const batch = keep === null ? samples : samples.filter((s) => keep.has(s.metric));
    if (batch.length) store.add(batch);
    const wall = wallClock?.();
    for (const s of samples) {
      const inst = s.labels['instance'] ?? '';
      const prev = latestByInstance.get(inst);
      if (prev === undefined || s.timestampMs > prev) latestByInstance.set(inst, s.timestampMs);
      if (wall !== undefined) arrivedAt.set(inst, wall);
    }
    return watermarkOf();
  };
  const advance = (w: number) => {
    if (!Number.isFinite(w) || w <= advanced) return;
    advanced = w;
    if (opts.idleAdvance) lastAdvanceWall = opts.idleAdvance.wallClock();
    feedSchedule(w);
    scheduler.observe(w);
  };

  return {
    add(samples) {
      advance(ingest(samples));
    },
    ingest,
    advance,
    tick() {
      const idle = opts.idleAdvance;
      if (!idle || !Number.isFinite(advanced)) return;
      const wall = idle.wallClock();
      const idleFor = wall - lastAdvanceWall;
      if (idleFor < idle.afterMs) return;
      // Data time goes on at wall speed from where the data left it.
      const w = advanced + idleFor;
      advance(w);
      lastAdvanceWall = wall;
    },
    setSchedule(next) {
      exams = next;
      feeder?.setExams(next);
    },
    setPlan(next) {
      // Points already fed stay as they were, from whichever source fed them.
      plan = next;
    },
    async finish(endMs) {
      advance(endMs);
      await Promise.all([...deliveries]);
    },
    async stop() {
      await Promise.all([...deliveries]);
      persister?.flush();
      await pager?.stop();
    },
    engine,
    store,
    pager,
    pagerStats: () => pager?.stats() ?? null,
    lastEvaluatedAt: () => scheduler.lastEvaluatedAt(),
    watermark: () => advanced,
  };
}
