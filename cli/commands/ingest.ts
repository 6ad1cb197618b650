/**
 * `vigie ingest`: the long-running pipeline process. Consumes `otlp_metrics` as a
 * member of a Kafka consumer group, stores into ClickHouse, and (with `--rules`)
 * evaluates the rule pack on the pipeline's tap and sends alerts. Exposes its own
 * metrics on a Prometheus endpoint; SIGINT/SIGTERM finish and commit the in-flight
 * batch before exiting.
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { parseDuration, loadRuleFile, requiredRetentionByMetric } from '../../rules/index.ts';
import { newestStoredSampleMs, readRecentSamples } from '../../rules/backtest/backtest.ts';
import type { PagingConfigInput } from '../../paging/routing/index.ts';
import { createRulesStage, type RulesStage } from '../../rules/stage.ts';
import { ConfigError, describeError } from '../../core/errors.ts';
import { createStatusPublisher, startStatusServer, type StatusServer } from '../../status/index.ts';
import { createScheduleSource, readSchedule, scheduleSourceSpecOf, type ScheduleSource } from '../../schedule/index.ts';
import { systemClock } from '../../core/clock.ts';
import { parseCapacityConfig, planOverride, type StoredPlan } from '../../planner/index.ts';
import { loadStoredPlans } from '../plans.ts';
import type { Sample } from '../../core/samples.ts';
import { loadConfig } from '../../core/config.ts';
import { startSelfTelemetry } from '../../core/selfTelemetry.ts';
import { createPipeline, migrate, type PipelineValidationOptions } from '../../pipeline/index.ts';
import { createStreamTap } from '../../pipeline/streamTap.ts';
import { createStorageWatch, storedProgressOf, type StorageWatch } from '../../pipeline/storageWatch.ts';
import type { TransportConsumer } from '../../transport/types.ts';
import { startEmbeddedGroupGuard } from '../scaleout.ts';
import { REJECT_REASONS } from '../../otlp/decode.ts';
import { parseMetricMapping } from '../../pipeline/mapping.ts';
import { createTransport, dlqTopicOf } from '../../transport/index.ts';
import { formatRejections } from '../../pipeline/rejections.ts';
import { InvalidArgumentError } from 'commander';
import { DEFAULT_HTTP_PORT, httpPortOption, openWriterStorage } from '../storage.ts';
import { floatOption, kafkaOption } from '../options.ts';

interface IngestFlags {
  kafka?: string;
  clickhouseUrl?: string;
  chdbPath?: string;
  database?: string;
  /** A file, or false for `--no-rules` (storage only, even with --config). */
  rules?: string | false;
  rulesOnly?: boolean;
  alertmanager?: string;
  webhook?: string[];
  metricsPort?: number;
  outbox?: string;
  state?: string;
  topic?: string;
  group?: string;
  maxAge?: number;
  metricsHost?: string;
  httpHost: string;
  httpPort: number;
  http: boolean;
  statusPort?: number;
  statusWebhook?: string[];
  statusState: string;
}

/** Parses `--max-age` (a Prometheus duration such as `7d`, `36h`). */
function maxAgeOption(v: string): number {
  try {
    const ms = parseDuration(v);
    if (ms < 60_000) throw new Error('at least 1m');
    return ms;
  } catch (err) {
    throw new InvalidArgumentError(`--max-age expects a duration of at least 1m such as 7d or 36h, got "${v}" (${(err as Error).message})`);
  }
}

/**
 * ClickHouse credentials: the config file, overridden by `VIGIE_CLICKHOUSE_USER` /
 * `VIGIE_CLICKHOUSE_PASSWORD` (so the secret need not sit in a file).
 */
export function clickhouseCredentials(
  fromConfig: { readonly username?: string | undefined; readonly password?: string | undefined },
  env: NodeJS.ProcessEnv = process.env,
): { username?: string; password?: string } {
  const username = env['VIGIE_CLICKHOUSE_USER'] ?? fromConfig.username;
  const password = env['VIGIE_CLICKHOUSE_PASSWORD'] ?? fromConfig.password;
  return { ...(username !== undefined ? { username } : {}), ...(password !== undefined ? { password } : {}) };
}

/**
 * The watchdog's inputs (see the `vigie-self` group of the default rule pack), and the
 * validation's refusals since start by reason (`vigie_pipeline_samples_rejected_total`,
 * a counter: the cardinality limiter's refusals page through `VigieCardinalityLimitHit`).
 * No replica label: two evaluators of an HA pair must send identical alerts.
 */
