/**
 * Detection benchmark: lead time, misses and false pages of Vigie's default rule pack
 * against two baselines, side by side on the same simulated mornings in the same run.
 *
 *   node bench/detection.bench.ts [--mornings N] [--workers 2] [--out bench/results/detection.json]
 *                                              [--schedule-error σ | --no-schedule]
 *
 * Each morning: simulator → collectors → in-memory producer → otlp/decode (decode +
 * toSamples, as the pipeline) → the samples the pipeline would tap, fed to
 *   (a) `vigie-default`: alerts/rules/default.yml, read at run time, on Vigie's engine,
 *       with the morning's exam schedule fed as `ecampus_expected_*` series as live
 *       (`--schedule-error σ`: each enrolment off by a log-normal factor; `--no-schedule`:
 *       none, to measure how much of the lead the schedule buys);
 *   (b) `static`: bench/support/static-rules.yml (CPU/workers > 90 % for 5m, p95 > 2 s
 *       for 2m, 5xx > 5 % for 2m) on Vigie's engine;
 *   (c) `predict-linear-prometheus`: bench/support/predict-linear-rules.yml evaluated by
 *       a real Prometheus (Debian 2.42): the morning's session/capacity samples are
 *       remote-written, shifted into the recent past (the TSDB head refuses old samples),
 *       the alert expression runs as `query_range` at the 15 s evaluation step, and `for`
 *       is applied per label set with Prometheus' state machine — a rule evaluated by
 *       Prometheus' rule manager runs on the wall clock, so it cannot replay a morning;
 *   (d) `predict-linear-vigie`: the same rule on Vigie's engine (v2 semantics), a
 *       cross-check of (c).
 * Vigie detectors evaluate every 15 s, driven by the data's watermark like the live chain.
 *
 * Scores against the simulator's ground truth: lead = collapse (first faculty error
 * ratio > 50 % sustained 1 min) − first page of the morning; a collapse with no page
 * before it is a miss (it counts as −∞ in the lead quantiles); every page on a morning
 * without collapse is a false page. Also measured on (a): rule-evaluation throughput and
 * sample arrival → notifier call latency (processing delay beyond `for`).
 * Prints the summary as JSON and writes it to bench/results/detection.json.
 */
import { fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseRuleFile, type AlertingRule, type RuleGroup } from '../alerts/rules.ts';
import type { ScheduledExam } from '../schedule/index.ts';
import { dayOf, mulberry32, resolveMorningOptions, schedule } from '../simulator/index.ts';
import { gaussian, type CollapseTrigger, type RampShape } from '../simulator/model.ts';
import { PROMETHEUS_BIN, startPrometheus } from '../test/support/prometheus.ts';
import { createSeriesRecorder, createVigieDetector, prometheusPages, type Page } from './support/detectors.ts';
import { streamMorning } from './support/morningStream.ts';
import { matrixCells } from './support/matrix.ts';
import { quantile, writeResult } from './support/measure.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const DEFAULT_RULES = resolve(ROOT, 'alerts/rules/default.yml');
const STATIC_RULES = resolve(HERE, 'support/static-rules.yml');
const PL_RULES = resolve(HERE, 'support/predict-linear-rules.yml');
const DETECTORS = ['vigie-default', 'static', 'predict-linear-prometheus', 'predict-linear-vigie'] as const;
type DetectorName = (typeof DETECTORS)[number];

/** One simulated morning of the matrix. */
interface Scenario {
  readonly id: string;
  readonly seed: number;
  readonly capacity: number;
  readonly rampShape: RampShape;
  readonly noise: number;
  readonly spikes: boolean;
}

/** What one morning produced (sent from workers to the parent). */
interface MorningOutcome {
  readonly scenario: Scenario;
  readonly collapseAtMs: number | null;
  readonly collapsedFaculties: readonly string[];
  /** Collapse time per collapsed faculty (simulator truth). */
  readonly facultyCollapseAtMs: Readonly<Record<string, number>>;
  /** Simulator truth on what led into the first collapse (overload start, spike, peaks before). */
  readonly trigger: CollapseTrigger | null;
  readonly samples: number;
  readonly wallMs: number;
  /** CPU seconds of this worker process for the morning (simulation, decode, all Vigie detectors). */
  readonly cpuSeconds: number;
  readonly pages: Record<DetectorName, Page[]>;
  readonly errors: Record<string, string[]>;
  readonly cost: { samples: number; evaluations: number; ruleEvaluations: number; samplesLoaded: number; addMs: number; evalMs: number; decodeMs: number };
  readonly notifyLatencyMs: number[];
  readonly pageLatencyMs: number[];
}

