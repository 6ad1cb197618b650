/**
 * Collector overhead: a writer process appends 1,000 requests/s of nginx access log
 * (combined + timings + session cookie) while `vigie collect` (the bin, as deployed:
 * access log with a route table, /proc host signals, export to the real Kafka) tails
 * it. Over the same window it reports the collector's CPU (% of one core, from
 * /proc/<pid>/stat) and RSS against the writer's own, and checks that the collector
 * counted every line written. Targets: < 2 % of a core, < 100 MB RSS.
 *
 *   npm run bench:collectors -- [--seconds 60] [--rate 1000] [--collector-node-flags "..."]
 * Needs Kafka at VIGIE_KAFKA_BROKERS (default 127.0.0.1:19092).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median, writeResult } from './support/measure.ts';

const argv = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};

/** Writer mode: `--writer FILE RATE`; writes until SIGTERM, then prints the number of lines written. */
async function writer(file: string, rate: number): Promise<void> {
  let stop = false;
  process.once('SIGTERM', () => (stop = true));
  const t0 = performance.now();
  let written = 0;
  const faculties = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];
  await new Promise<void>((resolve) => {
    const timer = setInterval(() => {
      const elapsed = (performance.now() - t0) / 1000;
      const due = Math.floor(elapsed * rate);
      let s = '';
      const now = new Date();
      const stamp = `${String(now.getUTCDate()).padStart(2, '0')}/${['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'][now.getUTCMonth()]}/${now.getUTCFullYear()}:${now.toISOString().slice(11, 19)} +0000`;
      for (; written < due; written++) {
        const course = faculties[written % faculties.length]!;
        const login = written % 50 === 0;
        const uri = login ? '/login/index.php' : written % 3 === 0 ? `/mod/quiz/attempt.php?attempt=${written}&cmid=${course * 100}` : `/course/view.php?id=${course}`;
        s += `10.${(written >> 16) & 255}.${(written >> 8) & 255}.${written & 255} - - [${stamp}] "${login ? 'POST' : 'GET'} ${uri} HTTP/1.1" ${written % 97 === 0 ? 503 : login ? 303 : 200} ${1000 + (written % 5000)} "https://ecampus.example/" "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0" 0.${String(written % 1000).padStart(3, '0')} 0.${String(written % 900).padStart(3, '0')} "s${written % 4000}"\n`;
      }
      if (s !== '') appendFileSync(file, s);
      if (stop) {
        clearInterval(timer);
        resolve();
      }
    }, 10);
  });
  process.stdout.write(`${written}\n`);
}

/** CPU seconds (user + system) of a process from /proc/<pid>/stat. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
}

/** Resident set size of a process in MB. */
function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

