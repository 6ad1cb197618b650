import { describe, expect, it } from 'vitest';
import { fileURLToPath } from 'node:url';
import type { Sample } from '../../../core/samples.ts';
import { createRuleEngine, type AlertTransition } from '../../../rules/engine.ts';
import { loadRuleFile, parseRuleFile, requiredRetentionMs } from '../../../rules/ruleFile.ts';
import { createWatermarkScheduler } from '../../../rules/scheduler.ts';
import { createSeriesStore } from '../../../rules/windows.ts';
import type { Notification } from '../../../paging/receivers/types.ts';
import { startSelfTelemetry } from '../../../core/selfTelemetry.ts';
import { T0 } from './helpers.ts';

const DEFAULT = fileURLToPath(new URL('../../../rules/packs/default.yml', import.meta.url));
const MIN = 60_000;

/** Sessions per server of faculty `med`: 100 each until 5 min, then +20/min per server (2 servers), capacity 2×500. */
function medSessions(tMs: number): number {
  const m = (tMs - T0) / MIN;
  if (m > 40) return 80; // load drops after the session start
  return m < 5 ? 100 : 100 + 20 * (m - 5);
}

function samplesAt(tMs: number): Sample[] {
  const out: Sample[] = [];
  for (const server of ['s1', 's2']) {
    out.push({ metric: 'ecampus_sessions_active', labels: { faculty: 'med', exam_id: 'e1', server, job: 'ecampus', instance: server }, timestampMs: tMs, value: medSessions(tMs) });
    out.push({ metric: 'ecampus_capacity_sessions', labels: { faculty: 'med', server }, timestampMs: tMs, value: 500 });
  }
  out.push({ metric: 'ecampus_sessions_active', labels: { faculty: 'law', exam_id: 'e2', server: 's3', job: 'ecampus', instance: 's3' }, timestampMs: tMs, value: 50 });
  out.push({ metric: 'ecampus_capacity_sessions', labels: { faculty: 'law', server: 's3' }, timestampMs: tMs, value: 400 });
  return out;
}

