/**
 * Pipeline throughput: OTLP messages of a simulated morning → in-process transport →
 * decode/validate → chDB (exactly-once path) → committed. Baseline in the same run:
 * decode + validation alone on the same messages (the CPU ceiling noted in PITFALLS).
 * Prints JSON and writes bench/results/pipeline.json.
 *   node bench/pipeline.bench.ts [--minutes 60]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCardinalityLimiter, decodeMetricsRequest, toSamples } from '../otlp/decode.ts';
import { countStoredSamples, createPipeline, createStorage, migrate } from '../pipeline/index.ts';
import { runMorning } from '../simulator/index.ts';
import { InProcessTransport, type OutgoingMessage, type TransportProducer } from '../transport/index.ts';
import { writeResult } from './support/measure.ts';

const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : def;
};
const minutes = arg('minutes', 60);
const start = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate(), 8, 30);

// 1. Capture the messages of the busiest part of a morning (08:30 → +minutes).
const captured: OutgoingMessage[] = [];
const capture: TransportProducer = { connect: async () => {}, disconnect: async () => {}, send: async (_t, ms) => void captured.push(...ms) };
const truth = await runMorning({ seed: 42, capacity: 1, compression: Infinity, start, durationMs: minutes * 60_000 }, { producer: capture });
const bytes = captured.reduce((s, m) => s + m.value.byteLength, 0);

// 2. Baseline: decode + validation only.
const t0 = performance.now();
let decoded = 0;
const limiter = createCardinalityLimiter();
for (const m of captured) decoded += toSamples(decodeMetricsRequest(m.value), { nowMs: start + minutes * 60_000, cardinality: limiter }).samples.length;
const decodeS = (performance.now() - t0) / 1000;

// 3. The pipeline: in-process transport → chDB, committed after each insert.
const dir = mkdtempSync(join(tmpdir(), 'vigie-bench-pipeline-'));
const storage = createStorage({ chdbPath: join(dir, 'chdb'), database: 'vigie' });
await migrate(storage.client, { database: 'vigie' });
const transport = new InProcessTransport();
const producer = transport.producer();
await producer.connect();
for (const m of captured) await producer.send('otlp_metrics', [m]);
const cpu0 = process.cpuUsage();
const t1 = performance.now();
const pipeline = createPipeline({ transport, storage, clock: () => start + minutes * 60_000, log: () => {} });
await pipeline.start();
await transport.drained('vigie-pipeline', 'otlp_metrics', 600_000);
const pipelineS = (performance.now() - t1) / 1000;
const cpu = process.cpuUsage(cpu0);
await pipeline.stop();
const stored = await countStoredSamples(storage.client, { database: 'vigie' });
const rss = process.memoryUsage().rss;
await storage.close();
rmSync(dir, { recursive: true, force: true });

const result = {
  benchmark: 'pipeline: in-process transport → decode/validate → chDB (exactly-once) → commit',
  when: new Date().toISOString(),
  node: process.version,
  input: { simulatedMinutes: minutes, messages: captured.length, bytes, samplesExported: truth.exportedSamples },
  baselineDecodeOnly: { seconds: +decodeS.toFixed(2), samplesPerSecond: Math.round(decoded / decodeS) },
  pipeline: {
    seconds: +pipelineS.toFixed(2),
    samplesStored: stored,
    samplesPerSecond: Math.round(stored / pipelineS),
    cpuSeconds: +((cpu.user + cpu.system) / 1e6).toFixed(2),
    samplesPerCpuSecond: Math.round(stored / ((cpu.user + cpu.system) / 1e6)),
    rssMB: Math.round(rss / 2 ** 20),
  },
  ratioPipelineToDecode: +((stored / pipelineS) / (decoded / decodeS)).toFixed(3),
  lossless: stored === truth.exportedSamples,
  target: 'hold 10,000 samples/s (DESIGN: a 25,000-student university) with a wide margin',
};
writeResult(new URL('./results/pipeline.json', import.meta.url), result);
