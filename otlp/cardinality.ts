/**
 * Bounded series tracking for the decoder: at most `maxMetricNames` metric families, at
 * most `maxSeriesPerMetric` series per family and `maxSeries` in all. A series not seen
 * for `idleMs` (by the injected clock, i.e. the data's "now") is forgotten, so after a
 * label or metric-name bomb the legitimate series that come later are accepted again
 * without a restart, and memory stays bounded by the limits rather than by history.
 * Forgetting is a sweep that runs only when a limit is hit, at most once per `idleMs/10`.
 */

/** Limits of a {@link CardinalityLimiter}. */
export interface CardinalityLimits {
  /** Series per metric family (default 50,000). */
  readonly maxSeriesPerMetric?: number;
  /** Distinct metric families (default 2,000: a campus has a few hundred). */
  readonly maxMetricNames?: number;
  /** Series over all families (default 250,000; the sink and counter caches are sized to it). */
  readonly maxSeries?: number;
  /** A series unseen this long is forgotten when room is needed (default 30 min). */
  readonly idleMs?: number;
}

/** Why {@link CardinalityLimiter.admit} refused a series. */
export type CardinalityRefusal = 'cardinality_limit' | 'metric_name_limit';

/**
 * What the limiter keeps per tracked series. `keys` is the decoder's cache of the full
 * series keys of the samples this series expands to (`decode.ts` owns its layout): one
 * string object per series, so every later stage's map lookups hit a key whose hash is
 * computed and which compares by identity. `labels` likewise shares one label object per
 * series among its samples, so a batch's samples do not each carry a copy into the old
 * generation of the heap.
 */
export interface SeriesSlot {
  seen: number;
  kind: number;
  keys: string[] | null;
  les: string[] | null;
  /** The decoder's shared (read-only) label objects of this series: the point's, then one per bucket. */
  labels: Readonly<Record<string, string>>[] | null;
}

/** Tracks series per metric with the limits above; state lives for one pipeline process. */
export interface CardinalityLimiter {
  /** Like {@link check}, but returns the series' slot when accepted. */
  track(metric: string, key: string, nowMs: number): SeriesSlot | CardinalityRefusal;
  /** Undefined when the series is known or fits (and records it as seen at `nowMs`); else why not. */
  check(metric: string, key: string, nowMs: number): CardinalityRefusal | undefined;
  /** Compatibility: true when {@link check} accepts (at time 0 unless `nowMs` is given). */
  admit(metric: string, key: string, nowMs?: number): boolean;
  /** Distinct series currently tracked for `metric`. */
  count(metric: string): number;
  /** Series and families tracked now. */
  size(): { readonly series: number; readonly metrics: number };
}

/** Defaults of {@link CardinalityLimits}. */
export const CARDINALITY_DEFAULTS = {
  maxSeriesPerMetric: 50_000,
  maxMetricNames: 2_000,
  maxSeries: 250_000,
  idleMs: 30 * 60_000,
} as const;

interface Family {
  readonly series: Map<string, SeriesSlot>;
  lastSweep: number;
}

/** Creates a limiter; a number is `maxSeriesPerMetric` (the other limits at their defaults). */
export function createCardinalityLimiter(limits: number | CardinalityLimits = {}): CardinalityLimiter {
  const l = typeof limits === 'number' ? { maxSeriesPerMetric: limits } : limits;
  const perMetric = l.maxSeriesPerMetric ?? CARDINALITY_DEFAULTS.maxSeriesPerMetric;
  const maxNames = l.maxMetricNames ?? CARDINALITY_DEFAULTS.maxMetricNames;
  const maxSeries = l.maxSeries ?? CARDINALITY_DEFAULTS.maxSeries;
  const idleMs = l.idleMs ?? CARDINALITY_DEFAULTS.idleMs;
  const sweepEvery = Math.max(1, idleMs / 10);
  const families = new Map<string, Family>();
  let total = 0;
  let lastGlobalSweep = -Infinity;

  const sweepFamily = (name: string, f: Family, nowMs: number): void => {
    f.lastSweep = nowMs;
    const cutoff = nowMs - idleMs;
    for (const [k, slot] of f.series) {
      if (slot.seen < cutoff) {
        f.series.delete(k);
        total--;
      }
    }
    if (f.series.size === 0) families.delete(name);
  };
  const sweepAll = (nowMs: number): void => {
    if (nowMs - lastGlobalSweep < sweepEvery) return;
    lastGlobalSweep = nowMs;
    for (const [name, f] of families) sweepFamily(name, f, nowMs);
  };

  const track = (metric: string, key: string, nowMs: number): SeriesSlot | CardinalityRefusal => {
    let f = families.get(metric);
    if (f !== undefined) {
      const slot = f.series.get(key);
      if (slot !== undefined) {
        slot.seen = nowMs;
        return slot;
      }
    } else {
      if (families.size >= maxNames) {
        sweepAll(nowMs);
        if (families.size >= maxNames) return 'metric_name_limit';
      }
      f = { series: new Map(), lastSweep: nowMs };
    }
    if (f.series.size >= perMetric && nowMs - f.lastSweep >= sweepEvery) sweepFamily(metric, f, nowMs);
    if (f.series.size >= perMetric) return 'cardinality_limit';
    if (total >= maxSeries) {
      sweepAll(nowMs);
      if (total >= maxSeries) return 'cardinality_limit';
    }
    if (!families.has(metric)) families.set(metric, f);
    const slot: SeriesSlot = { seen: nowMs, kind: 0, keys: null, les: null, labels: null };
    f.series.set(key, slot);
    total++;
    return slot;
  };
  const check = (metric: string, key: string, nowMs: number): CardinalityRefusal | undefined => {
    const r = track(metric, key, nowMs);
    return typeof r === 'string' ? r : undefined;
  };

  return {
    track,
    check,
    admit: (metric, key, nowMs = 0) => check(metric, key, nowMs) === undefined,
    count: (metric) => families.get(metric)?.series.size ?? 0,
    size: () => ({ series: total, metrics: families.size }),
  };
}
