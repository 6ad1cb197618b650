/**
 * The chain never reports on partial data: after the morning it waits for the pipeline
 * for as long as it progresses, and when the pipeline stops progressing it says what was
 * lost (`complete: false`, the missing samples) and skips the final evaluation. Real chDB
 * and the in-process transport; the stuck pipeline is real inserts made slow.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { afterAll, describe, expect, it } from 'vitest';
import { runMorningChain, defaultMorningStart, type ChainProgress } from '../../cli/chain.ts';
import { DEFAULT_RULES_FILE } from '../../cli/options.ts';
import { createStorage, type Storage } from '../../pipeline/storage.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const START = defaultMorningStart() + 60 * 60_000;
const sim = { seed: 42, capacity: 1, compression: Infinity, start: START, durationMs: 20 * 60_000 };

function open(): Storage {
  const d = mkdtempSync(join(tmpdir(), 'vigie-chain-drain-'));
  dirs.push(d);
  return createStorage({ chdbPath: d, database: 'vigie' });
}

/**
 * The same storage whose inserts, after the first `fast`, each take `delayMs`: both paths
 * a sink inserts by (`client.exec`, and chDB's `rawInsert` and `columnarInsert` when the storage has them).
 */
function slowInserts(storage: Storage, fast: number, delayMs: number): Storage {
  let n = 0;
  const slow = async () => {
    if (++n > fast) await new Promise((r) => setTimeout(r, delayMs));
  };
  const client = new Proxy(storage.client, {
    get(target, prop, receiver) {
      if (prop === 'exec') {
        return async (...args: Parameters<ClickHouseClient['exec']>) => {
          await slow();
          return target.exec(...args);
        };
      }
      const v = Reflect.get(target, prop, receiver) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  const raw = storage.rawInsert;
  const columnar = storage.columnarInsert;
  return {
    ...storage,
    client,
    ...(raw ? { rawInsert: async (p: Parameters<typeof raw>[0]) => (await slow(), raw(p)) } : {}),
    ...(columnar ? { columnarInsert: async (cols: Parameters<typeof columnar>[0], st: Parameters<typeof columnar>[1]) => (await slow(), columnar(cols, st)) } : {}),
  };
}

describe('draining after the morning', () => {
  it('waits until every exported sample is stored, with progress while it drains', async () => {
    const storage = open();
    const phases: ChainProgress['phase'][] = [];
    try {
      const r = await runMorningChain({ storage, rulesFile: DEFAULT_RULES_FILE, sim, onProgress: (p) => phases.push(p.phase), log: () => {} });
      expect(r.complete).toBe(true);
      expect(r.missingSamples).toBe(0);
      expect(r.storedSamples).toBe(r.exportedSamples);
      expect(phases[0]).toBe('morning');
    } finally {
      await storage.close();
    }
  }, 300_000);

  it('gives up when the pipeline stops progressing, and says how much was lost', async () => {
    const storage = open();
    const lines: string[] = [];
    const draining: ChainProgress[] = [];
    try {
      const r = await runMorningChain({
        storage: slowInserts(storage, 2, 2_500),
        rulesFile: DEFAULT_RULES_FILE,
        sim,
        drainStallMs: 1_000,
        onProgress: (p) => p.phase === 'draining' && draining.push(p),
        log: (l) => lines.push(l),
      });
      expect(r.complete).toBe(false);
      expect(r.missingSamples).toBeGreaterThan(0);
      expect(r.storedSamples).toBeLessThan(r.exportedSamples);
      // Counted once the pipeline stopped: exactly what the table lacks.
      expect(r.missingSamples).toBe(r.exportedSamples - r.storedSamples);
      expect(lines.join('\n')).toMatch(/gave up: [\d,]+ of [\d,]+ exported samples were not stored/);
      expect(draining.length).toBeGreaterThan(0);
      // No evaluation on partial data: nothing fired after the data's watermark, which the
      // log names (batches in flight when it gave up are stored during stop(), so the last
      // draining report may lag it), and the final evaluation to the morning's end is skipped.
      const said = /rules were evaluated up to (\S+) only/.exec(lines.join('\n'));
      expect(said).not.toBeNull();
      const watermark = Date.parse(said![1]!);
      expect(watermark).toBeGreaterThanOrEqual(draining.at(-1)!.watermarkMs ?? START);
      expect(watermark).toBeLessThan(sim.start + sim.durationMs);
      expect(r.transitions.every((t) => t.at <= watermark)).toBe(true);
    } finally {
      await storage.close();
    }
  }, 300_000);
});
