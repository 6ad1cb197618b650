/**
 * Pipeline throughput, memory and freshness (issue 11, item 7). The OTLP messages of the
 * busiest hour of a simulated morning (08:30 → 09:30, seed 42) are captured once, then
 * each measurement runs in its own child process (so RSS is its own), `--reps` times, and
 * the JSON reports medians:
 *
 * - `decode`: the decode-only baseline — bytes → validated samples (`decodeSamples`), the
 *   CPU ceiling of the pipeline's own work;
 * - `raw`: a raw chDB insert baseline of the same rows — the exact insert bodies the sink
 *   builds (captured, untimed), inserted into `samples_ingest` (same materialized views,
 *   same dedup settings) in the pipeline's chunks; four paths are timed and the fastest is
 *   the baseline: the typed Arrow columns the sink hands chDB (`columnarInsert`, what the
 *   pipeline uses on chDB), `@clickhouse/client` exec of JSONCompactEachRow (a server's
 *   path), chdb's zero-copy `rawInsert` of that body, and the same rows as TabSeparated;
 * - `inprocess`: the pipeline end to end on the in-process transport (exactly-once path,
 *   committed), RSS peak sampled every 50 ms; each repetition also runs it with Node's
 *   defaults (`inprocess.nodeDefaults`): what `vigie ingest`'s memory settings cost;
 * - `kafka`: the same over the real broker (`VIGIE_KAFKA_BROKERS`, default
 *   127.0.0.1:19092), unique topic and group, messages produced before the clock starts;
 *   timed from the first batch handed to the pipeline (the group join is left out and
 *   reported apart);
 * - `freshness`: over Kafka, messages produced at a paced rate (`--fresh-rate` samples/s,
 *   default 20,000: twice the 10,000/s of a 25,000-student university) with their send
 *   time in a header; latency = insert acknowledged (rows queryable) − sent, per
 *   message; p50/p99;
 * - `series`: RSS peak with `--series` active series (synthetic counters, 5 scrapes) on
 *   the in-process pipeline with its default limits; the RSS of the process after opening
 *   chDB and migrating, before any data, is reported as the floor; run again with Node's
 *   defaults, with `vigie ingest`'s V8 flags but glibc's default malloc arenas, and with
 *   `--heap-growing-percent=20` alone, to show what each lever gives. `VIGIE_BENCH_TRACE=1` prints, per scrape, RSS split
 *   into anonymous and file-backed memory (the chDB library's pages), the V8 heap and its
 *   spaces, the engine's tracked memory and its allocator's (jemalloc) totals; with
 *   `--expose-gc` also the same after a full GC at the end, with the process's mappings
 *   grouped by kind and size.
 *
 * The pipeline's runs (`inprocess`, `kafka`, `freshness`, `series`) start Node as the bin
 * starts `vigie ingest` (`INGEST_V8_FLAGS`, `INGEST_ENV`); the baselines with Node's
 * defaults.
 *
 * Prints JSON and writes bench/results/pipeline.json.
 *   node bench/pipeline.bench.ts [--minutes 60] [--reps 3] [--series 100000] [--fresh-rate 20000] [--no-kafka]
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { getHeapSpaceStatistics } from 'node:v8';
import type { ClickHouseClient } from '@clickhouse/client';
import { INGEST_ENV, INGEST_V8_FLAGS } from '../cli/main.ts';
import type { Sample } from '../core/samples.ts';
import { createCardinalityLimiter, decodeSamples } from '../otlp/decode.ts';
import { createClickHouseSink, type ArrowColumn, type ColumnarInsert } from '../pipeline/clickhouseSink.ts';
import { countStoredSamples, createPipeline, createStorage, migrate, type Storage } from '../pipeline/index.ts';
import { runMorning } from '../simulator/index.ts';
import { InProcessTransport, KafkaTransport, type IncomingBatch, type OutgoingMessage, type Transport, type TransportProducer } from '../transport/index.ts';
import { partitionForKey } from '../transport/inprocess.ts';
import { median, quantile, writeResult } from './support/measure.ts';

const argv = process.argv.slice(2);
const arg = (name: string, def: string): string => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1]! : def;
};
const minutes = Number(arg('minutes', '60'));
const reps = Number(arg('reps', '3'));
const seriesTarget = Number(arg('series', '100000'));
const freshRate = Number(arg('fresh-rate', '20000'));
const withKafka = !argv.includes('--no-kafka');
const mode = arg('mode', 'parent');
const file = arg('file', '');
const brokers = (process.env['VIGIE_KAFKA_BROKERS'] ?? '127.0.0.1:19092').split(',').map((b) => b.trim());
const PARTITIONS = 4;
/** Messages per batch of the in-process transport (its default) and the pipeline's most samples per insert (its default). */
const BATCH_MESSAGES = 1000;
const CHUNK_SAMPLES = 200_000;
/** V8 flag of the third `series` run, alone: the old generation grows by 20 % over its live size after a full GC (V8 picks 10–300 %). */
const HEAP_TIGHT_FLAG = '--heap-growing-percent=20';
const MB = 2 ** 20;