/** The matrix (`support/matrix.ts`), one seed each, 101 upwards in matrix order. */
function scenarios(): Scenario[] {
  return matrixCells().map((c, i) => {
    const seed = 101 + i;
    return { id: `c${c.capacity}-${c.rampShape}-n${c.noise}${c.spikes ? '-spikes' : ''}-s${seed}`, seed, ...c };
  });
}

async function loadRules(path: string): Promise<RuleGroup[]> {
  return parseRuleFile(await readFile(path, 'utf8'), path);
}

/**
 * What the default pack is told about the morning's exams: the simulator's schedule, or
 * (to measure how much of the lead it buys) none, or one whose enrolments are each off
 * by a log-normal factor of σ `enrolmentError`, drawn per morning from its seed.
 */
interface ScheduleFeed {
  readonly fed: boolean;
  readonly enrolmentError: number;
}

function scheduleFor(sc: Scenario, startMs: number, feed: ScheduleFeed): ScheduledExam[] | null {
  if (!feed.fed) return null;
  const rng = mulberry32(sc.seed ^ 0x5c4ed);
  return schedule(dayOf(startMs)).map((e) => ({ ...e, enrolled: Math.max(0, Math.round(e.enrolled * Math.exp(feed.enrolmentError * gaussian(rng)))) }));
}

/** Runs one morning through every detector. */
async function runScenario(sc: Scenario, rules: { def: RuleGroup[]; stat: RuleGroup[]; pl: RuleGroup[] }, feed: ScheduleFeed): Promise<MorningOutcome> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const sim = { seed: sc.seed, capacity: sc.capacity, rampShape: sc.rampShape, noise: sc.noise, spikes: sc.spikes };
  // The default pack reads the exam schedule's expected sessions: fed from the morning's
  // own schedule, step by step as the watermark advances, as cli/chain.ts does.
  const startMs = resolveMorningOptions(sim).start;
  const exams = scheduleFor(sc, startMs, feed);
  const def = createVigieDetector(rules.def, exams ? { schedule: { exams, startMs } } : {});
  const stat = createVigieDetector(rules.stat, { onlySelected: true });
  const plVigie = createVigieDetector(rules.pl, { semantics: 'v2', onlySelected: true });
  const recorder = createSeriesRecorder(new Set(['ecampus_sessions_active', 'ecampus_capacity_sessions']));
  const run = await streamMorning(sim, (samples, arrival) => {
    recorder.onSamples(samples);
    stat.onSamples(samples, arrival);
    plVigie.onSamples(samples, arrival);
    // Last, so its notify latency does not include the other detectors' work.
    def.onSamples(samples, arrival);
  });
  const { truth } = run;
  await Promise.all([def.finish(truth.endMs), stat.finish(truth.endMs), plVigie.finish(truth.endMs)]);

  const plRule = rules.pl.flatMap((g) => g.rules).find((r): r is AlertingRule => r.kind === 'alert')!;
  const prom = await startPrometheus();
  let promPages: Page[];
  try {
    const stepMs = 15_000;
    const span = truth.endMs - truth.startMs;
    const target = Math.floor((Date.now() - span - 10 * 60_000) / stepMs) * stepMs;
    const shiftMs = target - Math.floor(truth.startMs / stepMs) * stepMs;
    promPages = await prometheusPages(prom, plRule, recorder.series(), { startMs: truth.startMs, endMs: truth.endMs, stepMs, shiftMs });
  } finally {
    await prom.stop();
  }
  const c = def.cost();
  return {
    scenario: sc,
    collapseAtMs: truth.collapseAtMs,
    collapsedFaculties: truth.collapsedFaculties,
    facultyCollapseAtMs: Object.fromEntries(truth.faculties.filter((f) => f.collapseAtMs !== null).map((f) => [f.faculty, f.collapseAtMs!])),
    trigger: truth.faculties.find((f) => f.collapseAtMs !== null && f.collapseAtMs === truth.collapseAtMs)?.collapseTrigger ?? null,
    samples: run.samples,
    wallMs: performance.now() - t0,
    cpuSeconds: ((u) => (u.user + u.system) / 1e6)(process.cpuUsage(cpu0)),
    pages: { 'vigie-default': def.pages(), static: stat.pages(), 'predict-linear-prometheus': promPages, 'predict-linear-vigie': plVigie.pages() },
    errors: { 'vigie-default': def.errors(), static: stat.errors(), 'predict-linear-vigie': plVigie.errors() },
    cost: { samples: c.samples, evaluations: c.evaluations, ruleEvaluations: c.ruleEvaluations, samplesLoaded: c.samplesLoaded, addMs: c.addMs, evalMs: c.evalMs, decodeMs: run.decodeMs },
    notifyLatencyMs: c.notifyLatencyMs,
    pageLatencyMs: c.pageLatencyMs,
  };
}

