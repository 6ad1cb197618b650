/**
 * Detection benchmark: lead time, misses and false pages of Vigie's default rule pack
 * against two baselines, side by side on the same simulated mornings in the same run.
 *
 *   node bench/detection.bench.ts [--mornings N] [--split <splits>|both|all] [--workers 2]
 *                                 [--out bench/results/detection.json] [--plan]
 *                                 [--detectors vigie,vigie-no-timetable] [--only s5003,s5010]
 *   node bench/detection.bench.ts --from-outcomes <out>.outcomes.json [--split …] --out …
 *       re-scores a run's raw outcomes (or its `.partial.jsonl` log), keeping some splits
 *
 * `--split`: comma-separated among tuning, tuning-generic, validation, validation-v2
 * (default tuning,validation-v2, or every split when re-scoring; `both` = tuning,validation
 * as before; `all`). `--detectors` and `--only` are for iterating on a few mornings with
 * the Vigie detectors alone; a reported run runs every detector.
 *
 * `--plan`: the Vigie detectors with a timetable read a stored plan of that timetable
 * instead (`vigie plan --store`: the simulated university at the morning's capacity,
 * default profiles, browsing students counted), as `vigie ingest` does when one exists.
 * Without it nothing changes.
 *
 * Four splits (seed offsets and why: bench/support/matrix.ts). `tuning`: the 40 matrix
 * mornings (seeds 101…140) the session rules were tuned on, full telemetry.
 * `tuning-generic`: 40 mornings from seeds 5000… drawn by `validationMornings` — every
 * failure kind (processing capacity below demand, a DB connection leak, sudden and
 * recovering bursts, staggered starts), the four metric-set variants and telemetry faults
 * (lost scrapes, a restart, gaps) — tuned on and inspected freely. `validation` (v1, seeds
 * 10000…): the same generator; its aggregate outcomes were seen while tuning, so it is
 * reported as exposed. `validation-v2` (seeds 20000…): the same generator, run only with a
 * frozen pack; the targets are read on it.
 *
 * Each morning: simulator → collectors → in-memory producer → otlp/decode (decode +
 * toSamples, as the pipeline) → the samples the pipeline would tap, fed to
 *   (a) `vigie`: rules/packs/default.yml, read at run time, on Vigie's engine, fed a
 *       realistic timetable as `ecampus_expected_*` series as live (each enrolment off by
 *       a log-normal factor of σ 0.25, 10 % of exams missing, 10 % moved by ±30 min);
 *       beside it `vigie-exact-timetable` (the simulator's own) and `vigie-no-timetable`;
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
import { appendFileSync, existsSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseRuleFile, type AlertingRule, type RuleGroup } from '../rules/ruleFile.ts';
import type { ScheduledExam } from '../schedule/index.ts';
import { configuredCapacity, DEFAULT_PROFILE, planOverride, planTable } from '../planner/index.ts';
import { createTelemetryTransform, FULL_TELEMETRY, morningSchedule, mulberry32, resolveMorningOptions, type TelemetryProfile } from '../simulator/index.ts';
import { gaussian, type CollapseTrigger, type RampShape } from '../simulator/model.ts';
import { PROMETHEUS_BIN, startPrometheus } from '../test/support/prometheus.ts';
import { createSeriesRecorder, createVigieDetector, prometheusPages, type Page, type VigieDetector } from './support/detectors.ts';
import { streamMorning } from './support/morningStream.ts';
import { GENERIC_TUNING_SEED_OFFSET, matrixCells, VALIDATION_SEED_OFFSET, VALIDATION_V2_SEED_OFFSET, validationMornings, type MetricVariant, type MorningExtras, type MorningKind } from './support/matrix.ts';
import { quantile, writeResult } from './support/measure.ts';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '..');
const DEFAULT_RULES = resolve(ROOT, 'rules/packs/default.yml');
const STATIC_RULES = resolve(HERE, 'support/static-rules.yml');
const PL_RULES = resolve(HERE, 'support/predict-linear-rules.yml');
const DETECTORS = ['vigie', 'vigie-exact-timetable', 'vigie-no-timetable', 'static', 'predict-linear-prometheus', 'predict-linear-vigie'] as const;
type DetectorName = (typeof DETECTORS)[number];

/**
 * The splits (seed offsets and why in bench/support/matrix.ts): `tuning` = the classic
 * matrix (seeds 101…140), `tuning-generic` = every kind and variant for tuning (5,000…),
 * `validation` = v1, exposed (10,000…), `validation-v2` = where targets are read (20,000…).
 */
