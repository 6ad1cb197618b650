/**
 * The OTLP metrics decoder of the pipeline's hot path: bytes of one
 * `ExportMetricsServiceRequest` straight to the flat {@link WireRequest} that
 * `decode.ts` turns into samples, without the protobufjs object tree (no message
 * objects with prototypes, no `Long` per timestamp, no `KeyValue`/`AnyValue` object per
 * attribute). Attribute values come out already as Prometheus label values and
 * timestamps as milliseconds.
 *
 * Same bytes, same answer as the generated protobufjs code of opentelemetry-js
 * (`otlp-proto-decoder`): it reads with the very `Reader` that code uses, field by field
 * in the same way (field number decides, wire type ignored except for packed repeated
 * scalars; a repeated singular sub-message replaces the earlier one; unknown fields are
 * skipped with `skipType`), and hands the rare sub-messages it does not need (exemplars,
 * exponential histogram and summary points, nested attribute values, entity refs) to
 * the generated decoders themselves. So a malformed message fails exactly where the
 * generated decoder fails; `test/unit/otlp/wire.test.ts` checks this differentially on
 * generated requests and on mutated bytes.
 */
import { createRequire } from 'node:module';
import { promLabelValue, type OtlpAnyValue } from './normalize.ts';

/** One data point, as both front ends (tree and wire) hand it to the sample builder. */
export interface WirePoint {
  /** Attributes as alternating raw key and Prometheus label value; null when none. */
  attrs: string[] | null;
  /** `time_unix_nano` in integer ms (floor); 0 when unset. */
  tsMs: number;
  flags: number;
  /** Number points: `as_double`, else `as_int`, else undefined (no value). */
  value: number | undefined;
  /** Histogram points: `count` (0 when unset), `sum` (undefined when unset), bounds and counts. */
  count: number;
  sum: number | undefined;
  bounds: number[];
  counts: number[];
}

/** `Gauge` / `Sum` / `Histogram` data. */
export interface WireData {
  readonly points: WirePoint[];
  temporality: number;
  isMonotonic: boolean;
}

/** `Metric`: which of its data fields are set (the last occurrence of each wins, as in protobufjs). */
export interface WireMetric {
  name: string;
  gauge: WireData | null;
  sum: WireData | null;
  histogram: WireData | null;
  /** Data points of an exponential histogram / summary, or null when that field is absent. */
  exponentialHistogram: number | null;
  summary: number | null;
}

/** `ScopeMetrics`. */
export interface WireScope {
  name: string;
  version: string;
  schemaUrl: string;
  readonly metrics: WireMetric[];
}

/** `ResourceMetrics`. */
export interface WireResource {
  attrs: string[] | null;
  readonly scopes: WireScope[];
}

/** A decoded `ExportMetricsServiceRequest`. */
export type WireRequest = WireResource[];

interface Reader {
  readonly buf: Uint8Array;
  pos: number;
  readonly len: number;
  uint32(): number;
  int32(): number;
  bool(): boolean;
  fixed32(): number;
  double(): number;
  string(): string;
  skipType(wireType: number): Reader;
}
interface Decoder {
  decode(r: Reader, len: number): unknown;
}
type Generated = {
  opentelemetry: {
    proto: {
      common: { v1: { KeyValue: Decoder; AnyValue: Decoder; EntityRef: Decoder } };
      resource: { v1: { Resource: Decoder } };
      metrics: { v1: { Exemplar: Decoder; ExponentialHistogram: Decoder; Summary: Decoder } };
    };
  };
};

// The generated code's own copy of protobufjs (its Reader decides what is malformed).
const require = createRequire(import.meta.url);
const generatedPath = require.resolve('otlp-proto-decoder/build/src/generated/root.js');
const generated = require(generatedPath) as Generated;
const ReaderCtor = (createRequire(generatedPath)('protobufjs/minimal') as { Reader: { create(b: Uint8Array): Reader } }).Reader;
const G = generated.opentelemetry.proto;

/** Decodes `bytes`; throws what the generated decoder would throw on the same bytes. */
export function decodeWire(bytes: Uint8Array): WireRequest {
  const r = ReaderCtor.create(bytes);
  const out: WireRequest = [];
  const end = r.len;
  while (r.pos < end) {
    const tag = r.uint32();
    if (tag >>> 3 === 1) out.push(resourceMetrics(r, r.uint32()));
    else r.skipType(tag & 7);
  }
  return out;
}

