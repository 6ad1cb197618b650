/**
 * Detectors of the detection benchmark. A Vigie detector is the production rules stage
 * (`rules/stage.ts`, as `vigie ingest` and `vigie demo` build it) minus transport and
 * storage, with a `notify` that is timestamped so the bench can measure sample arrival →
 * notifier call. The Prometheus
 * detector evaluates one alert expression on a real Prometheus (remote write, then
 * `query_range` at the 15 s evaluation step) and applies `for` with the same state
 * machine as Prometheus' rules manager.
 */
import { INACTIVE, transition, type AlertState } from '../../rules/alertState.ts';
import type { AlertTransition } from '../../rules/engine.ts';
import type { Notification } from '../../paging/receivers/types.ts';
import { requiredRetentionByMetric, type AlertingRule, type RuleGroup } from '../../rules/ruleFile.ts';
import { createRulesStage, type ExpectedLoadOverride } from '../../rules/stage.ts';
import type { ScheduledExam } from '../../schedule/index.ts';
import type { Sample } from '../../core/samples.ts';
import type { RemoteWriteSeries, RunningPrometheus } from '../../test/support/prometheus.ts';
import { cpuMs } from './measure.ts';

/** A page: an alert with `severity=page` that reached firing. */
export interface Page {
  readonly rule: string;
  readonly faculty: string | null;
  readonly at: number;
}

/** Timing of the default pack, for throughput and latency. */
export interface DetectorCost {
  readonly samples: number;
  readonly evaluations: number;
  readonly ruleEvaluations: number;
  /** Samples the rules' selectors loaded (sample-evaluations, Prometheus' query_samples_total). */
  readonly samplesLoaded: number;
  /** CPU time (process.cpuUsage, user + system; the bench is single-threaded) in store.add and in evaluation. */
  readonly addMs: number;
  readonly evalMs: number;
  /** Arrival of the message that completed an evaluation boundary → notify() call, per evaluation (ms). */
  readonly notifyLatencyMs: number[];
  /** The same, only for notifications that carry a newly firing page. */
  readonly pageLatencyMs: number[];
}

/** A Vigie rules engine fed like the live chain. */
export interface VigieDetector {
  onSamples(samples: readonly Sample[], arrivalMs: number): void;
  /** Evaluates up to `endMs` and waits for notifications. */
  finish(endMs: number): Promise<void>;
  pages(): Page[];
  transitions(): readonly AlertTransition[];
  cost(): DetectorCost;
  errors(): string[];
}

/**
 * Metric names the groups' expressions select (recorded metrics included), or null when
 * some selector has no metric name: the keys of the engine's own retention analysis.
 */
export function selectedMetrics(groups: readonly RuleGroup[]): Set<string> | null {
  const names = new Set(requiredRetentionByMetric(groups).keys());
  return names.has('*') ? null : names;
}

/** Options of {@link createVigieDetector}. */
export interface VigieDetectorOptions {
  readonly semantics?: 'v2' | 'v3';
  readonly onlySelected?: boolean;
  /**
   * The morning's exam schedule, fed as `ecampus_expected_*` series up to each watermark
   * before evaluating, exactly as the live chain does (the default pack reads them).
   */
  readonly schedule?: { readonly exams: readonly ScheduledExam[]; readonly startMs: number };
  /** A stored plan's expected load, replacing the schedule's where it covers (as `vigie ingest` with a plan). */
  readonly plan?: ExpectedLoadOverride | null;
}

/**
 * Builds a Vigie detector over `groups` (15 s evaluations, v3 semantics as live). With
 * `onlySelected`, samples of metrics no rule selects are not stored (same results, less
 * work: used for the baselines, never for the default pack whose cost is measured).
 */
export function createVigieDetector(groups: readonly RuleGroup[], opts: VigieDetectorOptions = {}): VigieDetector {
  const transitions: AlertTransition[] = [];
  const errors = new Set<string>();
  const arrivals: number[] = [];
  const notifyLatencyMs: number[] = [];
  const pageLatencyMs: number[] = [];
  const firing = new Set<string>();
  const rules = groups.reduce((n, g) => n + g.rules.length, 0);
  let currentArrival = 0;
  let samples = 0;
  let evaluations = 0;
  let samplesLoaded = 0;
  let addMs = 0;
  let evalMs = 0;

  const notify = async (alerts: readonly Notification[]): Promise<void> => {
    const now = performance.now();
    const arrival = arrivals.shift();
    if (arrival === undefined) return;
    notifyLatencyMs.push(now - arrival);
    let newPage = false;
    for (const a of alerts) {
      if (a.status !== 'firing' || a.labels['severity'] !== 'page' || firing.has(a.fingerprint)) continue;
      firing.add(a.fingerprint);
      newPage = true;
    }
    for (const fp of [...firing]) if (!alerts.some((a) => a.fingerprint === fp && a.status === 'firing')) firing.delete(fp);
    if (newPage) pageLatencyMs.push(now - arrival);
  };
  // The production rules stage (rules/stage.ts), with a timestamping notify in place of the pager.
  const stage = createRulesStage({
    groups,
    minRetentionMs: 0,
    ...(opts.semantics ? { semantics: opts.semantics } : {}),
    ...(opts.onlySelected ? { onlySelectedMetrics: true } : {}),
    ...(opts.schedule ? { schedule: opts.schedule } : {}),
    ...(opts.plan ? { plan: opts.plan } : {}),
    notify,
    onTransitions: (ts) => {
      transitions.push(...ts);
    },
    onEvaluation: (r) => {
      evaluations++;
      arrivals.push(currentArrival);
      samplesLoaded += r.samplesLoaded;
      for (const e of r.errors) errors.add(`${e.rule}: ${e.error}`);
    },
  });

  return {
    onSamples(all, arrivalMs) {
      const t0 = cpuMs();
      const watermark = stage.ingest(all);
      const t1 = cpuMs();
      samples += all.length;
      currentArrival = arrivalMs;
      // Schedule samples up to the watermark, then the evaluations (both counted as evaluation time).
      stage.advance(watermark);
      addMs += t1 - t0;
      evalMs += cpuMs() - t1;
    },
    async finish(endMs) {
      await stage.finish(endMs);
    },
    pages: () =>
      transitions
        .filter((t) => t.state === 'firing' && t.labels['severity'] === 'page')
        .map((t) => ({ rule: t.rule, faculty: t.labels['faculty'] ?? null, at: t.at })),
    transitions: () => transitions,
    cost: () => ({ samples, evaluations, ruleEvaluations: evaluations * rules, samplesLoaded, addMs, evalMs, notifyLatencyMs, pageLatencyMs }),
    errors: () => [...errors],
  };
}

