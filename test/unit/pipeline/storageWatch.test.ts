/** The rules-only evaluator's view of the storage group, for the watchdog: lag from Kafka, progress from the store. */
import { describe, expect, it } from 'vitest';
import { createStorageWatch } from '../../../pipeline/storageWatch.ts';

describe('storage watch', () => {
  it('moves lastStoredAt only when the stored high-water marks move, and keeps it while the store is unreadable', async () => {
    let now = 1_000;
    const answers: (bigint | Error)[] = [10n, 10n, 25n, new Error('Connection refused'), new Error('Connection refused'), 25n, 26n];
    const lines: string[] = [];
    const w = createStorageWatch({
      lag: async () => 7,
      storedProgress: async () => {
        const a = answers.shift()!;
        if (a instanceof Error) throw a;
        return a;
      },
      clock: () => now,
      pollMs: 3_600_000,
      log: (l) => lines.push(l),
    });
    await new Promise((r) => setImmediate(r)); // the first poll, started at creation: 10
    const seen: number[] = [];
    for (let i = 0; i < 6; i++) {
      now += 1_000;
      await w.poll();
      seen.push(w.lastStoredAt());
    }
    w.stop();
    // 10 (same), 25 (moved), error, error (kept), 25 (same), 26 (moved)
    expect(seen).toEqual([1_000, 3_000, 3_000, 3_000, 3_000, 7_000]);
    expect(lines).toEqual([
      "vigie ingest: cannot read the storage group's progress from the store: Connection refused",
      'vigie ingest: the store answers again (storage progress watch)',
    ]);
    expect(await w.lag()).toBe(7);
  });

  it('reports an unknown lag as NaN (the watchdog then does not fire on it)', async () => {
    const w = createStorageWatch({ lag: async () => Promise.reject(new Error('broker down')), storedProgress: async () => 0n, clock: () => 0, pollMs: 3_600_000 });
    expect(await w.lag()).toBeNaN();
    w.stop();
  });
});
