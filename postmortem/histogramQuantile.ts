/**
 * Prometheus' `histogram_quantile` on one set of cumulative buckets, pure math. The same
 * rule as the dashboard SQL (`dashboards/sql.ts` `histogramQuantileSql`), so the report
 * and the latency panel agree to the digit.
 */

/** One cumulative bucket: observations `<= le`. `le` is `Infinity` for `+Inf`. */
export interface Bucket {
  readonly le: number;
  readonly count: number;
}

/**
 * Quantile `q` (0..1) by linear interpolation inside the bucket holding the rank.
 * Returns `null` with no observations or without a `+Inf` bucket; the `+Inf` bucket
 * answers the previous upper bound. Counts are made monotonic first (a running max), as
 * Prometheus does for buckets scraped at slightly different instants.
 */
export function histogramQuantile(q: number, buckets: readonly Bucket[]): number | null {
  const sorted = [...buckets].sort((a, b) => a.le - b.le);
  if (sorted.length === 0 || sorted[sorted.length - 1]!.le !== Infinity) return null;
  const les = sorted.map((b) => b.le);
  const cums: number[] = [];
  let run = -Infinity;
  for (const b of sorted) {
    run = Math.max(run, b.count);
    cums.push(run);
  }
  const total = cums[cums.length - 1]!;
  if (!(total > 0)) return null;
  const rank = q * total;
  const idx = cums.findIndex((c) => c >= rank);
  if (idx < 0) return null;
  if (idx === les.length - 1) return idx === 0 ? null : les[idx - 1]!;
  const lower = idx === 0 ? 0 : les[idx - 1]!;
  const below = idx === 0 ? 0 : cums[idx - 1]!;
  return lower + ((les[idx]! - lower) * (rank - below)) / (cums[idx]! - below);
}

/** Parses a Prometheus `le` label (`0.25`, `+Inf`); `null` when it is not a number. */
export function parseLe(le: string): number | null {
  if (le === '+Inf' || le === 'Inf' || le === 'inf' || le === '+inf') return Infinity;
  const n = Number(le);
  return le.trim() !== '' && Number.isFinite(n) ? n : null;
}
