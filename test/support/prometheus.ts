/**
 * A private Prometheus (Debian's 2.42 binary) for differential tests and the detection
 * benchmark: its own process on a free 127.0.0.1 port with the remote-write receiver
 * on, config and TSDB in a temp directory; plus a remote-write client (protobuf
 * `prometheus.WriteRequest`, snappy block format) and instant/range query helpers.
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import protobuf from 'protobufjs';
import { startDaemon } from './daemon.ts';

/** Path of the Debian package's binary. */
export const PROMETHEUS_BIN = process.env['VIGIE_PROMETHEUS_BIN'] ?? '/usr/bin/prometheus';

/**
 * Path of the Prometheus 3 binary built from the Go module by `scripts/prometheus3.sh`
 * (env `VIGIE_PROMETHEUS3_BIN`, else the script's cache location).
 */
export const PROMETHEUS3_BIN =
  process.env['VIGIE_PROMETHEUS3_BIN'] ??
  join(process.env['VIGIE_CACHE'] ?? join(homedir(), '.cache', 'vigie'), `prometheus-${process.env['VIGIE_PROMETHEUS3_VERSION'] ?? 'v0.316.0'}`, 'bin', 'prometheus');

/** Options of {@link startPrometheus}. */
export interface PrometheusOptions {
  /** The server binary (default {@link PROMETHEUS_BIN}, Debian's 2.42). */
  readonly bin?: string;
  /** `global.evaluation_interval` (default 15s); rules run on the wall clock, so most callers query instead. */
  readonly evaluationInterval?: string;
  /** `--query.lookback-delta` (default 5m, as Prometheus and Vigie). */
  readonly lookbackDelta?: string;
  /** Rule files (contents) to load. */
  readonly ruleFiles?: readonly string[];
  /** `storage.tsdb.out_of_order_time_window` (default 0: in-order only, like a stock server). */
  readonly outOfOrderWindow?: string;
}

/** One series to remote-write: labels (with `__name__`) and time-ordered samples. */
export interface RemoteWriteSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly samples: readonly { readonly timestampMs: number; readonly value: number }[];
}