describe('rule engine over a synthetic session ramp', () => {
  it('pages for the saturating faculty minutes before the crossing, once, then resolves', async () => {
    const groups = await loadRuleFile(DEFAULT);
    const store = createSeriesStore({ retentionMs: requiredRetentionMs(groups) + MIN });
    const transitions: AlertTransition[] = [];
    const notified: Notification[][] = [];
    const engine = createRuleEngine({
      groups,
      store,
      onTransitions: (t) => {
        transitions.push(...t);
      },
      notify: async (n) => {
        notified.push([...n]);
      },
    });
    const sched = createWatermarkScheduler({ evaluate: engine.evaluate, intervalMs: 15_000 });
    // Batches of one minute of samples, like the pipeline tap delivers.
    for (let t = T0; t <= T0 + 60 * MIN; t += MIN) {
      const batch: Sample[] = [];
      for (let u = t; u < t + MIN; u += 15_000) batch.push(...samplesAt(u));
      store.add(batch);
      for (const r of sched.observe(store.watermark())) await r.delivered;
    }
    // Sessions = 200 + 40·(m−5) cross 1000 at m = 25.
    const crossing = T0 + 25 * MIN;
    const forecast = transitions.filter((t) => t.rule === 'FacultySessionsSaturationForecast');
    const fired = forecast.filter((t) => t.state === 'firing');
    expect(fired).toHaveLength(1);
    const page = fired[0]!;
    expect(page.labels).toMatchObject({ alertname: 'FacultySessionsSaturationForecast', faculty: 'med', severity: 'page' });
    const leadMin = (crossing - page.at) / MIN;
    expect(leadMin).toBeGreaterThanOrEqual(5);
    expect(leadMin).toBeLessThanOrEqual(10);
    expect(page.annotations['summary']).toMatch(/^med sessions will reach capacity in ~\d+ min$/);
    expect(forecast.map((t) => t.state)).toEqual(['pending', 'firing', 'resolved']);
    expect(transitions.filter((t) => t.labels['faculty'] === 'law')).toEqual([]);
    // At-capacity page after the crossing, resolved after the drop.
    const atCap = transitions.filter((t) => t.rule === 'FacultySessionsAtCapacity').map((t) => t.state);
    expect(atCap).toEqual(['pending', 'firing', 'resolved']);
    // The notifier saw the firing alert on every evaluation while it fired, and its resolve.
    const firingEvals = notified.filter((n) => n.some((a) => a.fingerprint === page.fingerprint && a.status === 'firing'));
    expect(firingEvals.length).toBeGreaterThan(4);
    expect(notified.some((n) => n.some((a) => a.fingerprint === page.fingerprint && a.status === 'resolved' && a.endsAt !== undefined))).toBe(true);
    expect(engine.health().rules.every((r) => r.health === 'ok')).toBe(true);
    expect(engine.activeAlerts()).toEqual([]);
  });

  it('pages a faculty that collapses without warning within a minute, and not for a 10 s error burst', async () => {
    const groups = await loadRuleFile(DEFAULT);
    const onset = T0 + 30 * MIN;
    /** Requests/s by status at t: 100 ok; collapse → 10 ok + 300 failing (retry storm); burst → 20 ok + 80 failing. */
    const run = async (mode: 'collapse' | 'burst') => {
      const store = createSeriesStore({ retentionMs: requiredRetentionMs(groups) + MIN });
      const transitions: AlertTransition[] = [];
      const engine = createRuleEngine({ groups, store, onTransitions: (t) => void transitions.push(...t) });
      const total = { ok: 0, err: 0 };
      for (let t = T0; t <= onset + 5 * MIN; t += 15_000) {
        for (let u = t - 15_000; u < t; u += 5_000) {
          const failing = mode === 'collapse' ? u >= onset : u >= onset && u < onset + 10_000;
          total.ok += 5 * (failing ? (mode === 'collapse' ? 10 : 20) : 100);
          total.err += 5 * (failing ? (mode === 'collapse' ? 300 : 80) : 0);
        }
        const l = { faculty: 'vet', server: 'vet-1', instance: 'vet-1' };
        store.add([
          { metric: 'http_server_request_duration_count', labels: { ...l, http_response_status_code: '200' }, timestampMs: t, value: total.ok },
          { metric: 'http_server_request_duration_count', labels: { ...l, http_response_status_code: '503' }, timestampMs: t, value: total.err },
        ]);
        await engine.evaluate(t).delivered;
      }
      return transitions.filter((t) => t.rule === 'FacultyCollapsing' && t.state === 'firing').map((t) => (t.at - onset) / 1000);
    };
    const fired = await run('collapse');
    expect(fired).toHaveLength(1);
    expect(fired[0]!).toBeGreaterThan(0);
    expect(fired[0]!).toBeLessThanOrEqual(60);
    expect(await run('burst')).toEqual([]);
  });

  it('records a failing rule in health and keeps evaluating the others', () => {
    const store = createSeriesStore();
    store.add([
      { metric: 'a', labels: { f: 'x', s: '1' }, timestampMs: T0, value: 1 },
      { metric: 'a', labels: { f: 'x', s: '2' }, timestampMs: T0, value: 1 },
      { metric: 'b', labels: { f: 'x' }, timestampMs: T0, value: 1 },
    ]);
    const groups = parseRuleFile(`groups:
  - name: g
    rules:
      - alert: Broken
        expr: a / on (f) b + on (f) a
      - record: f:a:sum
        expr: sum by (f) (a)
      - alert: Works
        expr: f:a:sum > 1
        labels: { team: "{{ $labels.f }}-ops" }
`);
    const engine = createRuleEngine({ groups, store });
    const res = engine.evaluate(T0);
    expect(res.errors.map((e) => e.rule)).toEqual(['Broken']);
    expect(res.recordedSamples).toBe(1);
    expect(res.transitions.map((t) => [t.rule, t.state, t.labels['team']])).toEqual([['Works', 'firing', 'x-ops']]);
    const h = engine.health().rules;
    expect(h.find((r) => r.rule === 'Broken')).toMatchObject({ health: 'err' });
    expect(h.find((r) => r.rule === 'Broken')!.lastError).toMatch(/matching/);
    expect(h.find((r) => r.rule === 'Works')).toMatchObject({ health: 'ok', lastSamples: 1 });
  });

  it('exports rule evaluations, failures and samples loaded on the self-metrics endpoint', async () => {
    const t = await startSelfTelemetry({ port: 20_000 + Math.floor(Math.random() * 30_000), serviceName: 'vigie-test' });
    try {
      const store = createSeriesStore();
      store.add([1, 2, 3].map((i) => ({ metric: 'a', labels: { s: String(i) }, timestampMs: T0 - (3 - i) * 15_000, value: i })));
      const groups = parseRuleFile(`groups:
  - name: g
    rules:
      - record: a:sum
        expr: sum(a)
      - alert: Rising
        expr: sum(rate(a[1m])) >= 0
      - alert: Broken
        expr: a + on () a
`);
      const engine = createRuleEngine({ groups, store });
      const res = engine.evaluate(T0);
      // 3 instant samples, 1 + 1 + 1 range points (one per series), 3 + 3 for the broken rule.
      expect(res.samplesLoaded).toBe(3 + 3 + 6);
      const body = await (await fetch(t.url)).text();
      expect(body).toMatch(/alerts_rules_evaluations_total\{[^}]*\} 3/);
      expect(body).toMatch(/alerts_rules_evaluation_failures_total\{[^}]*\} 1/);
      expect(body).toMatch(new RegExp(`alerts_rules_samples_loaded_total\\{[^}]*\\} ${engine.health().samplesLoaded}`));
      expect(body).toMatch(/alerts_rules_evaluation_duration_count\{[^}]*\} 1/);
    } finally {
      await t.shutdown();
    }
  });

  it('honours per-group intervals aligned to the epoch', () => {
    const groups = parseRuleFile(`groups:
  - name: fast
    rules: [{ record: r1, expr: vector(1) }]
  - name: slow
    interval: 1m
    rules: [{ record: r2, expr: vector(1) }]
`);
    const engine = createRuleEngine({ groups, store: createSeriesStore() });
    const evaluated = [0, 15, 30, 45, 60, 75].map((s) => engine.evaluate(T0 + s * 1000).evaluatedGroups.join(','));
    expect(evaluated).toEqual(['fast,slow', 'fast', 'fast', 'fast', 'fast,slow', 'fast']);
  });
});