interface Capture {
  readonly start: number;
  readonly exported: number;
  readonly messages: OutgoingMessage[];
}

/** Messages as one file: a JSON header line, then (key length, value length, key, value) records. */
function saveCapture(path: string, c: Capture): void {
  const parts: Buffer[] = [Buffer.from(JSON.stringify({ start: c.start, exported: c.exported }) + '\n')];
  for (const m of c.messages) {
    const k = Buffer.from(m.key ?? '');
    const h = Buffer.alloc(8);
    h.writeUInt32LE(k.length, 0);
    h.writeUInt32LE(m.value.byteLength, 4);
    parts.push(h, k, Buffer.from(m.value));
  }
  writeFileSync(path, Buffer.concat(parts));
}

function loadCapture(path: string): Capture {
  const buf = readFileSync(path);
  const nl = buf.indexOf(10);
  const head = JSON.parse(buf.subarray(0, nl).toString()) as { start: number; exported: number };
  const messages: OutgoingMessage[] = [];
  for (let o = nl + 1; o < buf.length; ) {
    const kl = buf.readUInt32LE(o);
    const vl = buf.readUInt32LE(o + 4);
    o += 8;
    const key = buf.subarray(o, o + kl).toString();
    o += kl;
    messages.push({ key, value: buf.subarray(o, o + vl) });
    o += vl;
  }
  return { ...head, messages };
}

/** RSS sampled every 50 ms until stopped; returns the peak in MB. */
function rssSampler(): () => number {
  let peak = process.memoryUsage().rss;
  const t = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  return () => {
    clearInterval(t);
    return Math.round(Math.max(peak, process.memoryUsage().rss) / MB);
  };
}

/** RSS split into anonymous memory and file-backed pages (mostly the mapped chDB library), from /proc. */
function rssKinds(): string {
  const st = readFileSync('/proc/self/status', 'utf8');
  const kb = (k: string) => Math.round(Number(new RegExp(`^${k}:\\s+(\\d+)`, 'm').exec(st)?.[1] ?? NaN) / 1024);
  return `anon ${kb('RssAnon')} file ${kb('RssFile')}`;
}

/** Trace: the engine allocator's totals (jemalloc's `Allocated: …, resident: …` line), in MB. */
async function jemallocLine(client: ClickHouseClient): Promise<string> {
  const text = await (await client.query({ query: 'SELECT stats FROM system.jemalloc_stats', format: 'TabSeparatedRaw' })).text();
  const line = /Allocated: [^\n]*/.exec(text)?.[0] ?? '';
  return 'jemalloc ' + line.replace(/\d{6,}/g, (n) => `${Math.round(Number(n) / MB)}M`);
}

/** Trace: V8 heap spaces, size/used in MB. */
function spaces(): string {
  return getHeapSpaceStatistics().map((x) => `${x.space_name} ${Math.round(x.space_size / MB)}/${Math.round(x.space_used_size / MB)}`).join(', ');
}

/** Trace: anonymous RSS by mapping kind and size, and thread count. */
function smapsDump(): void {
  const txt = readFileSync('/proc/self/smaps', 'utf8');
  const groups = new Map<string, { n: number; rss: number }>();
  let cur = '';
  for (const line of txt.split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      const size = (parseInt(m[2]!, 16) - parseInt(m[1]!, 16)) / 1024;
      const name = m[3] || 'anon';
      const b = size >= 65536 ? '>=64M' : size >= 8192 ? '8-64M' : size >= 1024 ? '1-8M' : '<1M';
      cur = name.startsWith('/') ? 'file ' + name.split('/').pop() : `${name} ${b}`;
      continue;
    }
    const r = /^Rss:\s+(\d+)/.exec(line);
    if (r) { const g = groups.get(cur) ?? { n: 0, rss: 0 }; g.n++; g.rss += Number(r[1]); groups.set(cur, g); }
  }
  const rows = [...groups].filter(([, g]) => g.rss > 2048).sort((a, b) => b[1].rss - a[1].rss);
  for (const [k, g] of rows) process.stderr.write(`  ${k}: ${g.n} maps, rss ${Math.round(g.rss / 1024)} MB\n`);
  process.stderr.write(`  threads: ${readFileSync('/proc/self/status', 'utf8').match(/^Threads:\s+(\d+)/m)?.[1]}\n`);
}

function tempStorage() {
  const dir = mkdtempSync(join(tmpdir(), 'vigie-bench-pipeline-'));
  const storage = createStorage({ chdbPath: join(dir, 'chdb'), database: 'vigie' });
  return { dir, storage };
}