const SPLITS = ['tuning', 'tuning-generic', 'validation', 'validation-v2'] as const;
type SplitName = (typeof SPLITS)[number];

/** `--split`: a comma-separated list of split names, or `both` (tuning,validation, as before) or `all`. */
function parseSplits(arg: string): SplitName[] {
  if (arg === 'both') return ['tuning', 'validation'];
  if (arg === 'all') return [...SPLITS];
  const names = arg.split(',').map((x) => x.trim());
  for (const n of names) if (!(SPLITS as readonly string[]).includes(n)) throw new Error(`--split: unknown split ${n} (one of ${SPLITS.join(', ')}, both, all; comma-separated)`);
  return names as SplitName[];
}

/** `--detectors`: a comma-separated subset of {@link DETECTORS} (default all; the full run needs all). */
function parseDetectors(arg: string | undefined): DetectorName[] {
  if (arg === undefined || arg === 'all') return [...DETECTORS];
  const names = arg.split(',').map((x) => x.trim());
  for (const n of names) if (!(DETECTORS as readonly string[]).includes(n)) throw new Error(`--detectors: unknown detector ${n} (one of ${DETECTORS.join(', ')})`);
  return names as DetectorName[];
}

/** Detectors this worker runs (set by the parent from `--detectors`). */
const ACTIVE: readonly DetectorName[] = parseDetectors(process.env['VIGIE_BENCH_DETECTORS']);

/** One simulated morning. */
interface Scenario {
  readonly id: string;
  readonly split: SplitName;
  readonly kind: MorningKind;
  readonly variant: MetricVariant;
  readonly seed: number;
  readonly capacity: number;
  readonly rampShape: RampShape;
  readonly noise: number;
  readonly spikes: boolean;
  readonly extras: MorningExtras;
  readonly telemetry: TelemetryProfile;
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
  /**
   * Faculties that saturated without necessarily collapsing (simulator truth): sessions
   * reached their capacity (students refused at the door) or offered load exceeded the
   * workers (ρ > 1) at some step. Scored apart, never as a collapse: on a morning without
   * collapse, pages there still count as false pages.
   */
  readonly saturatedFaculties?: readonly string[];
  readonly samples: number;
  readonly wallMs: number;
  /** CPU seconds of this worker process for the morning (simulation, decode, all Vigie detectors). */
  readonly cpuSeconds: number;
  /** Pages of the detectors that ran (`--detectors`); a detector not run has no key. */
  readonly pages: Partial<Record<DetectorName, Page[]>>;
  readonly errors: Record<string, string[]>;
  readonly cost: { samples: number; evaluations: number; ruleEvaluations: number; samplesLoaded: number; addMs: number; evalMs: number; decodeMs: number };
  readonly notifyLatencyMs: number[];
  readonly pageLatencyMs: number[];
}

const MORNING_START = resolveMorningOptions({}).start;

/** Telemetry a metric variant sends (simulator/telemetry.ts). */
function variantProfile(v: MetricVariant): Pick<TelemetryProfile, 'capacity' | 'workers' | 'status'> {
  return { capacity: v === 'platform-capacity' ? 'platform' : 'faculty', workers: v !== 'no-workers', status: v === 'status-class' ? 'class' : 'code' };
}

/** Tuning: the matrix (`support/matrix.ts`), one seed each, 101 upwards; the other splits: `validationMornings` from their seed offsets. */
function scenarios(): Scenario[] {
  const tuning: Scenario[] = matrixCells().map((c, i) => {
    const seed = 101 + i;
    return { id: `c${c.capacity}-${c.rampShape}-n${c.noise}${c.spikes ? '-spikes' : ''}-s${seed}`, split: 'tuning', kind: 'session-limit', variant: 'full', seed, ...c, extras: {}, telemetry: FULL_TELEMETRY };
  });
  const drawn = (split: SplitName, prefix: string, offset: number): Scenario[] =>
    validationMornings(MORNING_START, (seed) => mulberry32(seed), offset).map((v) => ({
    id: `${prefix}-${v.kind}-${v.variant}-c${v.capacity}-${v.rampShape}-s${v.seed}`,
    split,
    kind: v.kind,
    variant: v.variant,
    seed: v.seed,
    capacity: v.capacity,
    rampShape: v.rampShape,
    noise: v.noise,
    spikes: v.spikes,
    extras: v.extras,
    telemetry: { ...variantProfile(v.variant), ...v.faults, seed: v.seed },
  }));
  return [
    ...tuning,
    ...drawn('tuning-generic', 'g', GENERIC_TUNING_SEED_OFFSET),
    ...drawn('validation', 'v', VALIDATION_SEED_OFFSET),
    ...drawn('validation-v2', 'v2', VALIDATION_V2_SEED_OFFSET),
  ];
}

