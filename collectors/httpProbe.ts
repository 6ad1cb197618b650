/**
 * Synthetic HTTP probes (the OpenTelemetry Collector httpcheck receiver's metrics):
 * `httpcheck.status` (1 for the observed status class, per URL), `httpcheck.duration`
 * (ms) and `httpcheck.error` (1 when the request failed), so an unreachable login page
 * is seen from outside the platform too.
 */
import type { Meter } from '@opentelemetry/api';

/** Result of one probe. */
export interface ProbeResult {
  readonly url: string;
  readonly statusCode: number | null;
  readonly durationMs: number;
  readonly error: string | null;
}

/** Probes `urls` each time `run()` is called; registers the httpcheck gauges on `meter`. */
export function createHttpProbes(meter: Meter, urls: readonly string[], opts: { fetch?: typeof fetch; timeoutMs?: number } = {}): { run(): Promise<ProbeResult[]> } {
  const doFetch = opts.fetch ?? fetch;
  let last: ProbeResult[] = [];
  meter.createObservableGauge('httpcheck.status', { description: '1 if the check returned this status class', unit: '1' }).addCallback((r) => {
    for (const p of last) {
      for (const cls of ['1xx', '2xx', '3xx', '4xx', '5xx']) {
        const observed = p.statusCode !== null && `${Math.floor(p.statusCode / 100)}xx` === cls ? 1 : 0;
        r.observe(observed, { 'http.url': p.url, 'http.status_class': cls, 'http.method': 'GET' });
      }
    }
  });
  meter.createObservableGauge('httpcheck.duration', { description: 'time the check took', unit: 'ms' }).addCallback((r) => {
    for (const p of last) r.observe(p.durationMs, { 'http.url': p.url });
  });
  meter.createObservableGauge('httpcheck.error', { description: '1 when the check failed', unit: '1' }).addCallback((r) => {
    for (const p of last) r.observe(p.error ? 1 : 0, { 'http.url': p.url });
  });
  return {
    async run() {
      last = await Promise.all(
        urls.map(async (url): Promise<ProbeResult> => {
          const t0 = performance.now();
          try {
            const res = await doFetch(url, { signal: AbortSignal.timeout(opts.timeoutMs ?? 10_000), redirect: 'manual' });
            await res.body?.cancel();
            return { url, statusCode: res.status, durationMs: performance.now() - t0, error: null };
          } catch (err) {
            return { url, statusCode: null, durationMs: performance.now() - t0, error: (err as Error).message };
          }
        }),
      );
      return last;
    },
  };
}