/** Collects the samples of some metrics for a later remote write. */
export function createSeriesRecorder(metrics: ReadonlySet<string>): {
  onSamples(samples: readonly Sample[]): void;
  series(): RemoteWriteSeries[];
} {
  const byKey = new Map<string, { labels: Record<string, string>; samples: { timestampMs: number; value: number }[] }>();
  return {
    onSamples(samples) {
      for (const s of samples) {
        if (!metrics.has(s.metric)) continue;
        const labels: Record<string, string> = { ...s.labels, __name__: s.metric };
        const key = Object.keys(labels)
          .sort()
          .map((k) => `${k}=${labels[k]}`)
          .join(',');
        let e = byKey.get(key);
        if (!e) byKey.set(key, (e = { labels, samples: [] }));
        const last = e.samples.at(-1);
        if (last && last.timestampMs >= s.timestampMs) continue;
        e.samples.push({ timestampMs: s.timestampMs, value: s.value });
      }
    },
    series: () => [...byKey.values()],
  };
}

/**
 * Evaluates an alerting rule on a real Prometheus over [startMs, endMs]: writes `series`
 * shifted by `shiftMs` (into the recent past, where the TSDB head accepts them) in
 * time-ordered slices, runs the alert expression with `query_range` at `stepMs` (the
 * values a rule evaluated at those instants would see), applies `for` per label set
 * with Prometheus' state machine, and returns the pages in unshifted time.
 */
export async function prometheusPages(
  prom: RunningPrometheus,
  rule: AlertingRule,
  series: readonly RemoteWriteSeries[],
  window: { readonly startMs: number; readonly endMs: number; readonly stepMs: number; readonly shiftMs: number },
): Promise<Page[]> {
  const { startMs, endMs, stepMs, shiftMs } = window;
  // Slices of 10 minutes across all series, oldest first: every write is within the head's appendable range.
  const sliceMs = 10 * 60_000;
  for (let a = startMs; a <= endMs; a += sliceMs) {
    const slice: RemoteWriteSeries[] = [];
    for (const s of series) {
      const pts = s.samples.filter((p) => p.timestampMs >= a && p.timestampMs < a + sliceMs).map((p) => ({ timestampMs: p.timestampMs + shiftMs, value: p.value }));
      if (pts.length) slice.push({ labels: s.labels, samples: pts });
    }
    if (slice.length) await prom.write(slice);
  }
  const first = Math.ceil(startMs / stepMs) * stepMs;
  const result = await prom.queryRange(rule.exprText, first + shiftMs, endMs + shiftMs, stepMs);
  const active = new Map<number, string[]>();
  const labelsOf = new Map<string, Record<string, string>>();
  for (const r of result) {
    const key = JSON.stringify(Object.entries(r.labels).sort());
    labelsOf.set(key, r.labels);
    for (const p of r.points) {
      const t = p.timestampMs - shiftMs;
      let l = active.get(t);
      if (!l) active.set(t, (l = []));
      l.push(key);
    }
  }
  const states = new Map<string, AlertState>();
  const pages: Page[] = [];
  const timing = { forMs: rule.forMs, keepFiringForMs: rule.keepFiringForMs };
  for (let t = first; t <= endMs; t += stepMs) {
    const now = new Set(active.get(t) ?? []);
    for (const key of new Set([...states.keys(), ...now])) {
      const prev = states.get(key) ?? INACTIVE;
      const next = transition(prev, { active: now.has(key), value: 0, labels: {} }, t, timing);
      states.set(key, next);
      if (next.kind === 'firing' && prev.kind !== 'firing') pages.push({ rule: rule.name, faculty: labelsOf.get(key)?.['faculty'] ?? null, at: t });
    }
  }
  return pages;
}
