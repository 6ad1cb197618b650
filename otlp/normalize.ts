/**
 * Prometheus normalization of OTLP metric names, attribute keys and attribute values,
 * mirroring what `@opentelemetry/exporter-prometheus` 0.223 exposes (checked by
 * test/unit/otlp/normalize.test.ts against a real PrometheusExporter), so rules written
 * against Vigie also run on a Prometheus scraping that exporter.
 *
 * Notable facts of the 0.223 exporter: no unit suffix is added (`http.server.request.duration`
 * in `s` becomes `http_server_request_duration`, not `..._seconds`); monotonic sums get
 * `_total` unless already present; every character outside `[a-zA-Z0-9_]` becomes `_` and
 * runs of `_` collapse to one; a leading digit gets a `_` prefix; non-string attribute
 * values are JSON-encoded.
 */

const INVALID_CHARS = /[^a-z0-9_]/gi;
const MULTI_UNDERSCORE = /_{2,}/g;

/** Replaces characters Prometheus does not allow with `_` and collapses runs of `_`. */
export function sanitizeName(name: string): string {
  return name.replace(INVALID_CHARS, '_').replace(MULTI_UNDERSCORE, '_');
}

/** How an OTLP metric is exposed to Prometheus; decides the `_total` suffix. */
export type PromMetricKind = 'counter' | 'gauge' | 'histogram';

/**
 * Prometheus metric family name of an OTLP metric (before `_bucket`/`_sum`/`_count`).
 * Returns `undefined` when nothing usable remains (empty or `_`), as the exporter drops those.
 */
export function promMetricName(otelName: string, kind: PromMetricKind): string | undefined {
  let name = sanitizeName(otelName);
  if (name === '' || name === '_') return undefined;
  const c = name.charCodeAt(0);
  if (c >= 48 && c <= 57) name = '_' + name;
  if (kind === 'counter' && !name.endsWith('_total')) name += '_total';
  return name;
}

/**
 * Prometheus label name of an attribute key. Like the exporter, plus one deviation: a
 * leading digit gets a `_` prefix (the exporter emits `0abc`, which Prometheus and
 * PromQL reject).
 */
export function promLabelName(key: string): string {
  const name = sanitizeName(key);
  const c = name.charCodeAt(0);
  return c >= 48 && c <= 57 ? '_' + name : name;
}

/** A protobufjs 64-bit integer (`Long`), or what a hand-made request may carry instead. */
export type LongLike = number | string | { readonly low: number; readonly high: number; readonly unsigned?: boolean };

/** Exact decimal string of a 64-bit integer. */
export function longToString(v: LongLike | null | undefined): string {
  if (v === null || v === undefined) return '0';
  if (typeof v === 'number') return String(Math.trunc(v));
  if (typeof v === 'string') return v;
  const big = (BigInt(v.high >>> 0) << 32n) | BigInt(v.low >>> 0);
  return (v.unsigned ? big : BigInt.asIntN(64, big)).toString();
}

/** A 64-bit integer as a JS number (exact below 2^53, nearest double above). */
export function longToNumber(v: LongLike | null | undefined): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return v;
  if (typeof v === 'string') return Number(v);
  const hi = v.unsigned ? v.high >>> 0 : v.high | 0;
  return hi * 4294967296 + (v.low >>> 0);
}

/**
 * Unsigned nanoseconds since the epoch → integer milliseconds (floor), exact without
 * BigInt: ns = hi·2^32 + lo and 2^32 = 4294·10^6 + 967296, so every intermediate stays
 * below 2^53.
 */
export function nanosToMillis(v: LongLike | null | undefined): number {
  if (v === null || v === undefined) return 0;
  if (typeof v === 'number') return Math.floor(v / 1e6);
  if (typeof v === 'string') return Number(BigInt(v) / 1_000_000n);
  const hi = v.high >>> 0;
  const lo = v.low >>> 0;
  const rest = hi * 967296 + lo;
  let q = Math.floor(rest / 1e6);
  if (q * 1e6 > rest) q--;
  else if ((q + 1) * 1e6 <= rest) q++;
  return hi * 4294 + q;
}

/** Decoded OTLP `AnyValue` (protobufjs shape; unset fields are absent or null). */
export interface OtlpAnyValue {
  readonly stringValue?: string | null;
  readonly boolValue?: boolean | null;
  readonly intValue?: LongLike | null;
  readonly doubleValue?: number | null;
  readonly arrayValue?: { readonly values?: readonly OtlpAnyValue[] | null } | null;
  readonly kvlistValue?: { readonly values?: readonly OtlpKeyValue[] | null } | null;
  readonly bytesValue?: Uint8Array | null;
}

/** Decoded OTLP `KeyValue`. */
export interface OtlpKeyValue {
  readonly key?: string | null;
  readonly value?: OtlpAnyValue | null;
}

/** Deeper attribute values are cut (`"…"`): a hostile message must not exhaust the stack. */
const MAX_VALUE_DEPTH = 16;

function toJsValue(v: OtlpAnyValue | null | undefined, depth = 0): unknown {
  if (!v) return null;
  if (depth >= MAX_VALUE_DEPTH) return '…';
  if (v.stringValue != null) return v.stringValue;
  if (v.boolValue != null) return v.boolValue;
  if (v.intValue != null) {
    const n = longToNumber(v.intValue);
    return Number.isSafeInteger(n) ? n : longToString(v.intValue);
  }
  if (v.doubleValue != null) return v.doubleValue;
  if (v.arrayValue != null) return (v.arrayValue.values ?? []).map((x) => toJsValue(x, depth + 1));
  if (v.kvlistValue != null) {
    const o: Record<string, unknown> = {};
    for (const kv of v.kvlistValue.values ?? []) o[kv.key ?? ''] = toJsValue(kv.value, depth + 1);
    return o;
  }
  if (v.bytesValue != null) return Buffer.from(v.bytesValue).toString('base64');
  return null;
}

/**
 * Prometheus label value of an attribute value: strings as they are, everything else
 * JSON-encoded as the exporter does (`true`, `3`, `1.5`, `["a","b"]`); an empty value is `''`.
 */
export function promLabelValue(v: OtlpAnyValue | null | undefined): string {
  if (v && v.stringValue != null) return v.stringValue;
  const js = toJsValue(v);
  if (js === null) return '';
  if (typeof js === 'string') return js;
  return JSON.stringify(js);
}

/** `le` label of a histogram bucket upper bound, as the exporter prints it. */
export function leLabel(bound: number | undefined): string {
  return bound === undefined || bound === Infinity ? '+Inf' : String(bound);
}
