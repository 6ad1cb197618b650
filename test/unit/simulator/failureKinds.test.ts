import { describe, expect, it } from 'vitest';
import { DEFAULT_PARAMS, MorningModel, TruthTracker, morningSchedule, type GroundTruth, type MorningParams, type StepOutput } from '../../../simulator/model.ts';
import { createTelemetryTransform, FULL_TELEMETRY } from '../../../simulator/telemetry.ts';
import type { Sample } from '../../../core/samples.ts';

const H = (h: number, m = 0) => Date.UTC(2026, 0, 12, h, m);

function run(p: Partial<MorningParams>): { truth: GroundTruth; steps: StepOutput[] } {
  const params = { ...DEFAULT_PARAMS, ...p } as MorningParams;
  const m = new MorningModel(params);
  const tr = new TruthTracker(m.capacities());
  const steps: StepOutput[] = [];
  while (!m.done) {
    const s = m.step();
    tr.add(s, params.stepMs);
    steps.push(s);
  }
  return { truth: tr.result(), steps };
}

/** Highest sessions / session capacity of a faculty before `untilMs`. */
function peakShare(steps: readonly StepOutput[], faculty: string, untilMs: number): number {
  let x = 0;
  for (const s of steps) if (s.atMs < untilMs) for (const f of s.faculties) if (f.faculty === faculty) x = Math.max(x, f.sessions / f.sessionCapacity);
  return x;
}

describe('simulator failure kinds', () => {
  it('an ample platform (capacity 2) does not collapse: the baseline the kinds below start from', () => {
    expect(run({ capacity: 2 }).truth.collapseAtMs).toBeNull();
  });

  it('processing capacity below demand: collapses with sessions well under their limit, after utilization climbed', () => {
    const { truth, steps } = run({ capacity: 2, processingFactor: 0.7 });
    expect(truth.collapseAtMs).not.toBeNull();
    const med = truth.faculties.find((f) => f.faculty === 'medicine')!;
    expect(med.collapseAtMs).not.toBeNull();
    expect(peakShare(steps, 'medicine', med.collapseAtMs!)).toBeLessThan(0.8);
    expect(med.collapseTrigger!.peakUtilizationBefore).toBeGreaterThan(0.8);
    expect(med.collapseTrigger!.spikeAtOverload).toBe(false);
  });

  it('a connection-pool leak: the pool fills over tens of minutes, then the platform collapses with sessions under half their limit', () => {
    const { truth, steps } = run({ capacity: 2, dbLeak: { startMs: H(8, 0), perMinute: 4 } });
    expect(truth.collapseAtMs).not.toBeNull();
    expect(truth.collapseAtMs!).toBeGreaterThan(H(8, 30));
    expect(truth.collapsedFaculties.length).toBeGreaterThan(5);
    expect(peakShare(steps, 'medicine', truth.collapseAtMs!)).toBeLessThan(0.6);
    const poolAt = (t: number) => steps.find((s) => s.atMs >= t)!.db;
    expect(poolAt(H(8, 0)).used / poolAt(H(8, 0)).max).toBeLessThan(0.5);
    expect(poolAt(truth.collapseAtMs! - 5 * 60_000).used / poolAt(H(8, 0)).max).toBeGreaterThan(0.6);
  });

  it('a brief platform-wide burst on an ample platform pushes it past the latency knee for two minutes and recovers', () => {
    // The model's overload is metastable (retries sustain it), so a burst that goes past
    // ρ = 1 collapses; a recovering one stops at the knee.
    const { truth, steps } = run({ capacity: 2, burst: { atMs: H(9, 10), durationMs: 120_000, factor: 2 } });
    expect(truth.collapseAtMs).toBeNull();
    const during = steps.filter((s) => s.atMs > H(9, 10) && s.atMs <= H(9, 12));
    expect(Math.max(...during.flatMap((s) => s.faculties.map((f) => f.utilization)))).toBeGreaterThan(0.9);
    expect(Math.max(...during.flatMap((s) => s.faculties.map((f) => f.meanLatencyS)))).toBeGreaterThan(2);
  });

  it('a sharp burst on one faculty tips it into collapse within seconds: a sudden collapse, that faculty only', () => {
    const { truth } = run({ capacity: 2, burst: { atMs: H(9, 10), durationMs: 90_000, factor: 3, faculty: 'law' } });
    expect(truth.collapsedFaculties).toEqual(['law']);
    const law = truth.faculties.find((f) => f.faculty === 'law')!;
    expect(law.collapseTrigger!.spikeAtOverload).toBe(true);
    expect(law.collapseAtMs! - H(9, 10)).toBeLessThan(2 * 60_000);
  });

  it('staggered starts spread a faculty\'s exams over the morning', () => {
    const exams = morningSchedule({ start: DEFAULT_PARAMS.start, staggerMinutes: 20 });
    const med = exams.filter((e) => e.faculty === 'medicine').map((e) => new Date(e.start).toISOString().slice(11, 16));
    expect(med).toEqual(['09:00', '09:20', '10:00']);
    // Sessions reach capacity 1.0's limit without staggering, not with it at 1.2.
    expect(run({ capacity: 1.2, staggerMinutes: 20 }).truth.collapseAtMs).toBeNull();
  });
});