/** Wraps a transport so the bench sees each batch before the pipeline does. */
function observed(t: Transport, onBatch: (b: IncomingBatch) => void): Transport {
  return new Proxy(t, {
    get(target, prop, recv) {
      if (prop !== 'consumer') return Reflect.get(target, prop, recv) as unknown;
      return (groupId: string) => {
        const c = target.consumer(groupId);
        return new Proxy(c, {
          get(ct, p, r) {
            if (p !== 'run') {
              const v = Reflect.get(ct, p, r) as unknown;
              return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(ct) : v;
            }
            return (topic: string, handler: (b: IncomingBatch) => Promise<void>) =>
              ct.run(topic, (b) => {
                onBatch(b);
                return handler(b);
              });
          },
        });
      };
    },
  });
}

// ---------------------------------------------------------------------------
// Child modes

async function decodeMode(c: Capture): Promise<Record<string, unknown>> {
  const now = c.start + minutes * 60_000;
  const limiter = createCardinalityLimiter();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  let n = 0;
  for (const m of c.messages) n += decodeSamples(m.value, { nowMs: now, cardinality: limiter }).samples.length;
  const s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { samples: n, seconds: +s.toFixed(3), samplesPerSecond: Math.round(n / s), samplesPerCpuSecond: Math.round(n / ((cpu.user + cpu.system) / 1e6)) };
}

/** What the sink hands chDB for one chunk: the JSONCompactEachRow body, and the typed columns with their statement. */
interface CapturedInsert {
  readonly statement: string;
  readonly body: string;
  readonly rows: number;
  readonly columns: ArrowColumn[];
  readonly columnarStatement: (source: string) => string;
}

/**
 * The sink's inserts for the pipeline's chunks (a batch of the in-process transport's
 * default 1,000 messages of one partition, split at the pipeline's 200,000 samples), captured
 * from a fake client (JSON path) and a fake columnar insert (chDB path; buffers copied,
 * since the sink reuses them).
 */
async function sinkBodies(c: Capture): Promise<CapturedInsert[]> {
  const now = c.start + minutes * 60_000;
  const limiter = createCardinalityLimiter();
  const byPartition: OutgoingMessage[][] = Array.from({ length: PARTITIONS }, () => []);
  for (const m of c.messages) byPartition[partitionForKey(m.key ?? '', PARTITIONS)]!.push(m);
  const out: CapturedInsert[] = [];
  let statement = '';
  let body = '';
  const fake = {
    exec: async (q: { query: string; values: AsyncIterable<string> }) => {
      statement = q.query;
      body = '';
      for await (const chunk of q.values) body += chunk;
      return { stream: [] as unknown[] };
    },
    query: async () => ({ json: async () => [] }),
  } as unknown as ClickHouseClient;
  let columns: ArrowColumn[] = [];
  let columnarStatement: (source: string) => string = () => '';
  const captureColumns: ColumnarInsert = async (cols, st) => {
    columns = cols.map((col) => ({ ...col, buffers: col.buffers.map((b) => (b ? Buffer.from(b) : null)) }));
    columnarStatement = st;
  };
  const sink = createClickHouseSink({ client: fake, database: 'vigie' });
  const columnarSink = createClickHouseSink({ client: fake, columnarInsert: captureColumns, database: 'vigie' });
  let offset = 0;
  const chunks: { partition: number; messages: { offset: string; samples: Sample[] }[] }[] = [];
  for (let p = 0; p < PARTITIONS; p++) {
    const msgs = byPartition[p]!;
    for (let i = 0; i < msgs.length; i += BATCH_MESSAGES) {
      let cur: { offset: string; samples: Sample[] }[] = [];
      let n = 0;
      for (const m of msgs.slice(i, i + BATCH_MESSAGES)) {
        const samples = decodeSamples(m.value, { nowMs: now, cardinality: limiter }).samples;
        if (n > 0 && n + samples.length > CHUNK_SAMPLES) {
          chunks.push({ partition: p, messages: cur });
          cur = [];
          n = 0;
        }
        cur.push({ offset: String(offset++), samples });
        n += samples.length;
      }
      if (cur.length > 0) chunks.push({ partition: p, messages: cur });
    }
  }
  for (const [i, { partition: p, messages }] of chunks.entries()) {
    const chunk = { topic: 'otlp_metrics', partition: p, messages };
    const r = await sink.insertIngest(chunk, { dedupToken: `raw:${p}:${i}` });
    if (!statement.includes('samples_ingest')) continue;
    const json = { statement, body };
    await columnarSink.insertIngest(chunk, { dedupToken: `raw:${p}:${i}` });
    out.push({ ...json, rows: r.rows, columns, columnarStatement });
  }
  return out;
}

