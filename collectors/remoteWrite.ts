/**
 * Prometheus remote write 1.0 in: a snappy (block format) compressed protobuf
 * `prometheus.WriteRequest` → Prometheus samples → OTLP point batches, one per
 * `job`/`instance` (which become `service.name`/`host.name`, and come back as
 * `job`/`instance` labels when the pipeline stores them). Names are kept verbatim:
 * `*_total` series travel as monotonic sums (the pipeline keeps a name that already
 * ends in `_total`); in a file import, the `_bucket{le}`/`_sum`/`_count` series of a
 * classic histogram travel as one OTLP histogram (the pipeline stores it under the same
 * three names, with counter semantics: resets, per-minute increases); everything else as
 * gauges, so a rule written for the forwarding Prometheus reads the same series in Vigie. The snappy and protobuf decoders are the
 * few dozen lines the format needs, so no native or extra package is involved.
 */
import type { HistogramPoint, MetricPoints, NumberPoint, PointBatch } from './pointBatch.ts';

/** One Prometheus sample with its series labels (`__name__` included). */
export interface PromSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
  readonly timestampMs: number;
}

/** Decompresses a snappy block-format buffer (not the framed stream format). */
export function snappyDecompress(src: Uint8Array, maxLength = 64 * 1024 * 1024): Uint8Array {
  let pos = 0;
  let len = 0;
  let shift = 0;
  for (;;) {
    if (pos >= src.length) throw new Error('snappy: truncated length header');
    const b = src[pos++]!;
    len += (b & 0x7f) * 2 ** shift;
    if (b < 0x80) break;
    shift += 7;
    if (shift > 35) throw new Error('snappy: length header too long');
  }
  if (len > maxLength) throw new Error(`snappy: uncompressed length ${len} exceeds the limit of ${maxLength} bytes`);
  const out = new Uint8Array(len);
  let o = 0;
  while (pos < src.length) {
    const tag = src[pos++]!;
    const kind = tag & 3;
    if (kind === 0) {
      let n = tag >>> 2;
      if (n >= 60) {
        const extra = n - 59;
        if (pos + extra > src.length) throw new Error('snappy: truncated literal length');
        n = 0;
        for (let i = 0; i < extra; i++) n += src[pos + i]! * 256 ** i;
        pos += extra;
      }
      n += 1;
      if (pos + n > src.length || o + n > len) throw new Error('snappy: literal runs past the end');
      out.set(src.subarray(pos, pos + n), o);
      pos += n;
      o += n;
      continue;
    }
    let n: number;
    let offset: number;
    if (kind === 1) {
      n = ((tag >>> 2) & 7) + 4;
      if (pos >= src.length) throw new Error('snappy: truncated copy');
      offset = ((tag >>> 5) << 8) | src[pos++]!;
    } else if (kind === 2) {
      n = (tag >>> 2) + 1;
      if (pos + 2 > src.length) throw new Error('snappy: truncated copy');
      offset = src[pos]! | (src[pos + 1]! << 8);
      pos += 2;
    } else {
      n = (tag >>> 2) + 1;
      if (pos + 4 > src.length) throw new Error('snappy: truncated copy');
      offset = (src[pos]! | (src[pos + 1]! << 8) | (src[pos + 2]! << 16)) + src[pos + 3]! * 2 ** 24;
      pos += 4;
    }
    if (offset === 0 || offset > o || o + n > len) throw new Error(`snappy: bad copy (offset ${offset} at ${o}, length ${n})`);
    // Byte by byte: copies may overlap their own output (run-length).
    for (let i = 0; i < n; i++, o++) out[o] = out[o - offset]!;
  }
  if (o !== len) throw new Error(`snappy: produced ${o} bytes, header said ${len}`);
  return out;
}