describe('telemetry profile', () => {
  const at = H(9);
  const msg = (t: number, extra: Sample[] = []): Sample[] => [
    { metric: 'ecampus_capacity_sessions', labels: { job: 'ecampus', instance: 'law-app-1', faculty: 'law', server: 'law-app-1' }, timestampMs: t, value: 400 },
    { metric: 'ecampus_workers_busy', labels: { job: 'ecampus', instance: 'law-app-1', faculty: 'law', server: 'law-app-1' }, timestampMs: t, value: 10 },
    { metric: 'http_server_request_duration_count', labels: { job: 'ecampus', instance: 'law-app-1', faculty: 'law', http_route: '/a', http_response_status_code: '200' }, timestampMs: t, value: 100 },
    { metric: 'http_server_request_duration_count', labels: { job: 'ecampus', instance: 'law-app-1', faculty: 'law', http_route: '/a', http_response_status_code: '503' }, timestampMs: t, value: 7 },
    ...extra,
  ];

  it('emits the variant names: platform capacity, no workers, status class counters', () => {
    const tf = createTelemetryTransform({ ...FULL_TELEMETRY, capacity: 'platform', workers: false, status: 'class' });
    tf(msg(at));
    const out = tf(msg(at + 15_000));
    const names = out.map((s) => `${s.metric}${s.labels['status_class'] ? `{${s.labels['status_class']}}` : ''}=${s.value}`).sort();
    expect(names).toEqual(['ecampus_capacity_sessions=400', 'http_server_request_duration_count=107', 'http_server_requests_total{2xx}=100', 'http_server_requests_total{5xx}=7']);
    expect(out.find((s) => s.metric === 'ecampus_capacity_sessions')!.labels).toEqual({ job: 'ecampus', instance: 'platform' });
  });

  it('drops gaps, resets counters at a restart, and loses scrapes at the asked share', () => {
    const tf = createTelemetryTransform({ ...FULL_TELEMETRY, gaps: [{ fromMs: at + 60_000, toMs: at + 120_000 }], restarts: [{ host: 'law-app-1', atMs: at + 30_000 }] });
    expect(tf(msg(at))).toHaveLength(4);
    const after = tf(msg(at + 30_000).map((s) => (s.metric.endsWith('_count') ? { ...s, value: s.value + 50 } : s)));
    expect(after.filter((s) => s.metric.endsWith('_count')).map((s) => s.value)).toEqual([0, 0]);
    expect(tf(msg(at + 60_000))).toEqual([]);
    const lossy = createTelemetryTransform({ ...FULL_TELEMETRY, missingScrapeShare: 0.2 });
    let lost = 0;
    for (let i = 0; i < 2000; i++) if (lossy(msg(at + i * 15_000)).length === 0) lost++;
    expect(lost / 2000).toBeGreaterThan(0.15);
    expect(lost / 2000).toBeLessThan(0.25);
  });
});
