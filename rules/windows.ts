/**
 * In-memory sample windows for the rules engine: one growable array pair per series,
 * indexed by metric name, trimmed to a retention so memory stays bounded. Pure data
 * structure, no I/O; the engine reads instant and range windows from it.
 */
import { seriesKey, type Labels, type Sample } from '../core/samples.ts';
import type { LabelMatcher } from './promql/ast.ts';

/** Stored series: labels (with `__name__`) and time-ordered samples. */
export interface StoredSeries {
  readonly key: string;
  readonly metric: string;
  /** Labels including `__name__`, shared (never mutate). */
  readonly labels: Labels;
  /** Timestamps (ms) and values from index `head` on. */
  ts: number[];
  vs: number[];
  head: number;
  /** Timestamps of staleness markers (series ended), allocated only when one is written. */
  stale?: Set<number>;
}

/** Options of {@link createSeriesStore}. */
export interface SeriesStoreOptions {
  /** Keep samples newer than (latest timestamp seen − retentionMs). Default 15 min. */
  readonly retentionMs?: number;
  /**
   * Per-metric retention overriding `retentionMs` (e.g. 6 h for the few recorded series
   * an SLO window reads, while raw histograms keep minutes): see
   * `requiredRetentionByMetric` in rules.ts.
   */
  readonly retentionByMetricMs?: ReadonlyMap<string, number>;
}

/** The store the engine evaluates over. */
export interface SeriesStore {
  /** Appends samples; out-of-order samples of a series (older than its last) are dropped, equal timestamps overwrite. */
  add(samples: readonly Sample[]): void;
  /**
   * Writes staleness markers at `timestampMs` for these series (as Prometheus does for
   * recording-rule outputs that disappear): they vanish from instant vectors at once
   * instead of lingering for the lookback window.
   */
  markStale(series: readonly { readonly metric: string; readonly labels: Labels }[], timestampMs: number): void;
  /** Series of `metric` (or every metric when undefined) whose labels satisfy all matchers. */
  select(metric: string | undefined, matchers: readonly LabelMatcher[]): StoredSeries[];
  /** Latest sample timestamp seen across all series. */
  watermark(): number;
  /**
   * Drops samples and series older than the retention relative to `nowMs`. An explicit
   * `nowMs` (the engine passes each evaluation time) also becomes the horizon of later
   * automatic trims; without one, the newest sample seen.
   */
  trim(nowMs?: number): void;
  /** Number of live series and samples. */
  stats(): { series: number; samples: number; dropped: number };
}

/** True if `value` (empty when the label is absent) satisfies `m`. */
export function matchLabel(m: LabelMatcher, value: string): boolean {
  switch (m.op) {
    case '=':
      return value === m.value;
    case '!=':
      return value !== m.value;
    case '=~':
      return m.re!.test(value);
    case '!~':
      return !m.re!.test(value);
  }
}

/**
 * Series key of a label set, computed once per label object (labels are never mutated
 * once a sample exists): the pipeline's decoded samples reach several stores (the
 * benchmark's detectors; live, a rules stage per pack), and sorting and escaping labels
 * per sample and per store was the largest share of `add`.
 */
const KEY_CACHE = new WeakMap<Labels, { readonly metric: string; readonly key: string }>();

function keyOf(metric: string, labels: Labels): string {
  const hit = KEY_CACHE.get(labels);
  if (hit !== undefined && hit.metric === metric) return hit.key;
  const key = seriesKey(metric, labels);
  KEY_CACHE.set(labels, { metric, key });
  return key;
}

