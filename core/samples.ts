/**
 * The unit of data every stage after decoding speaks: one Prometheus-normalized sample.
 * Produced by the OTLP codec (otlp/), stored by the pipeline, evaluated by the rules engine.
 */

/** Label set of a series, Prometheus-style (`__name__` is NOT included; see `Sample.metric`). */
export type Labels = Readonly<Record<string, string>>;

/** One sample of one series at one instant. `timestampMs` is epoch milliseconds. */
export interface Sample {
  readonly metric: string;
  readonly labels: Labels;
  readonly timestampMs: number;
  readonly value: number;
}

const NEEDS_VALUE_ESCAPE = /[\\"\n]/;
const NEEDS_NAME_ESCAPE = /[\\=]/;
const NEEDS_METRIC_ESCAPE = /[\\{]/;

/** A label value inside the key's quotes: `\`, `"` and newline escaped, as in the Prometheus text format. */
export function escapeLabelValue(v: string): string {
  return NEEDS_VALUE_ESCAPE.test(v) ? v.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : '\\' + c)) : v;
}

/** A label name in the key: `\` and `=` escaped (a valid Prometheus name has neither, so it is unchanged). */
export function escapeLabelName(n: string): string {
  return NEEDS_NAME_ESCAPE.test(n) ? n.replace(/[\\=]/g, (c) => '\\' + c) : n;
}

/** A metric name in the key: `\\` and `{` escaped (a valid Prometheus name has neither). */
export function escapeMetricName(m: string): string {
  return NEEDS_METRIC_ESCAPE.test(m) ? m.replace(/[\\{]/g, (c) => '\\' + c) : m;
}

/**
 * Stable text identity of a series: metric plus sorted labels, `metric{a="x",b="y"}`.
 * Injective: the metric ends at the first unescaped `{`, each name at its unescaped `=`,
 * each value at its unescaped `"`, so the key parses back to exactly one label set (two
 * different sets can never share a key, whatever their values contain). Names and values
 * valid in Prometheus are written unchanged, so ordinary keys look as before.
 */
export function seriesKey(metric: string, labels: Labels): string {
  const names = Object.keys(labels).sort();
  let out = escapeMetricName(metric) + '{';
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!;
    out += (i ? ',' : '') + escapeLabelName(n) + '="' + escapeLabelValue(labels[n]!) + '"';
  }
  return out + '}';
}

/**
 * 64-bit FNV-1a fingerprint of a series key, as an unsigned decimal string
 * (ClickHouse UInt64 in JSON). Deterministic across processes and restarts.
 */
export function fingerprint(metric: string, labels: Labels): string {
  const key = seriesKey(metric, labels);
  let h = 0xcbf29ce484222325n;
  const prime = 0x100000001b3n;
  const mask = 0xffffffffffffffffn;
  for (let i = 0; i < key.length; i++) {
    h ^= BigInt(key.charCodeAt(i));
    h = (h * prime) & mask;
  }
  return h.toString();
}
