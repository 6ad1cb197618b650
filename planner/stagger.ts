/**
 * Staggered start times: shift exams within their allowed windows, in fixed steps, so
 * that a pool's expected utilization stays under a target, with the fewest shifted exams
 * and then the fewest minutes of shift (lexicographic). Exact search level by level (k
 * shifted exams, every subset, every shift, pruned on minutes) under a node budget; when
 * the budget runs out it falls back to a greedy repair and reports how far from the
 * optimum it may be (a proven lower bound versus what it found).
 *
 * The solver is generic over "items" whose load for each candidate shift is precomputed
 * on one grid, so it knows nothing of exams or profiles (the plan builds the items).
 */

/** One movable exam: its candidate shifts (minutes, 0 included) and the load each gives. */
export interface StaggerItem {
  readonly id: string;
  /** Candidate shifts in minutes; must contain 0. */
  readonly shifts: readonly number[];
  /** Sessions and requests/s per grid point for each candidate shift (same order as `shifts`). */
  readonly sessions: readonly Float64Array[];
  readonly requests: readonly Float64Array[];
}

/** One pool to keep under its target. */
export interface StaggerProblem {
  readonly items: readonly StaggerItem[];
  /** Load that does not move (browsing students, exams without a window). */
  readonly baseSessions: Float64Array;
  readonly baseRequests: Float64Array;
  readonly sessionCapacity: number;
  readonly requestCapacity: number;
  /** Highest utilization allowed (share of capacity), e.g. 0.85. */
  readonly target: number;
  /** Peak evaluations the exact search may spend (default 200,000). */
  readonly budget?: number;
}

/** Cost of a solution: shifted exams first, then total minutes of shift. */
export interface StaggerCost {
  readonly shifted: number;
  readonly minutes: number;
}

/** What the solver found. */
export interface StaggerSolution {
  /** Shift in minutes per item id (0 = unchanged). */
  readonly shifts: ReadonlyMap<string, number>;
  /** Whether the peak is under the target. */
  readonly feasible: boolean;
  readonly peakBefore: number;
  readonly peakAfter: number;
  readonly cost: StaggerCost;
  /** True when the search proved this the optimum (or proved that no shift within the windows suffices). */
  readonly optimal: boolean;
  /** A proven lower bound on the optimal cost (equal to `cost` when optimal). */
  readonly lowerBound: StaggerCost;
  /** Peak evaluations spent. */
  readonly evaluations: number;
}

/** Peak utilization of the pool with item i at its option `choice[i]`. */
export function peakOf(p: StaggerProblem, choice: readonly number[]): number {
  const n = p.baseSessions.length;
  let peak = 0;
  for (let t = 0; t < n; t++) {
    let s = p.baseSessions[t]!;
    let r = p.baseRequests[t]!;
    for (let i = 0; i < p.items.length; i++) {
      const it = p.items[i]!;
      const c = choice[i]!;
      s += it.sessions[c]![t]!;
      r += it.requests[c]![t]!;
    }
    const u = Math.max(s / p.sessionCapacity, r / p.requestCapacity);
    if (u > peak) peak = u;
  }
  return peak;
}

const costOf = (p: StaggerProblem, choice: readonly number[]): StaggerCost => {
  let shifted = 0;
  let minutes = 0;
  choice.forEach((c, i) => {
    const m = Math.abs(p.items[i]!.shifts[c]!);
    if (m > 0) {
      shifted++;
      minutes += m;
    }
  });
  return { shifted, minutes };
};

/** Lexicographic comparison of costs. */
export function compareCost(a: StaggerCost, b: StaggerCost): number {
  return a.shifted - b.shifted || a.minutes - b.minutes;
}

class BudgetExceeded extends Error {}

function* combinations(n: number, k: number, start = 0, acc: number[] = []): Generator<number[]> {
  if (acc.length === k) {
    yield acc.slice();
    return;
  }
  for (let i = start; i <= n - (k - acc.length); i++) {
    acc.push(i);
    yield* combinations(n, k, i + 1, acc);
    acc.pop();
  }
}

