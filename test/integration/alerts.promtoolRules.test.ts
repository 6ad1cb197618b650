/**
 * The default rule pack under a real Prometheus rule engine (`promtool test rules`):
 * on the same synthetic session ramp, the saturation forecast fires at the same
 * evaluation as in Vigie's engine, with the same labels and rendered annotations.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { Sample } from '../../core/samples.ts';
import { createRuleEngine, type AlertTransition } from '../../rules/engine.ts';
import { loadRuleFile } from '../../rules/ruleFile.ts';
import { createWatermarkScheduler } from '../../rules/scheduler.ts';
import { createSeriesStore } from '../../rules/windows.ts';

const PROMTOOL = process.env['VIGIE_PROMTOOL_BIN'] ?? '/usr/bin/promtool';
const DEFAULT = fileURLToPath(new URL('../../rules/packs/prometheus.yml', import.meta.url));
const STEP = 15_000;
const POINTS = 161; // 40 minutes

/** Sessions on each of two servers: flat, then a ramp that crosses 2×500 at ~25 min. */
function sessions(k: number): number {
  const m = (k * STEP) / 60_000;
  return m < 5 ? 100 : Math.round(100 + 20 * (m - 5) + 3 * Math.sin(k));
}

interface Gen {
  metric: string;
  labels: Record<string, string>;
  value: (k: number) => number;
}

const SERIES: Gen[] = [
  ...['s1', 's2'].flatMap((server): Gen[] => [
    { metric: 'ecampus_sessions_active', labels: { faculty: 'med', exam_id: 'e1', server, job: 'ecampus', instance: server }, value: sessions },
    { metric: 'ecampus_capacity_sessions', labels: { faculty: 'med', server }, value: () => 500 },
  ]),
  { metric: 'ecampus_sessions_active', labels: { faculty: 'law', exam_id: 'e2', server: 's3', job: 'ecampus', instance: 's3' }, value: () => 50 },
  { metric: 'ecampus_capacity_sessions', labels: { faculty: 'law', server: 's3' }, value: () => 400 },
];

describe.skipIf(!existsSync(PROMTOOL))('default rule pack: Vigie engine vs Prometheus rule engine', () => {
  it('fires the saturation forecast at the same evaluation with the same annotations', async () => {
    const groups = await loadRuleFile(DEFAULT);
    const store = createSeriesStore();
    const transitions: AlertTransition[] = [];
    const engine = createRuleEngine({ groups, store, semantics: 'v2' });
    const sched = createWatermarkScheduler({ evaluate: engine.evaluate });
    for (let k = 0; k < POINTS; k++) {
      const batch: Sample[] = SERIES.map((s) => ({ metric: s.metric, labels: s.labels, timestampMs: k * STEP, value: s.value(k) }));
      store.add(batch);
      for (const r of sched.observe(k * STEP)) transitions.push(...r.transitions);
    }
    const page = transitions.find((t) => t.rule === 'FacultySessionsSaturationForecast' && t.state === 'firing');
    expect(page).toBeDefined();
    const firedS = page!.at / 1000;

    const dir = await mkdtemp(join(tmpdir(), 'vigie-promtool-rules-'));
    try {
      await copyFile(DEFAULT, join(dir, 'default.yml'));
      const input = SERIES.map((s) => {
        const l = Object.entries(s.labels).map(([k, v]) => `${k}="${v}"`).join(',');
        return `      - series: '${s.metric}{${l}}'\n        values: '${Array.from({ length: POINTS }, (_, k) => s.value(k)).join(' ')}'`;
      }).join('\n');
      const labels = Object.entries(page!.labels).filter(([k]) => k !== 'alertname').map(([k, v]) => `              ${k}: ${JSON.stringify(v)}`).join('\n');
      const ann = Object.entries(page!.annotations).map(([k, v]) => `              ${k}: ${JSON.stringify(v)}`).join('\n');
      const test = `rule_files: [default.yml]
evaluation_interval: 15s
tests:
  - interval: 15s
    input_series:
${input}
    alert_rule_test:
      - eval_time: ${firedS - 15}s
        alertname: FacultySessionsSaturationForecast
        exp_alerts: []
      - eval_time: ${firedS}s
        alertname: FacultySessionsSaturationForecast
        exp_alerts:
          - exp_labels:
${labels}
            exp_annotations:
${ann}
`;
      await writeFile(join(dir, 'test.yml'), test);
      const res = await promisify(execFile)(PROMTOOL, ['test', 'rules', 'test.yml'], { cwd: dir }).then(
        (r) => ({ ok: true, out: r.stdout + r.stderr }),
        (e: { stdout?: string; stderr?: string }) => ({ ok: false, out: (e.stdout ?? '') + (e.stderr ?? '') }),
      );
      expect(res.out).toContain('SUCCESS');
      expect(res.ok).toBe(true);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