async function loadRules(path: string): Promise<RuleGroup[]> {
  return parseRuleFile(await readFile(path, 'utf8'), path);
}

/**
 * The timetable the default pack is told: `exact` is what the simulator ran; `realistic`
 * is what a registrar's export looks like on the day (each enrolment off by a log-normal
 * factor of σ 0.25, 10 % of exams missing, 10 % moved by ±30 min), drawn per morning
 * from its seed; `none` feeds nothing. Late arrivals are in the simulator's physics.
 */
type TimetableMode = 'exact' | 'realistic' | 'none';

function timetableFor(sc: Scenario, startMs: number, mode: TimetableMode): ScheduledExam[] | null {
  if (mode === 'none') return null;
  const exams = morningSchedule({ start: startMs, ...(sc.extras.staggerMinutes !== undefined ? { staggerMinutes: sc.extras.staggerMinutes } : {}) });
  if (mode === 'exact') return exams;
  const rng = mulberry32(sc.seed ^ 0x5c4ed);
  const out: ScheduledExam[] = [];
  for (const e of exams) {
    const enrolled = Math.max(0, Math.round(e.enrolled * Math.exp(0.25 * gaussian(rng))));
    const r = rng();
    if (r < 0.1) continue;
    const start = r < 0.2 ? e.start + (rng() < 0.5 ? -30 : 30) * 60_000 : e.start;
    out.push({ ...e, enrolled, start });
  }
  return out;
}

/** Runs one morning through every detector. */
async function runScenario(sc: Scenario, rules: { def: RuleGroup[]; stat: RuleGroup[]; pl: RuleGroup[] }): Promise<MorningOutcome> {
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const sim = { seed: sc.seed, capacity: sc.capacity, rampShape: sc.rampShape, noise: sc.noise, spikes: sc.spikes, ...sc.extras };
  // The default pack reads the exam timetable's expected sessions: fed step by step as
  // the watermark advances, as cli/chain.ts does.
  const startMs = resolveMorningOptions(sim).start;
  const withTimetable = (mode: TimetableMode) => {
    const exams = timetableFor(sc, startMs, mode);
    if (exams && process.env['VIGIE_BENCH_PLAN'] === '1') {
      const day = Math.floor(startMs / 86_400_000) * 86_400_000;
      const table = planTable({ exams, capacity: configuredCapacity(sc.capacity), profileFor: () => DEFAULT_PROFILE }, day, day + 86_400_000 - 1);
      const plan = { id: 'bench', fromMs: day, toMs: day + 86_400_000, createdMs: 0, timetableDigest: '', exams: exams.length, capacitySource: 'simulated', profileSource: 'defaults', table };
      return createVigieDetector(rules.def, { schedule: { exams, startMs }, plan: planOverride([plan]) });
    }
    return createVigieDetector(rules.def, exams ? { schedule: { exams, startMs } } : {});
  };
  // The Vigie detectors that run (`--detectors`); `vigie` last, so its notify latency does
  // not include the other detectors' work.
  const vigie = new Map<DetectorName, VigieDetector>();
  if (ACTIVE.includes('static')) vigie.set('static', createVigieDetector(rules.stat, { onlySelected: true }));
  if (ACTIVE.includes('predict-linear-vigie')) vigie.set('predict-linear-vigie', createVigieDetector(rules.pl, { semantics: 'v2', onlySelected: true }));
  if (ACTIVE.includes('vigie-exact-timetable')) vigie.set('vigie-exact-timetable', withTimetable('exact'));
  if (ACTIVE.includes('vigie-no-timetable')) vigie.set('vigie-no-timetable', withTimetable('none'));
  if (ACTIVE.includes('vigie')) vigie.set('vigie', withTimetable('realistic'));
  const detectors = [...vigie.values()];
  const withProm = ACTIVE.includes('predict-linear-prometheus');
  const recorder = createSeriesRecorder(new Set(['ecampus_sessions_active', 'ecampus_capacity_sessions']));
  // What this platform sends: its metric set and telemetry faults, the same for every detector.
  const platform = createTelemetryTransform(sc.telemetry);
  const run = await streamMorning(sim, (raw, arrival) => {
    const samples = platform(raw);
    if (withProm) recorder.onSamples(samples);
    for (const d of detectors) d.onSamples(samples, arrival);
  });
  const { truth } = run;
  await Promise.all(detectors.map((d) => d.finish(truth.endMs)));

  const pages: Partial<Record<DetectorName, Page[]>> = {};
  for (const [name, d] of vigie) pages[name] = d.pages();
  if (withProm) {
    const plRule = rules.pl.flatMap((g) => g.rules).find((r): r is AlertingRule => r.kind === 'alert')!;
    const prom = await startPrometheus();
    try {
      const stepMs = 15_000;
      const span = truth.endMs - truth.startMs;
      const target = Math.floor((Date.now() - span - 10 * 60_000) / stepMs) * stepMs;
      const shiftMs = target - Math.floor(truth.startMs / stepMs) * stepMs;
      pages['predict-linear-prometheus'] = await prometheusPages(prom, plRule, recorder.series(), { startMs: truth.startMs, endMs: truth.endMs, stepMs, shiftMs });
    } finally {
      await prom.stop();
    }
  }
  const zero = { samples: 0, evaluations: 0, ruleEvaluations: 0, samplesLoaded: 0, addMs: 0, evalMs: 0, notifyLatencyMs: [], pageLatencyMs: [] };
  const c = vigie.get('vigie')?.cost() ?? zero;
  return {
    scenario: sc,
    collapseAtMs: truth.collapseAtMs,
    collapsedFaculties: truth.collapsedFaculties,
    facultyCollapseAtMs: Object.fromEntries(truth.faculties.filter((f) => f.collapseAtMs !== null).map((f) => [f.faculty, f.collapseAtMs!])),
    trigger: truth.faculties.find((f) => f.collapseAtMs !== null && f.collapseAtMs === truth.collapseAtMs)?.collapseTrigger ?? null,
    saturatedFaculties: truth.faculties.filter((f) => f.peakSessions >= 0.99 * f.sessionCapacity || f.peakUtilization > 1).map((f) => f.faculty),
    samples: run.samples,
    wallMs: performance.now() - t0,
    cpuSeconds: ((u) => (u.user + u.system) / 1e6)(process.cpuUsage(cpu0)),
    pages,
    errors: Object.fromEntries([...vigie].map(([name, d]) => [name, d.errors()])),
    cost: { samples: c.samples, evaluations: c.evaluations, ruleEvaluations: c.ruleEvaluations, samplesLoaded: c.samplesLoaded, addMs: c.addMs, evalMs: c.evalMs, decodeMs: run.decodeMs },
    notifyLatencyMs: c.notifyLatencyMs,
    pageLatencyMs: c.pageLatencyMs,
  };
}

