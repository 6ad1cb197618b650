/**
 * `vigie ingest`: the long-running pipeline process. Consumes `otlp_metrics` as a
 * member of a Kafka consumer group, stores into ClickHouse, and (with `--rules`)
 * evaluates the rule pack on the pipeline's tap and sends alerts. Exposes its own
 * metrics on a Prometheus endpoint; SIGINT/SIGTERM finish and commit the in-flight
 * batch before exiting.
 */
import type { Command } from 'commander';
import { loadRuleFile } from '../../alerts/index.ts';
import { createScheduleSource, readSchedule, scheduleSourceSpecOf, type ScheduleSource } from '../../schedule/index.ts';
import type { PagingConfigInput } from '../../alerts/routing/index.ts';
import { createRulesStage, type RulesStage } from '../../alerts/stage.ts';
import { describeError } from '../../core/errors.ts';
import { systemClock } from '../../core/clock.ts';
import type { Sample } from '../../core/samples.ts';
import { loadConfig } from '../../core/config.ts';
import { startSelfTelemetry } from '../../core/selfTelemetry.ts';
import { createPipeline, createStorage, migrate } from '../../pipeline/index.ts';
import { parseMetricMapping } from '../../pipeline/mapping.ts';
import { createTransport } from '../../transport/index.ts';
import { floatOption, kafkaOption } from '../options.ts';

interface IngestFlags {
  kafka?: string;
  clickhouseUrl?: string;
  chdbPath?: string;
  database?: string;
  rules?: string;
  alertmanager?: string;
  webhook?: string[];
  metricsPort?: number;
  outbox?: string;
  state?: string;
}

/** The watchdog's inputs (see the `vigie-self` group of the default rule pack). */
export function selfSamples(atMs: number, lagMessages: number, secondsSinceLastStore: number): Sample[] {
  const labels = { job: 'vigie-ingest' };
  return [
    { metric: 'vigie_pipeline_consumer_lag_messages', labels, timestampMs: atMs, value: lagMessages },
    { metric: 'vigie_pipeline_seconds_since_last_store', labels, timestampMs: atMs, value: secondsSinceLastStore },
  ];
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
    .option('--alertmanager <url>', 'send alerts to this Alertmanager (API v2)')
    .option('--webhook <url...>', 'send alerts to these webhooks (Alertmanager webhook format v4)')
    .option('--state <file>', 'alert state file (restored on start, saved on change)', '.vigie/alert-state.json')
    .option('--outbox <dir>', 'durable outbox journal directory', '.vigie/outbox')
    .option('--metrics-port <port>', 'port of the self-monitoring Prometheus endpoint', floatOption('--metrics-port'), 9464)
    .action(async (flags: IngestFlags) => {
      const config = loadConfig(program.opts()['config'] as string | undefined, {
        kafka: flags.kafka ? { brokers: [flags.kafka] } : {},
        clickhouse: { url: flags.clickhouseUrl, chdbPath: flags.chdbPath, database: flags.database },
        alerts: { alertmanagerUrl: flags.alertmanager, ...(flags.webhook ? { webhookUrls: flags.webhook } : {}), ...(flags.rules ? { rulesFile: flags.rules } : {}) },
        selfTelemetry: { port: flags.metricsPort },
      });
      // Validated before anything starts: a bad mapping names its key and stops here.
      const mapping = parseMetricMapping(config.metrics, 'metrics');
      if (!config.kafka.brokers) throw new Error('vigie ingest needs Kafka: pass --kafka HOST:PORT or set kafka.brokers in --config (the embedded mode runs in `vigie demo`)');
      const self = config.selfTelemetry.port > 0 ? await startSelfTelemetry({ port: config.selfTelemetry.port, serviceName: 'vigie-ingest' }) : null;
      if (self) process.stderr.write(`vigie ingest: self-metrics at ${self.url}\n`);
      const storage = createStorage({ url: config.clickhouse.url, chdbPath: config.clickhouse.chdbPath, database: config.clickhouse.database });
      await migrate(storage.client, { database: storage.database });
      const transport = createTransport({ kafkaBrokers: config.kafka.brokers, clientId: 'vigie-ingest' });
      await transport.ensureTopics([
        { name: config.kafka.topic, partitions: config.kafka.partitions },
        { name: `${config.kafka.topic}.dlq`, partitions: 1 },
      ]);
      const pipeline = createPipeline({ transport, storage, clock: systemClock, topic: config.kafka.topic, groupId: config.kafka.groupId, mapping });

      let stage: RulesStage | null = null;
      let scheduleTimer: NodeJS.Timeout | null = null;
      let scheduleSource: ScheduleSource | null = null;
      if (flags.rules || program.opts()['config']) {
        const groups = await loadRuleFile(config.alerts.rulesFile);
        const intervalMs = config.alerts.evaluationIntervalMs;
        const rules = createRulesStage({
          groups,
          intervalMs,
          pager: { paging: config.paging as PagingConfigInput | undefined, alertmanagerUrl: config.alerts.alertmanagerUrl, webhookUrls: config.alerts.webhookUrls, journalDir: flags.outbox ?? '.vigie/outbox', clock: systemClock },
          // A restarted evaluator neither re-pages nor forgets pending progress.
          statePath: flags.state ?? '.vigie/alert-state.json',
          stateNowMs: systemClock(),
          alertsLog: { client: storage.client, database: storage.database },
          // Evaluations follow the data's own time (as in the demo and backtests); when the
          // data stops, time goes on with the wall clock so absence and stalls are seen.
          idleAdvance: { afterMs: 2 * intervalMs, wallClock: systemClock },
        });
        stage = rules;
        // The timetable lives in exam_schedule (`vigie schedule import`, or the schedule:
        // source below, which stores each accepted version); re-read every minute around
        // the data's time and at once after a reload, so a change during the morning counts.
        const refreshSchedule = async () => {
          const w = rules.watermark();
          const at = Number.isFinite(w) ? w : systemClock();
          try {
            rules.setSchedule(await readSchedule(storage.client, storage.database, { fromMs: at - 86_400_000, toMs: at + 86_400_000 }));
          } catch (err) {
            process.stderr.write(`vigie ingest: cannot read the exam schedule: ${describeError(err)}\n`);
          }
        };
        if (config.schedule) {
          scheduleSource = createScheduleSource(scheduleSourceSpecOf(config.schedule), { store: { client: storage.client, database: storage.database } });
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
        // Each second: the idle advance, and the pipeline's own health for the watchdog
        // rule, stamped at the evaluation watermark (data time) so replays stay consistent.
        const timer = setInterval(() => {
          void pipeline
            .lag()
            .catch(() => NaN)
            .then((lag) => {
              rules.tick();
              const w = rules.watermark();
              if (Number.isFinite(w)) rules.store.add(selfSamples(w, lag, (systemClock() - lastStoredAt) / 1000));
            });
        }, 1000);
        timer.unref();
      }

      await pipeline.start();
      process.stderr.write(`vigie ingest: consuming ${config.kafka.topic} as group ${config.kafka.groupId} into ${storage.kind} database ${storage.database}\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop).once('SIGTERM', stop);
      });
      process.stderr.write('vigie ingest: stopping (finishing the in-flight batch)…\n');
      await pipeline.stop();
      if (scheduleTimer) clearInterval(scheduleTimer);
      await scheduleSource?.stop();
      await stage?.stop();
      await storage.close();
      await self?.shutdown();
      const s = pipeline.stats();
      process.stderr.write(`vigie ingest: stopped; ${s.messages} messages, ${s.samplesStored} samples stored, ${s.dlq} to DLQ\n`);
    });
}
