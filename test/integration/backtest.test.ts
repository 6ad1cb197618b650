/**
 * Backtest against live: one simulated morning runs through the whole chain
 * (`runMorningChain`: simulator → in-process transport → pipeline → chDB, tap → rules
 * engine), then the same rule file is backtested over what chDB stored. The same alerts
 * must fire and resolve at the same evaluation times as they did live, and each page
 * gets a lead time against the collapse found in the stored rollups.
 *
 * The morning is placed on yesterday's date: raw `samples` have a 30-day TTL, so the
 * simulator's default day (2026-01-12) would be gone from the raw table on any later date.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { backtest, type BacktestResult } from '../../rules/backtest/index.ts';
import { loadRuleFile, type AlertTransition } from '../../rules/index.ts';
import { runMorningChain, type MorningChainResult } from '../../cli/chain.ts';
import { formatBacktestTable, runRulesBacktest } from '../../cli/commands/rules.ts';
import { DEFAULT_RULES_FILE } from '../../cli/options.ts';
import { createStorage, type Storage } from '../../pipeline/index.ts';
import { dayOf, schedule } from '../../simulator/index.ts';
import { beatingStorage, STEP_BACKSTOP_MS, untilStalled } from '../support/progress.ts';

const DAY = 86_400_000;
const START = Math.floor(Date.now() / DAY) * DAY - DAY + 7.5 * 3_600_000; // yesterday 07:30 UTC
const DURATION = 105 * 60_000; // 07:30 → 09:15: the ramp, the 09:00 starts and the collapse

let dir: string;
let storage: Storage;
let live: MorningChainResult;
let result: BacktestResult;

const key = (t: Pick<AlertTransition, 'at' | 'rule' | 'state' | 'fingerprint'>) => `${new Date(t.at).toISOString()} ${t.state} ${t.rule} ${t.fingerprint}`;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'vigie-backtest-'));
  storage = createStorage({ chdbPath: join(dir, 'chdb'), database: 'vigie' });
  // CPU-bound: bounded by its progress (simulated collections, storage calls), not by a
  // wall-clock budget; the drain deadline is the same backstop.
  live = await untilStalled('live morning chain', (beat) =>
    runMorningChain({
      storage: beatingStorage(storage, beat),
      rulesFile: DEFAULT_RULES_FILE,
      sim: { seed: 42, capacity: 1, compression: Infinity, start: START, durationMs: DURATION },
      onProgress: (p) => beat(`simulated ${new Date(p.simNowMs).toISOString()}`),
      drainStallMs: STEP_BACKSTOP_MS,
      log: () => {},
    }),
  );
  const groups = await loadRuleFile(DEFAULT_RULES_FILE);
  result = await backtest(storage.client, storage.database, { groups, fromMs: live.truth.startMs, toMs: live.truth.endMs });
}, STEP_BACKSTOP_MS);

afterAll(async () => {
  await storage?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('rules backtest over stored history vs the live chain', () => {
  it('replays everything that was stored, at the live evaluation instants', () => {
    expect(live.storedSamples).toBeGreaterThan(100_000);
    expect(result.samplesRead).toBe(live.storedSamples);
    expect(result.ruleErrors).toEqual([]);
    // Every 15 s boundary after the first collection, up to the end of the morning.
    const first = live.truth.startMs + 15_000;
    expect(result.evaluations[0]).toBe(first);
    expect(result.evaluations.at(-1)).toBe(Math.floor(live.truth.endMs / 15_000) * 15_000);
    expect(result.evaluations.length).toBe((result.evaluations.at(-1)! - first) / 15_000 + 1);
  });

  it('fires and resolves the same alerts at the same evaluation times as live', () => {
    // pending/inactive are left out: live, the very first evaluations may run before every
    // collector has reported once (the watermark only knows the instances seen so far).
    // Sorted: within one evaluation instant the engine reports transitions in the order its
    // store first saw the series, which follows the arrival interleaving live (partitions)
    // and (timestamp, fingerprint) in the backtest; the set per instant is what must match.
    const pages = (ts: readonly AlertTransition[]) => ts.filter((t) => t.state === 'firing' || t.state === 'resolved').map(key).sort();
    const liveFiring = pages(live.transitions);
    expect(liveFiring.length).toBeGreaterThan(0);
    expect(pages(result.transitions)).toEqual(liveFiring);
  });

  it('rebuilds the schedule series from exam_schedule, as the chain feeds them', () => {
    // Every exam of the simulated day shapes the 07:30–09:15 window (ramps start 30 min
    // before the start, the peak looks 30 min ahead): all were read back.
    expect(result.exams.map((e) => e.id).sort()).toEqual(schedule(dayOf(START)).map((e) => e.id).sort());
    // Rules that read only the schedule fire identically live and in the backtest (on seed
    // 42 at capacity 1 the schedule exceeds some faculty's capacity).
    const scheduled = (ts: readonly AlertTransition[]) => ts.filter((t) => t.rule === 'ExamScheduleExceedsCapacity' && t.state === 'firing').map(key).sort();
    expect(scheduled(live.transitions).length).toBeGreaterThan(0);
    expect(scheduled(result.transitions)).toEqual(scheduled(live.transitions));
  });

  it('reports each page with its lead time against the stored collapse', () => {
    expect(result.collapses.length).toBeGreaterThan(0);
    const collapse = result.collapses[0]!;
    // The rollups' collapse (first minute with 5xx > 50 % of the requests stored) and the
    // simulator's (model error ratio > 50 % sustained 1 min) are different measurements of
    // the same event: seen 6 min apart on seed 42.
    expect(Math.abs(collapse.minuteMs - live.truth.collapseAtMs!)).toBeLessThanOrEqual(10 * 60_000);
    const firstPage = result.alerts.find((a) => a.labels['severity'] === 'page');
    expect(firstPage).toBeDefined();
    expect(firstPage!.firedAt).toBe(live.firstPage!.at);
    const against = result.collapses.find((c) => c.faculty === firstPage!.labels['faculty']) ?? collapse;
    expect(firstPage!.leadTimeMs).toBe(against.minuteMs - firstPage!.firedAt);
    const text = formatBacktestTable(result);
    expect(text).toContain(firstPage!.rule);
    expect(text).toMatch(/[+-]\d+m\d\ds vs /);
  });

  it('runs as `vigie rules backtest --format json` on the same database', async () => {
    let out = '';
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out += String(chunk);
      return true;
    });
    try {
      await runRulesBacktest({
        rules: DEFAULT_RULES_FILE,
        from: live.truth.startMs,
        to: live.truth.endMs,
        chdbPath: join(dir, 'chdb'),
        database: 'vigie',
        format: 'json',
      });
    } finally {
      spy.mockRestore();
    }
    const json = JSON.parse(out) as { alerts: { rule: string; firedAt: number; leadTimeMs?: number }[]; collapses: unknown[] };
    expect(json.alerts.map((a) => [a.rule, a.firedAt, a.leadTimeMs])).toEqual(result.alerts.map((a) => [a.rule, a.firedAt, a.leadTimeMs]));
    expect(json.collapses).toEqual(JSON.parse(JSON.stringify(result.collapses)));
  }, STEP_BACKSTOP_MS); // a second full backtest: CPU-bound, nothing to wait for but the CPU
});