export function selfSamples(atMs: number, lagMessages: number, secondsSinceLastStore: number, rejected: Readonly<Record<string, number>> = {}): Sample[] {
  const labels = { job: 'vigie-ingest' };
  return [
    { metric: 'vigie_pipeline_consumer_lag_messages', labels, timestampMs: atMs, value: lagMessages },
    { metric: 'vigie_pipeline_seconds_since_last_store', labels, timestampMs: atMs, value: secondsSinceLastStore },
    // The limiter's reasons start at 0, so the first burst of refusals is an increase.
    ...Object.entries({ [REJECT_REASONS.cardinality]: 0, [REJECT_REASONS.metricNames]: 0, ...rejected }).map(([reason, n]) => ({
      metric: 'vigie_pipeline_samples_rejected_total',
      labels: { ...labels, reason },
      timestampMs: atMs,
      value: n,
    })),
  ];
}

/** Default consumer group of a rules-only evaluator (`--rules-only`): never the storage group. */
export const DEFAULT_RULES_GROUP = 'vigie-rules';

/** The pipeline's validation knobs from the config (shared by the storing pipeline and the rules-only tap). */
function pipelineValidation(p: ReturnType<typeof loadConfig>['pipeline']): PipelineValidationOptions {
  return {
    maxAgeMs: p.maxAgeMs,
    maxSkewMs: p.maxSkewMs,
    maxSeriesPerMetric: p.maxSeriesPerMetric,
    maxMetricNames: p.maxMetricNames,
    maxSeries: p.maxSeries,
    seriesIdleMs: p.seriesIdleMs,
  };
}

