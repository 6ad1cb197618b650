/**
 * The small generic interface every forecasting / detection kernel implements:
 * `create / add / merge? / result`, pure math over (time, value) points, no I/O and no
 * clock. The PromQL layer (`rules/promql/vigie.ts`) feeds a window's samples through
 * `add` and reads `result`; the `vigie detect` command streams a CSV through the same
 * kernel. Modelled on OpenTelemetry JS `aggregator/types.ts`.
 */

/** A kernel: state `S`, parameters `P`, result `R`. `add` mutates and returns the state. */
export interface Kernel<S, P, R> {
  /** A fresh state for these parameters. */
  create(params: P): S;
  /** Folds one point in; points arrive in time order. */
  add(state: S, tMs: number, value: number): S;
  /** Combines two states over disjoint, consecutive windows (a before b), when the kernel allows it. */
  merge?(a: S, b: S): S;
  /** The kernel's answer at `nowMs` (for forecasts, the instant the horizon starts from). */
  result(state: S, nowMs: number): R;
}

/** Runs `kernel` over parallel arrays of timestamps and values. */
export function runKernel<S, P, R>(kernel: Kernel<S, P, R>, params: P, ts: readonly number[], vs: readonly number[], nowMs: number): R {
  let s = kernel.create(params);
  for (let i = 0; i < ts.length; i++) s = kernel.add(s, ts[i]!, vs[i]!);
  return kernel.result(s, nowMs);
}

/** Median of `a[0..n)`, reordering `a` in place (quickselect; average of the two middles for even n). */
export function medianInPlace(a: Float64Array | number[], n: number = a.length): number {
  if (n === 0) return NaN;
  const k = n >> 1;
  const hi = select(a, n, k);
  if (n & 1) return hi;
  // Lower middle: the max of the left part after selection.
  let lo = -Infinity;
  for (let i = 0; i < k; i++) if (a[i]! > lo) lo = a[i]!;
  return (lo + hi) / 2;
}

/** k-th smallest (0-based) of `a[0..n)`, partially reordering `a` (Hoare quickselect). */
export function select(a: Float64Array | number[], n: number, k: number): number {
  let l = 0;
  let r = n - 1;
  while (l < r) {
    const pivot = a[(l + r) >> 1]!;
    let i = l;
    let j = r;
    while (i <= j) {
      while (a[i]! < pivot) i++;
      while (a[j]! > pivot) j--;
      if (i <= j) {
        const t = a[i]!;
        a[i] = a[j]!;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) r = j;
    else if (k >= i) l = i;
    else break;
  }
  return a[k]!;
}
