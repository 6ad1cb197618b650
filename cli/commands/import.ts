/**
 * `vigie import --openmetrics FILE`: backfills history from an OpenMetrics (or
 * Prometheus text) file whose samples carry timestamps, so rules can be backtested on an
 * incident from before Vigie was installed. Samples travel the remote-write path
 * (`promSamplesToBatches`): same names and labels, `job`/`instance` as the resource,
 * classic histograms as histograms,
 * produced to Kafka in time order, in messages of at most `--batch` samples.
 */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { ConfigError } from '../../core/errors.ts';
import { VALIDATION_DEFAULTS } from '../../otlp/decode.ts';
import { batchKey, encodeBatch } from '../../collectors/pointBatch.ts';
import { parseExposition } from '../../collectors/promText.ts';
import { promSamplesToBatches } from '../../collectors/remoteWrite.ts';
import { createTransport, TOPICS } from '../../transport/index.ts';
import { floatOption, kafkaOption } from '../options.ts';

interface ImportFlags {
  openmetrics?: string;
  prometheusText?: string;
  kafka: string;
  topic: string;
  job: string;
  instance: string;
  batch: number;
  allowErrors?: boolean;
}

/** Registers `vigie import`. */
export function registerImportCommand(program: Command): void {
  program
    .command('import')
    .description('Backfill history into Kafka from an OpenMetrics file with timestamps (names and labels kept, as remote write does).')
    .option('--openmetrics <file>', 'OpenMetrics 1.0 text (timestamps in seconds)')
    .option('--prometheus-text <file>', 'Prometheus text format 0.0.4 (timestamps in milliseconds)')
    .requiredOption('--kafka <host:port>', 'Kafka bootstrap broker', kafkaOption)
    .option('--topic <name>', 'topic to produce to', TOPICS.metrics)
    .option('--job <name>', 'job (service.name) of series without a job label', 'import')
    .option('--instance <name>', 'instance (host.name) of series without an instance label', 'import')
    .option('--batch <samples>', 'samples per Kafka message', floatOption('--batch'), 5_000)
    .option('--allow-errors', 'import the lines that parse even if some do not (they are listed either way)')
    .action(async (o: ImportFlags) => {
      const file = o.openmetrics ?? o.prometheusText;
      if (file === undefined || (o.openmetrics !== undefined && o.prometheusText !== undefined)) {
        throw new ConfigError('give exactly one of --openmetrics FILE or --prometheus-text FILE');
      }
      if (!(o.batch >= 1 && Number.isInteger(o.batch))) throw new ConfigError(`--batch must be a positive integer, got ${o.batch}`);
      let text: string;
      try {
        text = readFileSync(file, 'utf8');
      } catch (err) {
        throw new ConfigError(`cannot read ${file}: ${(err as Error).message}`);
      }
      const now = Date.now();
      const flavour = o.openmetrics !== undefined ? 'openmetrics' : 'prometheus';
      const parsed = parseExposition(text, { flavour, defaultTimestampMs: now });
      for (const e of parsed.errors.slice(0, 20)) process.stderr.write(`[import] ${file}:${e.line}: ${e.reason}: ${e.text}\n`);
      if (parsed.errors.length > 0 && !o.allowErrors) {
        throw new ConfigError(`${file}: ${parsed.errors.length} line(s) do not parse (listed above); fix them or pass --allow-errors`);
      }
      if (flavour === 'openmetrics' && !parsed.sawEof) process.stderr.write(`[import] ${file}: no "# EOF" line; the file may be truncated\n`);
      const samples = [...parsed.samples].sort((a, b) => a.timestampMs - b.timestampMs);
      if (samples.length === 0) throw new ConfigError(`${file} holds no samples`);
      const first = samples[0]!.timestampMs;
      const last = samples[samples.length - 1]!.timestampMs;
      if (first < now - VALIDATION_DEFAULTS.maxAgeMs) {
        process.stderr.write(
          `[import] samples from ${new Date(first).toISOString()} are older than the pipeline's maximum sample age (${VALIDATION_DEFAULTS.maxAgeMs / 86_400_000} days): vigie ingest counts them as clock_skew rejections\n`,
        );
      }
      const transport = createTransport({ kafkaBrokers: [o.kafka], clientId: 'vigie-import' });
      await transport.ensureTopics([{ name: o.topic, partitions: 4 }]);
      const producer = transport.producer();
      await producer.connect();
      const skipped = { nan: 0, histogramParts: 0 };
      let messages = 0;
      try {
        for (let i = 0, j = 0; i < samples.length; i = j) {
          // A chunk ends between two timestamps, so a histogram's parts stay together.
          j = Math.min(samples.length, i + o.batch);
          while (j < samples.length && samples[j]!.timestampMs === samples[j - 1]!.timestampMs) j++;
          const chunk = samples.slice(i, j);
          const batches = promSamplesToBatches(chunk, {
            resource: { 'service.name': o.job, 'host.name': o.instance },
            nowMs: now,
            scope: 'vigie.import',
            startMs: first,
            skipped,
          });
          await producer.send(o.topic, batches.map((b) => ({ key: batchKey(b), value: encodeBatch(b) })));
          messages += batches.length;
        }
      } finally {
        await producer.disconnect();
      }
      process.stdout.write(
        `imported ${samples.length - skipped.nan} samples (${new Date(first).toISOString()} → ${new Date(last).toISOString()}) in ${messages} messages to ${o.topic}` +
          `${skipped.nan > 0 ? `; ${skipped.nan} NaN samples skipped` : ''}${skipped.histogramParts > 0 ? `; ${skipped.histogramParts} histogram samples that do not form a histogram (no +Inf bucket, decreasing buckets) sent as gauges` : ''}${parsed.errors.length > 0 ? `; ${parsed.errors.length} unparsable lines skipped` : ''}\n`,
      );
    });
}
