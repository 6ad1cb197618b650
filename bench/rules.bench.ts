/**
 * Rule-evaluation benchmark: sample-evaluations per second per core of the default rule
 * pack, and sample arrival → notifier call latency, on one recorded simulated morning.
 *
 *   node bench/rules.bench.ts [--runs 5] [--capacity 1] [--seed 42] [--out bench/results/rules.json]
 *
 * The morning (simulator → collectors → OTLP → `otlp/decode.ts`, as the pipeline taps it)
 * is recorded once, then replayed `--runs` times into a fresh detector built like the
 * live chain (`bench/support/detectors.ts`: store, schedule feeder, watermark scheduler,
 * engine, 15 s evaluations). A sample-evaluation is a sample a rule's selector loads —
 * one per instant-vector series, every point of a range window — which is what
 * Prometheus counts in `prometheus_engine_query_samples_total`. Per core = divided by the
 * CPU time (process.cpuUsage) spent in evaluation; the replay is single-threaded.
 *
 * Same-process baseline, to read the figures on a shared, noisy machine: summing a
 * Float64Array of the same number of values (the cost of touching each loaded sample
 * once), timed between the runs. Prints the summary as JSON and writes it to --out.
 */
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseRuleFile } from '../rules/ruleFile.ts';
import type { Sample } from '../core/samples.ts';
import { dayOf, resolveMorningOptions, schedule } from '../simulator/index.ts';
import { createVigieDetector } from './support/detectors.ts';
import { cpuMs, median as medianOrNull, quantile, writeResult } from './support/measure.ts';
import { streamMorning } from './support/morningStream.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const RULES = resolve(ROOT, 'rules/packs/default.yml');

const median = (xs: readonly number[]): number => medianOrNull(xs) ?? Number.NaN;