async function main(): Promise<void> {
  const seconds = arg('seconds', 60);
  const rate = arg('rate', 1000);
  const warmup = 10;
  const dir = mkdtempSync(join(tmpdir(), 'vigie-bench-collectors-'));
  const log = join(dir, 'access.log');
  writeFileSync(log, '');
  const brokers = process.env['VIGIE_KAFKA_BROKERS'] ?? '127.0.0.1:19092';
  const topic = `vigie.bench.collectors.${Date.now().toString(36)}`;
  const routes = [
    '      - { pattern: "^/login", route: /login/index.php, login: true }',
    '      - { pattern: "^/mod/quiz/attempt\\\\.php\\\\?.*cmid=(?<exam>\\\\d+)", route: /mod/quiz/attempt.php }',
    '      - { pattern: "^/course/view\\\\.php\\\\?id=(?<course>\\\\d+)", route: /course/view.php }',
  ];
  const courseFaculty = Array.from({ length: 11 }, (_, i) => `"${i + 1}": fac${i + 1}`).join(', ');
  writeFileSync(
    join(dir, 'vigie.yml'),
    [
      'collectors:',
      '  host: bench-web-1',
      '  intervalSeconds: 15',
      `  stateDir: ${join(dir, 'state')}`,
      '  capacity: { fac1: 1000 }',
      '  accessLogs:',
      '    files:',
      `      - { path: ${log}, format: nginx_timed_cookie }`,
      '    routes:',
      ...routes,
      `    courseFaculty: { ${courseFaculty} }`,
      '    sessions: { cookie: MoodleSession, windowSeconds: 300 }',
      '',
    ].join('\n'),
  );
  // The collector runs as a user runs it: the bin (an .mjs entry that turns on Node's
  // compile cache before loading any TypeScript, then imports only the collect command).
  // A .ts entry would make Node load its TypeScript stripper (amaro, ~12 MB of RSS kept
  // for the life of the process) just to strip the entry itself.
  const entry = 'bin';
  const script = [fileURLToPath(new URL('../bin/vigie.mjs', import.meta.url))];
  // `--collector-node-flags "--max-semi-space-size=2"`: V8 flags for the collector only.
  const flagIdx = argv.indexOf('--collector-node-flags');
  const nodeFlags = flagIdx >= 0 ? argv[flagIdx + 1]!.split(' ').filter((x) => x !== '') : [];
  const collector = spawn(process.execPath, [...nodeFlags, ...script, '--config', join(dir, 'vigie.yml'), 'collect', '--kafka', brokers, '--topic', topic], { stdio: ['ignore', 'inherit', 'inherit'] });
  // Baseline in the same run: the runtime alone (node alone, no Vigie code), idle.
  const idle = spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
  const self = fileURLToPath(import.meta.url);
  const statePath = join(dir, 'state', 'accesslog-state.json');
  const rssIdle: number[] = [];
  let w: ChildProcess | null = null;
  let writerOut = '';
  try {
    // The collector exports (and saves its state) as soon as it has started.
    const deadline = Date.now() + 120_000;
    while (!existsSync(statePath)) {
      if (Date.now() > deadline) throw new Error('the collector never started (no state file after 120 s)');
      await new Promise((r) => setTimeout(r, 100));
    }
    // Phase 1, same run: the collector idle (empty log) and the bare runtime, for the
    // baseline, once start-up (module loading, first JIT) is over.
    await new Promise((r) => setTimeout(r, 10_000));
    const i0 = cpuSeconds(collector.pid!);
    const b0 = cpuSeconds(idle.pid!);
    const ti = performance.now();
    await new Promise((r) => setTimeout(r, warmup * 1000));
    const idleWall = (performance.now() - ti) / 1000;
    const collectorIdlePct = (100 * (cpuSeconds(collector.pid!) - i0)) / idleWall;
    const runtimeIdlePct = (100 * (cpuSeconds(idle.pid!) - b0)) / idleWall;
    // Phase 2: the writer at `rate` lines/s; measure after a short ramp.
    w = spawn(process.execPath, [self, '--writer', log, String(rate)], { stdio: ['ignore', 'pipe', 'inherit'] });
    w.stdout!.on('data', (c: Buffer) => (writerOut += c.toString()));
    const writerDone = new Promise<void>((r) => w!.once('exit', () => r()));
    while (readFileSync(log).length === 0) await new Promise((r) => setTimeout(r, 100));
    await new Promise((r) => setTimeout(r, 3000));
    const c0 = cpuSeconds(collector.pid!);
    const w0 = cpuSeconds(w!.pid!);
    const t0 = performance.now();
    const rssC: number[] = [];
    const rssW: number[] = [];
    while ((performance.now() - t0) / 1000 < seconds) {
      rssC.push(rssMb(collector.pid!));
      rssW.push(rssMb(w!.pid!));
      rssIdle.push(rssMb(idle.pid!));
      await new Promise((r) => setTimeout(r, 1000));
    }
    const wall = (performance.now() - t0) / 1000;
    const cpuC = cpuSeconds(collector.pid!) - c0;
    const cpuW = cpuSeconds(w!.pid!) - w0;
    w!.kill('SIGTERM');
    await writerDone;
    const written = Number(writerOut.trim());
    // Let the collector catch up, then stop it (SIGTERM: last read, last export).
    await new Promise((r) => setTimeout(r, 1500));
    collector.kill('SIGTERM');
    await new Promise<void>((r) => collector.once('exit', () => r()));
    const state = JSON.parse(readFileSync(statePath, 'utf8')) as { aggregates: { lines: Record<string, number> } };
    const counted = state.aggregates.lines['parsed'] ?? 0;
    const cpuPct = (100 * cpuC) / wall;
    const result = {
      bench: 'collectors',
      what: 'vigie collect tailing an nginx access log (route table, sessions, /proc, Kafka export) vs the process writing the log',
      rateLinesPerSecond: rate,
      measuredSeconds: Math.round(wall * 10) / 10,
      linesWritten: written,
      linesCounted: counted,
      lossless: counted === written,
      collector: {
        cpuPercentOfCore: Math.round(cpuPct * 100) / 100,
        // Same collector over 10 s before the writer starts (an export included): the
        // cost of being there; tailing adds little to it, within this machine's noise.
        idleCpuPercentOfCore: Math.round(collectorIdlePct * 100) / 100,
        cpuMsPerThousandLines: Math.round(((cpuC * 1000) / (rate * wall)) * 1000 * 100) / 100,
        rssMbMedian: Math.round((median(rssC) ?? NaN) * 10) / 10,
        rssMbMax: Math.round(Math.max(...rssC) * 10) / 10,
      },
      writer: {
        cpuPercentOfCore: Math.round(((100 * cpuW) / wall) * 100) / 100,
        rssMbMedian: Math.round((median(rssW) ?? NaN) * 10) / 10,
      },
      runtimeBaseline: { what: 'node alone, no Vigie code, idle', rssMbMedian: Math.round((median(rssIdle) ?? NaN) * 10) / 10, cpuPercentOfCore: Math.round(runtimeIdlePct * 100) / 100 },
      entry,
      collectorNodeFlags: nodeFlags,
      node: process.version,
      collectorCpuOverWriterCpu: Math.round((cpuC / cpuW) * 100) / 100,
      targets: { cpuPercentOfCore: 2, rssMb: 100 },
      pass: cpuPct < 2 && Math.max(...rssC) < 100 && counted === written,
      loadAverage: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).map(Number),
    };
    writeResult(new URL('./results/collectors.json', import.meta.url), result);
  } finally {
    if (collector.exitCode === null) collector.kill('SIGKILL');
    if (w !== null && w.exitCode === null) w.kill('SIGKILL');
    idle.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

if (argv[0] === '--writer') await writer(argv[1]!, Number(argv[2]));
else await main();