/** Solves one pool (see the module comment). */
export function solveStagger(p: StaggerProblem): StaggerSolution {
  const budget = p.budget ?? 200_000;
  const n = p.items.length;
  const zero = p.items.map((it, i) => {
    const z = it.shifts.indexOf(0);
    if (z < 0) throw new RangeError(`stagger: item ${i} (${it.id}) has no zero shift among its candidates`);
    return z;
  });
  let evaluations = 0;
  const evalPeak = (choice: readonly number[]): number => {
    if (evaluations >= budget) throw new BudgetExceeded();
    evaluations++;
    return peakOf(p, choice);
  };
  const peakBefore = peakOf(p, zero);
  const done = (choice: number[], optimal: boolean, lowerBound: StaggerCost): StaggerSolution => {
    const peakAfter = peakOf(p, choice);
    return {
      shifts: new Map(p.items.map((it, i) => [it.id, it.shifts[choice[i]!]!])),
      feasible: peakAfter <= p.target,
      peakBefore,
      peakAfter,
      cost: costOf(p, choice),
      optimal,
      lowerBound,
      evaluations,
    };
  };
  if (peakBefore <= p.target) return done(zero, true, { shifted: 0, minutes: 0 });
  // Non-zero options of each item, smallest shift first.
  const moves = p.items.map((it) => it.shifts.map((s, j) => ({ j, m: Math.abs(s) })).filter((o) => o.m > 0).sort((a, b) => a.m - b.m));
  const minStep = Math.min(...moves.flatMap((ms) => ms.map((o) => o.m)), Infinity);

  let provenShifted = 0;
  try {
    for (let k = 1; k <= n; k++) {
      let best: { choice: number[]; minutes: number } | null = null;
      for (const subset of combinations(n, k)) {
        if (subset.some((i) => moves[i]!.length === 0)) continue;
        const choice = zero.slice();
        const dfs = (d: number, minutes: number): void => {
          if (d === subset.length) {
            if (evalPeak(choice) <= p.target && (best === null || minutes < best.minutes)) best = { choice: choice.slice(), minutes };
            return;
          }
          const i = subset[d]!;
          for (const o of moves[i]!) {
            // Each remaining item costs at least its smallest move.
            let rest = 0;
            for (let e = d + 1; e < subset.length; e++) rest += moves[subset[e]!]![0]!.m;
            if (best !== null && minutes + o.m + rest >= best.minutes) break;
            choice[i] = o.j;
            dfs(d + 1, minutes + o.m);
          }
          choice[i] = zero[i]!;
        };
        dfs(0, 0);
      }
      if (best !== null) {
        const b = best as { choice: number[]; minutes: number };
        return done(b.choice, true, { shifted: k, minutes: b.minutes });
      }
      provenShifted = k + 1;
    }
    // Exhausted every combination: nothing within the windows reaches the target.
    return { ...done(greedy(p, zero), true, { shifted: n, minutes: 0 }), optimal: true };
  } catch (err) {
    if (!(err instanceof BudgetExceeded)) throw err;
  }
  // Out of budget: greedy repair for an upper bound; levels below provenShifted were proven infeasible.
  const lb: StaggerCost = { shifted: provenShifted, minutes: provenShifted * (Number.isFinite(minStep) ? minStep : 0) };
  return done(greedy(p, zero), false, lb);
}

/**
 * Greedy score: the peak, then the load above the target summed over the grid — the
 * second term breaks the plateaus where two exams peak together and moving either one
 * alone does not lower the peak yet.
 */
function greedyScore(p: StaggerProblem, choice: readonly number[]): number {
  const n = p.baseSessions.length;
  let peak = 0;
  let over = 0;
  for (let t = 0; t < n; t++) {
    let s = p.baseSessions[t]!;
    let r = p.baseRequests[t]!;
    for (let i = 0; i < p.items.length; i++) {
      s += p.items[i]!.sessions[choice[i]!]![t]!;
      r += p.items[i]!.requests[choice[i]!]![t]!;
    }
    const u = Math.max(s / p.sessionCapacity, r / p.requestCapacity);
    if (u > peak) peak = u;
    if (u > p.target) over += u - p.target;
  }
  return peak <= p.target ? peak - 1 : peak + over / n;
}

/** Greedy repair: move the item (and shift) that lowers the score most, then pull shifts back while feasible. */
function greedy(p: StaggerProblem, zero: readonly number[]): number[] {
  const choice = zero.slice();
  let peak = greedyScore(p, choice);
  for (let round = 0; round < p.items.length * 4 && peak > p.target - 1; round++) {
    let bestPeak = peak;
    let bestMove = null as [number, number] | null;
    let bestMin = Infinity;
    p.items.forEach((it, i) => {
      it.shifts.forEach((s, j) => {
        if (j === choice[i]) return;
        const old = choice[i]!;
        choice[i] = j;
        const q = greedyScore(p, choice);
        choice[i] = old;
        if (q < bestPeak - 1e-12 || (bestMove !== null && Math.abs(q - bestPeak) <= 1e-12 && Math.abs(s) < bestMin)) {
          bestPeak = q;
          bestMove = [i, j];
          bestMin = Math.abs(s);
        }
      });
    });
    const move = bestMove as [number, number] | null;
    if (move === null) break;
    const [i, j] = move;
    choice[i] = j;
    peak = bestPeak;
  }
  if (peakOf(p, choice) <= p.target) {
    // Pull each shift towards zero while the target still holds.
    p.items.forEach((it, i) => {
      const order = it.shifts.map((s, j) => ({ j, m: Math.abs(s) })).sort((a, b) => a.m - b.m);
      for (const o of order) {
        if (o.m >= Math.abs(it.shifts[choice[i]!]!)) break;
        const old = choice[i]!;
        choice[i] = o.j;
        if (peakOf(p, choice) <= p.target) break;
        choice[i] = old;
      }
    });
  }
  return choice;
}
