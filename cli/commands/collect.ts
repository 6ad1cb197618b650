/**
 * `vigie collect`: a live collector beside the platform. Without a config it measures
 * host saturation (CPU, TCP connections by state) and synthetic HTTP probes; with the
 * `collectors:` section of `--config` it also tails access logs, reads /proc listen
 * queues, nginx stub_status, PHP-FPM status and Prometheus endpoints. Everything goes
 * out as OTLP to Kafka through the durable producer (buffer, optional spool, retries).
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { createCollectorRunner } from '../../collectors/collectorRunner.ts';
import { parseCollectorsConfig } from '../../collectors/config.ts';
import { DurableProducer } from '../../collectors/durableProducer.ts';
import { loadConfig } from '../../core/config.ts';
import { ConfigError } from '../../core/errors.ts';
import { startSelfTelemetry } from '../../core/selfTelemetry.ts';
import { createTransport, TOPICS } from '../../transport/index.ts';
import { floatOption, kafkaOption } from '../options.ts';

interface CollectFlags {
  kafka: string;
  topic: string;
  host?: string;
  probe?: string[];
  interval?: number;
  stateDir?: string;
  once?: boolean;
  metricsPort: number;
}

/** Registers `vigie collect`. */
export function registerCollectCommand(program: Command): void {
  program
    .command('collect')
    .description(
      'Run a live collector: host saturation and HTTP probes, plus (with the collectors: section of --config) access logs, /proc listen queues, nginx, PHP-FPM and Prometheus scrapes, exported as OTLP to Kafka.',
    )
    .requiredOption('--kafka <host:port>', 'Kafka bootstrap broker', kafkaOption)
    .option('--topic <name>', 'topic to produce to', TOPICS.metrics)
    .option('--host <name>', `host.name of this resource (default collectors.host, else ${hostname()})`)
    .option('--probe <url...>', 'URLs to probe each interval (httpcheck.* metrics)')
    .option('--interval <seconds>', 'export interval (default collectors.intervalSeconds, else 15)', floatOption('--interval'))
    .option('--state-dir <dir>', 'where access-log positions and counts are kept (default collectors.stateDir)')
    .option('--once', 'collect and export once, then exit')
    .option('--metrics-port <port>', 'self-monitoring Prometheus endpoint (exported/dropped/buffered counters; 0 = off)', floatOption('--metrics-port'), 0)
    .addHelpText(
      'after',
      '\nThe collectors: section of the config file (see deploy/vigie.example.yml) lists access logs with their format and route table, ' +
        'nginx stub_status and PHP-FPM status URLs, /metrics endpoints to scrape, the session capacity per faculty, and the producer spool.',
    )
    .action(async (o: CollectFlags) => {
      if (o.interval !== undefined && !(o.interval >= 0.2)) throw new ConfigError(`--interval must be at least 0.2 seconds, got ${o.interval}`);
      for (const u of o.probe ?? []) if (!/^https?:\/\//.test(u)) throw new ConfigError(`--probe expects http(s) URLs, got "${u}"`);
      const configFile = program.opts()['config'] as string | undefined;
      const base = loadConfig(configFile);
      const section = base.collectors;
      const cfg =
        section === undefined
          ? null
          : parseCollectorsConfig(
              {
                ...section,
                ...(o.host !== undefined ? { host: o.host } : {}),
                ...(o.interval !== undefined ? { intervalSeconds: o.interval } : {}),
                ...(o.stateDir !== undefined ? { stateDir: o.stateDir } : {}),
              },
              `config file ${configFile}`,
            );
      const host = cfg?.host ?? o.host ?? hostname();
      const interval = cfg?.intervalSeconds ?? o.interval ?? 15;
      const telemetry = o.metricsPort > 0 && !o.once ? await startSelfTelemetry({ port: o.metricsPort, serviceName: 'vigie-collect' }) : null;
      const transport = createTransport({ kafkaBrokers: [o.kafka], clientId: 'vigie-collect' });
      await transport.ensureTopics([{ name: o.topic, partitions: 4 }]).catch((err: Error) => {
        process.stderr.write(`[collect] cannot check topic ${o.topic} now (${err.message}); the producer will retry\n`);
      });
      const producer = new DurableProducer({
        inner: transport.producer({ compression: cfg?.producer.compression ?? 'gzip' }),
        maxBufferBytes: (cfg?.producer.bufferMb ?? 64) * 1024 * 1024,
        maxSpoolBytes: (cfg?.producer.spoolMb ?? 1024) * 1024 * 1024,
        ...(cfg?.producer.spoolDir !== undefined ? { spoolDir: cfg.producer.spoolDir } : {}),
        // Between exports the Kafka client would spin its idle timer (see DurableProducer).
        idleDisconnectMs: interval >= 5 ? 1_000 : 0,
        onError: (err, attempt, delay) => process.stderr.write(`[collect] delivery failed (attempt ${attempt}, retry in ${delay} ms): ${(err as Error).message}\n`),
      });
      await producer.connect();

      // The SDK collector keeps the original probes (host CPU/TCP when there is no config,
      // httpcheck); it loads the OpenTelemetry SDK, so only when one of them is asked for.
      const needSdk = cfg === null || (o.probe ?? []).length > 0;
      const sdkModules = needSdk
        ? await Promise.all([import('../../collectors/collector.ts'), import('../../collectors/hostProbe.ts'), import('../../collectors/httpProbe.ts')])
        : null;
      const sdk = sdkModules ? sdkModules[0].createCollector({ producer, topic: o.topic, resource: { hostName: host, collectorName: 'vigie-collect' } }) : null;
      const hostProbe = sdk !== null && sdkModules && cfg === null ? sdkModules[1].createHostProbe(sdk.instruments.state, host) : null;
      const probes = sdk !== null && sdkModules ? sdkModules[2].createHttpProbes(sdk.meterProvider.getMeter('vigie.httpcheck'), o.probe ?? []) : null;
      const runner = cfg !== null ? createCollectorRunner({ config: cfg, producer, topic: o.topic }) : null;

      const tick = async () => {
        hostProbe?.sample();
        const results = probes ? await probes.run() : [];
        const out = sdk ? await sdk.collect() : { samples: 0, bytes: 0 };
        const more = runner ? await runner.exportOnce() : { samples: 0, messages: 0 };
        process.stderr.write(
          `[collect ${new Date().toISOString()}] ${out.samples + more.samples} samples${results.length ? `; probes ${results.map((r) => `${r.url}=${r.statusCode ?? r.error}`).join(' ')}` : ''}\n`,
        );
      };
      hostProbe?.sample();
      try {
        if (o.once) {
          runner?.pollLogs();
          await tick();
          return;
        }
        runner?.start();
        await new Promise<void>((resolve) => {
          const timer = sdk ? setInterval(() => void tick().catch((e: Error) => process.stderr.write(`[collect] ${e.message}\n`)), interval * 1000) : null;
          const stop = () => {
            if (timer) clearInterval(timer);
            resolve();
          };
          process.once('SIGINT', stop).once('SIGTERM', stop);
        });
        await runner?.stop();
        if (sdk) await tick(); // flush the last interval before leaving
      } finally {
        await sdk?.shutdown();
        const ok = await producer.flush(10_000);
        const bytes = producer.stats();
        if (bytes.messageBytes > 0) {
          process.stderr.write(`[collect] delivered ${bytes.messageBytes.toLocaleString('en')} bytes of messages as ${bytes.sentBytes.toLocaleString('en')} bytes to Kafka (compression ${cfg?.producer.compression ?? 'gzip'})\n`);
        }
        if (!ok) process.stderr.write(`[collect] ${producer.stats().bufferedMessages} message(s) not delivered at exit${cfg?.producer.spoolDir ? ', kept in the spool' : ''}\n`);
        await producer.disconnect(1_000);
        await telemetry?.shutdown();
      }
    });
}
