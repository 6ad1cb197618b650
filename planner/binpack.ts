/**
 * Exams to servers: time-aware bin packing. Each item (an exam, or an equal part of an
 * exam too large for one server) has a load curve; each server a capacity; a server is
 * feasible when its utilization (the larger of its session and request shares) stays
 * under the target at every minute, so exams that do not overlap in time can share a
 * server. Objective: the fewest servers holding exams (the others stay spare), found by
 * exact branch and bound under a node budget, with first-fit decreasing as the start and
 * the fallback; the result carries a proven lower bound so a stop short of the optimum
 * says by how much.
 */

/** One exam (or part of one) to place. */
export interface PackItem {
  readonly id: string;
  readonly sessions: Float64Array;
  readonly requests: Float64Array;
}

/** One server. */
export interface PackBin {
  readonly id: string;
  readonly sessionCapacity: number;
  readonly requestCapacity: number;
  /** Load already on the server whatever the assignment (browsing students). */
  readonly baseSessions: Float64Array;
  readonly baseRequests: Float64Array;
}

/** Inputs of {@link solveBinPacking}. */
export interface PackProblem {
  readonly items: readonly PackItem[];
  readonly bins: readonly PackBin[];
  readonly target: number;
  /** Server-fit checks the exact search may spend (default 50,000). */
  readonly budget?: number;
}

/** What the packer found. */
export interface PackSolution {
  /** Server id per item id; missing items did not fit anywhere. */
  readonly assignment: ReadonlyMap<string, string>;
  readonly unplaced: readonly string[];
  readonly serversUsed: number;
  /** Proven minimum number of servers (equal to `serversUsed` when optimal). */
  readonly lowerBound: number;
  readonly optimal: boolean;
  /** Highest server utilization under the assignment. */
  readonly peakUtilization: number;
  /** Server-fit checks spent (first fit and exact search). */
  readonly nodes: number;
}

const peakOfItem = (it: PackItem, b: PackBin): number => {
  let m = 0;
  for (let t = 0; t < it.sessions.length; t++) m = Math.max(m, it.sessions[t]! / b.sessionCapacity, it.requests[t]! / b.requestCapacity);
  return m;
};

/** Solves the packing (see the module comment). */
export function solveBinPacking(p: PackProblem): PackSolution {
  const budget = p.budget ?? 50_000;
  const T = p.items[0]?.sessions.length ?? 0;
  const refBin = p.bins[0];
  // Largest items first: they decide the bins.
  const order = p.items.map((it, i) => ({ it, i, w: refBin ? peakOfItem(it, refBin) : 0 })).sort((a, b) => b.w - a.w);
  const loadS = p.bins.map((b) => Float64Array.from(b.baseSessions));
  const loadR = p.bins.map((b) => Float64Array.from(b.baseRequests));
  const count = p.bins.map(() => 0);
  let nodes = 0;
  let complete = true;
  const fits = (it: PackItem, bi: number): boolean => {
    nodes++;
    const b = p.bins[bi]!;
    const s = loadS[bi]!;
    const r = loadR[bi]!;
    for (let t = 0; t < T; t++) {
      if ((s[t]! + it.sessions[t]!) / b.sessionCapacity > p.target || (r[t]! + it.requests[t]!) / b.requestCapacity > p.target) return false;
    }
    return true;
  };
  const put = (it: PackItem, bi: number, sign: 1 | -1): void => {
    const s = loadS[bi]!;
    const r = loadR[bi]!;
    for (let t = 0; t < T; t++) {
      s[t]! += sign * it.sessions[t]!;
      r[t]! += sign * it.requests[t]!;
    }
    count[bi]! += sign;
  };
  const used = () => count.filter((c) => c > 0).length;

  // Lower bound: at the busiest minute, how many of the largest servers the total needs.
  const caps = [...p.bins].sort((a, b) => b.sessionCapacity - a.sessionCapacity);
  let lowerBound = p.items.length > 0 ? 1 : 0;
  for (let t = 0; t < T; t++) {
    let s = 0;
    let r = 0;
    for (const it of p.items) {
      s += it.sessions[t]!;
      r += it.requests[t]!;
    }
    let k = 0;
    let cs = 0;
    let cr = 0;
    for (const b of caps) {
      if (cs >= s && cr >= r) break;
      k++;
      cs += b.sessionCapacity * p.target - b.baseSessions[t]!;
      cr += b.requestCapacity * p.target - b.baseRequests[t]!;
    }
    lowerBound = Math.max(lowerBound, k);
  }

  // First-fit decreasing: the starting upper bound.
  const ffd = new Map<string, string>();
  const unplaced: string[] = [];
  for (const { it } of order) {
    const bi = p.bins.findIndex((_, j) => fits(it, j));
    if (bi < 0) unplaced.push(it.id);
    else {
      put(it, bi, 1);
      ffd.set(it.id, p.bins[bi]!.id);
    }
  }
  let best = { assignment: ffd, used: used() };
  for (const [id, b] of ffd) put(p.items.find((x) => x.id === id)!, p.bins.findIndex((x) => x.id === b), -1);

  const ffdChecks = nodes;
  if (unplaced.length === 0 && best.used > lowerBound) {
    const placed = order.map((o) => o.it);
    const current = new Map<string, string>();
    const dfs = (d: number): void => {
      if (nodes - ffdChecks >= budget) {
        complete = false;
        return;
      }
      const u = used();
      if (u >= best.used) return;
      if (d === placed.length) {
        best = { assignment: new Map(current), used: u };
        return;
      }
      const it = placed[d]!;
      let triedEmpty = new Set<string>();
      for (let bi = 0; bi < p.bins.length && complete; bi++) {
        const b = p.bins[bi]!;
        if (count[bi] === 0) {
          // Empty servers of the same size are interchangeable: try one of each size.
          const key = `${b.sessionCapacity}|${b.requestCapacity}`;
          if (triedEmpty.has(key) || u + 1 >= best.used) continue;
          triedEmpty.add(key);
        }
        if (!fits(it, bi)) continue;
        put(it, bi, 1);
        current.set(it.id, b.id);
        dfs(d + 1);
        current.delete(it.id);
        put(it, bi, -1);
        if (best.used <= lowerBound) return;
      }
      triedEmpty = new Set();
    };
    dfs(0);
  }
  // Peak utilization of the chosen assignment.
  for (const [id, b] of best.assignment) put(p.items.find((x) => x.id === id)!, p.bins.findIndex((x) => x.id === b), 1);
  let peak = 0;
  p.bins.forEach((b, bi) => {
    for (let t = 0; t < T; t++) peak = Math.max(peak, loadS[bi]![t]! / b.sessionCapacity, loadR[bi]![t]! / b.requestCapacity);
  });
  return {
    assignment: best.assignment,
    unplaced,
    serversUsed: best.used,
    lowerBound: unplaced.length === 0 && complete ? best.used : Math.min(lowerBound, best.used),
    optimal: unplaced.length === 0 && (complete || best.used === lowerBound),
    peakUtilization: peak,
    nodes,
  };
}