/** Values summed per second by a tight Float64Array loop (the calibration baseline). */
function scanBaseline(n: number): number {
  const a = new Float64Array(Math.min(n, 20_000_000)).map((_, i) => i % 97);
  const passes = Math.max(1, Math.round(n / a.length));
  let sink = 0;
  const t0 = cpuMs();
  for (let p = 0; p < passes; p++) for (let i = 0; i < a.length; i++) sink += a[i]!;
  const ms = cpuMs() - t0;
  if (sink < 0) throw new Error('unreachable');
  return (a.length * passes) / (ms / 1000);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      runs: { type: 'string', default: '5' },
      seed: { type: 'string', default: '42' },
      capacity: { type: 'string', default: '1' },
      out: { type: 'string', default: resolve(ROOT, 'bench/results/rules.json') },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write('usage: node bench/rules.bench.ts [--runs 5] [--seed 42] [--capacity 1] [--out FILE]\n');
    return;
  }
  const runs = Number(values.runs);
  const sim = { seed: Number(values.seed), capacity: Number(values.capacity) };
  if (!(Number.isInteger(runs) && runs > 0)) throw new Error(`--runs must be a positive integer, got ${values.runs}`);
  const groups = parseRuleFile(await readFile(RULES, 'utf8'), RULES);
  const startMs = resolveMorningOptions(sim).start;

  process.stderr.write(`[rules] recording morning seed ${sim.seed} capacity ${sim.capacity}…\n`);
  const batches: (readonly Sample[])[] = [];
  const rec = await streamMorning(sim, (samples) => batches.push(samples));
  process.stderr.write(`[rules] ${rec.samples.toLocaleString('en')} samples in ${batches.length.toLocaleString('en')} messages; replaying ${runs}×\n`);
  const endMs = rec.truth.endMs;

  const perRun: { sampleEvalsPerCpuS: number; ruleEvalsPerCpuS: number; evalCpuMs: number; samplesLoaded: number; evaluations: number; baselinePerCpuS: number; notifyP99Ms: number; pages: number }[] = [];
  for (let r = 0; r < runs; r++) {
    const det = createVigieDetector(groups, { schedule: { exams: schedule(dayOf(startMs)), startMs } });
    // Yield after each message so notifications are delivered as they would be live
    // (the latency figure measures arrival → notify, not the replay's backlog).
    for (const b of batches) {
      det.onSamples(b, performance.now());
      await new Promise<void>((r) => setImmediate(r));
    }
    await det.finish(endMs);
    const c = det.cost();
    if (det.errors().length) throw new Error(`rule errors: ${det.errors().join('; ')}`);
    const baselinePerCpuS = scanBaseline(c.samplesLoaded);
    perRun.push({
      sampleEvalsPerCpuS: c.samplesLoaded / (c.evalMs / 1000),
      ruleEvalsPerCpuS: c.ruleEvaluations / (c.evalMs / 1000),
      evalCpuMs: c.evalMs,
      samplesLoaded: c.samplesLoaded,
      evaluations: c.evaluations,
      baselinePerCpuS,
      notifyP99Ms: quantile(c.notifyLatencyMs, 0.99) ?? Number.NaN,
      pages: det.pages().length,
    });
    process.stderr.write(
      `[rules] run ${r + 1}/${runs}: ${Math.round(perRun.at(-1)!.sampleEvalsPerCpuS).toLocaleString('en')} sample-evaluations/s per core, ${c.evaluations} evaluations, ${(c.evalMs / 1000).toFixed(2)} s CPU\n`,
    );
  }
  const med = median(perRun.map((p) => p.sampleEvalsPerCpuS));
  const base = median(perRun.map((p) => p.baselinePerCpuS));
  const summary = {
    benchmark: 'rules',
    command: 'node bench/rules.bench.ts',
    generatedAt: new Date().toISOString(),
    node: process.version,
    morning: { ...sim, samples: rec.samples, hours: (endMs - rec.truth.startMs) / 3_600_000 },
    rules: { file: 'rules/packs/default.yml', count: groups.reduce((n, g) => n + g.rules.length, 0) },
    runs,
    definition:
      'sample-evaluation = a sample loaded by a rule selector (1 per instant-vector series, every point of a range window; Prometheus query_samples_total); per core = per CPU-second of evaluation (single-threaded replay)',
    sampleEvaluationsPerSecondPerCore: { median: Math.round(med), min: Math.round(Math.min(...perRun.map((p) => p.sampleEvalsPerCpuS))), max: Math.round(Math.max(...perRun.map((p) => p.sampleEvalsPerCpuS))) },
    ruleEvaluationsPerSecondPerCore: Math.round(median(perRun.map((p) => p.ruleEvalsPerCpuS))),
    samplesLoadedPerEvaluation: Math.round(perRun[0]!.samplesLoaded / perRun[0]!.evaluations),
    evaluationCpuMsPerBoundary: Math.round((median(perRun.map((p) => p.evalCpuMs)) / perRun[0]!.evaluations) * 100) / 100,
    baseline: { note: 'Float64Array sum of as many values as samples loaded, same process, between runs', valuesPerSecondPerCore: Math.round(base) },
    ratioToBaseline: Math.round((med / base) * 10000) / 10000,
    notifyLatencyP99Ms: { note: 'arrival of the message that completed a boundary → notify() call, median over runs of each run\'s p99', value: Math.round(median(perRun.map((p) => p.notifyP99Ms)) * 10) / 10 },
    target: { sampleEvaluationsPerSecondPerCore: 1_000_000, met: med >= 1_000_000 },
    perRun: perRun.map((p) => ({ ...p, sampleEvalsPerCpuS: Math.round(p.sampleEvalsPerCpuS), ruleEvalsPerCpuS: Math.round(p.ruleEvalsPerCpuS), baselinePerCpuS: Math.round(p.baselinePerCpuS), evalCpuMs: Math.round(p.evalCpuMs), notifyP99Ms: Math.round(p.notifyP99Ms * 10) / 10 })),
  };
  writeResult(values.out, summary);
}

await main();
