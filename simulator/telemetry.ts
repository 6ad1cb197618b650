/**
 * What another platform would send for the same morning: metric-set variants and
 * telemetry faults applied to the simulated platform's decoded samples (the stream the
 * pipeline taps). Pure and deterministic per seed; the load physics are untouched.
 *
 * Variants (each a platform that exposes less, or names it otherwise):
 * - `capacity: 'platform'`: one platform-wide `ecampus_capacity_sessions` (no faculty,
 *   no server label) instead of one per server;
 * - `workers: false`: no `ecampus_workers_busy` / `ecampus_workers_max` (CPU, in-flight
 *   requests and latency remain);
 * - `status: 'class'`: the request-duration histogram carries no status code (series
 *   differing only by code are summed), and a counter
 *   `http_server_requests_total{faculty, server, status_class="2xx|5xx|…"}` counts requests.
 * Faults:
 * - `gaps`: no telemetry at all in these intervals (collector or network outage);
 * - `missingScrapeShare`: each host's scrape is lost with this probability;
 * - `restarts`: a host restarts at `atMs` (a deployment): its counters start again from 0.
 */
import type { Labels, Sample } from '../core/samples.ts';
import { mulberry32 } from './model.ts';

/** A platform's metric set and the faults of its telemetry. */
export interface TelemetryProfile {
  readonly capacity: 'faculty' | 'platform';
  readonly workers: boolean;
  readonly status: 'code' | 'class';
  readonly gaps: readonly { readonly fromMs: number; readonly toMs: number }[];
  readonly missingScrapeShare: number;
  readonly restarts: readonly { readonly host: string; readonly atMs: number }[];
  /** Seed of the missing-scrape draws. */
  readonly seed: number;
}

/** Vigie's own contract, no faults. */
export const FULL_TELEMETRY: TelemetryProfile = { capacity: 'faculty', workers: true, status: 'code', gaps: [], missingScrapeShare: 0, restarts: [], seed: 1 };

const COUNTER = /(_total|_count|_sum|_bucket)$/;
const HISTOGRAM = /^http_server_request_duration_(bucket|count|sum)$/;

function key(metric: string, labels: Labels): string {
  return metric + JSON.stringify(Object.entries(labels).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/**
 * Returns a transform for one morning: call it with each message's samples (one host's
 * collection, in time order); it returns what this platform would have sent (maybe none).
 */
export function createTelemetryTransform(profile: TelemetryProfile): (samples: readonly Sample[]) => Sample[] {
  const rng = mulberry32(profile.seed ^ 0x7e1e);
  /** Per counter series: value at the host's last restart (subtracted afterwards). */
  const base = new Map<string, number>();
  const restarted = new Set<string>();
  const platformCapacity = new Map<string, number>();
  let platformCapacityAt = -1;
  let firstT = -1;
  return (samples) => {
    if (samples.length === 0) return [];
    const t = samples[0]!.timestampMs;
    if (firstT < 0) firstT = t;
    if (profile.gaps.some((g) => t >= g.fromMs && t < g.toMs)) return [];
    if (profile.missingScrapeShare > 0 && rng() < profile.missingScrapeShare) return [];
    const host = samples[0]!.labels['instance'] ?? '';
    const out: Sample[] = [];
    const merged = new Map<string, Sample>();
    const classCounts = new Map<string, Sample>();
    for (const r of profile.restarts) {
      const id = `${r.host}|${r.atMs}`;
      if (r.host === host && t >= r.atMs && !restarted.has(id)) {
        restarted.add(id);
        // Counters restart from 0: what they had counted before is no longer reported.
        for (const s of samples) if (COUNTER.test(s.metric)) base.set(key(s.metric, s.labels), s.value);
      }
    }
    for (const s0 of samples) {
      let s = s0;
      if (COUNTER.test(s.metric)) {
        const b = base.get(key(s.metric, s.labels));
        // A series first seen after the restart started from 0 then: nothing to subtract.
        if (b !== undefined) s = { ...s, value: Math.max(0, s.value - b) };
      }
      if (!profile.workers && (s.metric === 'ecampus_workers_busy' || s.metric === 'ecampus_workers_max')) continue;
      if (profile.capacity === 'platform' && s.metric === 'ecampus_capacity_sessions') {
        platformCapacity.set(s.labels['server'] ?? host, s.value);
        continue;
      }
      if (profile.status === 'class' && HISTOGRAM.test(s.metric)) {
        const code = s.labels['http_response_status_code'];
        const { http_response_status_code: _drop, ...rest } = s.labels;
        void _drop;
        const k = key(s.metric, rest);
        const m = merged.get(k);
        merged.set(k, m ? { ...m, value: m.value + s.value } : { ...s, labels: rest });
        if (s.metric === 'http_server_request_duration_count' && code !== undefined) {
          const cls = `${code[0]}xx`;
          const labels: Labels = { job: s.labels['job'] ?? '', instance: host, faculty: s.labels['faculty'] ?? '', status_class: cls };
          const ck = key('http_server_requests_total', labels);
          const c = classCounts.get(ck);
          classCounts.set(ck, c ? { ...c, value: c.value + s.value } : { metric: 'http_server_requests_total', labels, timestampMs: s.timestampMs, value: s.value });
        }
        continue;
      }
      out.push(s);
    }
    out.push(...merged.values(), ...classCounts.values());
    if (profile.capacity === 'platform' && platformCapacity.size > 0 && t > platformCapacityAt && t > firstT) {
      // Emitted once per scrape instant (from the second on, once every host's share is
      // known), as the platform's own configuration would report it.
      platformCapacityAt = t;
      let total = 0;
      for (const v of platformCapacity.values()) total += v;
      out.push({ metric: 'ecampus_capacity_sessions', labels: { job: 'ecampus', instance: 'platform' }, timestampMs: t, value: total });
    }
    return out;
  };
}
