/**
 * `vigie simulate`: plays a simulated exam morning and streams its telemetry as OTLP
 * to Kafka (topic `otlp_metrics`), for a separately running `vigie ingest`. The morning
 * is dated by default on the latest day whose whole morning lies in the past, so every
 * point falls inside `vigie ingest`'s accepted window (`--max-age`, 7 days by default).
 */
import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { loadConfig } from '../../core/config.ts';
import { ConfigError } from '../../core/errors.ts';
import { formatCsvTimetable, loadTimetableFile } from '../../schedule/index.ts';
import { DEFAULT_MORNING, dayOf, FACULTIES, latestPastMorning, runMorning, schedule } from '../../simulator/index.ts';
import { createVariantProducer, PLATFORM_VARIANTS } from '../../simulator/platformVariant.ts';
import { createTransport, TOPICS } from '../../transport/index.ts';
import { floatOption, kafkaOption, timeOption } from '../options.ts';

/** Registers `vigie simulate`. */
export function registerSimulateCommand(program: Command): void {
  program
    .command('simulate')
    .description('Simulate an exam morning and produce its OTLP telemetry to Kafka (for a running `vigie ingest`).')
    .option('--kafka <host:port>', 'Kafka bootstrap broker', kafkaOption)
    .option('--topic <name>', 'topic to produce to', TOPICS.metrics)
    .option('--seed <n>', 'simulator seed', floatOption('--seed'), 42)
    .option('--capacity <factor>', 'capacity factor (1 = collapse-prone, 2.5 = ample)', floatOption('--capacity'), 1)
    .option('--ramp-minutes <n>', 'login ramp before each exam start', floatOption('--ramp-minutes'), 30)
    .option('--ramp-shape <shape>', 'linear | early | late | step', 'linear')
    .option('--noise <x>', 'multiplicative noise (0..1)', floatOption('--noise'), 0.05)
    .option('--compression <factor>', 'simulated seconds per real second (0 = as fast as possible)', floatOption('--compression'), 180)
    .option('--start <time>', 'simulated start (ISO or epoch ms; default 07:30 UTC of the latest day whose morning is over)', timeOption('--start'))
    .option('--duration-minutes <n>', 'simulated minutes to play (default 180)', floatOption('--duration-minutes'))
    .addOption(new Option('--metric-set <name>', "whose metric names and signals the platform exports: Vigie's contract, or another platform (see docs/telemetry-contract.md)").choices(['contract', ...Object.keys(PLATFORM_VARIANTS)]).default('contract'))
    .option('--timetable-out <file>', "write the morning's exam timetable as CSV (for `vigie schedule import`)")
    .option('--timetable-only', 'write --timetable-out and exit without playing the morning (no Kafka needed)')
    .option('--timetable <file>', "play this timetable (CSV, JSON or iCalendar, as `vigie schedule import` reads) instead of the built-in morning: e.g. more students than the imported one says")
    .action(async (o: { timetable?: string; kafka?: string; topic: string; seed: number; capacity: number; rampMinutes: number; rampShape: string; noise: number; compression: number; start?: number; durationMinutes?: number; metricSet: string; timetableOut?: string; timetableOnly?: boolean }) => {
      const durationMs = o.durationMinutes !== undefined ? o.durationMinutes * 60_000 : DEFAULT_MORNING.durationMs;
      const start = o.start ?? latestPastMorning(Date.now(), durationMs);
      if (o.timetableOnly && !o.timetableOut) throw new ConfigError('--timetable-only needs --timetable-out FILE');
      // The simulated university has its faculties; a played timetable must stay within them.
      const exams = o.timetable ? (await loadTimetableFile(o.timetable)).exams : undefined;
      const unknown = [...new Set((exams ?? []).map((e) => e.faculty))].filter((f) => !FACULTIES.some((x) => x.code === f));
      if (unknown.length) throw new ConfigError(`--timetable ${o.timetable}: the simulated university has no faculty ${unknown.map((f) => `"${f}"`).join(', ')} (known: ${FACULTIES.map((f) => f.code).join(', ')})`);
      if (o.timetableOut) {
        writeFileSync(o.timetableOut, formatCsvTimetable(exams ?? schedule(dayOf(start))));
        process.stdout.write(`timetable of ${new Date(start).toISOString().slice(0, 10)} written to ${o.timetableOut}\n`);
        if (o.timetableOnly) return;
      }
      if (!o.kafka) throw new ConfigError('vigie simulate needs --kafka HOST:PORT to produce the morning (or --timetable-only)');
      const kafka = o.kafka;
      // TLS and SASL come from --config (kafka.tls, kafka.sasl), as for `vigie ingest`.
      const config = loadConfig(program.opts()['config'] as string | undefined, { kafka: { brokers: [kafka] } });
      const transport = createTransport({ kafkaBrokers: [kafka], clientId: 'vigie-simulate', tls: config.kafka.tls, sasl: config.kafka.sasl });
      await transport.ensureTopics([{ name: o.topic, partitions: 4 }]);
      const variant = o.metricSet === 'contract' ? null : createVariantProducer(transport.producer(), PLATFORM_VARIANTS[o.metricSet]!);
      const producer = variant ?? transport.producer();
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
            start,
            durationMs,
            compression: o.compression > 0 ? o.compression : Infinity,
            ...(exams ? { exams } : {}),
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
          `simulated ${new Date(r.startMs).toISOString()} → ${new Date(r.endMs).toISOString()}: ${variant ? variant.produced() : r.exportedSamples} samples in ${r.messagesSent} messages to ${o.topic}; ` +
            `collapse ${r.collapseAtMs === null ? 'none' : new Date(r.collapseAtMs).toISOString()}\n`,
        );
      } finally {
        await producer.disconnect();
      }
    });
}