const minutes = (ms: number | null) => (ms === null ? null : Number.isFinite(ms) ? Math.round((ms / 60_000) * 100) / 100 : ms > 0 ? 'inf' : 'miss');

function summarise(outcomes: readonly MorningOutcome[], wallMs: number, workers: number, feed: ScheduleFeed) {
  const collapsed = outcomes.filter((o) => o.collapseAtMs !== null);
  const benign = outcomes.filter((o) => o.collapseAtMs === null);
  const detectors: Record<string, unknown> = {};
  for (const d of DETECTORS) {
    const leads = collapsed
      .map((o) => {
        const first = o.pages[d].filter((p) => p.at <= o.collapseAtMs!).sort((a, b) => a.at - b.at)[0];
        return first ? o.collapseAtMs! - first.at : -Infinity;
      });
    // Stricter: only pages that name a faculty that collapsed (measured against that
    // faculty's collapse) or no faculty (platform-wide, against the first collapse).
    const matched = collapsed
      .map((o) => {
        let best = -Infinity;
        for (const p of o.pages[d]) {
          const c = p.faculty === null ? o.collapseAtMs! : o.facultyCollapseAtMs[p.faculty];
          if (c !== undefined && p.at <= c) best = Math.max(best, c - p.at);
        }
        return best;
      });
    const falsePages = benign.map((o) => o.pages[d].length);
    const med = quantile(leads, 0.5);
    const p10 = quantile(leads, 0.1);
    detectors[d] = {
      medianLeadMin: minutes(med),
      p10LeadMin: minutes(p10),
      missed: leads.filter((l) => l === -Infinity).length,
      // For a missed collapse, how late the first page came (reaction, not warning).
      missedPagedAfterSeconds: collapsed
        .filter((o) => !o.pages[d].some((p) => p.at <= o.collapseAtMs!))
        .map((o) => {
          const after = o.pages[d].filter((p) => p.at > o.collapseAtMs!).sort((x, y) => x.at - y.at)[0];
          return after ? (after.at - o.collapseAtMs!) / 1000 : null;
        }),
      collapses: collapsed.length,
      facultyMatched: {
        note: 'lead of the earliest page naming a faculty that collapsed, against that faculty\'s collapse (or platform-wide pages against the first collapse)',
        medianLeadMin: minutes(quantile(matched, 0.5)),
        p10LeadMin: minutes(quantile(matched, 0.1)),
        missed: matched.filter((l) => l === -Infinity).length,
      },
      falsePages: falsePages.reduce((a, b) => a + b, 0),
      falsePagesPerBenignMorning: benign.length ? Math.round((falsePages.reduce((a, b) => a + b, 0) / benign.length) * 1000) / 1000 : null,
      benignMorningsWithAPage: falsePages.filter((n) => n > 0).length,
      benignMornings: benign.length,
      targetsMet: {
        medianLeadAtLeast5Min: med !== null && med >= 5 * 60_000,
        p10LeadAtLeast2Min: p10 !== null && p10 >= 2 * 60_000,
        noMiss: leads.every((l) => l !== -Infinity),
        atMost1FalsePagePer20BenignMornings: benign.length === 0 || falsePages.reduce((a, b) => a + b, 0) / benign.length <= 0.05,
      },
    };
  }
  const cost = outcomes.reduce(
    (s, o) => ({ samples: s.samples + o.cost.samples, samplesLoaded: s.samplesLoaded + o.cost.samplesLoaded, ruleEvaluations: s.ruleEvaluations + o.cost.ruleEvaluations, evaluations: s.evaluations + o.cost.evaluations, ms: s.ms + o.cost.addMs + o.cost.evalMs, evalMs: s.evalMs + o.cost.evalMs }),
    { samples: 0, samplesLoaded: 0, ruleEvaluations: 0, evaluations: 0, ms: 0, evalMs: 0 },
  );
  const notify = outcomes.flatMap((o) => o.notifyLatencyMs).sort((a, b) => a - b);
  const page = outcomes.flatMap((o) => o.pageLatencyMs).sort((a, b) => a - b);
  const r3 = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);
  const def = detectors['vigie-default'] as { medianLeadMin: unknown; p10LeadMin: unknown };
  const ahead = (d: DetectorName) => {
    const o = detectors[d] as { medianLeadMin: unknown; p10LeadMin: unknown };
    const num = (v: unknown) => (typeof v === 'number' ? v : v === 'miss' ? -Infinity : Number.NaN);
    return num(def.medianLeadMin) > num(o.medianLeadMin) && num(def.p10LeadMin) >= num(o.p10LeadMin);
  };
  return {
    benchmark: 'detection',
    command: 'node bench/detection.bench.ts',
    generatedAt: new Date().toISOString(),
    node: process.version,
    workers,
    wallSeconds: Math.round(wallMs / 100) / 10,
    rules: { default: 'alerts/rules/default.yml', static: 'bench/support/static-rules.yml', predictLinear: 'bench/support/predict-linear-rules.yml' },
    schedule: {
      note: 'what the default pack is told about the exams: the simulator schedule (fed), with each enrolment off by a log-normal factor of σ enrolmentError, or nothing',
      ...feed,
    },
    mornings: outcomes.length,
    collapsedMornings: collapsed.length,
    benignMornings: benign.length,
    detectors,
    defaultAheadOfBaselines: { static: ahead('static'), 'predict-linear-prometheus': ahead('predict-linear-prometheus') },
    predictLinearCrossCheck: {
      note: 'same rule on a real Prometheus vs on Vigie (v2): mornings whose page times differ',
      morningsDiffering: outcomes.filter((o) => JSON.stringify(o.pages['predict-linear-prometheus'].map((p) => [p.faculty, p.at]).sort()) !== JSON.stringify(o.pages['predict-linear-vigie'].map((p) => [p.faculty, p.at]).sort())).map((o) => o.scenario.id),
    },
    throughput: {
      note: 'default pack only; CPU time (process.cpuUsage) in store.add + evaluation, decode excluded; the bench is single-threaded per worker, so this is per core',
      samplesPerSecondPerCore: Math.round(cost.samples / (cost.ms / 1000)),
      ruleEvaluationsPerSecondPerCore: Math.round(cost.ruleEvaluations / (cost.evalMs / 1000)),
      sampleEvaluationsPerSecondPerCore: Math.round(cost.samplesLoaded / (cost.evalMs / 1000)),
      sampleEvaluations: cost.samplesLoaded,
      evaluationMsP50PerBoundary: r3(cost.evalMs / Math.max(1, cost.evaluations)),
      samples: cost.samples,
      ruleEvaluations: cost.ruleEvaluations,
    },
    latency: {
      note: 'default pack: wall time from the arrival of the OTLP message that completed an evaluation boundary (before decode) to the notifier call; the for wait is simulated time and not included',
      notifyP50Ms: r3(quantile(notify, 0.5)),
      notifyP99Ms: r3(quantile(notify, 0.99)),
      newPageP99Ms: r3(quantile(page, 0.99)),
      newPageMaxMs: r3(page.at(-1) ?? null),
      notifyCalls: notify.length,
      newPageCalls: page.length,
    },
    errors: [...new Set(outcomes.flatMap((o) => Object.entries(o.errors).flatMap(([d, es]) => es.map((e) => `${d}: ${e}`))))],
    perMorning: outcomes.map((o) => ({
      id: o.scenario.id,
      collapseAt: o.collapseAtMs === null ? null : new Date(o.collapseAtMs).toISOString().slice(11, 19),
      wallSeconds: Math.round(o.wallMs / 100) / 10,
      cpuSeconds: Math.round(o.cpuSeconds * 10) / 10,
      firstPage: Object.fromEntries(
        DETECTORS.map((d) => {
          const f = [...o.pages[d]].sort((a, b) => a.at - b.at)[0];
          return [d, f ? `${new Date(f.at).toISOString().slice(11, 19)} ${f.rule}{${f.faculty ?? ''}}` : null];
        }),
      ),
      pages: Object.fromEntries(DETECTORS.map((d) => [d, o.pages[d].length])),
      collapsedFaculties: Object.fromEntries(Object.entries(o.facultyCollapseAtMs).map(([f, t]) => [f, new Date(t).toISOString().slice(11, 19)])),
      collapseTrigger: o.trigger && {
        overloadAt: new Date(o.trigger.overloadAtMs).toISOString().slice(11, 19),
        secondsFromOverloadToCollapse: (o.collapseAtMs! - o.trigger.overloadAtMs) / 1000,
        spikeAtOverload: o.trigger.spikeAtOverload,
        peakUtilizationBefore: o.trigger.peakUtilizationBefore,
        peakSessionShareBefore: o.trigger.peakSessionShareBefore,
      },
      pageList: Object.fromEntries(DETECTORS.map((d) => [d, o.pages[d].map((p) => `${new Date(p.at).toISOString().slice(11, 19)} ${p.rule}{${p.faculty ?? ''}}`)])),
      leadMin: Object.fromEntries(
        DETECTORS.map((d) => {
          if (o.collapseAtMs === null) return [d, null];
          const f = o.pages[d].filter((p) => p.at <= o.collapseAtMs!).sort((a, b) => a.at - b.at)[0];
          return [d, f ? minutes(o.collapseAtMs - f.at) : 'miss'];
        }),
      ),
    })),
  };
}