/** Minimal protobuf reader for the three messages remote write uses. */
class Reader {
  pos = 0;
  readonly buf: Uint8Array;
  readonly end: number;
  constructor(buf: Uint8Array, start = 0, end = buf.length) {
    this.buf = buf;
    this.pos = start;
    this.end = end;
  }
  varint(): number {
    let v = 0;
    let mul = 1;
    for (;;) {
      if (this.pos >= this.end) throw new Error('protobuf: truncated varint');
      const b = this.buf[this.pos++]!;
      v += (b & 0x7f) * mul;
      if (b < 0x80) return v;
      mul *= 128;
      if (mul > 2 ** 63) throw new Error('protobuf: varint too long');
    }
  }
  /** Signed int64 varint (two's complement) as a JS number. */
  int64(): number {
    let lo = 0n;
    let shift = 0n;
    for (;;) {
      if (this.pos >= this.end) throw new Error('protobuf: truncated varint');
      const b = this.buf[this.pos++]!;
      lo |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) break;
      shift += 7n;
    }
    return Number(BigInt.asIntN(64, lo));
  }
  bytes(): [number, number] {
    const n = this.varint();
    if (this.pos + n > this.end) throw new Error('protobuf: field runs past the end');
    const s = this.pos;
    this.pos += n;
    return [s, this.pos];
  }
  skip(wire: number): void {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.bytes();
    else if (wire === 5) this.pos += 4;
    else throw new Error(`protobuf: unsupported wire type ${wire}`);
    if (this.pos > this.end) throw new Error('protobuf: field runs past the end');
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Decodes a remote-write body (snappy + `prometheus.WriteRequest`) into samples.
 * Metadata and exemplars are skipped. Throws naming what is wrong.
 */
export function decodeRemoteWrite(body: Uint8Array, maxLength?: number): PromSample[] {
  const raw = snappyDecompress(body, maxLength);
  const out: PromSample[] = [];
  const r = new Reader(raw);
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  while (r.pos < r.end) {
    const tag = r.varint();
    if (tag >>> 3 !== 1 || (tag & 7) !== 2) {
      r.skip(tag & 7);
      continue;
    }
    const [ts0, ts1] = r.bytes();
    const t = new Reader(raw, ts0, ts1);
    const labels: Record<string, string> = {};
    const samples: { value: number; timestampMs: number }[] = [];
    while (t.pos < t.end) {
      const tt = t.varint();
      const field = tt >>> 3;
      if ((field === 1 || field === 2) && (tt & 7) === 2) {
        const [a, b] = t.bytes();
        const m = new Reader(raw, a, b);
        if (field === 1) {
          let name = '';
          let value = '';
          while (m.pos < m.end) {
            const mt = m.varint();
            if ((mt >>> 3 === 1 || mt >>> 3 === 2) && (mt & 7) === 2) {
              const [x, y] = m.bytes();
              const s = utf8.decode(raw.subarray(x, y));
              if (mt >>> 3 === 1) name = s;
              else value = s;
            } else m.skip(mt & 7);
          }
          labels[name] = value;
        } else {
          let value = 0;
          let timestampMs = 0;
          while (m.pos < m.end) {
            const mt = m.varint();
            if (mt >>> 3 === 1 && (mt & 7) === 1) {
              if (m.pos + 8 > m.end) throw new Error('protobuf: truncated double');
              value = view.getFloat64(m.pos, true);
              m.pos += 8;
            } else if (mt >>> 3 === 2 && (mt & 7) === 0) timestampMs = m.int64();
            else m.skip(mt & 7);
          }
          samples.push({ value, timestampMs });
        }
      } else t.skip(tt & 7);
    }
    if (!labels['__name__']) throw new Error(`a time series without __name__ (labels ${JSON.stringify(labels)})`);
    for (const s of samples) out.push({ labels, value: s.value, timestampMs: s.timestampMs });
  }
  return out;
}

/** One histogram observation being assembled from its `_bucket`/`_sum`/`_count` samples. */
interface HistogramParts {
  readonly rk: string;
  readonly base: string;
  readonly attributes: Record<string, string>;
  readonly timeMs: number;
  readonly buckets: Map<number, number>;
  readonly parts: PromSample[];
  sum?: number;
  count?: number;
}

/** `le` as a number (`+Inf` included), or NaN. */
function parseLe(le: string): number {
  if (le === '+Inf' || le === 'Inf') return Infinity;
  return le.trim() === '' ? NaN : Number(le);
}

/**
 * The OTLP point of one assembled observation: bounds and per-bucket counts from the
 * cumulative `le` buckets. Null when they do not make a histogram (no `+Inf` bucket, a
 * bad `le`, cumulative counts that decrease, a `_count` other than the `+Inf` bucket):
 * its parts then travel as gauges, as they came.
 */
function toHistogramPoint(h: HistogramParts): { bounds: number[]; point: HistogramPoint } | null {
  const les = [...h.buckets.keys()].sort((a, b) => a - b);
  if (les.length === 0 || les[les.length - 1] !== Infinity || les.some((x) => Number.isNaN(x))) return null;
  const bounds = les.slice(0, -1);
  const bucketCounts: number[] = [];
  let prev = 0;
  for (const le of les) {
    const c = h.buckets.get(le)!;
    if (c < prev) return null;
    bucketCounts.push(c - prev);
    prev = c;
  }
  if (h.count !== undefined && h.count !== prev) return null;
  return { bounds, point: { attributes: h.attributes, bucketCounts, count: prev, ...(h.sum !== undefined ? { sum: h.sum } : {}), timeMs: h.timeMs } };
}

/**
 * Groups Prometheus samples into point batches: one per (job, instance), one metric per
 * name (histogram families as one histogram per set of bounds). `resource` fills
 * `service.name`/`host.name` when a series has no job/instance. NaN values (Prometheus's
 * staleness markers among them) are skipped and counted in `skipped`; histogram parts
 * that do not assemble into a histogram are sent as gauges and counted in
 * `skipped.histogramParts`. Cumulative sums and histograms start at `startMs` (default:
 * the earliest sample).
 */
export function promSamplesToBatches(
  samples: readonly PromSample[],
  opts: {
    resource: Readonly<Record<string, string>>;
    nowMs: number;
    scope: string;
    startMs?: number;
    skipped?: { nan: number; histogramParts?: number };
    /** Assemble histogram families (default true): only when every part of an observation is in `samples`. */
    histograms?: boolean;
  },
): PointBatch[] {
  const byResource = new Map<string, { resource: Record<string, string>; metrics: Map<string, NumberPoint[]>; histograms: Map<string, { name: string; bounds: number[]; points: HistogramPoint[] }> }>();
  let start = opts.startMs ?? Infinity;
  // Histogram families: a base name with `_bucket` series that carry `le`.
  const families = new Set<string>();
  for (const s of opts.histograms === false ? [] : samples) {
    const name = s.labels['__name__'] ?? '';
    if (name.endsWith('_bucket') && s.labels['le'] !== undefined) families.add(name.slice(0, -'_bucket'.length));
  }
  const familyOf = (name: string): { base: string; part: 'bucket' | 'sum' | 'count' } | null => {
    for (const part of ['bucket', 'sum', 'count'] as const) {
      if (name.endsWith(`_${part}`)) {
        const base = name.slice(0, -(part.length + 1));
        if (families.has(base)) return { base, part };
      }
    }
    return null;
  };
  const assembling = new Map<string, HistogramParts>();
  const groupOf = (rk: string, resource: Record<string, string>) => {
    let g = byResource.get(rk);
    if (g === undefined) byResource.set(rk, (g = { resource, metrics: new Map(), histograms: new Map() }));
    return g;
  };
  const addNumber = (rk: string, resource: Record<string, string>, name: string, attributes: Record<string, string>, s: PromSample) => {
    const g = groupOf(rk, resource);
    let pts = g.metrics.get(name);
    if (pts === undefined) g.metrics.set(name, (pts = []));
    pts.push({ attributes, value: s.value, timeMs: s.timestampMs });
  };
  for (const s of samples) {
    if (Number.isNaN(s.value)) {
      if (opts.skipped) opts.skipped.nan++;
      continue;
    }
    const { __name__: name, job, instance, ...attributes } = s.labels;
    const res: Record<string, string> = { ...opts.resource };
    if (job !== undefined && job !== '') res['service.name'] = job;
    if (instance !== undefined && instance !== '') res['host.name'] = instance;
    const rk = `${res['service.name'] ?? ''}\u0000${res['host.name'] ?? ''}`;
    if (opts.startMs === undefined) start = Math.min(start, s.timestampMs);
    const fam = familyOf(name!);
    if (fam === null || (fam.part === 'bucket' && attributes['le'] === undefined)) {
      addNumber(rk, res, name!, attributes, s);
      continue;
    }
    groupOf(rk, res);
    const { le, ...rest } = attributes;
    const key = `${rk}\u0000${fam.base}\u0000${s.timestampMs}\u0000${Object.entries(rest).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, v]) => `${k}=${v}`).join('\u0001')}`;
    let h = assembling.get(key);
    if (h === undefined) assembling.set(key, (h = { rk, base: fam.base, attributes: rest, timeMs: s.timestampMs, buckets: new Map(), parts: [] }));
    h.parts.push(s);
    if (fam.part === 'bucket') h.buckets.set(parseLe(le!), s.value);
    else if (fam.part === 'sum') h.sum = s.value;
    else h.count = s.value;
  }
  for (const h of assembling.values()) {
    const g = byResource.get(h.rk)!;
    const hp = toHistogramPoint(h);
    if (hp === null) {
      if (opts.skipped) opts.skipped.histogramParts = (opts.skipped.histogramParts ?? 0) + h.parts.length;
      for (const p of h.parts) {
        const { __name__: name, job: _j, instance: _i, ...attributes } = p.labels;
        addNumber(h.rk, g.resource, name!, attributes, p);
      }
      continue;
    }
    const mk = `${h.base}\u0000${hp.bounds.join(',')}`;
    let m = g.histograms.get(mk);
    if (m === undefined) g.histograms.set(mk, (m = { name: h.base, bounds: hp.bounds, points: [] }));
    m.points.push(hp.point);
  }
  const out: PointBatch[] = [];
  for (const g of byResource.values()) {
    const metrics: MetricPoints[] = [];
    for (const [name, points] of g.metrics) {
      metrics.push(name.endsWith('_total') ? { kind: 'sum', name, monotonic: true, points } : { kind: 'gauge', name, points });
    }
    for (const h of g.histograms.values()) metrics.push({ kind: 'histogram', name: h.name, bounds: h.bounds, points: h.points });
    if (metrics.length === 0) continue;
    out.push({ resource: g.resource, scope: opts.scope, timeMs: opts.nowMs, startMs: Number.isFinite(start) ? start : opts.nowMs, metrics });
  }
  return out;
}

/**
 * Remote-write samples as point batches (scope `vigie.remote_write`). Histogram parts stay
 * per-series gauges here: Prometheus shards series across requests, so one request may
 * hold some buckets of an observation and the next the rest, and assembling per request
 * would store the same series sometimes as a counter and sometimes as a gauge.
 */
export function remoteWriteToBatches(samples: readonly PromSample[], resource: Readonly<Record<string, string>>, nowMs: number): PointBatch[] {
  return promSamplesToBatches(samples, { resource, nowMs, scope: 'vigie.remote_write', histograms: false });
}