/** Creates an empty store. */
export function createSeriesStore(opts: SeriesStoreOptions = {}): SeriesStore {
  const retentionMs = opts.retentionMs ?? 15 * 60_000;
  const byMetric = new Map<string, Map<string, StoredSeries>>();
  let latest = -Infinity;
  // Trim relative to the last evaluation time once the engine has set one: samples can
  // arrive far ahead of the slowest series (one partition ahead of another), and trimming
  // relative to the newest sample would cut windows the next evaluation still needs.
  let horizon: number | undefined;
  let dropped = 0;
  let addsSinceTrim = 0;

  function getSeries(metric: string, labels: Labels): StoredSeries {
    let m = byMetric.get(metric);
    if (!m) {
      m = new Map();
      byMetric.set(metric, m);
    }
    const key = keyOf(metric, labels);
    let s = m.get(key);
    if (!s) {
      s = { key, metric, labels: Object.freeze({ ...labels, __name__: metric }), ts: [], vs: [], head: 0 };
      m.set(key, s);
    }
    return s;
  }

  function trimSeries(s: StoredSeries, minTs: number): void {
    let h = s.head;
    while (h < s.ts.length && s.ts[h]! < minTs) {
      s.stale?.delete(s.ts[h]!);
      h++;
    }
    s.head = h;
    if (h > 64 && h * 2 > s.ts.length) {
      s.ts = s.ts.slice(h);
      s.vs = s.vs.slice(h);
      s.head = 0;
    }
  }

  const store: SeriesStore = {
    add(samples) {
      for (const smp of samples) {
        const s = getSeries(smp.metric, smp.labels);
        const n = s.ts.length;
        if (n > s.head) {
          const last = s.ts[n - 1]!;
          if (smp.timestampMs < last) {
            dropped++;
            continue;
          }
          if (smp.timestampMs === last) {
            s.vs[n - 1] = smp.value;
            s.stale?.delete(last);
            continue;
          }
        }
        s.ts.push(smp.timestampMs);
        s.vs.push(smp.value);
        if (smp.timestampMs > latest) latest = smp.timestampMs;
      }
      addsSinceTrim += samples.length;
      if (addsSinceTrim > 50_000) {
        addsSinceTrim = 0;
        store.trim();
      }
    },
    markStale(series, timestampMs) {
      for (const { metric, labels } of series) {
        const s = byMetric.get(metric)?.get(seriesKey(metric, labels));
        if (!s) continue;
        const n = s.ts.length;
        if (n > s.head && s.ts[n - 1]! >= timestampMs) continue;
        s.ts.push(timestampMs);
        s.vs.push(NaN);
        (s.stale ??= new Set()).add(timestampMs);
      }
    },
    select(metric, matchers) {
      const out: StoredSeries[] = [];
      const maps = metric === undefined ? [...byMetric.values()] : [byMetric.get(metric)];
      for (const m of maps) {
        if (!m) continue;
        for (const s of m.values()) {
          let ok = true;
          for (const mt of matchers) {
            if (!matchLabel(mt, s.labels[mt.name] ?? '')) {
              ok = false;
              break;
            }
          }
          if (ok) out.push(s);
        }
      }
      return out;
    },
    watermark: () => latest,
    trim(nowMs) {
      if (nowMs !== undefined) horizon = horizon === undefined ? nowMs : Math.max(horizon, nowMs);
      const now = nowMs ?? Math.min(latest, horizon ?? latest);
      for (const [metric, m] of byMetric) {
        const minTs = now - (opts.retentionByMetricMs?.get(metric) ?? retentionMs);
        for (const [key, s] of m) {
          trimSeries(s, minTs);
          const lastIsStale = s.stale !== undefined && s.stale.has(s.ts[s.ts.length - 1]!);
          if (s.head >= s.ts.length || (lastIsStale && s.ts.length - s.head === 1)) m.delete(key);
        }
        if (m.size === 0) byMetric.delete(metric);
      }
    },
    stats() {
      let series = 0;
      let samples = 0;
      for (const m of byMetric.values()) {
        for (const s of m.values()) {
          series++;
          samples += s.ts.length - s.head;
        }
      }
      return { series, samples, dropped };
    },
  };
  return store;
}

/** Index of the first element of `ts` (from `lo`) that is > `t`. */
export function upperBound(ts: readonly number[], lo: number, t: number): number {
  let hi = ts.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ts[mid]! <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
