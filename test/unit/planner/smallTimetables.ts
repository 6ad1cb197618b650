/**
 * Small timetables whose optimum is known by brute force, shared by the solver tests
 * and `bench/planner.bench.ts`: one faculty pool with 3–4 exams around 09:00, each
 * allowed ±20 min in 5-min steps (9 starts, ≤ 6,561 combinations), loads drawn by the
 * planner's own forecast; and tiny bin-packing instances (≤ 6 items on ≤ 4 servers).
 */
import { mulberry32 } from '../../../simulator/model.ts';
import { addExamLoad, emptyCurve, makeGrid } from '../../../planner/forecast.ts';
import { DEFAULT_PROFILE } from '../../../planner/model.ts';
import { compareCost, peakOf, type StaggerCost, type StaggerProblem } from '../../../planner/stagger.ts';
import type { PackProblem } from '../../../planner/binpack.ts';
import type { ScheduledExam } from '../../../schedule/index.ts';

const MIN = 60_000;
const DAY = Date.UTC(2026, 0, 12);

/** A pool of 3–4 exams (seeded) whose capacity makes staggering necessary. */
export function smallStaggerCase(seed: number, budget?: number): { problem: StaggerProblem; exams: ScheduledExam[] } {
  const rng = mulberry32(seed);
  const n = 3 + Math.floor(rng() * 2);
  const exams: ScheduledExam[] = Array.from({ length: n }, (_, i) => ({
    id: `x${i + 1}`,
    faculty: 'f',
    start: DAY + (9 * 60 + 30 * Math.floor(rng() * 2)) * MIN,
    enrolled: 150 + Math.round(rng() * 450),
    durationMs: (30 + 30 * Math.floor(rng() * 2)) * MIN,
  }));
  const grid = makeGrid(DAY + 7 * 60 * MIN, DAY + 12 * 60 * MIN);
  const shifts = [-20, -15, -10, -5, 0, 5, 10, 15, 20];
  const items = exams.map((e) => {
    const curves = shifts.map((m) => {
      const c = emptyCurve(grid);
      addExamLoad(c, grid, e, e.start + m * MIN, DEFAULT_PROFILE);
      return c;
    });
    return { id: e.id, shifts, sessions: curves.map((c) => c.sessions), requests: curves.map((c) => c.requests) };
  });
  const total = exams.reduce((s, e) => s + e.enrolled * 0.93, 0);
  // Capacity between 45 % and 95 % of everyone at once: some cases need shifts, some cannot be solved.
  const sessionCapacity = total * (0.45 + 0.5 * rng());
  const problem: StaggerProblem = {
    items,
    baseSessions: new Float64Array(grid.length),
    baseRequests: new Float64Array(grid.length),
    sessionCapacity,
    requestCapacity: (sessionCapacity * 0.05) / 0.6,
    target: 0.95,
    ...(budget !== undefined ? { budget } : {}),
  };
  return { problem, exams };
}

/** Every combination of shifts: the best cost among those under the target, or null. */
export function bruteForceStagger(p: StaggerProblem): { cost: StaggerCost; peak: number } | null {
  let best: { cost: StaggerCost; peak: number } | null = null;
  const choice = p.items.map(() => 0);
  const rec = (i: number): void => {
    if (i === p.items.length) {
      const peak = peakOf(p, choice);
      if (peak > p.target) return;
      let shifted = 0;
      let minutes = 0;
      choice.forEach((c, k) => {
        const m = Math.abs(p.items[k]!.shifts[c]!);
        if (m) {
          shifted++;
          minutes += m;
        }
      });
      const cost = { shifted, minutes };
      if (best === null || compareCost(cost, best.cost) < 0) best = { cost, peak };
      return;
    }
    for (let j = 0; j < p.items[i]!.shifts.length; j++) {
      choice[i] = j;
      rec(i + 1);
    }
  };
  rec(0);
  return best;
}

/** A tiny packing: up to 6 exams with time-shifted square loads on up to 4 servers. */
export function smallPackCase(seed: number, budget?: number): PackProblem {
  const rng = mulberry32(seed);
  const T = 24;
  const nItems = 3 + Math.floor(rng() * 4);
  const nBins = 2 + Math.floor(rng() * 3);
  const items = Array.from({ length: nItems }, (_, i) => {
    const from = Math.floor(rng() * 16);
    const len = 4 + Math.floor(rng() * 8);
    const h = 20 + Math.round(rng() * 60);
    const sessions = new Float64Array(T);
    for (let t = from; t < Math.min(T, from + len); t++) sessions[t] = h;
    return { id: `e${i + 1}`, sessions, requests: sessions.map((v) => v * 0.05) };
  });
  const bins = Array.from({ length: nBins }, (_, i) => ({
    id: `s${i + 1}`,
    sessionCapacity: 100,
    requestCapacity: 100,
    baseSessions: new Float64Array(T).fill(5),
    baseRequests: new Float64Array(T),
  }));
  return { items, bins, target: 0.9, ...(budget !== undefined ? { budget } : {}) };
}

/** Every assignment: the fewest servers holding items with every server under the target, or null. */
export function bruteForcePack(p: PackProblem): number | null {
  const T = p.items[0]!.sessions.length;
  let best: number | null = null;
  const a = p.items.map(() => 0);
  const rec = (i: number): void => {
    if (i === p.items.length) {
      for (let b = 0; b < p.bins.length; b++) {
        const bin = p.bins[b]!;
        for (let t = 0; t < T; t++) {
          let s = bin.baseSessions[t]!;
          let r = bin.baseRequests[t]!;
          p.items.forEach((it, k) => {
            if (a[k] === b) {
              s += it.sessions[t]!;
              r += it.requests[t]!;
            }
          });
          if (s / bin.sessionCapacity > p.target || r / bin.requestCapacity > p.target) return;
        }
      }
      const used = new Set(a).size;
      if (best === null || used < best) best = used;
      return;
    }
    for (let b = 0; b < p.bins.length; b++) {
      a[i] = b;
      rec(i + 1);
    }
  };
  rec(0);
  return best;
}