/** A detector's pages on a morning (none when it did not run there). */
const pagesOf = (o: MorningOutcome, d: DetectorName): Page[] => o.pages[d] ?? [];

/** The detectors that ran on any of these mornings, in {@link DETECTORS} order. */
const ranOn = (outcomes: readonly MorningOutcome[]): DetectorName[] => DETECTORS.filter((d) => outcomes.some((o) => o.pages[d] !== undefined));

const minutes = (ms: number | null) => (ms === null ? null : Number.isFinite(ms) ? Math.round((ms / 60_000) * 100) / 100 : ms > 0 ? 'inf' : 'miss');

/** A collapse whose trigger (a spike or burst running when the overload began) started < 2 min before it: paged at the onset, not ahead (issue 14's decision). */
function isSudden(o: MorningOutcome): boolean {
  return o.collapseAtMs !== null && o.trigger !== null && o.trigger.spikeAtOverload && o.collapseAtMs - o.trigger.overloadAtMs < 2 * 60_000;
}

/** Pages in the first 15 minutes: a cold-start page (windows cannot hold enough data yet). */
const COLD_START_MS = 15 * 60_000;

/** Scores of one detector on a set of mornings. */
function score(outcomes: readonly MorningOutcome[], d: DetectorName) {
  const buildUp = outcomes.filter((o) => o.collapseAtMs !== null && !isSudden(o));
  const sudden = outcomes.filter(isSudden);
  const benign = outcomes.filter((o) => o.collapseAtMs === null);
  const leads = buildUp.map((o) => {
    const first = pagesOf(o, d).filter((p) => p.at <= o.collapseAtMs!).sort((a, b) => a.at - b.at)[0];
    return first ? o.collapseAtMs! - first.at : -Infinity;
  });
  const med = quantile(leads, 0.5);
  const p10 = quantile(leads, 0.1);
  // Sudden: a page naming a collapsed faculty within 60 s of its onset (or ahead of it).
  const suddenPagedS = sudden.map((o) => {
    let best = Infinity;
    for (const p of pagesOf(o, d)) {
      const c = p.faculty === null ? undefined : o.facultyCollapseAtMs[p.faculty];
      if (c !== undefined) best = Math.min(best, Math.max(0, p.at - c) / 1000);
    }
    return best;
  });
  const falsePageMornings = benign.filter((o) => pagesOf(o, d).length > 0).length;
  // Benign mornings on which no faculty saturated (truth): pages there had nothing to see.
  const calm = benign.filter((o) => o.saturatedFaculties !== undefined && o.saturatedFaculties.length === 0);
  const coldStart = outcomes.filter((o) => pagesOf(o, d).some((p) => p.at < MORNING_START + COLD_START_MS)).length;
  return {
    buildUpCollapses: buildUp.length,
    medianLeadMin: minutes(med),
    p10LeadMin: minutes(p10),
    missed: leads.filter((l) => l === -Infinity).length,
    missedPagedAfterSeconds: buildUp
      .filter((o) => !pagesOf(o, d).some((p) => p.at <= o.collapseAtMs!))
      .map((o) => {
        const after = pagesOf(o, d).filter((p) => p.at > o.collapseAtMs!).sort((x, y) => x.at - y.at)[0];
        return after ? (after.at - o.collapseAtMs!) / 1000 : null;
      }),
    suddenCollapses: sudden.length,
    suddenPagedWithin60sNamingFaculty: suddenPagedS.filter((x) => x <= 60).length,
    suddenPagedAfterSeconds: suddenPagedS.map((x) => (Number.isFinite(x) ? x : null)),
    benignMornings: benign.length,
    falsePageMornings,
    falsePages: benign.reduce((n, o) => n + pagesOf(o, d).length, 0),
    // null: outcomes recorded before the bench kept this truth.
    benignSaturatedMornings: benign.every((o) => o.saturatedFaculties !== undefined) ? benign.length - calm.length : null,
    falsePageMorningsWhereNothingSaturated: benign.every((o) => o.saturatedFaculties !== undefined) ? `${calm.filter((o) => pagesOf(o, d).length > 0).length} of ${calm.length}` : null,
    coldStartPageMornings: coldStart,
    leadsMin: leads.map((l) => minutes(l)),
  };
}