function resourceMetrics(r: Reader, len: number): WireResource {
  const end = r.pos + len;
  const out: WireResource = { attrs: null, scopes: [] };
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        out.attrs = resource(r, r.uint32());
        break;
      case 2:
        out.scopes.push(scopeMetrics(r, r.uint32()));
        break;
      case 3:
        r.string();
        break;
      default:
        r.skipType(tag & 7);
    }
  }
  return out;
}

function resource(r: Reader, len: number): string[] | null {
  const end = r.pos + len;
  let attrs: string[] | null = null;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        keyValue(r, r.uint32(), (attrs ??= []));
        break;
      case 2:
        r.uint32();
        break;
      case 3:
        G.common.v1.EntityRef.decode(r, r.uint32());
        break;
      default:
        r.skipType(tag & 7);
    }
  }
  return attrs;
}

function scopeMetrics(r: Reader, len: number): WireScope {
  const end = r.pos + len;
  const out: WireScope = { name: '', version: '', schemaUrl: '', metrics: [] };
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1: {
        // A repeated `scope` replaces the earlier one (name and version both).
        const s = scope(r, r.uint32());
        out.name = s[0];
        out.version = s[1];
        break;
      }
      case 2:
        out.metrics.push(metric(r, r.uint32()));
        break;
      case 3:
        out.schemaUrl = r.string();
        break;
      default:
        r.skipType(tag & 7);
    }
  }
  return out;
}

function scope(r: Reader, len: number): [string, string] {
  const end = r.pos + len;
  let name = '';
  let version = '';
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        name = r.string();
        break;
      case 2:
        version = r.string();
        break;
      case 3:
        G.common.v1.KeyValue.decode(r, r.uint32());
        break;
      case 4:
        r.uint32();
        break;
      default:
        r.skipType(tag & 7);
    }
  }
  return [name, version];
}

function metric(r: Reader, len: number): WireMetric {
  const end = r.pos + len;
  const out: WireMetric = { name: '', gauge: null, sum: null, histogram: null, exponentialHistogram: null, summary: null };
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        out.name = r.string();
        break;
      case 2:
      case 3:
        r.string();
        break;
      case 5:
        out.gauge = data(r, r.uint32(), GAUGE);
        break;
      case 7:
        out.sum = data(r, r.uint32(), SUM);
        break;
      case 9:
        out.histogram = data(r, r.uint32(), HISTOGRAM);
        break;
      case 10: {
        const h = G.metrics.v1.ExponentialHistogram.decode(r, r.uint32()) as { dataPoints?: unknown[] | null };
        out.exponentialHistogram = h.dataPoints?.length ?? 0;
        break;
      }
      case 11: {
        const s = G.metrics.v1.Summary.decode(r, r.uint32()) as { dataPoints?: unknown[] | null };
        out.summary = s.dataPoints?.length ?? 0;
        break;
      }
      case 12:
        G.common.v1.KeyValue.decode(r, r.uint32());
        break;
      default:
        r.skipType(tag & 7);
    }
  }
  return out;
}

const GAUGE = 0;
const SUM = 1;
const HISTOGRAM = 2;

/** `Gauge` (field 1), `Sum` (1, 2, 3) and `Histogram` (1, 2); other fields are skipped as the generated code skips them. */
function data(r: Reader, len: number, kind: number): WireData {
  const end = r.pos + len;
  const out: WireData = { points: [], temporality: 0, isMonotonic: false };
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1) out.points.push(kind === HISTOGRAM ? histogramPoint(r, r.uint32()) : numberPoint(r, r.uint32()));
    else if (field === 2 && kind !== GAUGE) out.temporality = r.int32();
    else if (field === 3 && kind === SUM) out.isMonotonic = r.bool();
    else r.skipType(tag & 7);
  }
  return out;
}

/**
 * Unsigned nanoseconds (two 32-bit halves) → integer ms (floor), exact without BigInt:
 * ns = hi·2^32 + lo and 2^32 = 4294·10^6 + 967296 (same arithmetic as `nanosToMillis`).
 */
function nanosHalvesToMillis(hi: number, lo: number): number {
  const rest = hi * 967296 + lo;
  let q = Math.floor(rest / 1e6);
  if (q * 1e6 > rest) q--;
  else if ((q + 1) * 1e6 <= rest) q++;
  return hi * 4294 + q;
}

