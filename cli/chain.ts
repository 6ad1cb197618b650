/**
 * The whole chain of one simulated exam morning, composed in one process:
 * simulator → collectors → transport (Kafka or in-process) → pipeline → ClickHouse,
 * pipeline tap → rules engine → alerts_log + notifiers. Used by `vigie demo` and by the
 * end-to-end tests, so both exercise exactly the same wiring.
 */
import { loadRuleFile } from '../rules/index.ts';
import { writeSchedule } from '../schedule/index.ts';
import { configuredCapacity, DEFAULT_PROFILE, planOverride, planTable, writePlan } from '../planner/index.ts';
import { loadStoredPlans } from './plans.ts';
import type { AlertTransition } from '../rules/index.ts';
import type { PagerStats, PagingConfigInput } from '../paging/routing/index.ts';
import { createRulesStage } from '../rules/stage.ts';
import { createStatusPublisher } from '../status/index.ts';
import type { Clock } from '../core/clock.ts';
import { describeError } from '../core/errors.ts';
import { countStoredSamples, createPipeline, migrate } from '../pipeline/index.ts';
import type { PipelineStats, Storage } from '../pipeline/index.ts';
import { dayOf, DEFAULT_MORNING, latestPastMorning, runMorning, schedule, type MorningOptions, type MorningResult } from '../simulator/index.ts';
import { createTransport, TOPICS } from '../transport/index.ts';

/** Options of {@link runMorningChain}. */
export interface MorningChainOptions {
  /** Kafka brokers; none → in-process transport. */
  readonly kafkaBrokers?: readonly string[];
  readonly topic?: string;
  readonly groupId?: string;
  /** Open storage (chDB or server); the caller owns it (and may query it afterwards). */
  readonly storage: Storage;
  readonly rulesFile: string;
  /** Shorthand for a `paging` config with an Alertmanager receiver. */
  readonly alertmanagerUrl?: string;
  /** Shorthand for generic webhook receivers (Alertmanager webhook format v4). */
  readonly webhookUrls?: readonly string[];
  /** A full `paging:` section (receivers, routes, inhibition…); merged with the shorthands. */
  readonly paging?: PagingConfigInput;
  /** Outbox journal directory (required when there is any receiver). */
  readonly journalDir?: string;
  /** Alert state file: restored at start, saved after each evaluation that changed it. */
  readonly statePath?: string;
  /** Feed the exam schedule's expected sessions to the rules (default true). */
  readonly useSchedule?: boolean;
  /**
   * Plan the morning before it starts and store the plan (as `vigie plan --demo --store`
   * does, on the simulated university at the morning's capacity), so the rules read the
   * plan's expected load. Default false: the timetable's, as without a plan.
   */
  readonly planMorning?: boolean;
  readonly evaluationIntervalMs?: number;
  /** Simulator knobs; `start` defaults to the latest morning that has ended (see {@link defaultMorningStart}). */
  readonly sim: Partial<MorningOptions>;
  /** Student-facing status notices (status/): their state file, and CMS webhooks. */
  readonly status?: { readonly statePath: string; readonly webhookUrls?: readonly string[] };
  /** Called for every alert transition to firing or resolved, as it happens. */
  readonly onAlert?: (t: AlertTransition) => void;
  /** Called after each simulated collection. */
  readonly onProgress?: (p: ChainProgress) => void;
  /**
   * After the morning ends the chain waits for the pipeline to store everything the
   * collectors exported, however long that takes while it progresses; it gives up only
   * when nothing more was stored for this long (default 120 s), and says what was lost.
   */
  readonly drainStallMs?: number;
  readonly log?: (line: string) => void;
}

/** Progress of a running chain. */
export interface ChainProgress {
  /** `morning` while the simulator produces, `draining` while the pipeline catches up after it. */
  readonly phase: 'morning' | 'draining';
  readonly simNowMs: number;
  /** Data time the rules have been evaluated up to (the stored samples' watermark); null before any. */
  readonly watermarkMs: number | null;
  readonly startMs: number;
  readonly endMs: number;
  readonly exportedSamples: number;
  readonly storedSamples: number;
  readonly firing: number;
}

