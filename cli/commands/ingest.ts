/**
 * `vigie ingest`: the long-running pipeline process. Consumes `otlp_metrics` as a
 * member of a Kafka consumer group, stores into ClickHouse, and (with `--rules`)
 * evaluates the rule pack on the pipeline's tap and sends alerts. Exposes its own
 * metrics on a Prometheus endpoint; SIGINT/SIGTERM finish and commit the in-flight
 * batch before exiting.
 */
import type { Command } from 'commander';
import { createAlertsLogWriter, createRuleEngine, createSeriesStore, createStatePersister, createWatermarkScheduler, loadRuleFile, readStateFile, requiredRetentionByMetric } from '../../alerts/index.ts';
import type { Pager, PagingConfigInput } from '../../alerts/routing/index.ts';
import { buildPager } from '../paging.ts';
import { systemClock } from '../../core/clock.ts';
import type { Sample } from '../../core/samples.ts';
import { loadConfig } from '../../core/config.ts';
import { startSelfTelemetry } from '../../core/selfTelemetry.ts';
import { createPipeline, migrate } from '../../pipeline/index.ts';
import { createTransport } from '../../transport/index.ts';
import { floatOption, kafkaOption } from '../options.ts';
import { DEFAULT_HTTP_PORT, httpPortOption, openWriterStorage } from '../storage.ts';

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
  httpHost: string;
  httpPort: number;
  http: boolean;
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
    .option('--http-host <host>', 'interface of the read-only ClickHouse-compatible endpoint over the embedded database', '127.0.0.1')
    .option('--http-port <port>', 'its port (0 = any free port); Grafana and `vigie postmortem`/`query` read through it', httpPortOption, DEFAULT_HTTP_PORT)
    .option('--no-http', 'do not serve the embedded database (other commands cannot read it while ingest runs)')
    .action(async (flags: IngestFlags) => {
      const config = loadConfig(program.opts()['config'] as string | undefined, {
        kafka: flags.kafka ? { brokers: [flags.kafka] } : {},
        clickhouse: { url: flags.clickhouseUrl, chdbPath: flags.chdbPath, database: flags.database },
        alerts: { alertmanagerUrl: flags.alertmanager, ...(flags.webhook ? { webhookUrls: flags.webhook } : {}), ...(flags.rules ? { rulesFile: flags.rules } : {}) },
        selfTelemetry: { port: flags.metricsPort },
      });
      if (!config.kafka.brokers) throw new Error('vigie ingest needs Kafka: pass --kafka HOST:PORT or set kafka.brokers in --config (the embedded mode runs in `vigie demo`)');
      const self = config.selfTelemetry.port > 0 ? await startSelfTelemetry({ port: config.selfTelemetry.port, serviceName: 'vigie-ingest' }) : null;
      if (self) process.stderr.write(`vigie ingest: self-metrics at ${self.url}\n`);
      const held = await openWriterStorage({
        clickhouseUrl: config.clickhouse.url,
        chdbPath: config.clickhouse.chdbPath,
        database: config.clickhouse.database,
        command: 'ingest',
        serve: flags.http ? { host: flags.httpHost, port: flags.httpPort } : null,
        log: (line) => process.stderr.write(line + '\n'),
      });
      const storage = held.storage;
      if (held.endpoint) process.stderr.write(`vigie ingest: read-only ClickHouse endpoint at ${held.endpoint.url} over ${storage.chdbPath}\n`);
      await migrate(storage.client, { database: storage.database });
      const transport = createTransport({ kafkaBrokers: config.kafka.brokers, clientId: 'vigie-ingest' });
      await transport.ensureTopics([
        { name: config.kafka.topic, partitions: config.kafka.partitions },
        { name: `${config.kafka.topic}.dlq`, partitions: 1 },
      ]);
      const pipeline = createPipeline({ transport, storage, clock: systemClock, topic: config.kafka.topic, groupId: config.kafka.groupId });

      let pager: Pager | null = null;
      if (flags.rules || program.opts()['config']) {
        const groups = await loadRuleFile(config.alerts.rulesFile);
        const store = createSeriesStore({ retentionMs: 10 * 60_000, retentionByMetricMs: requiredRetentionByMetric(groups) });
        const statePath = flags.state ?? '.vigie/alert-state.json';
        // A restarted evaluator neither re-pages nor forgets pending progress.
        const initialState = readStateFile(statePath, { nowMs: systemClock() });
        pager = buildPager({ paging: config.paging as PagingConfigInput | undefined, alertmanagerUrl: config.alerts.alertmanagerUrl, webhookUrls: config.alerts.webhookUrls, journalDir: flags.outbox ?? '.vigie/outbox', clock: systemClock });
        pager?.start();
        const engine = createRuleEngine({
          groups,
          ...(initialState ? { initialState } : {}),
          store,
          evaluationIntervalMs: config.alerts.evaluationIntervalMs,
          onTransitions: createAlertsLogWriter(storage.client, storage.database),
          ...(pager ? { notify: pager.notify } : {}),
        });
        const persister = createStatePersister({ path: statePath, engine });
        const scheduler = createWatermarkScheduler({
          evaluate: (t) => {
            const r = engine.evaluate(t);
            persister.afterEvaluation(r);
            return r;
          },
          intervalMs: config.alerts.evaluationIntervalMs,
        });
        let lastStoredAt = systemClock();
        pipeline.onSamples((samples) => {
          lastStoredAt = systemClock();
          store.add(samples);
        });
        // Live: evaluate on wall-clock boundaries, a scrape interval behind so late series
        // are in. Each tick also records the pipeline's own health for the watchdog rule.
        const timer = setInterval(() => {
          const now = systemClock();
          void pipeline
            .lag()
            .catch(() => NaN)
            .then((lag) => {
              store.add(selfSamples(now - config.alerts.evaluationIntervalMs, lag, (now - lastStoredAt) / 1000));
              scheduler.observe(now - config.alerts.evaluationIntervalMs);
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
      await pager?.stop();
      await held.close();
      await self?.shutdown();
      const s = pipeline.stats();
      process.stderr.write(`vigie ingest: stopped; ${s.messages} messages, ${s.samplesStored} samples stored, ${s.dlq} to DLQ\n`);
    });
}