/** A fixed64 as (hi, lo): protobufjs fails on fewer than 8 bytes left, so do we. */
function fixed64Millis(r: Reader): number {
  if (r.pos + 8 > r.len) throw RangeError(`index out of range: ${r.pos} + 8 > ${r.len}`);
  const lo = r.fixed32();
  const hi = r.fixed32();
  return nanosHalvesToMillis(hi, lo);
}

function fixed64Number(r: Reader, signed: boolean): number {
  if (r.pos + 8 > r.len) throw RangeError(`index out of range: ${r.pos} + 8 > ${r.len}`);
  const lo = r.fixed32();
  const hi = r.fixed32();
  return (signed ? hi | 0 : hi) * 4294967296 + lo;
}

function newPoint(): WirePoint {
  return { attrs: null, tsMs: 0, flags: 0, value: undefined, count: 0, sum: undefined, bounds: EMPTY, counts: EMPTY };
}
const EMPTY: number[] = [];

function numberPoint(r: Reader, len: number): WirePoint {
  const end = r.pos + len;
  const p = newPoint();
  let dbl: number | undefined;
  let int: number | undefined;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 7:
        keyValue(r, r.uint32(), (p.attrs ??= []));
        break;
      case 2:
        fixed64Number(r, false);
        break;
      case 3:
        p.tsMs = fixed64Millis(r);
        break;
      case 4:
        dbl = r.double();
        break;
      case 6:
        int = fixed64Number(r, true);
        break;
      case 5:
        G.metrics.v1.Exemplar.decode(r, r.uint32());
        break;
      case 8:
        p.flags = r.uint32();
        break;
      default:
        r.skipType(tag & 7);
    }
  }
  p.value = dbl ?? int;
  return p;
}

function histogramPoint(r: Reader, len: number): WirePoint {
  const end = r.pos + len;
  const p = newPoint();
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 9:
        keyValue(r, r.uint32(), (p.attrs ??= []));
        break;
      case 2:
        fixed64Number(r, false);
        break;
      case 3:
        p.tsMs = fixed64Millis(r);
        break;
      case 4:
        p.count = fixed64Number(r, false);
        break;
      case 5:
        p.sum = r.double();
        break;
      case 6: {
        if (p.counts === EMPTY) p.counts = [];
        if ((tag & 7) === 2) {
          const end2 = r.uint32() + r.pos;
          while (r.pos < end2) p.counts.push(fixed64Number(r, false));
        } else p.counts.push(fixed64Number(r, false));
        break;
      }
      case 7: {
        if (p.bounds === EMPTY) p.bounds = [];
        if ((tag & 7) === 2) {
          const end2 = r.uint32() + r.pos;
          while (r.pos < end2) p.bounds.push(r.double());
        } else p.bounds.push(r.double());
        break;
      }
      case 8:
        G.metrics.v1.Exemplar.decode(r, r.uint32());
        break;
      case 10:
        p.flags = r.uint32();
        break;
      case 11:
      case 12:
        r.double();
        break;
      default:
        r.skipType(tag & 7);
    }
  }
  return p;
}

/** `KeyValue` → (key, label value) appended to `into`; a non-string value is built as protobufjs would and normalized. */
function keyValue(r: Reader, len: number, into: string[]): void {
  const end = r.pos + len;
  let key = '';
  let value: string | OtlpAnyValue | null = null;
  while (r.pos < end) {
    const tag = r.uint32();
    switch (tag >>> 3) {
      case 1:
        key = r.string();
        break;
      case 2:
        value = anyValue(r, r.uint32());
        break;
      default:
        r.skipType(tag & 7);
    }
  }
  into.push(key, typeof value === 'string' ? value : promLabelValue(value));
}

/** `AnyValue`: a plain string in the common case, else the object the generated decoder makes. */
function anyValue(r: Reader, len: number): string | OtlpAnyValue {
  const end = r.pos + len;
  // Fast path: exactly one string_value field.
  const start = r.pos;
  if (r.pos < end && r.buf[r.pos] === 0x0a) {
    r.pos++;
    const s = r.string();
    if (r.pos === end) return s;
  }
  r.pos = start;
  return G.common.v1.AnyValue.decode(r, len) as OtlpAnyValue;
}