async function worker(ids: readonly string[], feed: ScheduleFeed): Promise<MorningOutcome[]> {
  const rules = { def: await loadRules(DEFAULT_RULES), stat: await loadRules(STATIC_RULES), pl: await loadRules(PL_RULES) };
  const out: MorningOutcome[] = [];
  for (const sc of scenarios().filter((s) => ids.includes(s.id))) {
    const o = await runScenario(sc, rules, feed);
    process.stderr.write(`[detection] ${sc.id}: collapse ${o.collapseAtMs === null ? 'none' : new Date(o.collapseAtMs).toISOString().slice(11, 19)}, pages ${DETECTORS.map((d) => o.pages[d].length).join('/')}, ${(o.wallMs / 1000).toFixed(1)} s wall, ${o.cpuSeconds.toFixed(1)} s CPU\n`);
    out.push(o);
  }
  return out;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      mornings: { type: 'string' },
      workers: { type: 'string' },
      out: { type: 'string', default: resolve(ROOT, 'bench/results/detection.json') },
      'worker-ids': { type: 'string' },
      'no-schedule': { type: 'boolean', default: false },
      'schedule-error': { type: 'string', default: '0' },
    },
  });
  const feed: ScheduleFeed = { fed: !values['no-schedule'], enrolmentError: Number(values['schedule-error']) };
  if (!(feed.enrolmentError >= 0 && feed.enrolmentError <= 2)) throw new Error(`--schedule-error must be a log-normal σ in [0, 2], got ${values['schedule-error']}`);
  if (values['worker-ids'] !== undefined) {
    const res = await worker(values['worker-ids'].split(','), feed);
    await new Promise<void>((r) => process.send!(res, () => r()));
    return;
  }
  if (!existsSync(PROMETHEUS_BIN)) throw new Error(`the predict_linear baseline needs Prometheus at ${PROMETHEUS_BIN} (apt-get install --no-install-recommends prometheus)`);
  const all = scenarios();
  const n = values.mornings !== undefined ? Number(values.mornings) : all.length;
  // Spread a shortened run over the matrix rather than taking its first rows.
  const picked = n >= all.length ? all : Array.from({ length: n }, (_, i) => all[Math.floor((i * all.length) / n)]!);
  const workers = Math.max(1, Math.min(Number(values.workers ?? availableParallelism()), picked.length));
  const t0 = performance.now();
  const shards = Array.from({ length: workers }, (_, w) => picked.filter((_, i) => i % workers === w).map((s) => s.id));
  const results = await Promise.all(
    shards.map(
      (ids) =>
        new Promise<MorningOutcome[]>((resolveShard, reject) => {
          const child = fork(fileURLToPath(import.meta.url), ['--worker-ids', ids.join(','), '--schedule-error', String(feed.enrolmentError), ...(feed.fed ? [] : ['--no-schedule'])], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
          let got: MorningOutcome[] | undefined;
          child.on('message', (m) => (got = m as MorningOutcome[]));
          child.on('error', reject);
          child.on('exit', (code) => (got && code === 0 ? resolveShard(got) : reject(new Error(`bench worker exited with ${code}`))));
        }),
    ),
  );
  const order = picked.map((s) => s.id);
  const outcomes = results.flat().sort((a, b) => order.indexOf(a.scenario.id) - order.indexOf(b.scenario.id));
  const summary = summarise(outcomes, performance.now() - t0, workers, feed);
  writeResult(values.out, summary);
}

await main();
