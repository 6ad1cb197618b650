/**
 * Counter increases computed once, at ingest. For every point of a cumulative counter
 * the tracker gives its increase since the previous point of the same series, with
 * Prometheus semantics: a drop is a counter reset, so the increase is the new value;
 * the first point of a series (nothing earlier known) increases by 0; a point not newer
 * than the last one known (out of order, duplicate) increases by 0 and moves nothing.
 * Gauges get 0. The increases are stored with the rows (`samples.delta`) and summed per
 * minute without the series dimension in `counters_1m`.
 *
 * State: the last (timestamp, value) per series in a bounded map (least recently used
 * out first). Updates are computed into a pending overlay and applied only after
 * ClickHouse acknowledged the insert (`commit()`), so a failed or abandoned insert —
 * redelivered later — never moves the state, and a retried insert reuses the same
 * increases. On a miss the last value before the chunk's first point of that series is
 * read once from ClickHouse (`lookup`, batched per insert), which keeps increases right
 * across restarts, rebalances and crash repairs; a series with nothing stored within
 * the lookback window starts at 0.
 */
import type { Labels, Sample } from '../core/samples.ts';
import { seriesKeyOf, type DecodedSample } from '../otlp/decode.ts';

/** Name suffixes of Prometheus cumulative counters (fallback when decode gave no hint). */
const COUNTER_SUFFIX = /_(?:total|count|sum|bucket)$/;

/** True for samples of cumulative counters: decode's OTLP type when known, else the name's suffix. */
export function isCounterSample(s: Sample): boolean {
  return (s as DecodedSample).counter ?? COUNTER_SUFFIX.test(s.metric);
}

/** The last point of a series. */
export interface LastPoint {
  readonly timestampMs: number;
  readonly value: number;
}

/** A series whose last point before `beforeMs` is wanted. */
export interface LookupRequest {
  readonly key: string;
  readonly metric: string;
  readonly labels: Labels;
  /** Exclusive bound: the series' first point in the chunk. */
  readonly beforeMs: number;
}

/** Reads the last stored point before each request's bound (missing series omitted), keyed by `key`. */
export type LastPointLookup = (requests: readonly LookupRequest[]) => Promise<ReadonlyMap<string, LastPoint>>;

/** Increases of one chunk, not yet applied to the tracker's state. */
export interface PendingDeltas {
  /** One array per input group (message), parallel to its samples. */
  readonly deltas: readonly Float64Array[];
  /** Series looked up in ClickHouse for this chunk. */
  readonly lookedUp: number;
  /** Applies the chunk's last points to the state (call once its insert is acknowledged). */
  commit(): void;
}

/** Options of {@link createCounterTracker}. */
export interface CounterTrackerOptions {
  /** Series kept in memory (default 1,000,000). */
  readonly maxSeries?: number;
  /** Reads last points on a miss; without it a miss is the start of the series. */
  readonly lookup?: LastPointLookup;
}

/** Per-series last points, for one writer of those series (one pipeline process). */
export interface CounterTracker {
  /**
   * Increases of `groups` (in order), against the state, or — with `fresh` — against
   * ClickHouse only (a repair of a range whose rows may already be stored partly).
   * `scope` tags the state entries (a Kafka partition) so {@link forget} can drop them.
   */
  compute(groups: readonly (readonly Sample[])[], opts?: { readonly scope?: string; readonly fresh?: boolean }): Promise<PendingDeltas>;
  /** Drops the state of one scope (its partition was written by another process meanwhile). */
  forget(scope: string): void;
  size(): number;
}

interface Entry {
  timestampMs: number;
  value: number;
  scope: string;
}

/** Creates a tracker. */
export function createCounterTracker(opts: CounterTrackerOptions = {}): CounterTracker {
  const maxSeries = opts.maxSeries ?? 1_000_000;
  const state = new Map<string, Entry>();

  return {
    size: () => state.size,
    forget(scope) {
      for (const [k, e] of state) if (e.scope === scope) state.delete(k);
    },
    async compute(groups, o = {}) {
      const scope = o.scope ?? '';
      const fresh = o.fresh === true;
      // Pass 1: keys, and the series to look up (first point of each missing series).
      const keys: (string | undefined)[][] = [];
      const misses = new Map<string, LookupRequest>();
      for (const g of groups) {
        const ks: (string | undefined)[] = new Array(g.length);
        for (let i = 0; i < g.length; i++) {
          const s = g[i]!;
          if (!isCounterSample(s)) continue;
          const key = seriesKeyOf(s);
          ks[i] = key;
          if (!fresh && state.has(key)) continue;
          const m = misses.get(key);
          if (m === undefined) misses.set(key, { key, metric: s.metric, labels: s.labels, beforeMs: s.timestampMs });
          else if (s.timestampMs < m.beforeMs) misses.set(key, { ...m, beforeMs: s.timestampMs });
        }
        keys.push(ks);
      }
      const found = misses.size > 0 && opts.lookup ? await opts.lookup([...misses.values()]) : new Map<string, LastPoint>();
      // Pass 2: increases against an overlay; the state itself is untouched until commit().
      // One mutable overlay entry per series (not one object per sample).
      const overlay = new Map<string, { timestampMs: number; value: number }>();
      const deltas: Float64Array[] = [];
      for (let gi = 0; gi < groups.length; gi++) {
        const g = groups[gi]!;
        const ks = keys[gi]!;
        const d = new Float64Array(g.length);
        for (let i = 0; i < g.length; i++) {
          const key = ks[i];
          if (key === undefined) continue;
          const s = g[i]!;
          const o = overlay.get(key);
          const prev = o ?? (misses.has(key) ? found.get(key) : state.get(key));
          if (prev === undefined) {
            overlay.set(key, { timestampMs: s.timestampMs, value: s.value });
            continue;
          }
          if (!(s.timestampMs > prev.timestampMs)) continue;
          d[i] = s.value >= prev.value ? s.value - prev.value : s.value;
          if (o !== undefined) {
            o.timestampMs = s.timestampMs;
            o.value = s.value;
          } else overlay.set(key, { timestampMs: s.timestampMs, value: s.value });
        }
        deltas.push(d);
      }
      let committed = false;
      return {
        deltas,
        lookedUp: misses.size,
        commit() {
          if (committed) return;
          committed = true;
          for (const [key, p] of overlay) {
            const cur = state.get(key);
            if (cur !== undefined) {
              state.delete(key);
              // A repair never moves a series back in time.
              if (cur.timestampMs > p.timestampMs) {
                state.set(key, cur);
                continue;
              }
            }
            state.set(key, { timestampMs: p.timestampMs, value: p.value, scope });
          }
          if (state.size > maxSeries) {
            let excess = state.size - maxSeries;
            for (const k of state.keys()) {
              if (excess-- <= 0) break;
              state.delete(k);
            }
          }
        },
      };
    },
  };
}
