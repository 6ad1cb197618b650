/**
 * The streaming rules engine: evaluates rule groups over the in-memory store at a time
 * given by the caller (never the wall clock), runs the alert state machine per alert
 * instance, writes recording-rule results back into the store, and hands transitions
 * to `onTransitions` (alerts_log) and the current alert set to `notify`.
 * Modelled on Prometheus `rules/group.go` and `rules/alerting.go`. Vigie additions:
 * `keep_firing_while` hysteresis per alerting rule, and `snapshot()` / `initialState`
 * so a restarted evaluator resumes its alert state (rules/statePersistence.ts).
 */
import { metrics } from '@opentelemetry/api';
import { describeError } from '../core/errors.ts';
import { fingerprint, type Labels, type Sample } from '../core/samples.ts';
import { INACTIVE, transition, type AlertState } from './alertState.ts';
import { createCoverageGuard, type CoverageOptions } from './coverage.ts';
import type { Notification, NotifyFn } from '../paging/receivers/types.ts';
import { DEFAULT_LOOKBACK_MS, dropName, EvalError, evaluateVector, type EvalStats, type VectorSample } from './promql/eval.ts';
import type { AlertingRule, RecordingRule, Rule, RuleGroup } from './ruleFile.ts';
import type { EngineStateSnapshot, PersistedAlert } from './statePersistence.ts';
import { upperBound, type SeriesStore } from './windows.ts';

/** One alert state change, as written to alerts_log and shown to people. */
export interface AlertTransition {
  readonly rule: string;
  readonly group: string;
  /** core/samples fingerprint of the alert labels (alertname included). */
  readonly fingerprint: string;
  readonly state: 'pending' | 'firing' | 'resolved' | 'inactive';
  /** Alert labels: result labels + rule labels + `alertname`. */
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly value: number;
  readonly activeAt: number;
  /** Evaluation time of the change. */
  readonly at: number;
}

/** An alert that is currently pending or firing. */
export interface ActiveAlert {
  readonly rule: string;
  readonly group: string;
  readonly fingerprint: string;
  readonly state: 'pending' | 'firing';
  readonly labels: Labels;
  readonly annotations: Labels;
  readonly value: number;
  readonly activeAt: number;
  readonly firedAt?: number;
}

/** Health of one rule, as Prometheus' /api/v1/rules reports it. */
export interface RuleHealth {
  readonly group: string;
  readonly rule: string;
  readonly kind: 'alert' | 'record';
  readonly health: 'unknown' | 'ok' | 'err';
  readonly lastError?: string;
  readonly lastEvaluationAt?: number;
  /** Result samples of the last evaluation. */
  readonly lastSamples: number;
  /** Alert results the last evaluation held back because their windows lacked data (cold start, gap); see rules/coverage.ts. */
  readonly lastHeldForCoverage?: number;
}

/** Engine health: per-rule health plus the last sink (notifier / log writer) failure. */
export interface EngineHealth {
  readonly rules: readonly RuleHealth[];
  readonly lastNotifyError?: string;
  readonly lastTransitionsError?: string;
  readonly evaluations: number;
  /** Samples loaded by all evaluations so far (Prometheus' query_samples_total). */
  readonly samplesLoaded: number;
}

/** What one `evaluate(now)` did. */
export interface EvaluationResult {
  readonly at: number;
  readonly evaluatedGroups: readonly string[];
  readonly transitions: readonly AlertTransition[];
  readonly errors: readonly { readonly group: string; readonly rule: string; readonly error: string }[];
  /** Samples written back by recording rules. */
  readonly recordedSamples: number;
  /** Samples the rules' selectors loaded (the evaluation's sample-evaluations). */
  readonly samplesLoaded: number;
  /**
   * True when some alert instance changed in a way a restart must not lose: a state
   * change (pending/firing/resolved/inactive) or keep_firing progress. Persist then.
   */
  readonly stateChanged: boolean;
  /** Resolves when onTransitions and notify have finished (never rejects; failures go to health()). */
  readonly delivered: Promise<void>;
}