type Score = ReturnType<typeof score>;

/** Issue 14's targets on a set of mornings (read on validation). */
function targets(by: Partial<Record<DetectorName, Score>>, perVariant: Record<string, Partial<Record<DetectorName, Score>>>) {
  const v = by.vigie;
  if (!v) return null;
  const num = (x: unknown) => (typeof x === 'number' ? x : x === 'miss' ? -Infinity : Number.NaN);
  const buildUpOk = (x: Score) => x.buildUpCollapses === 0 || (x.missed === 0 && num(x.medianLeadMin) >= 10 && num(x.p10LeadMin) >= 3);
  return {
    buildUpNoneMissedMedian10P10at3: buildUpOk(v),
    buildUpOnEveryVariant: Object.fromEntries(Object.entries(perVariant).map(([k, x]) => [k, buildUpOk(x.vigie!)])),
    noTimetableMedianAtLeast5: ((x) => (x ? x.buildUpCollapses === 0 || num(x.medianLeadMin) >= 5 : null))(by['vigie-no-timetable']),
    suddenPagedWithin60sNamingFaculty: v.suddenPagedWithin60sNamingFaculty === v.suddenCollapses,
    atMostOneFalsePageMorningPer20: v.falsePageMornings <= Math.max(0, v.benignMornings) / 20,
    noColdStartPage: v.coldStartPageMornings === 0,
    aheadOfStatic: ((x) => (x ? num(v.medianLeadMin) > num(x.medianLeadMin) && v.falsePageMornings <= x.falsePageMornings : null))(by.static),
    aheadOfPredictLinear: ((x) => (x ? num(v.medianLeadMin) > num(x.medianLeadMin) && v.falsePageMornings <= x.falsePageMornings : null))(by['predict-linear-prometheus']),
  };
}

function scoreAll(outcomes: readonly MorningOutcome[]): Partial<Record<DetectorName, Score>> {
  return Object.fromEntries(ranOn(outcomes).map((d) => [d, score(outcomes, d)]));
}

