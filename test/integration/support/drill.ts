/**
 * The live saturation drill, shared by the integration test (short) and
 * `npm run bench:drill` (long): a real nginx + PHP-FPM stack, vegeta ramping students
 * toward an exam start, and Vigie as a campus runs it — `vigie schedule import` of the
 * exam's timetable, `vigie collect` reading the access log, stub_status, PHP-FPM status
 * and /proc into the real Kafka, `vigie ingest` with the default rule pack paging a
 * webhook. The result compares when the first page arrived with when the load
 * generator's own p95 crossed 2 s, and keeps what the page said.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { kafkaBrokers, uniqueTopic } from './kafka.ts';
import { spawnVigie, type VigieChild } from './collectors.ts';
import { startWebhookReceiver, type ReceivedRequest } from './webhook.ts';
import { DRILL_LOG_FORMAT, drillBinaries, startDrillStack, type DrillStack } from './drillStack.ts';
import { latencyReport, startLoad, type LatencyWindow, type Load, type RampStep } from './drillLoad.ts';

const DEFAULT_PACK = fileURLToPath(new URL('../../../rules/packs/default.yml', import.meta.url));

/** Shape of one drill run. */
export interface DrillOptions {
  /** First of the ports the run may use (nginx, PHP-FPM): inside the caller's range. */
  readonly basePort: number;
  readonly workers: number;
  readonly examMs: number;
  /** The ramp in fractions of the pool's capacity (workers / examMs), one per step. */
  readonly utilizationSteps: readonly number[];
  readonly stepSeconds: number;
  readonly thinkSeconds: number;
  /** Vigie's collection and evaluation interval. */
  readonly intervalSeconds: number;
  /** After the crossing, how long to keep the load on while no page has come. */
  readonly graceAfterCrossingMs: number;
  readonly thresholdMs?: number;
  readonly windowMs?: number;
  readonly log?: (line: string) => void;
}

/**
 * The exam-start ramp in fractions of the pool's capacity, one value per step: a quiet
 * morning (early students browsing) long enough for the pack's 5-minute windows to hold
 * data (the engine's cold-start guard: Vigie runs before the exam, not from its first
 * minute), a quick rise to 80 %, then the last students arriving a little faster each
 * step until the pool is overrun.
 */
export function examStartRamp(o: { readonly quietSteps: number; readonly creepPerStep: number; readonly peak: number }): number[] {
  const ramp: number[] = new Array<number>(o.quietSteps).fill(0.2);
  ramp.push(0.35, 0.5, 0.65, 0.8);
  for (let u = 0.8 + o.creepPerStep; u <= o.peak + 1e-9; u += o.creepPerStep) ramp.push(Math.round(u * 1000) / 1000);
  return ramp;
}

/** A page as the webhook got it. */
export interface DrillPage {
  readonly receivedAtMs: number;
  readonly alertname: string;
  readonly severity: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly summary: string;
  readonly description: string;
}

/** What one run measured. */
export interface DrillResult {
  readonly startedAtMs: number;
  readonly examStartMs: number;
  /** Start of the first interval whose p95 (as vegeta measured it) exceeded the threshold. */
  readonly crossingMs: number | null;
  readonly firstPage: DrillPage | null;
  /** crossing − first page, in seconds (positive: paged ahead). */
  readonly leadSeconds: number | null;
  readonly pages: readonly DrillPage[];
  readonly windows: readonly LatencyWindow[];
  readonly requests: number;
  readonly capacityRps: number;
  readonly students: number;
}

