/**
 * `vigie collect`: a live collector beside the platform. Measures host saturation
 * (CPU, TCP connections by state) and synthetic HTTP probes of the platform's pages,
 * and streams them as OTLP to Kafka every interval, keyed by this host.
 */
import { hostname } from 'node:os';
import type { Command } from 'commander';
import { createCollector } from '../../collectors/index.ts';
import { createHostProbe } from '../../collectors/hostProbe.ts';
import { createHttpProbes } from '../../collectors/httpProbe.ts';
import { createTransport, TOPICS } from '../../transport/index.ts';
import { floatOption, kafkaOption } from '../options.ts';

/** Registers `vigie collect`. */
export function registerCollectCommand(program: Command): void {
  program
    .command('collect')
    .description('Run a live collector: host saturation and HTTP probes, exported as OTLP to Kafka.')
    .requiredOption('--kafka <host:port>', 'Kafka bootstrap broker', kafkaOption)
    .option('--topic <name>', 'topic to produce to', TOPICS.metrics)
    .option('--host <name>', 'host.name of this resource', hostname())
    .option('--probe <url...>', 'URLs to probe each interval (httpcheck.* metrics)')
    .option('--interval <seconds>', 'export interval', floatOption('--interval'), 15)
    .option('--once', 'collect and export once, then exit')
    .action(async (o: { kafka: string; topic: string; host: string; probe?: string[]; interval: number; once?: boolean }) => {
      if (!(o.interval >= 1)) throw new Error(`--interval must be at least 1 second, got ${o.interval}`);
      for (const u of o.probe ?? []) if (!/^https?:\/\//.test(u)) throw new Error(`--probe expects http(s) URLs, got "${u}"`);
      const transport = createTransport({ kafkaBrokers: [o.kafka], clientId: 'vigie-collect' });
      await transport.ensureTopics([{ name: o.topic, partitions: 4 }]);
      const producer = transport.producer();
      await producer.connect();
      const collector = createCollector({ producer, topic: o.topic, resource: { hostName: o.host, collectorName: 'vigie-collect' } });
      const host = createHostProbe(collector.instruments.state, o.host);
      const probes = createHttpProbes(collector.meterProvider.getMeter('vigie.httpcheck'), o.probe ?? []);
      const tick = async () => {
        host.sample();
        const results = await probes.run();
        const out = await collector.collect();
        process.stderr.write(`[collect ${new Date().toISOString()}] ${out.samples} samples, ${out.bytes} bytes${results.length ? `; probes ${results.map((r) => `${r.url}=${r.statusCode ?? r.error}`).join(' ')}` : ''}\n`);
      };
      host.sample();
      try {
        if (o.once) {
          await tick();
          return;
        }
        await new Promise<void>((resolve) => {
          const timer = setInterval(() => void tick().catch((e: Error) => process.stderr.write(`[collect] ${e.message}\n`)), o.interval * 1000);
          const stop = () => {
            clearInterval(timer);
            resolve();
          };
          process.once('SIGINT', stop).once('SIGTERM', stop);
        });
        await tick(); // flush the last interval before leaving
      } finally {
        await collector.shutdown();
        await producer.disconnect();
      }
    });
}