/** Registers `vigie ingest`. */
export function registerIngestCommand(program: Command): void {
  program
    .command('ingest')
    .description('Run the pipeline: Kafka consumer group → ClickHouse (exactly once), optionally with the rules engine on its tap.')
    .option('--kafka <host:port>', 'Kafka bootstrap broker (default from --config)', kafkaOption)
    .option('--clickhouse-url <url>', 'ClickHouse server (default: embedded chDB)')
    .option('--chdb-path <dir>', 'embedded chDB data directory')
    .option('--database <name>', 'ClickHouse database')
    .option('--rules <file>', 'evaluate this rule file on the ingested samples')
    .option('--no-rules', 'store only, even with --config (scaled out: the rules run in a --rules-only evaluator that sees every partition)')
    .option('--rules-only', `evaluate the rules on the whole topic in a consumer group of their own (--group, default ${DEFAULT_RULES_GROUP}) and store no samples; with several ingest instances, or as one of an HA pair`)
    .option('--alertmanager <url>', 'send alerts to this Alertmanager (API v2)')
    .option('--webhook <url...>', 'send alerts to these webhooks (Alertmanager webhook format v4)')
    .option('--state <file>', 'alert state file (restored on start, saved on change)', '.vigie/alert-state.json')
    .option('--outbox <dir>', 'durable outbox journal directory', '.vigie/outbox')
    .option('--metrics-port <port>', 'port of the self-monitoring Prometheus endpoint, 0 = off (default 9464, or selfTelemetry.port)', floatOption('--metrics-port'))
    .option('--metrics-host <addr>', 'listen address of the self-monitoring endpoint (default 127.0.0.1, or selfTelemetry.host)')
    .option('--topic <name>', 'input topic (default otlp_metrics, or kafka.topic); poison messages go to <topic>.dlq')
    .option('--group <id>', 'consumer group (default vigie-pipeline, or kafka.groupId)')
    .option('--max-age <duration>', 'oldest accepted sample, e.g. 7d or 36h (default 7d, or pipeline.maxAgeMs); raise it for a backfill', maxAgeOption)
    .option('--http-host <host>', 'interface of the read-only ClickHouse-compatible endpoint over the embedded database', '127.0.0.1')
    .option('--http-port <port>', 'its port (0 = any free port); Grafana and `vigie postmortem`/`query` read through it', httpPortOption, DEFAULT_HTTP_PORT)
    .option('--status-port <port>', 'serve the student-facing status page on this port (0 = any free port; default: off)', httpPortOption)
    .option('--status-webhook <url...>', "post student-facing status notices to these webhooks (the university's CMS or intranet)")
    .option('--status-state <file>', 'status notices state file, shared with `vigie status`', '.vigie/status.json')
    .option('--no-http', 'do not serve the embedded database (other commands cannot read it while ingest runs)')
    .action(async (flags: IngestFlags) => {
      const config = loadConfig(program.opts()['config'] as string | undefined, {
        // --rules-only: --group names the evaluator's group; kafka.groupId stays the storage group it must differ from.
        kafka: { ...(flags.kafka ? { brokers: [flags.kafka] } : {}), topic: flags.topic, groupId: flags.rulesOnly ? undefined : flags.group },
        clickhouse: { url: flags.clickhouseUrl, chdbPath: flags.chdbPath, database: flags.database },
        alerts: { alertmanagerUrl: flags.alertmanager, ...(flags.webhook ? { webhookUrls: flags.webhook } : {}), ...(flags.rules ? { rulesFile: flags.rules } : {}) },
        selfTelemetry: { port: flags.metricsPort, host: flags.metricsHost },
        pipeline: { maxAgeMs: flags.maxAge },
      });
      if (!config.kafka.brokers) throw new Error('vigie ingest needs Kafka: pass --kafka HOST:PORT or set kafka.brokers in --config (the embedded mode runs in `vigie demo`)');
      const log = (line: string) => process.stderr.write(line + '\n');
      // Bad input stops the process before it listens, migrates or joins the group.
      const rulesEnabled = flags.rules !== false && !!(flags.rules || program.opts()['config']);
      const rulesGroup = flags.group ?? DEFAULT_RULES_GROUP;
      if (flags.rulesOnly) {
        if (!rulesEnabled) throw new ConfigError('--rules-only needs a rule file: pass --rules FILE (or alerts.rulesFile in --config), without --no-rules');
        if (rulesGroup === config.kafka.groupId) {
          throw new ConfigError(`--rules-only: group "${rulesGroup}" is the storage group; an evaluator there would take partitions from the storage instances and commit them unstored. Pass --group NAME (its own group; one per evaluator of an HA pair)`);
        }
      }
      const groups = rulesEnabled ? await loadRuleFile(config.alerts.rulesFile) : [];
      const mapping = parseMetricMapping(config.metrics, 'metrics');
      // Read by `vigie plan`, not here; checked now so a typo does not wait for the plan.
      parseCapacityConfig(config.capacity, program.opts()['config'] ? `config file ${program.opts()['config'] as string}` : 'configuration');
      const metricsPort = config.selfTelemetry.port ?? 9464;
      const self = metricsPort > 0 ? await startSelfTelemetry({ port: metricsPort, host: config.selfTelemetry.host, serviceName: 'vigie-ingest', bearerToken: process.env['VIGIE_METRICS_TOKEN'] ?? config.selfTelemetry.bearerToken }) : null;
      if (self) log(`vigie ingest: self-metrics at ${self.url}`);
      if (!config.clickhouse.url && !existsSync(config.clickhouse.chdbPath)) {
        // Said out loud: a mistyped --chdb-path would otherwise start an empty database silently.
        log(`vigie ingest: ${resolve(config.clickhouse.chdbPath)} does not exist; creating a new, empty embedded database there`);
      }
      const held = await openWriterStorage({
        clickhouseUrl: config.clickhouse.url,
        chdbPath: config.clickhouse.chdbPath,
        database: config.clickhouse.database,
        ...clickhouseCredentials(config.clickhouse),
        command: 'ingest',
        serve: flags.http ? { host: flags.httpHost, port: flags.httpPort } : null,
        log,
      });
      const storage = held.storage;
      if (held.endpoint) log(`vigie ingest: read-only ClickHouse endpoint at ${held.endpoint.url} over ${storage.chdbPath}`);
      await migrate(storage.client, { database: storage.database, ...(config.clickhouse.cluster !== undefined ? { cluster: config.clickhouse.cluster } : {}) });
      const transport = createTransport({ kafkaBrokers: config.kafka.brokers, clientId: 'vigie-ingest', tls: config.kafka.tls, sasl: config.kafka.sasl, log });
      await transport.ensureTopics([
        { name: config.kafka.topic, partitions: config.kafka.partitions },
        { name: dlqTopicOf(config.kafka.topic), partitions: 1 },
      ]);
      const pipeline = flags.rulesOnly
        ? createStreamTap({
            transport,
            clock: systemClock,
            topic: config.kafka.topic,
            groupId: rulesGroup,
            log,
            validation: pipelineValidation(config.pipeline),
            mapping,
          })
        : createPipeline({
        transport,
        storage,
        clock: systemClock,
        topic: config.kafka.topic,
        groupId: config.kafka.groupId,
        log,
        stopTimeoutMs: Math.max(1000, config.pipeline.shutdownTimeoutMs / 2),
        validation: pipelineValidation(config.pipeline),
        mapping,
      });

      let stage: RulesStage | null = null;
      let scheduleTimer: NodeJS.Timeout | null = null;
      let scheduleSource: ScheduleSource | null = null;
      let statusServer: StatusServer | null = null;
      let storageWatch: StorageWatch | null = null;
      let storageLag: TransportConsumer | null = null;
      if (rulesEnabled) {
        const intervalMs = config.alerts.evaluationIntervalMs;
        // Student-facing notices when a platform- or faculty-wide page fires (status/).
        const statusOn = flags.statusPort !== undefined || (flags.statusWebhook?.length ?? 0) > 0;
        const status = statusOn ? createStatusPublisher({ statePath: flags.statusState, webhookUrls: flags.statusWebhook ?? [], log }) : null;
        if (flags.statusPort !== undefined) {
          statusServer = await startStatusServer({ statePath: flags.statusState, port: flags.statusPort, host: flags.httpHost });
          log(`vigie ingest: student status page at ${statusServer.url}`);
        }
        const rules = createRulesStage({
          ...(status ? { status } : {}),
          groups,
          intervalMs,
          pager: { paging: config.paging as PagingConfigInput | undefined, alertmanagerUrl: config.alerts.alertmanagerUrl, webhookUrls: config.alerts.webhookUrls, journalDir: flags.outbox ?? '.vigie/outbox', clock: systemClock, log },
          // A restarted evaluator neither re-pages nor forgets pending progress.
          statePath: flags.state ?? '.vigie/alert-state.json',
          // No age limit: the state is in data time, which a replay or backfill runs far
          // behind the wall clock; an alert whose condition no longer holds resolves at the
          // first evaluation instead.
          alertsLog: { client: storage.client, database: storage.database },
          // Evaluations follow the data's own time (as in the demo and backtests); when the
          // data stops, time goes on with the wall clock so absence and stalls are seen.
          idleAdvance: { afterMs: 2 * intervalMs, wallClock: systemClock },
          log,
        });
        stage = rules;
        // Warm start: messages already stored are not tapped again when Kafka redelivers
        // them after a crash, so the windows get the minutes before the newest stored
        // sample from ClickHouse; the restored alert state then evaluates on full data
        // instead of resolving and re-paging.
        const newest = await newestStoredSampleMs(storage.client, storage.database);
        if (newest !== null) {
          const recorded = new Set(groups.flatMap((g) => g.rules.filter((r) => r.kind === 'record').map((r) => r.name)));
          const raw = [...requiredRetentionByMetric(groups)].filter(([m]) => m !== '*' && !recorded.has(m));
          const warmMs = Math.min(3_600_000, Math.max(0, ...raw.map(([, ms]) => ms)));
          const history = await readRecentSamples(storage.client, storage.database, raw.map(([m]) => m), newest - warmMs, newest);
          rules.ingest(history);
          rules.advance(newest);
          log(`vigie ingest: rules warmed with ${history.length.toLocaleString('en')} stored samples of the ${Math.round(warmMs / 60_000)} min up to ${new Date(newest).toISOString()}`);
        }
        // The timetable lives in exam_schedule (`vigie schedule import`, or the schedule:
        // source below, which stores each accepted version); re-read every minute around
        // the data's time and at once after a reload, so a change during the morning counts.
        // A stored plan (`vigie plan --store`) for the data's day, while its timetable is
        // unchanged, replaces the timetable's expected load (read with the timetable).
        const planCache = new Map<string, StoredPlan>();
        let planLines = '';
        const refreshSchedule = async () => {
          const w = rules.watermark();
          const at = Number.isFinite(w) ? w : systemClock();
          try {
            rules.setSchedule(await readSchedule(storage.client, storage.database, { fromMs: at - 86_400_000, toMs: at + 86_400_000 }));
          } catch (err) {
            log(`vigie ingest: cannot read the exam schedule: ${describeError(err)}`);
          }
          try {
            const current = await loadStoredPlans(storage.client, storage.database, at - 86_400_000, at + 86_400_000, planCache);
            rules.setPlan(planOverride(current.plans));
            const lines = current.lines.join('\n');
            if (lines !== planLines) {
              planLines = lines;
              for (const l of current.lines.length ? current.lines : ["no stored plan covers the data's time: the timetable's expected load applies"]) log(`vigie ingest: ${l}`);
            }
          } catch (err) {
            log(`vigie ingest: cannot read the stored plans (the timetable's expected load applies): ${describeError(err)}`);
          }
        };
        if (config.schedule) {
          scheduleSource = createScheduleSource(scheduleSourceSpecOf(config.schedule), { store: { client: storage.client, database: storage.database }, log });
          await scheduleSource.start();
          scheduleSource.onChange(() => void refreshSchedule());
        }
        await refreshSchedule();
        scheduleTimer = setInterval(() => void refreshSchedule(), 60_000);
        scheduleTimer.unref();
        let lastStoredAt = systemClock();
        pipeline.onSamples((samples) => {
          lastStoredAt = systemClock();
          rules.add(samples);
        });
        // Rules only: the watchdog watches the storage group (its lag in Kafka, its
        // progress in the store), not this evaluator's own consumer.
        if (flags.rulesOnly) {
          storageLag = transport.consumer(config.kafka.groupId);
          await storageLag.connect();
          const lagOf = storageLag;
          storageWatch = createStorageWatch({ lag: () => lagOf.lag(config.kafka.topic), storedProgress: storedProgressOf(storage.client, storage.database, config.kafka.topic), clock: systemClock, log });
        }
        const watch = storageWatch;
        // Each second: the idle advance, and the pipeline's own health for the watchdog
        // rule, stamped at the evaluation watermark (data time) so replays stay consistent.
        const timer = setInterval(() => {
          void (watch ? watch.lag() : pipeline.lag())
            .catch(() => NaN)
            .then((lag) => {
              rules.tick();
              const w = rules.watermark();
              const stored = watch ? watch.lastStoredAt() : lastStoredAt;
              if (Number.isFinite(w)) rules.store.add(selfSamples(w, lag, (systemClock() - stored) / 1000, pipeline.stats().rejected));
            });
        }, 1000);
        timer.unref();
      }

      await pipeline.start();
      const groupMembers = transport.groupMembers?.bind(transport);
      const guard =
        storage.kind === 'chdb' && !flags.rulesOnly && groupMembers
          ? startEmbeddedGroupGuard({ group: config.kafka.groupId, chdbPath: storage.chdbPath ?? config.clickhouse.chdbPath, members: () => groupMembers(config.kafka.groupId), log })
          : null;
      log(
        flags.rulesOnly
          ? `vigie ingest: rules only: consuming all of ${config.kafka.topic} as group ${rulesGroup} (storing nothing; reading ${storage.kind} database ${storage.database})`
          : `vigie ingest: consuming ${config.kafka.topic} as group ${config.kafka.groupId} into ${storage.kind} database ${storage.database}${rulesEnabled ? '' : ' (no rules)'}`,
      );
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop).once('SIGTERM', stop);
      });
      const timeoutMs = config.pipeline.shutdownTimeoutMs;
      log(`vigie ingest: stopping (finishing the in-flight batch, at most ${timeoutMs / 1000} s)…`);
      // Whatever the broker does, the process leaves: a second signal or the deadline
      // exits at once (uncommitted batches are redelivered to the group, never lost).
      const summary = () => {
        const s = pipeline.stats();
        if ('samplesTapped' in s) return `${s.messages} messages, ${s.samplesTapped} samples evaluated (rules only), ${s.emptyMessages} empty; rejected: ${formatRejections(s.rejected)}`;
        return `${s.messages} messages, ${s.samplesStored} samples stored, ${s.dlq} to DLQ, ${s.emptyMessages} empty; rejected: ${formatRejections(s.rejected)}`;
      };
      const forced = (why: string) => {
        log(`vigie ingest: ${why}; exiting without a clean stop (uncommitted batches will be redelivered); ${summary()}`);
        process.exit(1);
      };
      process.once('SIGINT', () => forced('second signal')).once('SIGTERM', () => forced('second signal'));
      const deadline = setTimeout(() => forced(`shutdown did not finish in ${timeoutMs / 1000} s (broker unreachable?)`), timeoutMs);
      guard?.stop();
      await pipeline.stop();
      storageWatch?.stop();
      await storageLag?.disconnect().catch(() => undefined);
      if (scheduleTimer) clearInterval(scheduleTimer);
      await scheduleSource?.stop();
      await stage?.stop();
      await statusServer?.stop();
      await held.close();
      await self?.shutdown();
      clearTimeout(deadline);
      log(`vigie ingest: stopped; ${summary()}`);
      // Client libraries may keep reconnect timers alive after a broker bounce: the stop
      // is complete, so do not linger in the group or the process table.
      setTimeout(() => process.exit(process.exitCode ?? 0), 1000).unref();
    });
}