interface WebhookAlert {
  readonly status: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

const FACULTY = 'sciences';
const COURSE = '2041';
const EXAM_ID = 'PHYS2041';

/** Firing alerts of severity `page` in what the webhook received, in arrival order. */
export function pagesOf(received: readonly ReceivedRequest[]): DrillPage[] {
  const out: DrillPage[] = [];
  for (const r of received) {
    for (const a of ((r.body as { alerts?: WebhookAlert[] }).alerts ?? [])) {
      if (a.status !== 'firing' || a.labels['severity'] !== 'page') continue;
      out.push({
        receivedAtMs: r.receivedAtMs,
        alertname: a.labels['alertname'] ?? '',
        severity: a.labels['severity'] ?? '',
        labels: a.labels,
        summary: a.annotations['summary'] ?? '',
        description: a.annotations['description'] ?? '',
      });
    }
  }
  return out;
}

async function waitOutput(p: VigieChild, re: RegExp, what: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!re.test(p.output())) {
    if (p.child.exitCode !== null) throw new Error(`${what} exited early (${p.child.exitCode}):\n${p.output()}`);
    if (Date.now() > deadline) throw new Error(`${what}: no /${re.source}/ within ${timeoutMs} ms:\n${p.output()}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function stopChild(p: VigieChild | null): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  p.child.kill('SIGTERM');
  const t = setTimeout(() => p.child.kill('SIGKILL'), 30_000);
  await p.exited;
  clearTimeout(t);
}

/** Runs one drill; throws with the processes' output when a part does not start. */
export async function runDrill(o: DrillOptions): Promise<DrillResult> {
  const log = o.log ?? ((l: string) => process.stderr.write(`[drill] ${l}\n`));
  const bins = drillBinaries();
  const thresholdMs = o.thresholdMs ?? 2_000;
  const dir = mkdtempSync(join(tmpdir(), 'vigie-drill-'));
  const capacityRps = (o.workers * 1000) / o.examMs;
  const steps: RampStep[] = o.utilizationSteps.map((u) => ({ rate: Math.max(1, Math.round(u * capacityRps * 10) / 10), seconds: o.stepSeconds }));
  const students = Math.ceil(Math.max(...steps.map((s) => s.rate)) * o.thinkSeconds) + 10;
  const topic = uniqueTopic('vigie.drill');
  const receiver = await startWebhookReceiver();
  let stack: DrillStack | null = null;
  let ingest: VigieChild | null = null;
  let collect: VigieChild | null = null;
  let load: Load | null = null;
  try {
    stack = await startDrillStack({
      dir,
      bins,
      nginxPort: o.basePort,
      fpmPort: o.basePort + 1,
      workers: o.workers,
      examMs: o.examMs,
      loginMs: Math.round(o.examMs / 4),
      course: COURSE,
      students,
    });
    // The timetable: the exam starts when the ramp tops out (students arrive before it).
    const rampMs = steps.reduce((s, x) => s + x.seconds * 1000, 0);
    const examStartMs = Math.ceil((Date.now() + 60_000 + rampMs) / 60_000) * 60_000;
    const chdb = join(dir, 'chdb');
    const timetable = join(dir, 'timetable.csv');
    writeFileSync(timetable, `exam_id;faculty;start;duration;enrolled\n${EXAM_ID};${FACULTY};${new Date(examStartMs).toISOString()};120;${students}\n`);
    const imp = spawnVigie(['schedule', 'import', timetable, '--chdb-path', chdb]);
    const code = await imp.exited;
    if (code !== 0 || !/imported 1 exam/.test(imp.output())) throw new Error(`vigie schedule import failed (${code}):\n${imp.output()}`);

    const cfg = join(dir, 'vigie.yml');
    writeFileSync(
      cfg,
      [
        'alerts:',
        `  evaluationIntervalMs: ${o.intervalSeconds * 1000}`,
        'collectors:',
        '  service: ecampus',
        '  host: drill-web-1',
        `  intervalSeconds: ${o.intervalSeconds}`,
        `  stateDir: ${join(dir, 'collect-state')}`,
        '  hostMetrics: true',
        `  listenPorts: [${o.basePort}, ${o.basePort + 1}]`,
        // Tested session capacity from the load test before the session: ample, which is
        // the point — sessions are not what saturates; the worker pool is.
        `  capacity: { ${FACULTY}: ${students * 4} }`,
        '  accessLogs:',
        '    pollMs: 200',
        '    files:',
        `      - path: ${stack.accessLog}`,
        `        format: '${DRILL_LOG_FORMAT}'`,
        '    routes:',
        `      - { pattern: "^/login\\\\.php\\\\?course=(?<course>\\\\d+)", route: /login.php, login: true, exam: ${EXAM_ID} }`,
        `      - { pattern: "^/exam\\\\.php\\\\?course=(?<course>\\\\d+)", route: /exam.php, exam: ${EXAM_ID} }`,
        `    courseFaculty: { "${COURSE}": ${FACULTY} }`,
        '    sessions: { cookie: PHPSESSID, windowSeconds: 120 }',
        '  nginxStatus:',
        `    - url: ${stack.stubStatusUrl}`,
        '  phpFpm:',
        `    - { url: ${stack.fpmStatusUrl}, faculty: ${FACULTY}, maxChildren: ${o.workers} }`,
        '',
      ].join('\n'),
    );
    ingest = spawnVigie([
      '--config', cfg,
      'ingest',
      '--kafka', kafkaBrokers()[0]!,
      '--topic', topic,
      '--group', `${topic}.group`,
      '--chdb-path', chdb,
      '--rules', DEFAULT_PACK,
      '--webhook', `${receiver.url}/drill`,
      '--state', join(dir, 'alert-state.json'),
      '--outbox', join(dir, 'outbox'),
      '--metrics-port', '0',
      '--no-http',
    ]);
    await waitOutput(ingest, /consuming/, 'vigie ingest', 180_000);
    collect = spawnVigie(['--config', cfg, 'collect', '--kafka', kafkaBrokers()[0]!, '--topic', topic]);

    const startedAtMs = Date.now();
    log(`ramp ${steps.map((s) => s.rate).join(' → ')} req/s (capacity ${capacityRps} req/s, ${o.workers} workers × ${o.examMs} ms), ${students} students, exam starts ${new Date(examStartMs).toISOString()}`);
    load = startLoad({ vegeta: bins.vegeta, baseUrl: stack.baseUrl, course: COURSE, steps, thinkSeconds: o.thinkSeconds, dir, timeoutSeconds: 30 });
    const l = load;
    let rampDone = false;
    void l.done.then(() => (rampDone = true));
    let crossingSeenAt: number | null = null;
    let lastLog = 0;
    for (;;) {
      await new Promise((r) => setTimeout(r, 500));
      const now = Date.now();
      // Provisional crossing, for stopping the ramp: intervals whose requests all had the
      // threshold's time to answer (a request still pending then is over it anyway).
      const settled = l.results.filter((r) => r.startMs < now - thresholdMs - 1_000);
      const provisional = latencyReport(settled, o.windowMs ?? 5_000, thresholdMs);
      const pages = pagesOf(receiver.received);
      if (provisional.crossingMs !== null && crossingSeenAt === null) crossingSeenAt = now;
      if (now - lastLog > 15_000) {
        lastLog = now;
        const w = provisional.windows.at(-1);
        log(`t+${Math.round((now - startedAtMs) / 1000)} s: ${l.results.length} results, last p95 ${w ? Math.round(w.p95Ms) : '-'} ms, pages ${pages.map((p) => p.alertname).join(',') || 'none'}`);
      }
      if (rampDone) break;
      if (crossingSeenAt !== null && (pages.length > 0 || now - crossingSeenAt > o.graceAfterCrossingMs)) break;
    }
    l.stopRamp();
    await l.done;
    const report = latencyReport(l.results, o.windowMs ?? 5_000, thresholdMs, students);
    // Pages that arrive while the stack drains still count (a late page is a late page).
    const pages = pagesOf(receiver.received);
    const firstPage = pages[0] ?? null;
    const leadSeconds = report.crossingMs !== null && firstPage !== null ? (report.crossingMs - firstPage.receivedAtMs) / 1000 : null;
    log(`crossing ${report.crossingMs ? new Date(report.crossingMs).toISOString() : 'none'}, first page ${firstPage ? `${firstPage.alertname} ${new Date(firstPage.receivedAtMs).toISOString()}` : 'none'}, lead ${leadSeconds ?? '-'} s`);
    return { startedAtMs, examStartMs, crossingMs: report.crossingMs, firstPage, leadSeconds, pages, windows: report.windows, requests: report.requests, capacityRps, students };
  } catch (err) {
    const ctx = [`--- collect\n${collect?.output().slice(-4000) ?? ''}`, `--- ingest\n${ingest?.output().slice(-4000) ?? ''}`, `--- stack\n${stack?.logs() ?? ''}`, `--- vegeta\n${load?.output() ?? ''}`].join('\n');
    (err as Error).message += `\n${ctx}`;
    throw err;
  } finally {
    load?.kill();
    await stopChild(collect);
    await stopChild(ingest);
    await stack?.stop();
    await receiver.stop();
    if (!process.env['VIGIE_DRILL_KEEP']) rmSync(dir, { recursive: true, force: true });
    else log(`kept ${dir}`);
  }
}
