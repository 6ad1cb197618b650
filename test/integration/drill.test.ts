/**
 * The live saturation drill, short version: nginx and a static PHP-FPM pool from Debian
 * on 127.0.0.1, vegeta ramping students toward an exam start until the pool is overrun,
 * and Vigie as a campus runs it (`schedule import`, `collect` on the access log,
 * stub_status, PHP-FPM status and /proc, `ingest` with the default pack, a webhook).
 * Vigie must page before the p95 that vegeta itself measures crosses 2 s, and the page
 * must name the worker pool. A missing nginx, PHP-FPM or vegeta fails the test
 * (`bash scripts/drill-stack.sh` installs them). The long version is `npm run bench:drill`.
 */
import { describe, expect, it } from 'vitest';
import { examStartRamp, runDrill } from './support/drill.ts';

describe('live drill: nginx + PHP-FPM overrun by an exam start', () => {
  it('pages before the load generator’s p95 crosses 2 s, and the page names the worker pool', async () => {
    const r = await runDrill({
      basePort: 21210,
      workers: 16,
      examMs: 500,
      utilizationSteps: examStartRamp({ quietSteps: 18, creepPerStep: 0.01, peak: 1.25 }),
      stepSeconds: 10,
      thinkSeconds: 10,
      intervalSeconds: 15,
      graceAfterCrossingMs: 60_000,
    });
    const timeline = r.windows.map((w) => `${Math.round((w.startMs - r.startedAtMs) / 1000)}s:${Math.round(w.p95Ms)}ms`).join(' ');
    expect(r.crossingMs, `the ramp overran the pool (p95 by 5 s window: ${timeline})`).not.toBeNull();
    expect(r.firstPage, `a page reached the webhook (p95: ${timeline})`).not.toBeNull();
    const page = r.firstPage!;
    console.log(`[drill] first page ${page.alertname} at t+${Math.round((page.receivedAtMs - r.startedAtMs) / 1000)} s, p95 crossed 2 s at t+${Math.round((r.crossingMs! - r.startedAtMs) / 1000)} s: lead ${r.leadSeconds} s`);
    expect(page.receivedAtMs, `paged before the p95 crossing (lead ${r.leadSeconds} s)`).toBeLessThan(r.crossingMs!);
    // What saturates: the worker pool of the exam's faculty, said in the page itself.
    expect(page.alertname).toMatch(/Workers/);
    expect(`${page.summary} ${page.description}`).toMatch(/workers/i);
    expect(page.labels['faculty']).toBe('sciences');
    // The ramp is timed (a quiet morning, then about 5 min to the crossing) and bounded:
    // at most 67 steps of 10 s, each request at most 30 s; this backstop covers the worst case.
  }, 900_000);
});
