/**
 * The planner's solvers against brute force, and the plan of the demo morning.
 *
 *   node bench/planner.bench.ts [--cases 40] [--out bench/results/planner.json]
 *
 * Stagger: `--cases` small timetables (3–4 exams of one pool, ±20 min in 5-min steps,
 * test/unit/planner/smallTimetables.ts), each solved at several budgets and compared with
 * the brute-force optimum: share solved optimally, the gap to the optimum (shifted exams,
 * minutes), whether the solver's own bound held, and time. Bin packing likewise (≤ 6
 * exams, ≤ 4 servers). Then the demo morning's plan: wall time, stagger evaluations, and
 * the platform-wide packing's servers against its proven lower bound.
 */
import { parseArgs } from 'node:util';
import { performance } from 'node:perf_hooks';
import { buildPlan, calibrateRisk, configuredCapacity } from '../planner/index.ts';
import { compareCost, solveStagger } from '../planner/stagger.ts';
import { solveBinPacking } from '../planner/binpack.ts';
import { DEFAULT_DAY_MS, schedule } from '../simulator/model.ts';
import { bruteForcePack, bruteForceStagger, smallPackCase, smallStaggerCase } from '../test/unit/planner/smallTimetables.ts';
import { median, writeResult } from './support/measure.ts';

const { values } = parseArgs({ options: { cases: { type: 'string', default: '40' }, out: { type: 'string', default: 'bench/results/planner.json' } } });
const cases = Number(values.cases);
const seeds = Array.from({ length: cases }, (_, i) => 1000 + i);

const stagger = [undefined, 200, 50, 12].map((budget) => {
  const rows = seeds.map((seed) => {
    const { problem } = smallStaggerCase(seed, budget);
    const t0 = performance.now();
    const got = solveStagger(problem);
    const ms = performance.now() - t0;
    const truth = bruteForceStagger(problem);
    return {
      feasibleTruth: truth !== null,
      optimalClaimed: got.optimal,
      foundOptimum: truth === null ? !got.feasible : got.feasible && compareCost(got.cost, truth.cost) === 0,
      gapShifted: truth && got.feasible ? got.cost.shifted - truth.cost.shifted : null,
      gapMinutes: truth && got.feasible ? got.cost.minutes - truth.cost.minutes : null,
      boundHeld: truth === null || compareCost(got.lowerBound, truth.cost) <= 0,
      missedFeasible: truth !== null && !got.feasible,
      ms,
    };
  });
  const gaps = rows.filter((r) => r.gapShifted !== null);
  return {
    budget: budget ?? 'default (200000)',
    cases: rows.length,
    feasibleCases: rows.filter((r) => r.feasibleTruth).length,
    foundOptimum: rows.filter((r) => r.foundOptimum).length,
    claimedOptimal: rows.filter((r) => r.optimalClaimed).length,
    wrongOptimalClaims: rows.filter((r) => r.optimalClaimed && !r.foundOptimum).length,
    boundHeld: rows.filter((r) => r.boundHeld).length,
    missedFeasible: rows.filter((r) => r.missedFeasible).length,
    maxGapShifted: Math.max(0, ...gaps.map((r) => r.gapShifted!)),
    maxGapMinutes: Math.max(0, ...gaps.map((r) => r.gapMinutes!)),
    meanGapMinutes: gaps.length ? gaps.reduce((s, r) => s + r.gapMinutes!, 0) / gaps.length : 0,
    medianMs: median(rows.map((r) => r.ms)),
  };
});

const packing = [undefined, 20, 1].map((budget) => {
  const rows = seeds.map((seed) => {
    const p = smallPackCase(seed, budget);
    const got = solveBinPacking(p);
    const truth = bruteForcePack(p);
    return { truth, got };
  });
  const solvable = rows.filter((r) => r.truth !== null && r.got.unplaced.length === 0);
  return {
    budget: budget ?? 'default (50000)',
    cases: rows.length,
    solvable: rows.filter((r) => r.truth !== null).length,
    foundOptimum: solvable.filter((r) => r.got.serversUsed === r.truth).length,
    claimedOptimal: solvable.filter((r) => r.got.optimal).length,
    wrongOptimalClaims: solvable.filter((r) => r.got.optimal && r.got.serversUsed !== r.truth).length,
    boundHeld: solvable.filter((r) => r.got.lowerBound <= r.truth!).length,
    maxGapServers: Math.max(0, ...solvable.map((r) => r.got.serversUsed - r.truth!)),
    unplacedWhenSolvable: rows.filter((r) => r.truth !== null && r.got.unplaced.length > 0).length,
  };
});

const t0 = performance.now();
const risk = calibrateRisk();
const calibrationMs = performance.now() - t0;
const t1 = performance.now();
const plan = buildPlan({ exams: schedule(DEFAULT_DAY_MS), capacity: configuredCapacity(1), profiles: null, risk });
const planMs = performance.now() - t1;
const result = {
  bench: 'planner',
  stagger,
  packing,
  demo: {
    calibrationMs: Math.round(calibrationMs),
    planMs: Math.round(planMs),
    stagger: plan.stagger.filter((s) => s.solution.peakBefore > plan.target).map((s) => ({ faculty: s.faculty, ...s.solution, shifts: Object.fromEntries([...s.solution.shifts].filter(([, m]) => m !== 0)) })),
    platformPacking: { serversUsed: plan.packing.solution.serversUsed, lowerBound: plan.packing.solution.lowerBound, optimal: plan.packing.solution.optimal, unplaced: plan.packing.solution.unplaced, checks: plan.packing.solution.nodes },
  },
};
console.log(JSON.stringify(result, null, 2));
writeResult(values.out!, result);
