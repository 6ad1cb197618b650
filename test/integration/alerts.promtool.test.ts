/**
 * Differential test of the PromQL evaluator against a real Prometheus engine
 * (`promtool test rules`, Prometheus 2.42 from Debian): the same random series, the same
 * expressions, results equal within 1e-9 relative. The evaluator runs with its `v2`
 * semantics (left-closed windows, pre-2.51 rate extrapolation), the only Prometheus
 * engine available here; the default `v3` differs exactly in those two places.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Sample } from '../../core/samples.ts';
import { evaluate } from '../../rules/promql/eval.ts';
import { parsePromQL } from '../../rules/promql/parse.ts';
import { createSeriesStore } from '../../rules/windows.ts';

const PROMTOOL = process.env['VIGIE_PROMTOOL_BIN'] ?? '/usr/bin/promtool';
const STEP = 15_000;
const POINTS = 61;

const EXPRS = [
  'rate(c_total[1m])',
  'rate(c_total[5m])',
  'increase(c_total[2m])',
  'irate(c_total[1m])',
  'rate(c_total[1m] offset 2m)',
  'resets(c_total[5m])',
  'changes(g[5m])',
  'delta(g[2m])',
  'idelta(g[1m])',
  'deriv(g[5m])',
  'predict_linear(g[5m], 600)',
  'predict_linear(g[3m] offset 1m, 300)',
  'avg_over_time(g[5m])',
  'min_over_time(g[2m])',
  'max_over_time(g[2m])',
  'sum_over_time(g[1m])',
  'count_over_time(g[3m])',
  'last_over_time(g[1m])',
  'histogram_quantile(0.9, sum by (le) (rate(h_bucket[2m])))',
  'histogram_quantile(0.5, sum by (f, le) (rate(h_bucket[5m])))',
  'histogram_quantile(0.99, rate(h_bucket[1m]))',
  'sum by (f) (rate(c_total[5m]))',
  'avg by (f) (g)',
  'max without (i) (g)',
  'count(g)',
  'min(g)',
  'g / on (f) group_left sum by (f) (g)',
  'sum by (f) (g) - on (f) max by (f) (g) * 2',
  'g > 50',
  'g > bool 50',
  'g and on (i) c_total',
  'g unless on (i) c_total{f="x"}',
  'g or on (i) c_total',
  'clamp(g, 10, 50)',
  'abs(g - 50)',
  '3 ^ (g / 100) % 2',
  'g',
  'absent(g{f="nope"})',
  'vector(time()) - 1',
  '-g{i=~"[12]"} + scalar(count(g))',
];

/** Deterministic PRNG (mulberry32). */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Gen {
  metric: string;
  labels: Record<string, string>;
  values: (number | undefined)[];
}

function generate(seed: number): Gen[] {
  const r = rng(seed);
  const out: Gen[] = [];
  for (const f of ['x', 'y']) {
    for (const i of ['1', '2', '3']) {
      const start = Math.floor(r() * 12);
      const stop = r() < 0.3 ? POINTS - Math.floor(r() * 30) : POINTS;
      let c = r() * 100;
      let g = r() * 100;
      const cv: (number | undefined)[] = [];
      const gv: (number | undefined)[] = [];
      for (let k = 0; k < POINTS; k++) {
        const present = k >= start && k < stop && r() > 0.1;
        c = r() < 0.03 ? r() * 5 : c + Math.round(r() * 1000) / 8;
        g += (r() - 0.45) * 7.3;
        cv.push(present ? c : undefined);
        gv.push(present ? Math.round(g * 1000) / 1000 : undefined);
      }
      out.push({ metric: 'c_total', labels: { f, i }, values: cv });
      out.push({ metric: 'g', labels: { f, i }, values: gv });
    }
    // A classic histogram per faculty: cumulative bucket counters.
    const les = ['0.1', '0.5', '1', '2.5', '+Inf'];
    const cum = les.map(() => 0);
    const rows: (number | undefined)[][] = les.map(() => []);
    for (let k = 0; k < POINTS; k++) {
      let acc = 0;
      for (let b = 0; b < les.length; b++) {
        acc += Math.floor(r() * 20);
        cum[b]! += acc;
        rows[b]!.push(cum[b]);
      }
    }
    les.forEach((le, b) => out.push({ metric: 'h_bucket', labels: { f, le }, values: rows[b]! }));
  }
  return out;
}

function seriesText(g: Gen): string {
  const l = Object.entries(g.labels)
    .map(([k, v]) => `${k}="${v}"`)
    .join(',');
  return `${g.metric}{${l}}`;
}

