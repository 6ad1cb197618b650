/**
 * The drill's load: vegeta (a real HTTP load generator, built from the Go module proxy)
 * ramps simulated students as an exam start does. The arrival rate rises in steps: each
 * step is one `vegeta attack` at a constant rate, started on time whether or not the
 * previous one has drained (an open model: students keep arriving while the platform
 * slows down). New students log in (POST, session cookie), logged-in students load the
 * exam page every `thinkSeconds`. Every result vegeta measures (start time, latency,
 * status) streams back through `vegeta encode`, and the p95 per interval is computed
 * from those measurements alone: the lead time is against the load generator's own p95.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

/** One step of the ramp: requests per second for `seconds`. */
export interface RampStep {
  readonly rate: number;
  readonly seconds: number;
}

/** One request as vegeta measured it. */
export interface LoadResult {
  /** When vegeta sent it (epoch ms). */
  readonly startMs: number;
  readonly latencyMs: number;
  /** HTTP status; 0 when vegeta got none (time-out, refused). */
  readonly code: number;
  readonly login: boolean;
}

/** The p95 of one interval of request start times. */
export interface LatencyWindow {
  readonly startMs: number;
  readonly endMs: number;
  readonly requests: number;
  readonly p95Ms: number;
  readonly errors: number;
}

/** What the load did, window by window, and when its p95 first crossed the threshold. */
export interface LoadReport {
  readonly windows: readonly LatencyWindow[];
  /** Start of the first window whose p95 exceeds the threshold, or null. */
  readonly crossingMs: number | null;
  readonly requests: number;
  readonly students: number;
}

/** Options of {@link startLoad}. */
export interface LoadOptions {
  readonly vegeta: string;
  readonly baseUrl: string;
  readonly course: string;
  readonly steps: readonly RampStep[];
  /** Seconds between two exam-page loads of one student (students = rate × think). */
  readonly thinkSeconds: number;
  /** Where targets files are written. */
  readonly dir: string;
  /** vegeta's per-request time-out (bounds every request). */
  readonly timeoutSeconds?: number;
}

/** A running ramp. */
export interface Load {
  readonly results: readonly LoadResult[];
  /** Starts no further step; running steps finish (each bounded by its duration and time-out). */
  stopRamp(): void;
  /** Resolves when every started step has finished and its results are read. */
  readonly done: Promise<void>;
  /** Interrupts everything now (clean-up after a failure). */
  kill(): void;
  output(): string;
}

const studentId = (i: number) => `s${String(i).padStart(5, '0')}`;
const b64 = (s: string) => Buffer.from(s).toString('base64');

/** Nearest-rank p-quantile. */
function quantileOf(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] ?? NaN;
}

/**
 * p95 per `widthMs` interval of request start time (all results, errors included at their
 * measured latency), and the first interval whose p95 is above `thresholdMs`.
 */
export function latencyReport(results: readonly LoadResult[], widthMs: number, thresholdMs: number, students = 0): LoadReport {
  if (results.length === 0) return { windows: [], crossingMs: null, requests: 0, students };
  const t0 = Math.min(...results.map((r) => r.startMs));
  const by = new Map<number, LoadResult[]>();
  for (const r of results) {
    const k = Math.floor((r.startMs - t0) / widthMs);
    let a = by.get(k);
    if (!a) by.set(k, (a = []));
    a.push(r);
  }
  const windows = [...by.keys()]
    .sort((a, b) => a - b)
    .map((k) => {
      const rs = by.get(k)!;
      return {
        startMs: t0 + k * widthMs,
        endMs: t0 + (k + 1) * widthMs,
        requests: rs.length,
        p95Ms: quantileOf(rs.map((r) => r.latencyMs), 0.95),
        errors: rs.filter((r) => r.code === 0 || r.code >= 500).length,
      };
    });
  const crossing = windows.find((w) => w.p95Ms > thresholdMs);
  return { windows, crossingMs: crossing ? crossing.startMs : null, requests: results.length, students };
}