/** Options of {@link createRuleEngine}. */
export interface RuleEngineOptions {
  readonly groups: readonly RuleGroup[];
  readonly store: SeriesStore;
  /** Default group interval (ms), 15 s; a group's own `interval` overrides it. */
  readonly evaluationIntervalMs?: number;
  /** Instant-vector lookback, default 5 min as in Prometheus. */
  readonly lookbackMs?: number;
  /** PromQL semantics (see EvalOptions.semantics); default v3. */
  readonly semantics?: 'v3' | 'v2';
  /** How long resolved alerts keep being handed to `notify` (Prometheus: 15 min). */
  readonly resolvedRetentionMs?: number;
  /** Base of generator URLs (Prometheus --web.external-url). */
  readonly externalURL?: string;
  readonly onTransitions?: (transitions: readonly AlertTransition[]) => void | Promise<void>;
  readonly notify?: NotifyFn;
  /**
   * Alert state to resume from (see `rules/statePersistence.ts`): firing alerts stay
   * firing without a new transition, pending ones keep their activeAt. Alerts of rules
   * no longer in `groups` are dropped.
   */
  readonly initialState?: EngineStateSnapshot;
  /**
   * Cold-start and gap guard (rules/coverage.ts): an alert instance starts only while
   * every range window it reads holds enough data. Default on (90 % of each window, gaps
   * up to 90 s); `false` turns it off (Prometheus behaviour, for conformance runs).
   */
  readonly coverage?: CoverageOptions | false;
}

/** The runtime engine. */
export interface RuleEngine {
  /** Evaluates every group due at `nowMs` (first call: all groups). */
  evaluate(nowMs: number): EvaluationResult;
  /** Pending and firing alerts. */
  activeAlerts(): ActiveAlert[];
  health(): EngineHealth;
  /** The alert state, for persistence. */
  snapshot(): EngineStateSnapshot;
}

/** Key of a rule that survives a reload: group, name, and occurrence of that name in the group. */
function ruleKeys(groups: readonly RuleGroup[]): Map<Rule, { key: string; occurrence: number }> {
  const out = new Map<Rule, { key: string; occurrence: number }>();
  for (const g of groups) {
    const seen = new Map<string, number>();
    for (const r of g.rules) {
      if (r.kind !== 'alert') continue;
      const occurrence = seen.get(r.name) ?? 0;
      seen.set(r.name, occurrence + 1);
      out.set(r, { key: `${g.name}\u0000${r.name}\u0000${occurrence}`, occurrence });
    }
  }
  return out;
}

interface AlertInstance {
  state: AlertState;
  labels: Labels;
  annotations: Labels;
}

interface MutableHealth {
  health: 'unknown' | 'ok' | 'err';
  lastError?: string;
  lastEvaluationAt?: number;
  lastSamples: number;
  lastHeldForCoverage?: number;
}

/**
 * The newest value (within the lookback, not a staleness marker) of a series of `metric`
 * that agrees with `labels` on every label both carry: the annotation templates'
 * `series` function (the signal's value, its limit, its forecast band beside `$value`).
 */
export function seriesValue(store: SeriesStore, metric: string, labels: Labels, nowMs: number, lookbackMs: number): number | undefined {
  for (const s of store.select(metric, [])) {
    let agrees = true;
    for (const k in s.labels) {
      if (k === '__name__') continue;
      const v = labels[k];
      if (v !== undefined && v !== s.labels[k]) {
        agrees = false;
        break;
      }
    }
    if (!agrees) continue;
    const i = upperBound(s.ts, s.head, nowMs) - 1;
    if (i < s.head || s.ts[i]! <= nowMs - lookbackMs || s.stale?.has(s.ts[i]!)) continue;
    return s.vs[i]!;
  }
  return undefined;
}