describe('watermark scheduler', () => {
  it('evaluates every crossed boundary once, in order', () => {
    const seen: number[] = [];
    const sched = createWatermarkScheduler({
      evaluate: (t) => {
        seen.push(t);
        return { at: t, evaluatedGroups: [], transitions: [], errors: [], recordedSamples: 0, samplesLoaded: 0, stateChanged: false, delivered: Promise.resolve() };
      },
      intervalMs: 15_000,
      delayMs: 1000,
    });
    sched.observe(T0 + 14_000);
    sched.observe(T0 + 16_000);
    sched.observe(T0 + 15_500);
    sched.observe(T0 + 61_000);
    expect(seen.map((t) => (t - T0) / 1000)).toEqual([0, 15, 30, 45, 60]);
  });
});

describe('recording rules and staleness', () => {
  it('marks a recorded series stale as soon as its input disappears', () => {
    const store = createSeriesStore();
    const groups = parseRuleFile(`groups:
  - name: g
    rules:
      - record: f:x:sum
        expr: sum by (f) (x)
`);
    const engine = createRuleEngine({ groups, store });
    store.add([
      { metric: 'x', labels: { f: 'a' }, timestampMs: T0, value: 1 },
      { metric: 'x', labels: { f: 'b' }, timestampMs: T0, value: 2 },
    ]);
    engine.evaluate(T0);
    store.add([{ metric: 'x', labels: { f: 'a' }, timestampMs: T0 + 15_000, value: 3 }]);
    // x{f="b"} is still within lookback at T0+15s; drop it by letting it go stale for 5 min.
    for (let t = T0 + 15_000; t <= T0 + 315_000; t += 15_000) {
      store.add([{ metric: 'x', labels: { f: 'a' }, timestampMs: t, value: 3 }]);
      engine.evaluate(t);
    }
    const recorded = store.select('f:x:sum', []).map((s) => s.labels['f']).sort();
    expect(recorded).toEqual(['a', 'b']);
    const groups2 = parseRuleFile(`groups:\n  - name: q\n    rules: [{ record: seen, expr: 'count(f:x:sum)' }]\n`);
    const probe = createRuleEngine({ groups: groups2, store });
    probe.evaluate(T0 + 315_000);
    // f:x:sum{f="b"} was recorded until 285 s and marked stale at 300 s: only "a" remains.
    const seen = store.select('seen', [])[0]!;
    expect(seen.vs[seen.vs.length - 1]).toBe(1);
  });
});

describe('store retention follows evaluation time', () => {
  it('keeps the lookback window of a slow series when another series runs far ahead', () => {
    const groups = parseRuleFile(`groups:
  - name: g
    rules:
      - alert: BothServersSeen
        expr: sum(capacity) == 1500
`);
    const store = createSeriesStore({ retentionMs: 60_000, retentionByMetricMs: new Map([['capacity', 5 * 60_000]]) });
    const engine = createRuleEngine({ groups, store });
    const t0 = 1_000_000_000_000;
    // Server a reported up to t0; server b's partition is 20 minutes ahead.
    store.add([{ metric: 'capacity', labels: { server: 'a' }, timestampMs: t0, value: 750 }]);
    for (let i = 0; i <= 80; i++) store.add([{ metric: 'capacity', labels: { server: 'b' }, timestampMs: t0 + i * 15_000, value: 750 }]);
    expect(engine.evaluate(t0).transitions.map((t) => t.state)).toEqual(['firing']); // also sets the horizon
    for (let i = 0; i < 60_000; i++) store.add([{ metric: 'other', labels: { i: String(i % 10) }, timestampMs: t0 + 20 * 60_000, value: 1 }]);
    const r = engine.evaluate(t0 + 15_000);
    // Both servers' capacity is still in the 5-minute lookback at t0+15s: no resolve.
    expect(r.transitions).toEqual([]);
    expect(engine.activeAlerts().map((a) => a.state)).toEqual(['firing']);
  });
});
