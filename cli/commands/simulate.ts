/**
 * `vigie simulate`: plays a simulated exam morning and streams its telemetry as OTLP
 * to Kafka (topic `otlp_metrics`), for a separately running `vigie ingest`.
 */
import type { Command } from 'commander';
import { runMorning } from '../../simulator/index.ts';
import { createTransport, TOPICS } from '../../transport/index.ts';
import { floatOption, kafkaOption } from '../options.ts';

/** Registers `vigie simulate`. */
export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('Simulate an exam morning and produce its OTLP telemetry to Kafka (for a running `vigie ingest`).')
    .requiredOption('--kafka <host:port>', 'Kafka bootstrap broker', kafkaOption)
    .option('--topic <name>', 'topic to produce to', TOPICS.metrics)
    .option('--seed <n>', 'simulator seed', floatOption('--seed'), 42)
    .option('--capacity <factor>', 'capacity factor (1 = collapse-prone, 2.5 = ample)', floatOption('--capacity'), 1)
    .option('--ramp-minutes <n>', 'login ramp before each exam start', floatOption('--ramp-minutes'), 30)
    .option('--ramp-shape <shape>', 'linear | early | late | step', 'linear')
    .option('--noise <x>', 'multiplicative noise (0..1)', floatOption('--noise'), 0.05)
    .option('--compression <factor>', 'simulated seconds per real second (0 = as fast as possible)', floatOption('--compression'), 180)
    .action(async (o: { kafka: string; topic: string; seed: number; capacity: number; rampMinutes: number; rampShape: string; noise: number; compression: number }) => {
      const transport = createTransport({ kafkaBrokers: [o.kafka], clientId: 'vigie-simulate' });
      await transport.ensureTopics([{ name: o.topic, partitions: 4 }]);
      const producer = transport.producer();
      await producer.connect();
      const abort = new AbortController();
      const stop = () => abort.abort();
      process.once('SIGINT', stop).once('SIGTERM', stop);
      try {
        let lastPrinted = 0;
        const r = await runMorning(
          {
            seed: o.seed,
            capacity: o.capacity,
            rampMinutes: o.rampMinutes,
            rampShape: o.rampShape as 'linear',
            noise: o.noise,
            compression: o.compression > 0 ? o.compression : Infinity,
          },
          {
            producer,
            topic: o.topic,
            signal: abort.signal,
            onProgress: (at, info) => {
              if (at - lastPrinted < 15 * 60_000) return;
              lastPrinted = at;
              process.stderr.write(`[sim ${new Date(at).toISOString().slice(11, 19)}] ${info.exportedSamples.toLocaleString('en')} samples in ${info.messagesSent} messages\n`);
            },
          },
        );
        process.stdout.write(
          `simulated ${new Date(r.startMs).toISOString()} → ${new Date(r.endMs).toISOString()}: ${r.exportedSamples} samples in ${r.messagesSent} messages to ${o.topic}; ` +
            `collapse ${r.collapseAtMs === null ? 'none' : new Date(r.collapseAtMs).toISOString()}\n`,
        );
      } finally {
        await producer.disconnect();
      }
    });
}