/** Creates an engine over `store`. */
export function createRuleEngine(opts: RuleEngineOptions): RuleEngine {
  const defaultInterval = opts.evaluationIntervalMs ?? 15_000;
  const resolvedRetention = opts.resolvedRetentionMs ?? 15 * 60_000;
  const externalURL = (opts.externalURL ?? 'http://localhost').replace(/\/$/, '');
  const stats: EvalStats = { samplesLoaded: 0 };
  // Self-metrics, named after Prometheus' own (rule_evaluations_total, …, engine_query_samples_total).
  const meter = metrics.getMeter('vigie.alerts');
  const evalCounter = meter.createCounter('alerts.rules.evaluations', { description: 'Rule evaluations' });
  const failCounter = meter.createCounter('alerts.rules.evaluation.failures', { description: 'Rule evaluations that failed' });
  const loadedCounter = meter.createCounter('alerts.rules.samples_loaded', { description: 'Samples loaded by rule selectors' });
  const durationHist = meter.createHistogram('alerts.rules.evaluation.duration', { unit: 's', description: 'Duration of one evaluation boundary (all due groups)' });
  const evalOpts = { ...(opts.lookbackMs === undefined ? {} : { lookbackMs: opts.lookbackMs }), ...(opts.semantics ? { semantics: opts.semantics } : {}), stats };
  const lastGroupEval = new Map<string, number>();
  const instances = new Map<Rule, Map<string, AlertInstance>>();
  const health = new Map<Rule, MutableHealth>();
  const recordedLast = new Map<Rule, Map<string, Labels>>();
  let lastNotifyError: string | undefined;
  let lastTransitionsError: string | undefined;
  let evaluations = 0;
  let lastEvalAt = -Infinity;
  let stateChanged = false;
  for (const g of opts.groups) {
    for (const r of g.rules) {
      health.set(r, { health: 'unknown', lastSamples: 0 });
      if (r.kind === 'alert') instances.set(r, new Map());
    }
  }
  const keys = ruleKeys(opts.groups);
  const guard = opts.coverage === false ? undefined : createCoverageGuard(opts.groups, opts.store, opts.coverage ?? {});
  if (opts.initialState) {
    const byKey = new Map<string, Map<string, AlertInstance>>();
    for (const [r, k] of keys) byKey.set(k.key, instances.get(r)!);
    for (const a of opts.initialState.alerts) {
      const insts = byKey.get(`${a.group}\u0000${a.rule}\u0000${a.occurrence}`);
      if (insts) insts.set(a.fingerprint, { state: a.state, labels: a.labels, annotations: a.annotations });
    }
    lastEvalAt = opts.initialState.savedAt;
  }

  const generatorURL = (r: Rule) => `${externalURL}/graph?g0.expr=${encodeURIComponent(r.exprText)}&g0.tab=1`;

  function ruleLabels(r: Rule, base: Labels, value: number): Record<string, string> {
    const out: Record<string, string> = { ...dropName(base) };
    for (const [k, t] of Object.entries(r.labelTemplates)) out[k] = t({ labels: base, value });
    return out;
  }

  function evalRecording(r: RecordingRule, res: readonly VectorSample[], now: number): number {
    const samples: Sample[] = [];
    const seen = new Map<string, Labels>();
    for (const s of res) {
      const labels = ruleLabels(r, s.labels, s.value);
      const key = fingerprint(r.name, labels);
      if (seen.has(key)) throw new EvalError(`vector contains metrics with the same labelset after applying rule labels`);
      seen.set(key, labels);
      samples.push({ metric: r.name, labels, timestampMs: now, value: s.value });
    }
    opts.store.add(samples);
    // Series recorded last time but not now get a staleness marker, as in Prometheus.
    const prev = recordedLast.get(r);
    if (prev) {
      const gone = [...prev].filter(([k]) => !seen.has(k)).map(([, labels]) => ({ metric: r.name, labels }));
      if (gone.length) opts.store.markStale(gone, now);
    }
    recordedLast.set(r, seen);
    return samples.length;
  }

  function evalAlerting(r: AlertingRule, res: readonly VectorSample[], now: number, out: AlertTransition[]): void {
    const insts = instances.get(r)!;
    const seen = new Map<string, { labels: Labels; value: number; annotations: Labels }>();
    let held = 0;
    for (const s of res) {
      const labels = ruleLabels(r, s.labels, s.value);
      labels['alertname'] = r.name;
      const fp = fingerprint(r.name, labels);
      if (seen.has(fp)) throw new EvalError('vector contains metrics with the same labelset after applying alert labels');
      // Cold start / gap: an instance that is not firing yet may not start (or go on
      // pending) on windows that hold too little data.
      if (guard && insts.get(fp)?.state.kind !== 'firing' && !guard.covered(r, s.labels, now)) {
        held++;
        continue;
      }
      const annotations: Record<string, string> = {};
      const series = (metric: string) => seriesValue(opts.store, metric, labels, now, opts.lookbackMs ?? DEFAULT_LOOKBACK_MS);
      for (const [k, t] of Object.entries(r.annotationTemplates)) annotations[k] = t({ labels, value: s.value, series });
      seen.set(fp, { labels, value: s.value, annotations });
    }
    const h = health.get(r)!;
    if (held > 0) h.lastHeldForCoverage = held;
    else delete h.lastHeldForCoverage;
    const timing = { forMs: r.forMs, keepFiringForMs: r.keepFiringForMs };
    // Hysteresis: evaluated only when a firing instance lost its condition.
    let kept: Set<string> | undefined;
    const isHeld = (fp: string): boolean => {
      if (!r.keepFiringWhile) return false;
      if (!kept) {
        kept = new Set();
        for (const s of evaluateVector(r.keepFiringWhile.expr, opts.store, now, evalOpts)) {
          const labels = ruleLabels(r, s.labels, s.value);
          labels['alertname'] = r.name;
          kept.add(fingerprint(r.name, labels));
        }
      }
      return kept.has(fp);
    };
    const emit = (fp: string, inst: AlertInstance, st: AlertTransition['state'], value: number, activeAt: number) =>
      out.push({ rule: r.name, group: r.group, fingerprint: fp, state: st, labels: inst.labels, annotations: inst.annotations, value, activeAt, at: now });
    for (const [fp, obs] of seen) {
      let inst = insts.get(fp);
      if (!inst) {
        inst = { state: INACTIVE, labels: obs.labels, annotations: obs.annotations };
        insts.set(fp, inst);
      }
      const prev = inst.state;
      const next = transition(prev, { active: true, value: obs.value, labels: obs.labels }, now, timing);
      if (next.kind !== prev.kind || (prev.kind === 'firing' && prev.keepFiringSince !== undefined)) stateChanged = true;
      inst.state = next;
      inst.labels = obs.labels;
      inst.annotations = obs.annotations;
      if (next.kind !== prev.kind && next.kind !== 'inactive') {
        emit(fp, inst, next.kind, obs.value, next.activeAt);
      }
    }
    for (const [fp, inst] of insts) {
      if (seen.has(fp)) continue;
      const prev = inst.state;
      if (prev.kind === 'inactive') {
        insts.delete(fp);
        stateChanged = true;
        continue;
      }
      if (prev.kind === 'resolved') {
        if (now - prev.resolvedAt >= resolvedRetention) {
          insts.delete(fp);
          stateChanged = true;
        }
        continue;
      }
      const hold = prev.kind === 'firing' && isHeld(fp);
      const next = transition(prev, { active: false, held: hold, value: NaN, labels: inst.labels }, now, timing);
      if (next.kind !== prev.kind || (next.kind === 'firing' && prev.kind === 'firing' && next.keepFiringSince !== prev.keepFiringSince)) stateChanged = true;
      inst.state = next;
      if (next.kind !== prev.kind) {
        emit(fp, inst, next.kind === 'resolved' ? 'resolved' : 'inactive', prev.value, prev.activeAt);
        if (next.kind === 'inactive') insts.delete(fp);
      }
    }
  }

  function notifications(now: number): Notification[] {
    const out: Notification[] = [];
    for (const [r, insts] of instances) {
      for (const [fp, inst] of insts) {
        const s = inst.state;
        const base = { fingerprint: fp, labels: inst.labels, annotations: inst.annotations, generatorURL: generatorURL(r) };
        if (s.kind === 'firing') out.push({ ...base, status: 'firing', startsAt: s.activeAt, value: s.value });
        else if (s.kind === 'resolved' && now - s.resolvedAt < resolvedRetention) {
          out.push({ ...base, status: 'resolved', startsAt: s.activeAt, endsAt: s.resolvedAt, value: s.value });
        }
      }
    }
    return out;
  }

  function isDue(g: RuleGroup, now: number): boolean {
    const interval = g.intervalMs ?? defaultInterval;
    const last = lastGroupEval.get(g.name);
    if (last === undefined) return true;
    return Math.floor(now / interval) > Math.floor(last / interval);
  }

  return {
    evaluate(nowMs) {
      evaluations++;
      stateChanged = false;
      const loadedBefore = stats.samplesLoaded;
      const t0 = performance.now();
      let ruleEvals = 0;
      lastEvalAt = nowMs;
      // Evaluation time is the store's trim horizon (see SeriesStore.trim).
      opts.store.trim(nowMs);
      const transitions: AlertTransition[] = [];
      const errors: { group: string; rule: string; error: string }[] = [];
      const evaluatedGroups: string[] = [];
      let recordedSamples = 0;
      for (const g of opts.groups) {
        if (!isDue(g, nowMs)) continue;
        lastGroupEval.set(g.name, nowMs);
        evaluatedGroups.push(g.name);
        for (const r of g.rules) {
          const h = health.get(r)!;
          h.lastEvaluationAt = nowMs;
          ruleEvals++;
          try {
            const res = evaluateVector(r.expr, opts.store, nowMs, evalOpts);
            if (r.kind === 'record') recordedSamples += evalRecording(r, res, nowMs);
            else evalAlerting(r, res, nowMs, transitions);
            h.health = 'ok';
            h.lastSamples = res.length;
            delete h.lastError;
          } catch (e) {
            h.health = 'err';
            h.lastError = describeError(e);
            errors.push({ group: g.name, rule: r.name, error: h.lastError });
          }
        }
      }
      if (ruleEvals > 0) {
        evalCounter.add(ruleEvals);
        if (errors.length) failCounter.add(errors.length);
        loadedCounter.add(stats.samplesLoaded - loadedBefore);
        durationHist.record((performance.now() - t0) / 1000);
      }
      const pending: Promise<void>[] = [];
      if (transitions.length && opts.onTransitions) {
        pending.push(
          Promise.resolve()
            .then(() => opts.onTransitions!(transitions))
            .then(
              () => {
                lastTransitionsError = undefined;
              },
              (e: unknown) => {
                lastTransitionsError = describeError(e);
              },
            ),
        );
      }
      if (evaluatedGroups.length && opts.notify) {
        const batch = notifications(nowMs);
        pending.push(
          Promise.resolve()
            .then(() => opts.notify!(batch))
            .then(
              () => {
                lastNotifyError = undefined;
              },
              (e: unknown) => {
                lastNotifyError = describeError(e);
              },
            ),
        );
      }
      return {
        at: nowMs,
        evaluatedGroups,
        transitions,
        errors,
        recordedSamples,
        samplesLoaded: stats.samplesLoaded - loadedBefore,
        stateChanged,
        delivered: Promise.all(pending).then(() => undefined),
      };
    },
    activeAlerts() {
      const out: ActiveAlert[] = [];
      for (const [r, insts] of instances) {
        for (const [fp, inst] of insts) {
          const s = inst.state;
          if (s.kind !== 'pending' && s.kind !== 'firing') continue;
          out.push({
            rule: r.name,
            group: r.group,
            fingerprint: fp,
            state: s.kind,
            labels: inst.labels,
            annotations: inst.annotations,
            value: s.value,
            activeAt: s.activeAt,
            ...(s.kind === 'firing' ? { firedAt: s.firedAt } : {}),
          });
        }
      }
      return out;
    },
    snapshot() {
      const alerts: PersistedAlert[] = [];
      for (const [r, insts] of instances) {
        const k = keys.get(r)!;
        for (const [fp, inst] of insts) {
          if (inst.state.kind === 'inactive') continue;
          alerts.push({ group: r.group, rule: r.name, occurrence: k.occurrence, fingerprint: fp, labels: inst.labels, annotations: inst.annotations, state: inst.state });
        }
      }
      return { version: 1, savedAt: Number.isFinite(lastEvalAt) ? lastEvalAt : 0, alerts };
    },
    health() {
      const rules: RuleHealth[] = [];
      for (const g of opts.groups) {
        for (const r of g.rules) {
          const h = health.get(r)!;
          rules.push({ group: g.name, rule: r.name, kind: r.kind, ...h });
        }
      }
      return {
        rules,
        evaluations,
        samplesLoaded: stats.samplesLoaded,
        ...(lastNotifyError !== undefined ? { lastNotifyError } : {}),
        ...(lastTransitionsError !== undefined ? { lastTransitionsError } : {}),
      };
    },
  };
}