function groupBy<K extends string>(outcomes: readonly MorningOutcome[], key: (o: MorningOutcome) => K): Record<string, Partial<Record<DetectorName, Score>>> {
  const groups = new Map<string, MorningOutcome[]>();
  for (const o of outcomes) groups.set(key(o), [...(groups.get(key(o)) ?? []), o]);
  return Object.fromEntries([...groups].map(([k, os]) => [k, scoreAll(os)]));
}

/** One split: totals, per kind and per metric variant, and the targets. */
function splitSummary(outcomes: readonly MorningOutcome[]) {
  const all = scoreAll(outcomes);
  const perVariant = groupBy(outcomes, (o) => o.scenario.variant);
  return {
    mornings: outcomes.length,
    buildUpCollapseMornings: outcomes.filter((o) => o.collapseAtMs !== null && !isSudden(o)).length,
    suddenCollapseMornings: outcomes.filter(isSudden).length,
    benignMornings: outcomes.filter((o) => o.collapseAtMs === null).length,
    detectors: all,
    targets: targets(all, perVariant),
    perKind: groupBy(outcomes, (o) => o.scenario.kind),
    perVariant,
  };
}

function summarise(outcomes: readonly MorningOutcome[], wallMs: number, workers: number) {
  const cost = outcomes.reduce(
    (s, o) => ({ samples: s.samples + o.cost.samples, samplesLoaded: s.samplesLoaded + o.cost.samplesLoaded, ruleEvaluations: s.ruleEvaluations + o.cost.ruleEvaluations, evaluations: s.evaluations + o.cost.evaluations, ms: s.ms + o.cost.addMs + o.cost.evalMs, evalMs: s.evalMs + o.cost.evalMs }),
    { samples: 0, samplesLoaded: 0, ruleEvaluations: 0, evaluations: 0, ms: 0, evalMs: 0 },
  );
  const notify = outcomes.flatMap((o) => o.notifyLatencyMs).sort((a, b) => a - b);
  const page = outcomes.flatMap((o) => o.pageLatencyMs).sort((a, b) => a - b);
  const r3 = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);
  return {
    benchmark: 'detection',
    command: 'node bench/detection.bench.ts',
    generatedAt: new Date().toISOString(),
    node: process.version,
    workers,
    wallSeconds: Math.round(wallMs / 100) / 10,
    rules: { default: 'rules/packs/default.yml', static: 'bench/support/static-rules.yml', predictLinear: 'bench/support/predict-linear-rules.yml' },
    timetable: {
      vigie: 'realistic: each enrolment off by a log-normal factor of σ 0.25, 10 % of exams missing, 10 % moved by ±30 min (late arrivals are simulator physics)',
      'vigie-exact-timetable': 'the simulator\'s own timetable',
      'vigie-no-timetable': 'none',
    },
    definitions: {
      sudden: 'a collapse whose overload began while a spike or burst ran, less than 2 min before it: target = a page naming the faculty within 60 s of its onset',
      buildUp: 'every other collapse: target = paged ahead (lead = collapse − first page)',
      falsePageMorning: 'a morning without collapse (brief overloads that recover included) with at least one page',
      saturatedWithoutCollapse: 'benignSaturatedMornings: mornings without collapse on which some faculty still saturated (sessions reached capacity, or offered load above its workers); their pages count as false pages, and falsePageMorningsWhereNothingSaturated counts the others apart',
      coldStart: `a page in the first ${COLD_START_MS / 60_000} min of the morning`,
    },
    detectors: ranOn(outcomes),
    splits: {
      note: 'tuning = the 40 matrix mornings the session rules were tuned on (seeds 101…140, full telemetry); tuning-generic = 40 mornings of every failure kind, metric variant and telemetry fault (seeds 5000…), tuned on and inspected one by one; validation = v1 (seeds 10000…), EXPOSED: its aggregate outcomes were seen while tuning the generic rules, so it no longer counts as validation; validation-v2 = 40 mornings from seeds 20000… (same generator), run only once the pack was frozen: targets are read on validation-v2.',
      ...Object.fromEntries(SPLITS.map((name) => [name, ((os) => (os.length ? splitSummary(os) : null))(outcomes.filter((o) => o.scenario.split === name))])),
    },
    predictLinearCrossCheck: {
      note: 'same rule on a real Prometheus vs on Vigie (v2): mornings whose page times differ',
      morningsDiffering: outcomes
        .filter((o) => o.pages['predict-linear-prometheus'] && o.pages['predict-linear-vigie'])
        .filter((o) => JSON.stringify(pagesOf(o, 'predict-linear-prometheus').map((p) => [p.faculty, p.at]).sort()) !== JSON.stringify(pagesOf(o, 'predict-linear-vigie').map((p) => [p.faculty, p.at]).sort()))
        .map((o) => o.scenario.id),
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
      split: o.scenario.split,
      kind: o.scenario.kind,
      variant: o.scenario.variant,
      sudden: isSudden(o),
      collapseAt: o.collapseAtMs === null ? null : new Date(o.collapseAtMs).toISOString().slice(11, 19),
      wallSeconds: Math.round(o.wallMs / 100) / 10,
      cpuSeconds: Math.round(o.cpuSeconds * 10) / 10,
      firstPage: Object.fromEntries(
        ranOn([o]).map((d) => {
          const f = [...pagesOf(o, d)].sort((a, b) => a.at - b.at)[0];
          return [d, f ? `${new Date(f.at).toISOString().slice(11, 19)} ${f.rule}{${f.faculty ?? ''}}` : null];
        }),
      ),
      pages: Object.fromEntries(ranOn([o]).map((d) => [d, pagesOf(o, d).length])),
      saturatedFaculties: o.saturatedFaculties ?? null,
      collapsedFaculties: Object.fromEntries(Object.entries(o.facultyCollapseAtMs).map(([f, t]) => [f, new Date(t).toISOString().slice(11, 19)])),
      collapseTrigger: o.trigger && {
        overloadAt: new Date(o.trigger.overloadAtMs).toISOString().slice(11, 19),
        secondsFromOverloadToCollapse: (o.collapseAtMs! - o.trigger.overloadAtMs) / 1000,
        spikeAtOverload: o.trigger.spikeAtOverload,
        peakUtilizationBefore: o.trigger.peakUtilizationBefore,
        peakSessionShareBefore: o.trigger.peakSessionShareBefore,
      },
      pageList: Object.fromEntries(ranOn([o]).map((d) => [d, pagesOf(o, d).map((p) => `${new Date(p.at).toISOString().slice(11, 19)} ${p.rule}{${p.faculty ?? ''}}`)])),
      leadMin: Object.fromEntries(
        ranOn([o]).map((d) => {
          if (o.collapseAtMs === null) return [d, null];
          const f = pagesOf(o, d).filter((p) => p.at <= o.collapseAtMs!).sort((a, b) => a.at - b.at)[0];
          return [d, f ? minutes(o.collapseAtMs - f.at) : 'miss'];
        }),
      ),
    })),
  };
}

