/**
 * The detection benchmark's matrix of simulated mornings: capacities × ramp shapes ×
 * noise levels, with brief spikes on heavy (capacity ≥ 2) and noisy mornings. Shared by
 * `detection.bench.ts` (one seed per cell, through the whole chain) and
 * `foreseeability.bench.ts` (many seeds per cell, model only).
 */
import type { RampShape } from '../../simulator/model.ts';

/** One cell of the matrix. */
export interface MatrixCell {
  readonly capacity: number;
  readonly rampShape: RampShape;
  readonly noise: number;
  readonly spikes: boolean;
}

/** The cells, in a fixed order. */
export function matrixCells(): MatrixCell[] {
  const out: MatrixCell[] = [];
  for (const capacity of [1.0, 1.2, 1.4, 2.0, 2.5]) {
    for (const rampShape of ['linear', 'early', 'late', 'step'] as const) {
      for (const noise of [0.05, 0.15]) out.push({ capacity, rampShape, noise, spikes: capacity >= 2 || noise > 0.1 });
    }
  }
  return out;
}