/** JSONCompactEachRow line → TabSeparated line (strings escaped as TSV wants). */
function tsvLine(json: string): string {
  const row = JSON.parse(json) as unknown[];
  return row.map((v) => (typeof v === 'string' ? v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n') : String(v))).join('\t');
}

async function rawMode(c: Capture): Promise<Record<string, unknown>> {
  const bodies = await sinkBodies(c);
  const rows = bodies.reduce((s, b) => s + b.rows, 0);
  const cols = bodies[0]!.statement.match(/\(([^)]*)\)/)![1]!.split(',').map((x) => x.trim());
  const tsv = bodies.map((b) => Buffer.from(b.body.split('\n').filter((l) => l).map(tsvLine).join('\n') + '\n'));
  const json = bodies.map((b) => Buffer.from(b.body));
  const result: Record<string, unknown> = { rows, inserts: bodies.length };
  const paths: [string, (storage: Storage, i: number) => Promise<void>][] = [
    ['columnarArrow', (storage, i) => storage.columnarInsert!(bodies[i]!.columns, bodies[i]!.columnarStatement)],
    [
      'clientExecJSONCompactEachRow',
      async (storage, i) => {
        const res = await storage.client.exec({ query: bodies[i]!.statement, values: (await import('node:stream')).Readable.from([bodies[i]!.body]) });
        for await (const _ of res.stream) {
          /* drain */
        }
      },
    ],
    ['rawInsertJSONCompactEachRow', (storage, i) => storage.rawInsert!({ table: 'vigie.samples_ingest', columns: cols, format: 'JSONCompactEachRow', values: json[i]!, settings: settings(i) }).then(() => undefined)],
    ['rawInsertTabSeparated', (storage, i) => (storage.rawInsert as unknown as (p: unknown) => Promise<unknown>)({ table: 'vigie.samples_ingest', columns: cols, format: 'TabSeparated', values: tsv[i]!, settings: settings(i) }).then(() => undefined)],
  ];
  function settings(i: number) {
    return { insert_deduplication_token: `raw:${i}`, deduplicate_blocks_in_dependent_materialized_views: 1 };
  }
  for (const [name, insert] of paths) {
    const { dir, storage } = tempStorage();
    const client = storage.client;
    await migrate(client, { database: 'vigie' });
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < bodies.length; i++) await insert(storage, i);
    const s = (performance.now() - t0) / 1000;
    const cpu = process.cpuUsage(cpu0);
    const cpuS = (cpu.user + cpu.system) / 1e6;
    const stored = await countStoredSamples(client, { database: 'vigie' });
    await storage.close();
    rmSync(dir, { recursive: true, force: true });
    result[name] = { seconds: +s.toFixed(3), rowsPerSecond: Math.round(rows / s), cpuSeconds: +cpuS.toFixed(2), rowsPerCpuSecond: Math.round(rows / cpuS), stored };
  }
  return result;
}

async function inprocessMode(c: Capture): Promise<Record<string, unknown>> {
  const now = c.start + minutes * 60_000;
  const { dir, storage } = tempStorage();
  await migrate(storage.client, { database: 'vigie' });
  const transport = new InProcessTransport();
  const producer = transport.producer();
  await producer.connect();
  for (const m of c.messages) await producer.send('otlp_metrics', [m]);
  const rss = rssSampler();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const pipeline = createPipeline({ transport, storage, clock: () => now, log: () => {} });
  await pipeline.start();
  await transport.drained('vigie-pipeline', 'otlp_metrics', 900_000);
  const s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const rssPeakMB = rss();
  await pipeline.stop();
  const stored = await countStoredSamples(storage.client, { database: 'vigie' });
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return { seconds: +s.toFixed(3), samplesStored: stored, samplesPerSecond: Math.round(stored / s), cpuSeconds: +cpuS.toFixed(2), samplesPerCpuSecond: Math.round(stored / cpuS), rssPeakMB, lossless: stored === c.exported };
}

function kafkaTransport(): KafkaTransport {
  return new KafkaTransport({ brokers, clientId: 'vigie-bench-pipeline', onHandlerError: () => undefined });
}

async function produceAll(t: Transport, topic: string, messages: readonly OutgoingMessage[]): Promise<void> {
  const producer = t.producer();
  await producer.connect();
  for (let i = 0; i < messages.length; i += 200) await producer.send(topic, messages.slice(i, i + 200));
  await producer.disconnect();
}