function parseNum(s: string): number {
  if (s === '+Inf') return Infinity;
  if (s === '-Inf') return -Infinity;
  return Number(s);
}

/** Parses promtool's `got:` line into sorted "labels value" entries. */
function parseGot(line: string): Map<string, number> {
  const out = new Map<string, number>();
  if (line.trim() === 'nil') return out;
  const re = /([a-zA-Z_:][\w:]*)?\{([^}]*)\} (\S+?)(?:, |$)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(line)) !== null) {
    const pairs = m[2]!
      .split(', ')
      .filter((p) => p !== '')
      .map((p) => p.trim());
    if (m[1]) pairs.push(`__name__="${m[1]}"`);
    out.set(pairs.sort().join(','), parseNum(m[3]!));
  }
  return out;
}

function close(a: number, b: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
  if (!Number.isFinite(a) || !Number.isFinite(b)) return a === b;
  return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b)) + 1e-12;
}

describe.skipIf(!existsSync(PROMTOOL))('PromQL evaluator vs promtool (real Prometheus engine)', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`matches on random series (seed ${seed})`, async () => {
      const gens = generate(seed);
      // Aligned and unaligned times; v2 semantics = the engine of this promtool (2.42).
      const evalTimes = [127, 300, 307, 452, 600, 601, 887, 900];
      const dir = await mkdtemp(join(tmpdir(), 'vigie-promtool-'));
      try {
        const input = gens.map((g) => `      - series: '${seriesText(g)}'\n        values: '${g.values.map((v) => (v === undefined ? '_' : String(v))).join(' ')}'`).join('\n');
        const tests: string[] = [];
        for (const t of evalTimes) {
          for (const e of EXPRS) {
            tests.push(`      - expr: ${JSON.stringify(e)}\n        eval_time: ${t}s\n        exp_samples:\n          - labels: '{never="matches"}'\n            value: -1`);
          }
        }
        await writeFile(join(dir, 'rules.yml'), 'groups: []\n');
        await writeFile(join(dir, 'test.yml'), `rule_files: [rules.yml]\nevaluation_interval: 15s\ntests:\n  - interval: 15s\n    input_series:\n${input}\n    promql_expr_test:\n${tests.join('\n')}\n`);
        const out = await promisify(execFile)(PROMTOOL, ['test', 'rules', 'test.yml'], { cwd: dir, maxBuffer: 64 << 20 }).then(
          (r) => r.stdout + r.stderr,
          (e: { stdout?: string; stderr?: string }) => (e.stdout ?? '') + (e.stderr ?? ''),
        );
        // Each failure block: expr: "<expr>", time: <t>, / exp: ... / got: ...
        const blocks = [...out.matchAll(/expr: ("(?:[^"\\]|\\.)*"), time: ([^,]+),\n\s+exp: .*\n\s+got: (.*)\n/g)];
        expect(blocks.length, out.slice(0, 3000)).toBe(evalTimes.length * EXPRS.length);

        const store = createSeriesStore({ retentionMs: 3600_000 });
        const samples: Sample[] = [];
        for (const g of gens) g.values.forEach((v, k) => v !== undefined && samples.push({ metric: g.metric, labels: g.labels, timestampMs: k * STEP, value: v }));
        store.add(samples.sort((a, b) => a.timestampMs - b.timestampMs));

        let compared = 0;
        const mismatches: string[] = [];
        for (const b of blocks) {
          const expr = JSON.parse(b[1]!) as string;
          const tS = parseTime(b[2]!);
          const want = parseGot(b[3]!);
          const v = evaluate(parsePromQL(expr), store, tS * 1000, { semantics: 'v2' });
          const got = new Map<string, number>();
          if (v.kind === 'vector') {
            for (const s of v.samples) got.set(Object.entries(s.labels).map(([k, x]) => `${k}="${x}"`).sort().join(','), s.value);
          }
          if (got.size !== want.size) mismatches.push(`${expr} @${tS}s: ${got.size} samples, Prometheus ${want.size}: ${b[3]}`);
          for (const [k, w] of want) {
            const g = got.get(k);
            compared++;
            if (g === undefined || !close(g, w)) mismatches.push(`${expr} @${tS}s ${k}: vigie ${g}, prometheus ${w}`);
          }
        }
        expect(mismatches).toEqual([]);
        expect(compared).toBeGreaterThan(500);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  }
});

function parseTime(s: string): number {
  // promtool prints Go durations: 2m7s, 5m7s, 14m47s.
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(s.trim());
  if (!m) throw new Error(`cannot parse time ${s}`);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}