/** Starts the ramp now. */
export function startLoad(o: LoadOptions): Load {
  const results: LoadResult[] = [];
  const children: ChildProcess[] = [];
  const finished: Promise<void>[] = [];
  let out = '';
  const keep = (c: Buffer) => {
    out += c.toString();
    if (out.length > 10_000) out = out.slice(-10_000);
  };
  let stopped = false;
  let loggedIn = 0;
  let cursor = 0;
  const login = `${o.baseUrl}/login.php?course=${encodeURIComponent(o.course)}`;
  const exam = `${o.baseUrl}/exam.php?course=${encodeURIComponent(o.course)}`;
  const cookie = (i: number) => ({ Cookie: [`PHPSESSID=drill${String(i).padStart(5, '0')}`] });

  const runStep = (i: number, step: RampStep) => {
    const total = Math.max(1, Math.round(step.rate * step.seconds));
    const wanted = Math.round(step.rate * o.thinkSeconds);
    const newcomers = Math.min(total, Math.max(0, wanted - loggedIn));
    // Logins spread evenly among the exam-page loads of the students already in.
    const lines: string[] = [];
    let nextNew = loggedIn + 1;
    const active = loggedIn;
    for (let k = 0; k < total; k++) {
      const isLogin = newcomers > 0 && Math.floor(((k + 1) * newcomers) / total) > Math.floor((k * newcomers) / total);
      if (isLogin) {
        lines.push(JSON.stringify({ method: 'POST', url: login, body: b64(`student=${studentId(nextNew)}`), header: { ...cookie(nextNew), 'Content-Type': ['application/x-www-form-urlencoded'] } }));
        nextNew++;
      } else if (active > 0) {
        const s = (cursor++ % active) + 1;
        lines.push(JSON.stringify({ method: 'GET', url: exam, header: cookie(s) }));
      } else {
        lines.push(JSON.stringify({ method: 'POST', url: login, body: b64(`student=${studentId(nextNew)}`), header: { ...cookie(nextNew), 'Content-Type': ['application/x-www-form-urlencoded'] } }));
        nextNew++;
      }
    }
    loggedIn = nextNew - 1;
    const targets = join(o.dir, `targets-${i}.jsonl`);
    writeFileSync(targets, lines.join('\n') + '\n');
    // vegeta takes a whole number per period: tenths of a request per second as n/10s.
    const attack = spawn(
      o.vegeta,
      ['attack', '-format=json', `-targets=${targets}`, `-rate=${Math.round(step.rate * 10)}/10s`, `-duration=${step.seconds}s`, `-timeout=${o.timeoutSeconds ?? 30}s`, '-redirects=-1', '-max-body=0', `-name=step${i}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const encode = spawn(o.vegeta, ['encode', '--to', 'json'], { stdio: ['pipe', 'pipe', 'pipe'] });
    attack.stdout!.pipe(encode.stdin!);
    attack.stderr!.on('data', keep);
    encode.stderr!.on('data', keep);
    attack.once('exit', (code, signal) => {
      if (code !== 0 && signal !== 'SIGKILL') out += `\nvegeta attack step ${i} exited ${code ?? signal}`;
    });
    children.push(attack, encode);
    const rl = createInterface({ input: encode.stdout! });
    rl.on('line', (line) => {
      if (!line.trim()) return;
      const r = JSON.parse(line) as { timestamp: string; latency: number; code: number; method: string };
      results.push({ startMs: Date.parse(r.timestamp), latencyMs: r.latency / 1e6, code: r.code, login: r.method === 'POST' });
    });
    finished.push(new Promise<void>((resolve) => rl.once('close', () => resolve())));
  };

  const t0 = Date.now();
  let elapsed = 0;
  const timers: NodeJS.Timeout[] = [];
  let allStarted!: () => void;
  const started = new Promise<void>((r) => (allStarted = r));
  o.steps.forEach((step, i) => {
    const at = elapsed;
    timers.push(
      setTimeout(() => {
        if (!stopped) runStep(i, step);
        if (i === o.steps.length - 1) allStarted();
      }, Math.max(0, t0 + at - Date.now())),
    );
    elapsed += step.seconds * 1000;
  });
  if (o.steps.length === 0) allStarted();

  const done = (async () => {
    await started;
    await Promise.all(finished);
  })();

  return {
    results,
    done,
    stopRamp() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      allStarted();
    },
    kill() {
      stopped = true;
      for (const t of timers) clearTimeout(t);
      allStarted();
      for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    },
    output: () => out,
  };
}
