/**
 * Start-up cost of the `vigie` command: CPU-seconds (user + system of the child
 * process, from bash's `times`) of `vigie --help`, of `vigie detect` over a 1,000-row
 * CSV and of `vigie demo --help` (a command that loads chDB, Kafka and OpenTelemetry),
 * each the median of N runs, against bare `node -e 0` measured in the same run.
 * Targets (issue 10): `--help` < 0.3 CPU-s, `detect` (1,000 rows) < 0.5 CPU-s. Also
 * lists the heavy packages each command loaded (test/support/recordImports.ts).
 *
 *   node bench/startup.bench.ts [--runs 7] [--out bench/results/startup.json]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { heavyPackagesIn } from '../test/support/heavyPackages.ts';
import { median, writeResult } from './support/measure.ts';

const ROOT = resolve(import.meta.dirname, '..');
const { values } = parseArgs({
  options: { runs: { type: 'string', default: '7' }, out: { type: 'string', default: join(ROOT, 'bench/results/startup.json') }, help: { type: 'boolean', default: false } },
});
if (values.help) {
  process.stdout.write('usage: node bench/startup.bench.ts [--runs 7] [--out FILE]\n');
  process.exit(0);
}
const RUNS = Number(values.runs);
if (!Number.isInteger(RUNS) || RUNS < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);

/**
 * The measurements issue 10 started from (Node 20.20 and Node 24.22 through tsx, every
 * command module imported eagerly), taken on this machine kind on 2026-12-07 with
 * `/usr/bin/time -f '%U %S'`, 5 runs each: recorded, not re-measured (tsx is gone).
 */
const BEFORE = {
  note: "recorded 2026-12-07 before this change (commit a48107b: bin/vigie.mjs registered tsx, cli/main.ts imported every command); /usr/bin/time -f '%U %S', 5 runs, median user+sys",
  node20Tsx: { help: 2.33, detect1000: 2.58 },
  node24Tsx: { help: 1.55, detect1000: 1.53 },
};

const dir = mkdtempSync(join(tmpdir(), 'vigie-startup-'));
const csv = join(dir, 'series.csv');
let x = 100;
const rows = ['timestamp,value'];
for (let i = 0; i < 1000; i++) {
  x += Math.sin(i / 7) + (i % 13 === 0 ? 3 : 0);
  rows.push(`${new Date(Date.UTC(2026, 0, 12, 8) + i * 15_000).toISOString()},${x.toFixed(3)}`);
}
writeFileSync(csv, rows.join('\n') + '\n');

/** CPU-seconds (user + system) and wall seconds of one run of `argv` in a child process. */
function cpuOf(argv: readonly string[]): { cpu: number; wall: number } {
  const t0 = performance.now();
  // `times` prints the shell's own times, then its children's: "0m0.081s 0m0.012s".
  const r = spawnSync('bash', ['-c', '"$@" >/dev/null 2>&1 </dev/null; rc=$?; times; exit $rc', 'bash', ...argv], { cwd: ROOT, encoding: 'utf8' });
  const wall = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`${argv.join(' ')} exited with ${r.status}: ${r.stderr}`);
  const line = r.stdout.trim().split('\n').at(-1)!;
  const m = /^(\d+)m([\d.]+)s (\d+)m([\d.]+)s$/.exec(line);
  if (!m) throw new Error(`cannot read bash times output ${JSON.stringify(r.stdout)}`);
  return { cpu: Number(m[1]) * 60 + Number(m[2]) + Number(m[3]) * 60 + Number(m[4]), wall };
}

/** Heavy packages `vigie …args` loads (one extra run with the import recorder). */
function heavyOf(args: readonly string[]): string[] {
  const record = join(dir, 'imports.txt');
  const r = spawnSync(process.execPath, ['--import', join(ROOT, 'test/support/recordImports.ts'), join(ROOT, 'bin/vigie.mjs'), ...args], {
    cwd: ROOT,
    env: { ...process.env, VIGIE_RECORD_IMPORTS: record },
    stdio: 'ignore',
  });
  if (r.status !== 0) throw new Error(`vigie ${args.join(' ')} exited with ${r.status}`);
  return heavyPackagesIn(readFileSync(record, 'utf8').split('\n'));
}

const round = (v: number) => Math.round(v * 1000) / 1000;
function stats(xs: number[]) {
  return { median: round(median(xs)!), min: round(Math.min(...xs)), max: round(Math.max(...xs)) };
}

const CASES = [
  { name: 'vigie --help', args: ['--help'], targetCpuSeconds: 0.3 },
  { name: 'vigie detect (1,000 rows)', args: ['detect', '--input', csv], targetCpuSeconds: 0.5 },
  { name: 'vigie demo --help', args: ['demo', '--help'], targetCpuSeconds: null },
] as const;

// Interleaved rounds, so a burst of load on the shared machine hits every case alike.
const baseline: { cpu: number; wall: number }[] = [];
const samples = CASES.map(() => [] as { cpu: number; wall: number }[]);
cpuOf([process.execPath, join(ROOT, 'bin/vigie.mjs'), '--help']); // warm the file cache
for (let i = 0; i < RUNS; i++) {
  baseline.push(cpuOf([process.execPath, '-e', '0']));
  CASES.forEach((c, k) => samples[k]!.push(cpuOf([process.execPath, join(ROOT, 'bin/vigie.mjs'), ...c.args])));
}
const base = stats(baseline.map((s) => s.cpu));
const commands = CASES.map((c, k) => {
  const cpu = stats(samples[k]!.map((s) => s.cpu));
  return {
    name: c.name,
    cpuSeconds: cpu,
    wallSecondsMedian: round(median(samples[k]!.map((s) => s.wall))!),
    targetCpuSeconds: c.targetCpuSeconds,
    meetsTarget: c.targetCpuSeconds === null ? null : cpu.median < c.targetCpuSeconds,
    ratioToBareNode: round(cpu.median / base.median),
    heavyPackagesLoaded: heavyOf(c.args),
  };
});
rmSync(dir, { recursive: true, force: true });

writeResult(values.out, {
  benchmark: 'startup',
  command: ['node bench/startup.bench.ts', ...process.argv.slice(2)].join(' '),
  generatedAt: new Date().toISOString(),
  node: process.version,
  runs: RUNS,
  definition: 'CPU-seconds = user + system time of the child process (bash `times`), median/min/max over the runs; cases interleaved run by run',
  baseline: { name: 'node -e 0 (bare Node start)', cpuSeconds: base, wallSecondsMedian: round(median(baseline.map((s) => s.wall))!) },
  commands,
  before: BEFORE,
  helpSpeedupVsNode20Tsx: round(BEFORE.node20Tsx.help / commands[0]!.cpuSeconds.median),
});