/** One element of a query result: labels (with `__name__` when kept) and value(s). */
export interface PromVectorSample {
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** A query result: a vector (possibly empty) or a scalar. */
export type PromInstantResult = { readonly kind: 'vector'; readonly samples: PromVectorSample[] } | { readonly kind: 'scalar'; readonly value: number };

/** A range-query series. */
export interface PromMatrixSeries {
  readonly labels: Record<string, string>;
  readonly points: { readonly timestampMs: number; readonly value: number }[];
}

/** A running private Prometheus. */
export interface RunningPrometheus {
  /** Base URL, e.g. `http://127.0.0.1:41234`. */
  readonly url: string;
  /** Everything the process printed so far (for failure messages). */
  output(): string;
  /** POSTs one remote-write request (split in bodies of ≤ `maxSamplesPerRequest` samples). */
  write(series: readonly RemoteWriteSeries[], maxSamplesPerRequest?: number): Promise<void>;
  /** `GET /api/v1/query` at `timeMs`. */
  query(expr: string, timeMs: number): Promise<PromInstantResult>;
  /** `GET /api/v1/query_range` over [startMs, endMs] every stepMs. */
  queryRange(expr: string, startMs: number, endMs: number, stepMs: number): Promise<PromMatrixSeries[]>;
  stop(): Promise<void>;
}

// ---------------------------------------------------------------------------------
// Remote-write encoding

/** prometheus.WriteRequest and friends (prompb/types.proto, remote.proto), built by reflection. */
const WriteRequest = (() => {
  const { Field, Root, Type } = protobuf;
  const label = new Type('Label').add(new Field('name', 1, 'string')).add(new Field('value', 2, 'string'));
  const sample = new Type('Sample').add(new Field('value', 1, 'double')).add(new Field('timestamp', 2, 'int64'));
  const ts = new Type('TimeSeries').add(new Field('labels', 1, 'Label', 'repeated')).add(new Field('samples', 2, 'Sample', 'repeated'));
  const wr = new Type('WriteRequest').add(new Field('timeseries', 1, 'TimeSeries', 'repeated'));
  new Root().define('prometheus').add(label).add(sample).add(ts).add(wr);
  wr.resolveAll();
  return wr;
})();

/**
 * Snappy block format with literals only: a valid snappy stream that any decoder
 * accepts, uncompressed. Remote write needs the framing, not the compression, and
 * this keeps the test free of a native or extra dependency.
 */
export function snappyLiteralBlock(data: Uint8Array): Uint8Array {
  const out: number[] = [];
  let n = data.length;
  do {
    let b = n & 0x7f;
    n = Math.floor(n / 128);
    if (n > 0) b |= 0x80;
    out.push(b);
  } while (n > 0);
  const chunks: Uint8Array[] = [Uint8Array.from(out)];
  const MAX = 65_536;
  for (let off = 0; off < data.length; off += MAX) {
    const len = Math.min(MAX, data.length - off);
    const l = len - 1;
    // Tag byte: element type 00 (literal); lengths ≥ 61 use 1–2 extra little-endian bytes.
    const head = l < 60 ? [l << 2] : l < 256 ? [60 << 2, l] : [61 << 2, l & 0xff, l >>> 8];
    chunks.push(Uint8Array.from(head), data.subarray(off, off + len));
  }
  return Buffer.concat(chunks);
}

/** Encodes series as a snappy-framed remote-write body; labels sorted by name as Prometheus requires. */
export function encodeWriteRequest(series: readonly RemoteWriteSeries[]): Uint8Array {
  const msg = WriteRequest.fromObject({
    timeseries: series.map((s) => ({
      labels: Object.keys(s.labels)
        .sort()
        .map((name) => ({ name, value: s.labels[name]! })),
      samples: s.samples.map((p) => ({ value: p.value, timestamp: p.timestampMs })),
    })),
  });
  return snappyLiteralBlock(WriteRequest.encode(msg).finish());
}

// ---------------------------------------------------------------------------------
// Process


/** Prometheus prints floats as strings: "NaN", "+Inf", "-Inf" or Go's shortest decimal. */
function promFloat(s: unknown): number {
  if (s === 'NaN') return NaN;
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

interface ApiResponse {
  status: string;
  error?: string;
  data?: { resultType: string; result: unknown };
}

async function api(url: string): Promise<{ resultType: string; result: unknown }> {
  const res = await fetch(url);
  const body = (await res.json()) as ApiResponse;
  if (body.status !== 'success' || !body.data) throw new Error(`Prometheus ${url}: ${res.status} ${body.error ?? JSON.stringify(body).slice(0, 300)}`);
  return body.data;
}

/** Starts Prometheus and waits (≤ 20 s) for `GET /-/ready`. */
export async function startPrometheus(opts: PrometheusOptions = {}): Promise<RunningPrometheus> {
  const dir = await mkdtemp(join(tmpdir(), 'vigie-prom-'));
  const rules = opts.ruleFiles ?? [];
  await Promise.all(rules.map((text, i) => writeFile(join(dir, `rules-${i}.yml`), text)));
  const config = [
    'global:',
    `  evaluation_interval: ${opts.evaluationInterval ?? '15s'}`,
    '  scrape_interval: 15s',
    ...(rules.length ? ['rule_files:', ...rules.map((_, i) => `  - rules-${i}.yml`)] : []),
    ...(opts.outOfOrderWindow ? ['storage:', '  tsdb:', `    out_of_order_time_window: ${opts.outOfOrderWindow}`] : []),
    'scrape_configs: []',
    '',
  ].join('\n');
  await writeFile(join(dir, 'prometheus.yml'), config);

  const daemon = await startDaemon({
    name: 'Prometheus',
    bin: opts.bin ?? PROMETHEUS_BIN,
    dir,
    readyTimeoutMs: 20_000,
    args: (port) => [
      `--config.file=${join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--web.enable-remote-write-receiver',
      `--query.lookback-delta=${opts.lookbackDelta ?? '5m'}`,
      '--log.level=warn',
    ],
  });
  const url = daemon.url;
  return {
    ...daemon,
    async write(series, maxSamplesPerRequest = 50_000) {
      // Split on series boundaries (a series' samples stay in order within one body).
      let batch: RemoteWriteSeries[] = [];
      let n = 0;
      const flush = async () => {
        if (!batch.length) return;
        const body = encodeWriteRequest(batch);
        batch = [];
        n = 0;
        const res = await fetch(`${url}/api/v1/write`, {
          method: 'POST',
          headers: {
            'Content-Encoding': 'snappy',
            'Content-Type': 'application/x-protobuf',
            'X-Prometheus-Remote-Write-Version': '0.1.0',
          },
          body,
        });
        if (!res.ok) throw new Error(`remote write to ${url}: ${res.status} ${await res.text()}`);
      };
      for (const s of series) {
        batch.push(s);
        n += s.samples.length;
        if (n >= maxSamplesPerRequest) await flush();
      }
      await flush();
    },
    async query(expr, timeMs) {
      const data = await api(`${url}/api/v1/query?query=${encodeURIComponent(expr)}&time=${timeMs / 1000}`);
      if (data.resultType === 'scalar') return { kind: 'scalar', value: promFloat((data.result as [number, string])[1]) };
      if (data.resultType !== 'vector') throw new Error(`${expr}: unexpected result type ${data.resultType}`);
      const rows = data.result as { metric: Record<string, string>; value: [number, string] }[];
      return { kind: 'vector', samples: rows.map((r) => ({ labels: r.metric, value: promFloat(r.value[1]) })) };
    },
    async queryRange(expr, startMs, endMs, stepMs) {
      const data = await api(
        `${url}/api/v1/query_range?query=${encodeURIComponent(expr)}&start=${startMs / 1000}&end=${endMs / 1000}&step=${stepMs / 1000}`,
      );
      const rows = data.result as { metric: Record<string, string>; values: [number, string][] }[];
      return rows.map((r) => ({
        labels: r.metric,
        points: r.values.map(([t, v]) => ({ timestampMs: Math.round(t * 1000), value: promFloat(v) })),
      }));
    },
  };
}
