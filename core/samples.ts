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

/** Stable text identity of a series: metric plus sorted labels. */
export function seriesKey(metric: string, labels: Labels): string {
  const names = Object.keys(labels).sort();
  let out = metric + '{';
  for (let i = 0; i < names.length; i++) {
    const n = names[i]!;
    out += (i ? ',' : '') + n + '="' + labels[n] + '"';
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