async function worker(ids: readonly string[]): Promise<MorningOutcome[]> {
  const rules = { def: await loadRules(DEFAULT_RULES), stat: await loadRules(STATIC_RULES), pl: await loadRules(PL_RULES) };
  const out: MorningOutcome[] = [];
  const all = scenarios();
  for (const sc of ids.map((id) => all.find((s) => s.id === id)).filter((s): s is Scenario => s !== undefined)) {
    const o = await runScenario(sc, rules);
    // Each morning as soon as it is scored: a run cut short can still be re-scored (--from-outcomes).
    if (process.env['VIGIE_BENCH_PARTIAL']) appendFileSync(process.env['VIGIE_BENCH_PARTIAL'], JSON.stringify(o) + '\n');
    process.stderr.write(`[detection] ${sc.id}: collapse ${o.collapseAtMs === null ? 'none' : new Date(o.collapseAtMs).toISOString().slice(11, 19)}, pages ${ranOn([o]).map((d) => `${d} ${pagesOf(o, d).length}`).join(' / ')}, ${(o.wallMs / 1000).toFixed(1)} s wall, ${o.cpuSeconds.toFixed(1)} s CPU\n`);
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
      split: { type: 'string' },
      'from-outcomes': { type: 'string' },
      plan: { type: 'boolean', default: false },
      detectors: { type: 'string' },
      only: { type: 'string' },
    },
  });
  // Default: validation-v2, where targets are read, and the tuning split beside it as the
  // regression check; a re-score keeps every split it was given.
  const splits = parseSplits(values.split ?? (values['from-outcomes'] !== undefined ? 'all' : 'tuning,validation-v2'));
  const detectors = parseDetectors(values.detectors);
  // Read by the forked workers too (they parse only --worker-ids).
  if (values.plan) process.env['VIGIE_BENCH_PLAN'] = '1';
  if (values['from-outcomes'] !== undefined) {
    // Re-score a run's raw outcomes (written next to the result) without re-running it.
    const text = await readFile(values['from-outcomes'], 'utf8');
    // Either the run's `<out>.outcomes.json`, or the partial JSON-lines log of VIGIE_BENCH_PARTIAL.
    const saved = text.trimStart().startsWith('{"wallMs"')
      ? (JSON.parse(text) as { wallMs: number; workers: number; outcomes: MorningOutcome[] })
      : { wallMs: 0, workers: 0, outcomes: text.trim().split('\n').map((l) => JSON.parse(l) as MorningOutcome) };
    // `--split` keeps some splits of a run that measured several (one run, several result files).
    const keep = saved.outcomes.filter((o) => splits.includes(o.scenario.split));
    writeResult(values.out, summarise(keep, saved.wallMs, saved.workers));
    return;
  }
  if (values['worker-ids'] !== undefined) {
    const res = await worker(values['worker-ids'].split(','));
    // Without an IPC channel (a worker run by hand, e.g. under --cpu-prof) there is no parent to answer.
    if (process.send) await new Promise<void>((r) => process.send!(res, () => r()));
    return;
  }
  if (detectors.includes('predict-linear-prometheus') && !existsSync(PROMETHEUS_BIN)) throw new Error(`the predict_linear baseline needs Prometheus at ${PROMETHEUS_BIN} (apt-get install --no-install-recommends prometheus)`);
  // `--only`: morning ids, or their seed suffixes (`s5003`), comma-separated (for iterating on a few).
  const only = values.only?.split(',').map((x) => x.trim());
  const all = scenarios().filter((sc) => splits.includes(sc.split) && (!only || only.some((x) => sc.id === x || sc.id.endsWith(`-${x}`))));
  if (all.length === 0) throw new Error(`no morning in split(s) ${splits.join(',')}${only ? ` matching --only ${values.only}` : ''}`);
  const n = values.mornings !== undefined ? Number(values.mornings) : all.length;
  // Spread a shortened run over the matrix rather than taking its first rows.
  let picked = n >= all.length ? all : Array.from({ length: n }, (_, i) => all[Math.floor((i * all.length) / n)]!);
  // Validation first (its targets are the ones read), then round-robin within each split
  // over kinds (drawn splits) or capacities (tuning, all one kind: its benign mornings are
  // the capacity-2 and -2.5 cells), so a run cut short has scored every kind it could.
  const ordered: Scenario[] = [];
  for (const part of ['validation-v2', 'validation', 'tuning-generic', 'tuning'] as const) {
    const byKind = new Map<string, Scenario[]>();
    const key = (sc: Scenario) => (part === 'tuning' ? `c${sc.capacity}` : sc.kind);
    for (const sc of picked.filter((s) => s.split === part)) byKind.set(key(sc), [...(byKind.get(key(sc)) ?? []), sc]);
    const queues = [...byKind.values()];
    const n = queues.reduce((k, q) => k + q.length, 0);
    for (let i = 0, got = 0; got < n; i++) for (const q of queues) if (q[i]) (ordered.push(q[i]!), got++);
  }
  picked = ordered;
  const workers = Math.max(1, Math.min(Number(values.workers ?? availableParallelism()), picked.length));
  const t0 = performance.now();
  // The per-morning log of this run only (re-scored with --from-outcomes if the run is cut short).
  const partial = `${values.out}.partial.jsonl`;
  writeFileSync(partial, '');
  const shards = Array.from({ length: workers }, (_, w) => picked.filter((_, i) => i % workers === w).map((s) => s.id));
  const results = await Promise.all(
    shards.map(
      (ids) =>
        new Promise<MorningOutcome[]>((resolveShard, reject) => {
          const child = fork(fileURLToPath(import.meta.url), ['--worker-ids', ids.join(',')], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], env: { ...process.env, VIGIE_BENCH_PARTIAL: partial, VIGIE_BENCH_DETECTORS: detectors.join(',') } });
          let got: MorningOutcome[] | undefined;
          child.on('message', (m) => (got = m as MorningOutcome[]));
          child.on('error', reject);
          child.on('exit', (code) => (got && code === 0 ? resolveShard(got) : reject(new Error(`bench worker exited with ${code}`))));
        }),
    ),
  );
  const order = picked.map((s) => s.id);
  const outcomes = results.flat().sort((a, b) => order.indexOf(a.scenario.id) - order.indexOf(b.scenario.id));
  const wallMs = performance.now() - t0;
  // Raw outcomes first, so a scoring change can be re-applied (--from-outcomes) without a re-run.
  writeFileSync(`${values.out}.outcomes.json`, JSON.stringify({ wallMs, workers, outcomes }));
  const summary = summarise(outcomes, wallMs, workers);
  writeResult(values.out, summary);
}

await main();