async function kafkaMode(c: Capture): Promise<Record<string, unknown>> {
  const now = c.start + minutes * 60_000;
  const id = `${Date.now().toString(36)}.${process.pid}`;
  const topic = `vigie.bench.pipeline.${id}`;
  const kafka = kafkaTransport();
  await kafka.ensureTopics([
    { name: topic, partitions: PARTITIONS },
    { name: topic + '.dlq', partitions: 1 },
  ]);
  await produceAll(kafka, topic, c.messages);
  const { dir, storage } = tempStorage();
  await migrate(storage.client, { database: 'vigie' });
  let first = 0;
  const transport = observed(kafka, () => void (first ||= performance.now()));
  const rss = rssSampler();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const pipeline = createPipeline({ transport, storage, clock: () => now, log: () => {}, topic, groupId: `vigie.bench.group.${id}` });
  await pipeline.start();
  // Done when the group has committed everything in the topic (a producer retry may have
  // written a message twice: then the topic holds more than the capture, reported below).
  while (!first || !(await pipeline.drained())) await new Promise((r) => setTimeout(r, 100));
  const end = performance.now();
  const cpu = process.cpuUsage(cpu0);
  const produced = pipeline.stats().messages;
  const rssPeakMB = rss();
  await pipeline.stop();
  const stored = await countStoredSamples(storage.client, { database: 'vigie' });
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
  const s = (end - first) / 1000;
  return { seconds: +s.toFixed(3), joinSeconds: +((first - t0) / 1000).toFixed(2), samplesStored: stored, samplesPerSecond: Math.round(stored / s), samplesPerCpuSecond: Math.round(stored / ((cpu.user + cpu.system) / 1e6)), rssPeakMB, messagesInTopic: produced, lossless: stored === c.exported, topic };
}