/** What a morning produced. */
export interface MorningChainResult {
  readonly truth: MorningResult;
  readonly transitions: readonly AlertTransition[];
  /** First transition to firing of a rule labelled `severity=page`. */
  readonly firstPage: AlertTransition | null;
  /** Collapse time − first page time (positive = paged before the collapse). */
  readonly leadTimeMs: number | null;
  readonly exportedSamples: number;
  /** Rows in the samples table, counted in ClickHouse after the pipeline drained. */
  readonly storedSamples: number;
  /**
   * Whether the pipeline stored (or counted as rejected) every exported sample. When
   * false the rules were not evaluated past the stored data and nothing downstream may
   * be reported as if the morning were complete.
   */
  readonly complete: boolean;
  /** Exported samples neither stored nor rejected when the chain gave up (0 when complete). */
  readonly missingSamples: number;
  /** Messages the consumer group had not committed when the chain gave up (0 when complete; -1 unknown). */
  readonly lagMessages: number;
  readonly pipeline: PipelineStats;
  /** Outbox and routing counters; null without receivers. */
  readonly paging: PagerStats | null;
  readonly wallMs: number;
}

/** Runs one simulated morning through the full chain and returns what happened. */
export async function runMorningChain(opts: MorningChainOptions): Promise<MorningChainResult> {
  const t0 = performance.now();
  const log = opts.log ?? ((line: string) => process.stderr.write(line + '\n'));
  const topic = opts.topic ?? TOPICS.metrics;
  const dlqTopic = `${topic}.dlq`;
  const storage = opts.storage;
  await migrate(storage.client, { database: storage.database });

  const transport = createTransport({ kafkaBrokers: opts.kafkaBrokers ?? [], clientId: 'vigie-demo' });
  await transport.ensureTopics([
    { name: topic, partitions: 4 },
    { name: dlqTopic, partitions: 1 },
  ]);

  // Simulated time: the pipeline validates timestamps against it, and the rules engine
  // is driven by the data's watermark, so a compressed morning behaves like a live one.
  const sim: Partial<MorningOptions> = { start: defaultMorningStart(Date.now(), opts.sim?.durationMs), ...opts.sim };
  let simNow = sim.start!;
  const simClock: Clock = () => simNow;

  const groups = await loadRuleFile(opts.rulesFile);
  const intervalMs = opts.evaluationIntervalMs ?? 15_000;
  const transitions: AlertTransition[] = [];
  // The exam schedule is known in advance: its expected sessions enter the store as
  // series, step by step as data time advances, so rules can tell an explained ramp from
  // an overload. Stored too, for the exam-morning dashboard's annotations and the post-mortem.
  const exams = opts.useSchedule === false ? [] : schedule(dayOf(sim.start!));
  await writeSchedule(storage.client, storage.database, exams);
  const dayMs = dayOf(sim.start!);
  if (opts.planMorning && exams.length) {
    const table = planTable({ exams, capacity: configuredCapacity(sim.capacity ?? 1), profileFor: () => DEFAULT_PROFILE }, dayMs, dayMs + 86_400_000 - 1);
    await writePlan(storage.client, storage.database, { fromMs: dayMs, toMs: dayMs + 86_400_000, exams, table, capacitySource: `simulator ×${sim.capacity ?? 1}`, profileSource: 'defaults', createdMs: Date.now() });
  }
  // A stored plan covering the morning (while its timetable is this one) replaces the timetable's expected load.
  const plans = opts.useSchedule === false ? null : await loadStoredPlans(storage.client, storage.database, sim.start!, sim.start! + (sim.durationMs ?? 3 * 3_600_000));
  for (const line of plans?.lines ?? []) log(`vigie demo: ${line}`);
  const stage = createRulesStage({
    groups,
    intervalMs,
    schedule: { exams, startMs: sim.start! },
    plan: planOverride(plans?.plans ?? []),
    pager: { paging: opts.paging, alertmanagerUrl: opts.alertmanagerUrl, webhookUrls: opts.webhookUrls, journalDir: opts.journalDir, clock: simClock, log },
    ...(opts.statePath ? { statePath: opts.statePath, stateNowMs: sim.start! } : {}),
    alertsLog: { client: storage.client, database: storage.database },
    ...(opts.status ? { status: createStatusPublisher({ statePath: opts.status.statePath, webhookUrls: opts.status.webhookUrls ?? [], clock: simClock, log }) } : {}),
    onTransitions: (ts) => {
      for (const t of ts) {
        transitions.push(t);
        if (t.state === 'firing' || t.state === 'resolved') opts.onAlert?.(t);
      }
    },
    log,
  });

  const pipeline = createPipeline({ transport, storage, clock: simClock, topic, dlqTopic, groupId: opts.groupId ?? 'vigie-pipeline', log });
  pipeline.onSamples((samples) => stage.add(samples));
  await pipeline.start();

  const producer = transport.producer();
  await producer.connect();
  let truth: MorningResult;
  try {
    truth = await runMorning(sim, {
      producer,
      topic,
      onProgress: (at, info) => {
        simNow = at;
        opts.onProgress?.({
          phase: 'morning',
          simNowMs: at,
          watermarkMs: Number.isFinite(stage.watermark()) ? stage.watermark() : null,
          startMs: sim.start!,
          endMs: 0,
          exportedSamples: info.exportedSamples,
          storedSamples: pipeline.stats().samplesStored,
          firing: stage.engine.activeAlerts().filter((a) => a.state === 'firing').length,
        });
      },
    });
  } finally {
    await producer.disconnect();
  }
  simNow = truth.endMs;

  // Wait for the pipeline to store everything the collectors exported, for as long as it
  // makes progress; report on partial data never, silently or not.
  const stallMs = opts.drainStallMs ?? 120_000;
  const accounted = () => pipeline.stats().samplesStored + sumValues(pipeline.stats().rejected);
  let lastAccounted = accounted();
  let lastProgressAt = Date.now();
  let lastReportAt = 0;
  let complete = false;
  for (;;) {
    if (accounted() >= truth.exportedSamples && (await pipeline.drained())) {
      complete = true;
      break;
    }
    const now = Date.now();
    if (accounted() !== lastAccounted) {
      lastAccounted = accounted();
      lastProgressAt = now;
    } else if (now - lastProgressAt > stallMs) break;
    if (now - lastReportAt >= 1000) {
      lastReportAt = now;
      opts.onProgress?.({
        phase: 'draining',
        simNowMs: truth.endMs,
        watermarkMs: Number.isFinite(stage.watermark()) ? stage.watermark() : null,
        startMs: truth.startMs,
        endMs: truth.endMs,
        exportedSamples: truth.exportedSamples,
        storedSamples: pipeline.stats().samplesStored,
        firing: stage.engine.activeAlerts().filter((a) => a.state === 'firing').length,
      });
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  const lagMessages = complete ? 0 : await pipeline.lag().catch(() => -1);
  // stop() lets the in-flight batch finish: what is missing is counted after it.
  await pipeline.stop();
  const missingSamples = Math.max(0, truth.exportedSamples - accounted());
  if (!complete) {
    const w = stage.watermark();
    log(
      `vigie: the pipeline stored nothing for ${stallMs / 1000} s and gave up: ${missingSamples.toLocaleString('en')} of ${truth.exportedSamples.toLocaleString('en')} exported samples were not stored; rules were evaluated up to ${Number.isFinite(w) ? new Date(w).toISOString() : 'nothing'} only`,
    );
  }
  // Last evaluations up to the end of the morning, on complete data only; then let
  // notifications finish.
  if (complete) await stage.finish(truth.endMs);
  await stage.stop();
  const health = stage.engine.health();
  if (health.lastNotifyError) log(`vigie: last notification error: ${health.lastNotifyError}`);
  if (health.lastTransitionsError) log(`vigie: last alerts_log error: ${health.lastTransitionsError}`);
  for (const r of health.rules) if (r.health === 'err') log(`vigie: rule ${r.group}/${r.rule} failed: ${r.lastError}`);

  let storedSamples = -1;
  try {
    storedSamples = await countStoredSamples(storage.client, { database: storage.database });
  } catch (err) {
    log(`vigie: cannot count stored samples: ${describeError(err)}`);
  }
  // The pipeline's counters say what it acknowledged; the table says what is there.
  const expectedRows = truth.exportedSamples - sumValues(pipeline.stats().rejected);
  const tableAgrees = storedSamples === expectedRows;
  if (complete && !tableAgrees) {
    log(`vigie: the samples table holds ${storedSamples.toLocaleString('en')} rows, not the ${expectedRows.toLocaleString('en')} the pipeline stored`);
  }
  const firstPage = transitions.find((t) => t.state === 'firing' && t.labels['severity'] === 'page') ?? null;
  const leadTimeMs = firstPage && truth.collapseAtMs !== null ? truth.collapseAtMs - firstPage.at : null;
  return {
    truth,
    transitions,
    firstPage,
    leadTimeMs,
    exportedSamples: truth.exportedSamples,
    storedSamples,
    complete: complete && tableAgrees,
    missingSamples: complete && !tableAgrees ? Math.max(0, expectedRows - storedSamples) : missingSamples,
    lagMessages,
    pipeline: pipeline.stats(),
    paging: stage.pagerStats(),
    wallMs: performance.now() - t0,
  };
}

/** The morning `vigie demo` plays by default: from 07:30 UTC of the latest day on which it has ended. */
export function defaultMorningStart(nowMs: number = Date.now(), durationMs: number = DEFAULT_MORNING.durationMs): number {
  return latestPastMorning(nowMs, durationMs);
}

function sumValues(r: Readonly<Record<string, number>>): number {
  let n = 0;
  for (const v of Object.values(r)) n += v;
  return n;
}
