/**
 * Paging latency benchmark: sample arrival → receiver, through the real chain
 * (the rules stage with a `for: 0s` rule → pager: router, fsync'd outbox
 * journal, delivery) and a private Prometheus Alertmanager with `group_wait: 1s`
 * notifying a local webhook. Baseline in the same run: the same chain straight to the
 * webhook (generic webhook receiver, no Alertmanager). Target: p99 ≤ 2 s via Alertmanager.
 *
 *   node bench/paging.bench.ts [--trials 30] [--out bench/results/paging.json]
 *
 * Each trial uses a new faculty (a new Alertmanager group, so group_wait applies) and
 * evaluates the engine at the sample's arrival; the time to the next 15 s evaluation
 * boundary of the live scheduler is not included (it is a rule-interval choice).
 * Prints the summary as JSON and writes it to the output file.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { systemClock } from '../core/clock.ts';
import { parseRuleFile } from '../rules/ruleFile.ts';
import { createRulesStage } from '../rules/stage.ts';
import { parsePagingConfig, type PagingConfigInput } from '../paging/routing/config.ts';
import { createPager } from '../paging/routing/pager.ts';
import { startAlertmanager } from '../test/integration/support/alertmanager.ts';
import { startWebhookReceiver, type ReceivedRequest } from '../test/integration/support/webhook.ts';
import { quantile, writeResult } from './support/measure.ts';

const args = process.argv.slice(2);
const arg = (name: string, def: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]! : def;
};
const TRIALS = Math.max(20, Number(arg('--trials', '30')));
const OUT = resolve(arg('--out', 'bench/results/paging.json'));

const RULES = parseRuleFile(`groups:
  - name: bench
    rules:
      - alert: FacultySessionsAtCapacity
        expr: ecampus_sessions_active / ecampus_capacity_sessions > 0.95
        for: 0s
        labels: { severity: page }
        annotations: { summary: '{{ $labels.faculty }} is at {{ $value | humanizePercentage }} of capacity' }
`);

interface Summary {
  readonly trials: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly meanMs: number;
  readonly minMs: number;
  readonly maxMs: number;
}

function summarize(ms: number[]): Summary {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => quantile(s, p)!;
  const r = (x: number) => Math.round(x * 10) / 10;
  return { trials: s.length, p50Ms: r(q(0.5)), p90Ms: r(q(0.9)), p99Ms: r(q(0.99)), meanMs: r(s.reduce((a, b) => a + b, 0) / s.length), minMs: r(s[0]!), maxMs: r(s[s.length - 1]!) };
}

/** Runs `TRIALS` sample-arrival → webhook measurements through a pager built from `paging`. */
async function measure(label: string, paging: PagingConfigInput, path: string, hasFaculty: (r: ReceivedRequest, f: string) => boolean): Promise<number[]> {
  const dir = mkdtempSync(join(tmpdir(), `vigie-bench-paging-${label}-`));
  const pager = createPager({
    config: parsePagingConfig({ ...paging, resolve_hold: '1h', silences_file: join(dir, 'silences.json') }),
    journalDir: join(dir, 'outbox'),
    clock: systemClock,
    log: (l) => process.stderr.write(l + '\n'),
  });
  pager.start();
  const out: number[] = [];
  try {
    for (let i = 0; i < TRIALS; i++) {
      const faculty = `${label}-f${i}`;
      // The production rules stage; a 1 ms interval puts the evaluation boundary at the sample's own time.
      const stage = createRulesStage({ groups: RULES, intervalMs: 1, notify: pager.notify });
      const wait = receiver.waitFor((r) => r.path === path && hasFaculty(r, faculty), 15_000);
      const arrival = performance.now();
      const t = Date.now();
      stage.add([
        { metric: 'ecampus_sessions_active', labels: { faculty }, timestampMs: t, value: 990 },
        { metric: 'ecampus_capacity_sessions', labels: { faculty }, timestampMs: t, value: 1000 },
      ]);
      await wait;
      out.push(performance.now() - arrival);
      process.stderr.write(`${label} trial ${i + 1}/${TRIALS}: ${Math.round(out[out.length - 1]!)} ms\n`);
    }
  } finally {
    await pager.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  return out;
}

interface AmBody {
  alerts?: { labels?: Record<string, string> }[];
}
const bodyHas = (r: ReceivedRequest, f: string) => ((r.body as AmBody).alerts ?? []).some((a) => a.labels?.['faculty'] === f);

const receiver = await startWebhookReceiver();
const am = await startAlertmanager({ webhookUrl: `${receiver.url}/alertmanager`, groupWait: '1s', groupInterval: '1s', repeatInterval: '1h' });
let result: Record<string, unknown>;
try {
  const viaAm = await measure('alertmanager', { receivers: [{ name: 'am', type: 'alertmanager', url: am.url }] }, '/alertmanager', bodyHas);
  const direct = await measure('direct', { receivers: [{ name: 'hook', type: 'webhook', url: `${receiver.url}/direct` }], route: { receiver: 'hook', group_wait: '0s' } }, '/direct', bodyHas);
  const a = summarize(viaAm);
  const d = summarize(direct);
  result = {
    benchmark: 'paging: sample arrival → receiver',
    when: new Date().toISOString(),
    node: process.version,
    cpus: cpus().length,
    alertmanager: { groupWait: '1s', groupInterval: '1s', ...a },
    directWebhook: { groupWait: '0s', ...d },
    ratio: { p50: Math.round((a.p50Ms / d.p50Ms) * 10) / 10, p99: Math.round((a.p99Ms / d.p99Ms) * 10) / 10 },
    targetP99Ms: 2000,
    pass: a.p99Ms <= 2000,
    note: 'Alertmanager latency is dominated by its group_wait (1 s); the direct path is the pager (engine → router → fsync journal → HTTP) alone.',
  };
} finally {
  await am.stop();
  await receiver.stop();
}
writeResult(OUT, result);