async function freshnessMode(c: Capture): Promise<Record<string, unknown>> {
  const now = c.start + minutes * 60_000;
  const id = `${Date.now().toString(36)}.${process.pid}`;
  const topic = `vigie.bench.fresh.${id}`;
  const kafka = kafkaTransport();
  await kafka.ensureTopics([
    { name: topic, partitions: PARTITIONS },
    { name: topic + '.dlq', partitions: 1 },
  ]);
  const { dir, storage } = tempStorage();
  await migrate(storage.client, { database: 'vigie' });
  const sentAt = new Map<string, number>();
  const transport = observed(kafka, (b) => {
    for (const m of b.messages) {
      const s = m.headers['vigie-bench-sent'];
      if (s !== undefined) sentAt.set(`${b.partition}/${m.offset}`, Number(s));
    }
  });
  const latencies: number[] = [];
  const pipeline = createPipeline({
    transport,
    storage,
    clock: () => now,
    log: () => {},
    topic,
    groupId: `vigie.bench.fresh.group.${id}`,
    afterInsert: (a) => {
      const at = Date.now();
      for (let o = BigInt(a.firstOffset); o <= BigInt(a.lastOffset); o++) {
        const k = `${a.partition}/${o}`;
        const s = sentAt.get(k);
        if (s !== undefined) {
          latencies.push(at - s);
          sentAt.delete(k);
        }
      }
    },
  });
  await pipeline.start();
  // Wait for the group to own the partitions before the clock of the first message starts.
  while (pipeline.stats().batches === 0) {
    await produceAll(kafka, topic, [c.messages[0]!]);
    await new Promise((r) => setTimeout(r, 200));
  }
  const producer = kafka.producer();
  await producer.connect();
  const perMessage = c.exported / c.messages.length;
  const msgsPerSecond = freshRate / perMessage;
  const t0 = Date.now();
  let sent = 0;
  const n = Math.min(c.messages.length, Math.round(msgsPerSecond * 20));
  while (sent < n) {
    const due = Math.min(n, Math.floor(((Date.now() - t0) / 1000) * msgsPerSecond));
    if (due > sent) {
      const batch = c.messages.slice(sent, due).map((m) => ({ ...m, headers: { 'vigie-bench-sent': String(Date.now()) } }));
      await producer.send(topic, batch);
      sent = due;
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  await producer.disconnect();
  const deadline = Date.now() + 120_000;
  while (latencies.length < n && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  await pipeline.stop();
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
  return {
    offeredSamplesPerSecond: freshRate,
    messages: n,
    measured: latencies.length,
    p50Ms: quantile(latencies, 0.5),
    p99Ms: quantile(latencies, 0.99),
    maxMs: quantile(latencies, 1),
  };
}

async function seriesMode(): Promise<Record<string, unknown>> {
  interface Encodable {
    encode(o: unknown): { finish(): Uint8Array };
  }
  const require = createRequire(import.meta.url);
  const Req = (require('otlp-proto-decoder/build/src/generated/root.js') as { opentelemetry: { proto: { collector: { metrics: { v1: { ExportMetricsServiceRequest: Encodable } } } } } })
    .opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest;
  const { dir, storage } = tempStorage();
  await migrate(storage.client, { database: 'vigie' });
  // What Node and the embedded engine take before any data: the floor under the pipeline's own memory.
  const rssFloorMB = Math.round(process.memoryUsage().rss / MB);
  const transport = new InProcessTransport();
  let now = Date.now() - 60_000;
  const pipeline = createPipeline({ transport, storage, clock: () => now, log: () => {} });
  await pipeline.start();
  const producer = transport.producer();
  await producer.connect();
  const perMessage = 1000;
  const faculties = ['law', 'hec', 'medicine', 'sciences', 'arts', 'engineering', 'psychology', 'economics'];
  const rss = rssSampler();
  const scrapes = 5;
  for (let scrape = 0; scrape < scrapes; scrape++) {
    for (let first = 0; first < seriesTarget; first += perMessage) {
      const host = `web-${first / perMessage}`;
      const points: { timeUnixNano: number; asDouble: number; attributes: { key: string; value: { stringValue: string } }[] }[] = [];
      for (let i = first; i < Math.min(seriesTarget, first + perMessage); i++) {
        points.push({
          timeUnixNano: now * 1e6,
          asDouble: scrape * 10 + (i % 7),
          attributes: [
            { key: 'faculty', value: { stringValue: faculties[i % faculties.length]! } },
            { key: 'exam_id', value: { stringValue: `exam-${i % 5000}` } },
            { key: 'session', value: { stringValue: `s-${i}` } },
          ],
        });
      }
      const value = Req.encode({
        resourceMetrics: [
          {
            resource: { attributes: [{ key: 'service.name', value: { stringValue: 'ecampus' } }, { key: 'host.name', value: { stringValue: host } }] },
            // Four counter families of 25,000 series each: under the 50,000-per-metric limit.
            scopeMetrics: [{ scope: { name: 'bench' }, metrics: [0, 1, 2, 3].map((k) => ({ name: `ecampus.bench.series${k}`, sum: { aggregationTemporality: 2, isMonotonic: true, dataPoints: points.filter((_, j) => j % 4 === k) } })) }],
          },
        ],
      }).finish();
      await producer.send('otlp_metrics', [{ key: `ecampus/${host}`, value }]);
    }
    await transport.drained('vigie-pipeline', 'otlp_metrics', 900_000);
    if (process.env['VIGIE_BENCH_TRACE']) { const u = process.memoryUsage(); process.stderr.write(`scrape ${scrape}: rss ${Math.round(u.rss / MB)} (${rssKinds()}) heapTotal ${Math.round(u.heapTotal / MB)} heapUsed ${Math.round(u.heapUsed / MB)} external ${Math.round(u.external / MB)} chdb ${await (await storage.client.query({ query: "SELECT formatReadableSize(value) FROM system.metrics WHERE metric = 'MemoryTracking'", format: 'TabSeparated' })).text()} ${await jemallocLine(storage.client)}\n ${spaces()}\n`); }
    now += 10_000;
  }
  const rssPeakMB = rss();
  const heapMB = Math.round(process.memoryUsage().heapUsed / MB);
  const g = (globalThis as { gc?: () => void }).gc;
  if (process.env['VIGIE_BENCH_TRACE'] && g) { g(); g(); const u = process.memoryUsage(); process.stderr.write(`after gc: rss ${Math.round(u.rss / MB)} (${rssKinds()}) heapTotal ${Math.round(u.heapTotal / MB)} heapUsed ${Math.round(u.heapUsed / MB)} external ${Math.round(u.external / MB)} arrayBuffers ${Math.round(u.arrayBuffers / MB)}\n`); smapsDump(); process.stderr.write(spaces() + '\n' + await jemallocLine(storage.client) + '\n'); }
  if (process.env['VIGIE_BENCH_HEAPSNAP']) (await import('node:v8')).writeHeapSnapshot(process.env['VIGIE_BENCH_HEAPSNAP']);
  const st = pipeline.stats();
  await pipeline.stop();
  await storage.close();
  rmSync(dir, { recursive: true, force: true });
  return { activeSeries: seriesTarget, scrapes, samplesStored: st.samplesStored, lossless: st.samplesStored === seriesTarget * scrapes, rssFloorMB, rssPeakMB, heapUsedMBAtEnd: heapMB };
}

// ---------------------------------------------------------------------------
// Parent

/** `K=V K2=V2`, for the JSON. */
const envText = (env: Readonly<Record<string, string>>): string => Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ');

/** Runs one mode in a child process; a pipeline mode as `vigie ingest` runs (`ingest`: its V8 flags and environment), else with Node's defaults. */
function runChild(m: string, extra: readonly string[] = [], nodeFlags: readonly string[] = [], env: Readonly<Record<string, string>> = {}): Record<string, unknown> {
  const out = execFileSync(process.execPath, [...nodeFlags, fileURLToPath(import.meta.url), '--mode', m, '--file', file || capturePath, '--minutes', String(minutes), '--series', String(seriesTarget), '--fresh-rate', String(freshRate), ...extra], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
    maxBuffer: 64 * MB,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = out.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as Record<string, unknown>;
}

let capturePath = '';
if (mode !== 'parent') {
  const c = mode === 'series' ? null : loadCapture(file);
  const r =
    mode === 'decode' ? await decodeMode(c!) : mode === 'raw' ? await rawMode(c!) : mode === 'inprocess' ? await inprocessMode(c!) : mode === 'kafka' ? await kafkaMode(c!) : mode === 'freshness' ? await freshnessMode(c!) : await seriesMode();
  process.stdout.write(JSON.stringify(r) + '\n');
  process.exit(0);
}

const work = mkdtempSync(join(tmpdir(), 'vigie-bench-capture-'));
capturePath = join(work, 'messages.bin');
const start = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate(), 8, 30);
const captured: OutgoingMessage[] = [];
const capture: TransportProducer = { connect: async () => {}, disconnect: async () => {}, send: async (_t, ms) => void captured.push(...ms) };
const truth = await runMorning({ seed: 42, capacity: 1, compression: Infinity, start, durationMs: minutes * 60_000 }, { producer: capture });
saveCapture(capturePath, { start, exported: truth.exportedSamples, messages: captured });
const bytes = captured.reduce((s, m) => s + m.value.byteLength, 0);

const runs: Record<string, Record<string, unknown>[]> = { decode: [], raw: [], inprocess: [], inprocessNodeDefaults: [], kafka: [] };
for (let r = 0; r < reps; r++) {
  for (const m of ['decode', 'raw', 'inprocess', 'inprocessNodeDefaults', ...(withKafka ? ['kafka'] : [])]) {
    if (m === 'inprocessNodeDefaults') {
      // What `vigie ingest`'s V8 flags and malloc arenas cost: the same run with Node's defaults.
      const res = runChild('inprocess');
      runs[m]!.push(res);
      process.stderr.write(`rep ${r + 1}/${reps} ${m}: ${JSON.stringify(res)}\n`);
      continue;
    }
    // The pipeline as `vigie ingest` runs it (with the V8 flags the bin starts it with); the baselines with V8's defaults.
    const res = m === 'inprocess' || m === 'kafka' ? runChild(m, [], INGEST_V8_FLAGS, INGEST_ENV) : runChild(m);
    runs[m]!.push(res);
    process.stderr.write(`rep ${r + 1}/${reps} ${m}: ${JSON.stringify(res)}\n`);
  }
}
const freshness = withKafka ? runChild('freshness', [], INGEST_V8_FLAGS, INGEST_ENV) : null;
// RSS at --series active series as `vigie ingest` runs (the bin starts it with INGEST_V8_FLAGS
// and INGEST_ENV), then per lever: Node's defaults, the V8 flags without the malloc arena limit,
// and the old generation's growth alone.
const ingestSetup = { nodeFlags: INGEST_V8_FLAGS.join(' '), env: envText(INGEST_ENV) };
const series: Record<string, unknown> = { ...ingestSetup, ...runChild('series', [], INGEST_V8_FLAGS, INGEST_ENV) };
const seriesDefaults = { nodeFlags: '', env: '', ...runChild('series') };
const seriesV8FlagsOnly = { nodeFlags: INGEST_V8_FLAGS.join(' '), env: '', ...runChild('series', [], INGEST_V8_FLAGS) };
const seriesTight = { nodeFlags: HEAP_TIGHT_FLAG, env: '', ...runChild('series', [], [HEAP_TIGHT_FLAG]) };
rmSync(work, { recursive: true, force: true });

const med = (xs: Record<string, unknown>[], f: (x: Record<string, unknown>) => number) => median(xs.map(f))!;
const rate = (x: Record<string, unknown>) => Number(x['samplesPerSecond']);
const rawPaths = ['columnarArrow', 'clientExecJSONCompactEachRow', 'rawInsertJSONCompactEachRow', 'rawInsertTabSeparated'];
const rawMedians = Object.fromEntries(rawPaths.map((p) => [p, Math.round(med(runs['raw']!, (x) => Number((x[p] as Record<string, unknown>)['rowsPerSecond'])))]));
const rawBest = Math.max(...Object.values(rawMedians));
const rawCpuMedians = Object.fromEntries(rawPaths.map((p) => [p, Math.round(med(runs['raw']!, (x) => Number((x[p] as Record<string, unknown>)['rowsPerCpuSecond'])))]));
const rawCpuBest = Math.max(...Object.values(rawCpuMedians));
const perCpu = (k: string) => Math.round(med(runs[k]!, (x) => Number(x['samplesPerCpuSecond'])));
const decodeRate = Math.round(med(runs['decode']!, rate));
const inRate = Math.round(med(runs['inprocess']!, rate));
const kafkaRate = withKafka ? Math.round(med(runs['kafka']!, rate)) : null;
const worst = kafkaRate === null ? inRate : Math.min(inRate, kafkaRate);
const ratio = (a: number, b: number) => +(a / b).toFixed(3);
const p99 = freshness ? Number(freshness['p99Ms']) : null;
const seriesRss = Number(series['rssPeakMB']);

const result = {
  benchmark: 'pipeline: OTLP bytes → decode/validate → chDB (exactly-once) → commit; in-process and Kafka',
  when: new Date().toISOString(),
  node: process.version,
  machine: 'shared 2-core machine, other engineers running concurrently: compare ratios, not absolute rates',
  repetitions: reps,
  input: { simulatedMinutes: minutes, messages: captured.length, bytes, samplesExported: truth.exportedSamples },
  baselineDecodeOnly: { samplesPerSecond: decodeRate, samplesPerCpuSecond: perCpu('decode') },
  baselineRawChdbInsert: { rowsPerSecond: rawBest, byPath: rawMedians, rowsPerCpuSecond: rawCpuBest, byPathPerCpuSecond: rawCpuMedians, inserts: runs['raw']![0]!['inserts'], note: 'same rows and chunks as the pipeline, into samples_ingest with its materialized views; fastest path is the baseline' },
  inprocess: {
    ...ingestSetup,
    samplesPerSecond: inRate,
    seconds: med(runs['inprocess']!, (x) => Number(x['seconds'])),
    samplesPerCpuSecond: Math.round(med(runs['inprocess']!, (x) => Number(x['samplesPerCpuSecond']))),
    rssPeakMB: Math.round(med(runs['inprocess']!, (x) => Number(x['rssPeakMB']))),
    lossless: runs['inprocess']!.every((x) => x['lossless'] === true),
    // The same runs with Node's defaults (no V8 flags, glibc's default arenas), alternated with the above.
    nodeDefaults: {
      samplesPerSecond: Math.round(med(runs['inprocessNodeDefaults']!, rate)),
      samplesPerCpuSecond: perCpu('inprocessNodeDefaults'),
      rssPeakMB: Math.round(med(runs['inprocessNodeDefaults']!, (x) => Number(x['rssPeakMB']))),
    },
    perCpuSecondToNodeDefaults: ratio(perCpu('inprocess'), perCpu('inprocessNodeDefaults')),
  },
  kafka: withKafka
    ? {
        ...ingestSetup,
        samplesPerSecond: kafkaRate,
        seconds: med(runs['kafka']!, (x) => Number(x['seconds'])),
        samplesPerCpuSecond: perCpu('kafka'),
        groupJoinSeconds: med(runs['kafka']!, (x) => Number(x['joinSeconds'])),
        rssPeakMB: Math.round(med(runs['kafka']!, (x) => Number(x['rssPeakMB']))),
        lossless: runs['kafka']!.every((x) => x['lossless'] === true),
      }
    : 'skipped (--no-kafka)',
  ratios: {
    inprocessToDecode: ratio(inRate, decodeRate),
    inprocessToRawInsert: ratio(inRate, rawBest),
    ...(kafkaRate !== null ? { kafkaToDecode: ratio(kafkaRate, decodeRate), kafkaToRawInsert: ratio(kafkaRate, rawBest) } : {}),
    // The same per CPU-second of the process (all its threads): steadier on a shared machine.
    perCpuSecond: {
      inprocessToDecode: ratio(perCpu('inprocess'), perCpu('decode')),
      inprocessToRawInsert: ratio(perCpu('inprocess'), rawCpuBest),
      ...(withKafka ? { kafkaToRawInsert: ratio(perCpu('kafka'), rawCpuBest) } : {}),
    },
  },
  freshness,
  memoryAtActiveSeries: series,
  memoryAtActiveSeriesNodeDefaults: seriesDefaults,
  memoryAtActiveSeriesV8FlagsOnly: seriesV8FlagsOnly,
  memoryAtActiveSeriesHeapTightOnly: seriesTight,
  runs,
  targets: {
    'end to end >= 200,000 samples/s (in-process and Kafka)': { met: worst >= 200_000, worst },
    '>= 0.5 of decode-only': { met: worst / decodeRate >= 0.5, ratio: ratio(worst, decodeRate) },
    '>= 0.5 of raw chDB insert': { met: worst / rawBest >= 0.5, ratio: ratio(worst, rawBest) },
    'RSS < 512 MB at 100,000 active series': { met: seriesRss < 512 && seriesTarget >= 100_000, rssPeakMB: seriesRss },
    'freshness p99 < 5 s': p99 === null ? { met: null, note: 'not measured (--no-kafka)' } : { met: p99 < 5000, p99Ms: p99 },
  },
};
writeResult(new URL('./results/pipeline.json', import.meta.url), result);
