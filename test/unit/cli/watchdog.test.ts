/** The watchdog: the default rule pack pages when the pipeline stalls with messages waiting. */
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createRuleEngine } from '../../../rules/engine.ts';
import { loadRuleFile } from '../../../rules/ruleFile.ts';
import { createSeriesStore } from '../../../rules/windows.ts';
import { selfSamples } from '../../../cli/commands/ingest.ts';

const DEFAULT = fileURLToPath(new URL('../../../rules/packs/default.yml', import.meta.url));
const T0 = Date.UTC(2026, 0, 12, 8, 0);

async function run(lag: number, stalledFromS: number): Promise<string[]> {
  const s = createSeriesStore();
  const e = createRuleEngine({ groups: await loadRuleFile(DEFAULT), store: s });
  const fired: string[] = [];
  for (let i = 0; i <= 40; i++) {
    const t = T0 + i * 15_000;
    s.add(selfSamples(t, lag, Math.max(0, (t - T0) / 1000 - stalledFromS)));
    for (const tr of e.evaluate(t).transitions) if (tr.state === 'firing') fired.push(`${tr.rule}@${(tr.at - T0) / 1000}`);
  }
  return fired;
}

describe('pipeline watchdog (vigie-self rules)', () => {
  it('pages once the pipeline stored nothing for 2 min while Kafka has lag, after its for: 1m', async () => {
    const fired = await run(500, 0);
    expect(fired).toEqual(['VigiePipelineStalled@195']);
  });
  it('stays quiet when there is nothing to consume', async () => {
    expect(await run(0, 0)).toEqual([]);
  });
});
