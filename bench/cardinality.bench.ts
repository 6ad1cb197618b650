/**
 * Cardinality attack: 200,000 label values of one metric, then 200,000 metric names,
 * through the real pipeline (in-process transport → decode → chDB). Measures RSS after
 * the attack and whether legitimate series that arrive afterwards (30 min later in data
 * time) are accepted. Baseline in the same run: the same attack on a pipeline whose
 * limits are effectively off (each mode in its own child process, so RSS is its own).
 * Prints JSON and writes bench/results/cardinality.json.
 *   node bench/cardinality.bench.ts [--names 200000] [--values 200000]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createPipeline, createStorage, migrate } from '../pipeline/index.ts';
import { InProcessTransport, type OutgoingMessage } from '../transport/index.ts';
import { writeResult } from './support/measure.ts';

const arg = (name: string, def: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1]! : def;
};
const names = Number(arg('names', '200000'));
const values = Number(arg('values', '200000'));
const mode = arg('mode', 'parent');

interface Encodable {
  encode(o: unknown): { finish(): Uint8Array };
}
const require = createRequire(import.meta.url);
const Req = (require('otlp-proto-decoder/build/src/generated/root.js') as { opentelemetry: { proto: { collector: { metrics: { v1: { ExportMetricsServiceRequest: Encodable } } } } } })
  .opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;

/** One OTLP message of gauge points: `points` is [metric name, attributes] pairs. */
function message(points: readonly (readonly [string, Record<string, string>])[], atMs: number): OutgoingMessage {
  const byName = new Map<string, Record<string, string>[]>();
  for (const [n, a] of points) byName.set(n, [...(byName.get(n) ?? []), a]);
  const metrics = [...byName].map(([name, attrs]) => ({
    name,
    gauge: { dataPoints: attrs.map((a) => ({ timeUnixNano: atMs * 1e6, asDouble: 1, attributes: Object.entries(a).map(([key, v]) => ({ key, value: { stringValue: v } })) })) },
  }));
  const value = Req.encode({ resourceMetrics: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'ecampus' } }] }, scopeMetrics: [{ scope: { name: 'bench' }, metrics }] }] }).finish();
  return { key: 'ecampus/bomb', value };
}

async function child(bounded: boolean): Promise<Record<string, unknown>> {
  const dir = mkdtempSync(join(tmpdir(), 'vigie-bench-cardinality-'));
  const storage = createStorage({ chdbPath: join(dir, 'chdb'), database: 'vigie' });
  await migrate(storage.client, { database: 'vigie' });
  const transport = new InProcessTransport();
  let now = Date.now();
  const limits = bounded ? {} : { maxMetricNames: 1e9, maxSeries: 1e9, maxSeriesPerMetric: 1e9 };
  const pipeline = createPipeline({ transport, storage, clock: () => now, log: () => {}, validation: limits, maxCounterSeries: 1e9 });
  await pipeline.start();
  const producer = transport.producer();
  await producer.connect();
  const send = async (pts: (readonly [string, Record<string, string>])[]) => {
    for (let i = 0; i < pts.length; i += 1000) await producer.send('otlp_metrics', [message(pts.slice(i, i + 1000), now)]);
    await transport.drained('vigie-pipeline', 'otlp_metrics', 1_800_000);
  };
  const faculties = ['law', 'medicine', 'hec', 'sciences', 'arts'];
  await send(faculties.map((f) => ['ecampus_sessions_active', { faculty: f }] as const));
  const rssBefore = process.memoryUsage().rss;
  const t0 = performance.now();
  await send(Array.from({ length: values }, (_, i) => ['http_server_active_requests', { session_id: `s-${i}` }] as const));
  await send(Array.from({ length: names }, (_, i) => [`bomb_metric_${i}`, { faculty: 'law' }] as const));
  const attackS = (performance.now() - t0) / 1000;
  (globalThis as { gc?: () => void }).gc?.();
  const rssAfter = process.memoryUsage().rss;
  // 31 min later (data time): legitimate new series of the bombed metric and a new name.
  now += 31 * 60_000;
  const before = pipeline.stats().samplesStored;
  await send([
    ['http_server_active_requests', { faculty: 'law' }],
    ['ecampus_logins', { faculty: 'law' }],
    ...faculties.map((f) => ['ecampus_sessions_active', { faculty: f }] as const),
  ]);
  const legitAccepted = pipeline.stats().samplesStored - before;
  const s = pipeline.stats();
  await pipeline.stop();
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
  return { bounded, rssBeforeMB: Math.round(rssBefore / 2 ** 20), rssAfterMB: Math.round(rssAfter / 2 ** 20), attackSeconds: +attackS.toFixed(1), samplesStored: s.samplesStored, rejected: s.rejected, legitimateAcceptedAfter: `${legitAccepted}/7` };
}

if (mode !== 'parent') {
  process.stdout.write(JSON.stringify(await child(mode === 'bounded')) + '\n');
} else {
  const self = fileURLToPath(import.meta.url);
  const runMode = (m: string) =>
    JSON.parse(execFileSync(process.execPath, ['--expose-gc', self, '--mode', m, '--names', String(names), '--values', String(values)], { encoding: 'utf8', maxBuffer: 1 << 24 }).trim().split('\n').pop()!) as Record<string, unknown>;
  const bounded = runMode('bounded');
  const unbounded = runMode('unbounded');
  const result = {
    benchmark: 'cardinality attack: metric names and label values through the pipeline (in-process → chDB)',
    when: new Date().toISOString(),
    node: process.version,
    attack: { metricNames: names, labelValues: values },
    bounded,
    baselineLimitsOff: unbounded,
    rssRatioBoundedToBaseline: +((bounded['rssAfterMB'] as number) / (unbounded['rssAfterMB'] as number)).toFixed(2),
    target: 'RSS bounded by the limits; legitimate series accepted after the attack without a restart',
  };
  writeResult(new URL('./results/cardinality.json', import.meta.url), result);
}
