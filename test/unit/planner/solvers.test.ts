/**
 * The stagger and bin-packing solvers against brute force on small timetables where the
 * optimum is known: with enough budget they find it and say so; with a starved budget
 * they say they stopped short, and the bound they report holds.
 */
import { describe, expect, it } from 'vitest';
import { compareCost, solveStagger } from '../../../planner/stagger.ts';
import { solveBinPacking } from '../../../planner/binpack.ts';
import { bruteForcePack, bruteForceStagger, smallPackCase, smallStaggerCase } from './smallTimetables.ts';

const SEEDS = Array.from({ length: 16 }, (_, i) => 100 + i);

describe('stagger solver', () => {
  it('finds the brute-force optimum (fewest shifted exams, then fewest minutes) and proves it', () => {
    let needShifts = 0;
    let infeasible = 0;
    for (const seed of SEEDS) {
      const { problem } = smallStaggerCase(seed);
      const truth = bruteForceStagger(problem);
      const got = solveStagger(problem);
      expect(got.optimal, `seed ${seed}`).toBe(true);
      if (truth === null) {
        infeasible++;
        expect(got.feasible, `seed ${seed}: nothing within ±20 min reaches the target`).toBe(false);
        continue;
      }
      expect(got.feasible, `seed ${seed}`).toBe(true);
      expect(got.cost, `seed ${seed}`).toEqual(truth.cost);
      expect(got.lowerBound).toEqual(got.cost);
      expect(got.peakAfter).toBeLessThanOrEqual(problem.target);
      if (truth.cost.shifted > 0) needShifts++;
    }
    // The cases exercise both outcomes that matter, or the test proves little.
    expect(needShifts).toBeGreaterThanOrEqual(4);
    expect(infeasible).toBeGreaterThanOrEqual(1);
  }, 120_000);

  it('says when a starved budget stops it short of the optimum, with a bound that holds', () => {
    let shortStops = 0;
    for (const seed of SEEDS) {
      const { problem } = smallStaggerCase(seed, 12);
      const truth = bruteForceStagger(problem);
      const got = solveStagger(problem);
      if (got.optimal) {
        if (truth) expect(got.cost).toEqual(truth.cost);
        continue;
      }
      shortStops++;
      if (truth === null) continue;
      // lower bound ≤ optimum, and the reported solution is never better than the optimum.
      expect(compareCost(got.lowerBound, truth.cost), `seed ${seed}`).toBeLessThanOrEqual(0);
      if (got.feasible) expect(compareCost(got.cost, truth.cost), `seed ${seed}`).toBeGreaterThanOrEqual(0);
    }
    expect(shortStops).toBeGreaterThan(0);
  }, 120_000);

  it('refuses an item without a zero shift (naming it)', () => {
    const { problem } = smallStaggerCase(1);
    const bad = { ...problem, items: [{ ...problem.items[0]!, shifts: problem.items[0]!.shifts.map((s) => s + 1) }] };
    expect(() => solveStagger(bad)).toThrow(/x1/);
  }, 120_000);
});

describe('bin packing', () => {
  it('uses the brute-force minimum of servers and proves it', () => {
    let packed = 0;
    for (const seed of SEEDS) {
      const p = smallPackCase(seed);
      const truth = bruteForcePack(p);
      const got = solveBinPacking(p);
      if (truth === null) {
        // Brute force found no assignment: the packer must not claim one either.
        expect(got.unplaced.length, `seed ${seed}`).toBeGreaterThan(0);
        continue;
      }
      packed++;
      expect(got.unplaced, `seed ${seed}`).toEqual([]);
      expect(got.serversUsed, `seed ${seed}`).toBe(truth);
      expect(got.optimal).toBe(true);
      expect(got.lowerBound).toBe(truth);
      expect(got.peakUtilization).toBeLessThanOrEqual(p.target + 1e-9);
    }
    expect(packed).toBeGreaterThanOrEqual(10);
  }, 120_000);

  it('reports a lower bound that holds when the budget runs out', () => {
    for (const seed of SEEDS) {
      const p = smallPackCase(seed, 1);
      const truth = bruteForcePack(p);
      const got = solveBinPacking(p);
      if (truth === null || got.unplaced.length) continue;
      expect(got.lowerBound, `seed ${seed}`).toBeLessThanOrEqual(truth);
      expect(got.serversUsed, `seed ${seed}`).toBeGreaterThanOrEqual(truth);
      if (!got.optimal) expect(got.serversUsed).toBeGreaterThan(got.lowerBound);
    }
  }, 120_000);
});
