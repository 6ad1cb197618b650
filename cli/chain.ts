/**
 * The whole chain of one simulated exam morning, composed in one process:
 * simulator → collectors → transport (Kafka or in-process) → pipeline → ClickHouse,
 * pipeline tap → rules engine → alerts_log + notifiers. Used by `vigie demo` and by the
 * end-to-end tests, so both exercise exactly the same wiring.
 */
import { loadRuleFile } from '../alerts/index.ts';
import { writeSchedule } from '../schedule/index.ts';
import type { AlertTransition } from '../alerts/index.ts';
import type { PagerStats, PagingConfigInput } from '../alerts/routing/index.ts';
import { createRulesStage } from '../alerts/stage.ts';
import type { Clock } from '../core/clock.ts';
import { describeError } from '../core/errors.ts';
import { countStoredSamples, createPipeline, migrate } from '../pipeline/index.ts';
import type { PipelineStats, Storage } from '../pipeline/index.ts';
import { dayOf, runMorning, schedule, type MorningOptions, type MorningResult } from '../simulator/index.ts';
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
  readonly evaluationIntervalMs?: number;
  /** Simulator knobs; `start` defaults to 07:30 UTC of the current day (see {@link todaysMorning}). */
  readonly sim: Partial<MorningOptions>;
  /** Called for every alert transition to firing or resolved, as it happens. */
  readonly onAlert?: (t: AlertTransition) => void;
  /** Called after each simulated collection. */
  readonly onProgress?: (p: ChainProgress) => void;
  /** How long to wait for the pipeline to store everything after the morning ends. */
  readonly drainTimeoutMs?: number;
  readonly log?: (line: string) => void;
}

/** Progress of a running chain. */
export interface ChainProgress {
  readonly simNowMs: number;
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
  const sim: Partial<MorningOptions> = { start: todaysMorning(), ...opts.sim };
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
  const stage = createRulesStage({
    groups,
    intervalMs,
    schedule: { exams, startMs: sim.start! },
    pager: { paging: opts.paging, alertmanagerUrl: opts.alertmanagerUrl, webhookUrls: opts.webhookUrls, journalDir: opts.journalDir, clock: simClock, log },
    ...(opts.statePath ? { statePath: opts.statePath, stateNowMs: sim.start! } : {}),
    alertsLog: { client: storage.client, database: storage.database },
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
          simNowMs: at,
          startMs: 0,
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

  // Wait for the pipeline to store everything the collectors exported.
  const deadline = Date.now() + (opts.drainTimeoutMs ?? 120_000);
  while (pipeline.stats().samplesStored + sumValues(pipeline.stats().rejected) < truth.exportedSamples || !(await pipeline.drained())) {
    if (Date.now() > deadline) {
      log(`vigie: pipeline did not drain within ${(opts.drainTimeoutMs ?? 120_000) / 1000}s: stored ${pipeline.stats().samplesStored} of ${truth.exportedSamples} (lag ${await pipeline.lag().catch(() => '?')})`);
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await pipeline.stop();
  // Last evaluations up to the end of the morning, then let notifications finish.
  await stage.finish(truth.endMs);
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
  const firstPage = transitions.find((t) => t.state === 'firing' && t.labels['severity'] === 'page') ?? null;
  const leadTimeMs = firstPage && truth.collapseAtMs !== null ? truth.collapseAtMs - firstPage.at : null;
  return {
    truth,
    transitions,
    firstPage,
    leadTimeMs,
    exportedSamples: truth.exportedSamples,
    storedSamples,
    pipeline: pipeline.stats(),
    paging: stage.pagerStats(),
    wallMs: performance.now() - t0,
  };
}

/**
 * 07:30 UTC of the current day. A simulated morning is dated today by default: raw
 * samples carry a 30-day TTL, so a morning dated months ago would be dropped by
 * ClickHouse on insert, exactly as real old data would.
 */
export function todaysMorning(nowMs: number = Date.now()): number {
  const d = new Date(nowMs);
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate(), 7, 30);
}

function sumValues(r: Readonly<Record<string, number>>): number {
  let n = 0;
  for (const v of Object.values(r)) n += v;
  return n;
}
