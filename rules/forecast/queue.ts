/**
 * Queueing-aware saturation: how much waiting grows as utilization ρ → 1. With one
 * server (M/M/1) the mean response time is S/(1 − ρ); with c servers (M/M/c) it is
 * S·(1 + C(c, cρ)/(c(1 − ρ))), C being Erlang's C formula. Both stay near 1 until the
 * knee and explode past it, which is what makes ρ ≈ 0.9 the last comfortable point.
 */

/** Erlang B blocking probability for `c` servers and offered load `a` (Erlangs), by the stable recursion. */
export function erlangB(c: number, a: number): number {
  let b = 1;
  for (let k = 1; k <= c; k++) b = (a * b) / (k + a * b);
  return b;
}

/** Erlang C: probability that an arrival waits, `c` servers at per-server utilization `rho` < 1. */
export function erlangC(c: number, rho: number): number {
  if (!(rho < 1)) return 1;
  if (!(rho > 0)) return 0;
  const b = erlangB(c, c * rho);
  return b / (1 - rho * (1 - b));
}

/**
 * Expected response time in units of the service time at utilization `rho`: 1/(1 − ρ)
 * without `servers` (M/M/1), 1 + C(c, ρ)/(c(1 − ρ)) with `servers` = c (M/M/c).
 * 1 for ρ ≤ 0, +Inf for ρ ≥ 1, NaN for NaN.
 */
export function queueKnee(rho: number, servers?: number): number {
  if (Number.isNaN(rho)) return NaN;
  if (rho <= 0) return 1;
  if (rho >= 1) return Infinity;
  if (servers === undefined || !(servers >= 1)) return 1 / (1 - rho);
  const c = Math.min(Math.floor(servers), 10_000);
  return 1 + erlangC(c, rho) / (c * (1 - rho));
}
