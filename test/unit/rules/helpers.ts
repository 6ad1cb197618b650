/** Test helpers for the alerts unit tests: a store filled from compact series specs. */
import type { Labels, Sample } from '../../../core/samples.ts';
import { evaluate, type Value } from '../../../rules/promql/eval.ts';
import { parsePromQL } from '../../../rules/promql/parse.ts';
import { createSeriesStore, type SeriesStore } from '../../../rules/windows.ts';

/** Fixed test epoch (2026-01-12T08:00:00Z), a multiple of 15 s. */
export const T0 = Date.UTC(2026, 0, 12, 8, 0, 0);

/** Samples of one series at `T0 + times[i]` seconds. */
export function series(metric: string, labels: Labels, times: readonly number[], values: readonly number[]): Sample[] {
  return times.map((t, i) => ({ metric, labels, timestampMs: T0 + t * 1000, value: values[i]! }));
}

/** Samples every `stepS` seconds from `fromS` for `values`. */
export function every(metric: string, labels: Labels, fromS: number, stepS: number, values: readonly number[]): Sample[] {
  return series(metric, labels, values.map((_, i) => fromS + i * stepS), values);
}

/** A store holding `samples`, sorted by time. */
export function storeOf(...samples: Sample[][]): SeriesStore {
  const s = createSeriesStore({ retentionMs: 3600_000 });
  s.add(samples.flat().sort((a, b) => a.timestampMs - b.timestampMs));
  return s;
}

/** Evaluates `expr` at T0 + atS seconds. */
export function q(store: SeriesStore, expr: string, atS: number): Value {
  return evaluate(parsePromQL(expr), store, T0 + atS * 1000);
}

/** Evaluates to a map from sorted label text to value. */
export function qv(store: SeriesStore, expr: string, atS: number): Record<string, number> {
  const v = q(store, expr, atS);
  if (v.kind === 'scalar') return { scalar: v.value };
  if (v.kind !== 'vector') throw new Error(`unexpected ${v.kind}`);
  const out: Record<string, number> = {};
  for (const s of v.samples) {
    const keys = Object.keys(s.labels).sort();
    out['{' + keys.map((k) => `${k}="${s.labels[k]}"`).join(',') + '}'] = s.value;
  }
  return out;
}
