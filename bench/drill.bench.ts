/**
 * The live saturation drill, long version: several exam-start mornings on a real nginx +
 * static PHP-FPM stack (Debian), each ramped by vegeta until the worker pool is overrun,
 * with Vigie as a campus runs it (`schedule import` of the exam, `collect`, `ingest` with
 * the default pack, a webhook). The baseline is the load generator's own measurement:
 * for each run, the lead time is when vegeta's p95 (per 5 s of request start) first
 * crossed 2 s minus when the first page reached the webhook (positive = paged ahead).
 *
 *   node bench/drill.bench.ts [--runs 5] [--out bench/results/drill.json]
 *
 * Needs the shared Kafka (VIGIE_KAFKA_BROKERS, default 127.0.0.1:19092) and
 * `bash scripts/drill-stack.sh` (nginx, PHP-FPM, vegeta). Each run takes about 8–10 min.
 * Prints the summary as JSON and writes it to the output file.
 */
import { resolve } from 'node:path';
import { examStartRamp, runDrill, type DrillOptions, type DrillResult } from '../test/integration/support/drill.ts';
import { median, writeResult } from './support/measure.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
};
const runs = Number(arg('--runs', '5'));
const out = resolve(arg('--out', 'bench/results/drill.json'));
if (!(Number.isInteger(runs) && runs >= 1)) throw new Error(`--runs expects a positive whole number, got "${arg('--runs', '')}"`);

/** The drill's shape: 16 workers × 500 ms = 32 requests/s; 4 quiet minutes, then the exam-start ramp. */
const shape: Omit<DrillOptions, 'basePort'> = {
  workers: 16,
  examMs: 500,
  utilizationSteps: examStartRamp({ quietSteps: 20, creepPerStep: 0.01, peak: 1.3 }),
  stepSeconds: 10,
  thinkSeconds: 10,
  intervalSeconds: 15,
  graceAfterCrossingMs: 90_000,
};

const results: DrillResult[] = [];
for (let i = 0; i < runs; i++) {
  const r = await runDrill({ ...shape, basePort: 21230 + 2 * i, log: (l) => process.stderr.write(`[drill ${i + 1}/${runs}] ${l}\n`) });
  results.push(r);
}
const rel = (r: DrillResult, t: number | null | undefined) => (t === null || t === undefined ? null : Math.round((t - r.startedAtMs) / 100) / 10);
const leads = results.map((r) => r.leadSeconds).filter((x): x is number => x !== null);
writeResult(out, {
  bench: 'drill',
  stack: 'nginx-light 1.22 + php-fpm 8.2 (pm = static) from Debian; vegeta v12.13.0; Vigie collect → Kafka → ingest (default pack) → webhook',
  shape: { ...shape, utilizationSteps: undefined, rampSteps: shape.utilizationSteps.length, capacityRps: (shape.workers * 1000) / shape.examMs },
  lead: 'crossing − first page (s): crossing = start of the first 5 s window of request start times whose p95 (vegeta) exceeds 2 s',
  runs: results.map((r) => ({
    crossingS: rel(r, r.crossingMs),
    firstPageS: rel(r, r.firstPage?.receivedAtMs),
    leadSeconds: r.leadSeconds,
    firstPage: r.firstPage ? { alertname: r.firstPage.alertname, labels: r.firstPage.labels, summary: r.firstPage.summary } : null,
    pages: r.pages.map((p) => `${p.alertname}@${rel(r, p.receivedAtMs)}s`),
    examStart: new Date(r.examStartMs).toISOString(),
    requests: r.requests,
    students: r.students,
    p95ByWindow: r.windows.map((w) => [rel(r, w.startMs), Math.round(w.p95Ms)]),
  })),
  pagedAheadRuns: results.filter((r) => r.leadSeconds !== null && r.leadSeconds > 0).length,
  medianLeadSeconds: median(leads),
  minLeadSeconds: leads.length ? Math.min(...leads) : null,
});
