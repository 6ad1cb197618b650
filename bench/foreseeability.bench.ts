/**
 * Which collapses can any detector foresee? A study on the simulator's own truth, over
 * many more mornings than the detection benchmark runs through the whole chain.
 *
 *   node bench/foreseeability.bench.ts [--seeds 30] [--out bench/results/foreseeability.json]
 *
 * For each cell of the detection benchmark's matrix (capacity × ramp shape × noise, spikes
 * on heavy and noisy mornings), `--seeds` mornings run through the model alone (no
 * collectors: the model is deterministic per seed, so these are the same mornings the
 * chain would see). Every collapse is described by its run-up (`CollapseTrigger`):
 *   - build-up: sessions reached capacity, or the overload grew for over a minute before
 *     the collapse — visible in the telemetry ahead of time;
 *   - sudden: a random traffic spike pushed a faculty that was below capacity into
 *     overload ≤ 60 s before the collapse (the model's retry storm then sustains it).
 * For a sudden collapse the question is whether anything before the spike sets that
 * morning apart: its "look-alikes" are the mornings of the same cell that did NOT
 * collapse where some faculty, at some 15 s scrape (what collectors report), reached the
 * peak utilization the collapsing faculty showed in the 10 min before its overload. A
 * utilization rule that pages the collapsing morning before its spike pages its
 * look-alikes too, so their share is the false-page rate the "no miss" target costs.
 */
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { MorningModel, resolveMorningOptions, TruthTracker } from '../simulator/index.ts';
import type { CollapseTrigger, RampShape } from '../simulator/model.ts';
import { matrixCells } from './support/matrix.ts';
import { median, quantile, writeResult } from './support/measure.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface Morning {
  readonly seed: number;
  readonly collapseAtMs: number | null;
  readonly faculty: string | null;
  readonly trigger: CollapseTrigger | null;
  /** Per faculty, at each scrape: step start and utilization. */
  readonly trace: Map<string, { start: number[]; rho: number[] }>;
}

function runModel(seed: number, capacity: number, rampShape: RampShape, noise: number, spikes: boolean): Morning {
  const o = resolveMorningOptions({ seed, capacity, rampShape, noise, spikes });
  const model = new MorningModel(o);
  const truth = new TruthTracker(model.capacities());
  const trace = new Map<string, { start: number[]; rho: number[] }>();
  while (!model.done) {
    const step = model.step();
    truth.add(step, o.stepMs);
    // Only what a collector sees: gauges read at each scrape, not every model step.
    if ((step.atMs - o.start) % o.scrapeIntervalMs !== 0) continue;
    for (const f of step.faculties) {
      let t = trace.get(f.faculty);
      if (!t) trace.set(f.faculty, (t = { start: [], rho: [] }));
      t.start.push(step.atMs - o.stepMs);
      t.rho.push(f.utilization);
    }
  }
  const r = truth.result();
  const first = r.faculties.find((f) => f.collapseAtMs !== null && f.collapseAtMs === r.collapseAtMs) ?? null;
  return { seed, collapseAtMs: r.collapseAtMs, faculty: first?.faculty ?? null, trigger: first?.collapseTrigger ?? null, trace };
}

/** Peak scraped utilization of `faculty` over [fromMs, toMs). */
function peakRho(m: Morning, faculty: string, fromMs: number, toMs: number): number {
  const t = m.trace.get(faculty)!;
  let rho = 0;
  for (let i = 0; i < t.start.length; i++) if (t.start[i]! >= fromMs && t.start[i]! < toMs) rho = Math.max(rho, t.rho[i]!);
  return rho;
}

const r3 = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);

function main(): void {
  const { values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '30' },
      out: { type: 'string', default: resolve(ROOT, 'bench/results/foreseeability.json') },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write('usage: node bench/foreseeability.bench.ts [--seeds 30] [--out FILE]\n');
    return;
  }
  const seeds = Number(values.seeds);
  if (!(Number.isInteger(seeds) && seeds > 1)) throw new Error(`--seeds must be an integer > 1, got ${values.seeds}`);
  const t0 = performance.now();
  const cells: unknown[] = [];
  const ownPeaks: number[] = [];
  const all = { mornings: 0, buildUp: 0, sudden: 0, lookAlikeShares: [] as number[], suddenLeadS: [] as number[], buildUpLeadS: [] as number[] };
  for (const { capacity, rampShape, noise, spikes } of matrixCells()) {
    const mornings = Array.from({ length: seeds }, (_, i) => runModel(10_000 + i, capacity, rampShape, noise, spikes));
    const calm = mornings.filter((m) => m.collapseAtMs === null);
    let sudden = 0;
    let buildUp = 0;
    const shares: number[] = [];
    for (const m of mornings) {
      if (m.trigger === null) continue;
      const tr = m.trigger;
      const leadS = (m.collapseAtMs! - tr.overloadAtMs) / 1000;
      const isSudden = tr.spikeAtOverload && leadS <= 60 && tr.peakSessionShareBefore < 0.95;
      if (!isSudden) {
        buildUp++;
        all.buildUpLeadS.push(leadS);
        continue;
      }
      sudden++;
      all.suddenLeadS.push(leadS);
      if (!calm.length) continue;
      // The collapsing morning's peak utilization over the 10 min before its overload,
      // as scraped (its truth peak includes model steps no collector reports). A rule
      // that pages on it pages any calm morning whose faculties reach it at any scrape.
      const own = peakRho(m, m.faculty!, tr.overloadAtMs - 10 * 60_000, tr.overloadAtMs);
      ownPeaks.push(own);
      const alike = calm.filter((c) => [...c.trace.keys()].some((f) => peakRho(c, f, -Infinity, Infinity) >= own)).length;
      shares.push(alike / calm.length);
    }
    all.mornings += mornings.length;
    all.sudden += sudden;
    all.buildUp += buildUp;
    all.lookAlikeShares.push(...shares);
    cells.push({ capacity, rampShape, noise, spikes, mornings: mornings.length, collapses: sudden + buildUp, buildUp, sudden, medianLookAlikeShare: r3(median(shares)) });
    process.stderr.write(`[foreseeability] c${capacity} ${rampShape} n${noise}: ${sudden + buildUp} collapses, ${sudden} sudden (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
  }
  const summary = {
    benchmark: 'foreseeability',
    command: 'node bench/foreseeability.bench.ts',
    generatedAt: new Date().toISOString(),
    node: process.version,
    seedsPerCell: seeds,
    wallSeconds: Math.round((performance.now() - t0) / 100) / 10,
    mornings: all.mornings,
    collapses: all.buildUp + all.sudden,
    buildUp: { count: all.buildUp, medianSecondsFromOverloadToCollapse: median(all.buildUpLeadS) },
    sudden: {
      count: all.sudden,
      medianSecondsFromOverloadToCollapse: median(all.suddenLeadS),
      note: 'look-alike share: non-collapsing mornings of the same cell where some faculty, at some scrape, reached the peak utilization the collapsing faculty showed in the 10 min before its overload; a utilization rule that pages the sudden collapse before its spike pages these mornings too',
      medianPeakUtilizationBeforeOverload: r3(median(ownPeaks)),
      medianLookAlikeShare: r3(median(all.lookAlikeShares)),
      p10LookAlikeShare: r3(quantile(all.lookAlikeShares, 0.1)),
    },
    cells,
  };
  writeResult(values.out, summary);
}

main();
