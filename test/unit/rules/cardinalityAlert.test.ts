/**
 * The cardinality limiter's alert (`VigieCardinalityLimitHit`, vigie-self group of the
 * default pack): it pages when the pipeline refuses points of new series or new metric
 * names, including a single burst, and never for other rejections (old points).
 */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { selfSamples } from '../../../cli/commands/ingest.ts';
import { createRuleEngine } from '../../../rules/engine.ts';
import { loadRuleFile } from '../../../rules/ruleFile.ts';
import { createSeriesStore } from '../../../rules/windows.ts';

const DEFAULT = fileURLToPath(new URL('../../../rules/packs/default.yml', import.meta.url));
const T0 = Date.UTC(2026, 0, 12, 8, 0);

/** Runs 20 min of 15 s evaluations; `rejectedAt(s)` is the stop-summary totals `s` seconds in. */
async function run(rejectedAt: (s: number) => Record<string, number>): Promise<{ transitions: string[]; labels: Record<string, string>[] }> {
  const store = createSeriesStore();
  const engine = createRuleEngine({ groups: await loadRuleFile(DEFAULT), store });
  const transitions: string[] = [];
  const labels: Record<string, string>[] = [];
  for (let i = 0; i <= 80; i++) {
    const t = T0 + i * 15_000;
    store.add(selfSamples(t, 0, 1, rejectedAt(i * 15)));
    for (const tr of engine.evaluate(t).transitions) {
      if (tr.rule !== 'VigieCardinalityLimitHit') continue;
      transitions.push(`${tr.state}@${(tr.at - T0) / 1000}`);
      if (tr.state === 'firing') labels.push({ ...tr.labels });
    }
  }
  return { transitions, labels };
}

describe('VigieCardinalityLimitHit', () => {
  it('pages at the first evaluation after a label bomb starts being refused, per reason, and resolves when the 5 min window holds no refusal any more', async () => {
    // Refusals from 7:00 to 10:00 (120 points per 15 s), none before or after; the 5 min
    // window is covered by then (the engine's cold-start guard holds alerts for 90 % of it).
    const refused = (s: number) => (s < 420 ? 0 : Math.min(s, 600) - 420) * 8;
    const { transitions, labels } = await run((s) => ({ cardinality_limit: refused(s), clock_skew: 5 * s }));
    // Resolved once the 5 min window (left-open) no longer holds the last increase, at 600 s.
    expect(transitions).toEqual(['firing@435', 'resolved@885']);
    expect(labels).toEqual([{ alertname: 'VigieCardinalityLimitHit', job: 'vigie-ingest', reason: 'cardinality_limit', severity: 'page' }]);
  });

  it('pages on a single burst of refused metric names (the counter starts at 0, so the first burst is an increase)', async () => {
    const { transitions, labels } = await run((s): Record<string, number> => (s >= 300 ? { metric_name_limit: 40 } : {}));
    expect(transitions[0]).toBe('firing@300');
    expect(labels.map((l) => l['reason'])).toEqual(['metric_name_limit']);
  });

  it('stays quiet when only other reasons reject points (clock skew, non-finite values)', async () => {
    const { transitions } = await run((s) => ({ clock_skew: 100 * s, non_finite: s }));
    expect(transitions).toEqual([]);
  });
});
