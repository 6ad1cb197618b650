/** Simulated mornings (`vigie simulate`, `vigie demo`) are dated so that a running `vigie ingest` accepts every point and no alert starts in the future. */
import { describe, expect, it } from 'vitest';
import { defaultMorningStart } from '../../../cli/chain.ts';
import { DEFAULT_MORNING, latestPastMorning } from '../../../simulator/index.ts';
import { VALIDATION_DEFAULTS } from '../../../otlp/decode.ts';

const threeHours = 3 * 3_600_000;

describe('latestPastMorning', () => {
  it('is today 07:30 UTC once today\'s morning is over', () => {
    const now = Date.UTC(2027, 2, 3, 17, 0);
    expect(latestPastMorning(now, threeHours)).toBe(Date.UTC(2027, 2, 3, 7, 30));
  });
  it('is yesterday while today\'s morning is still running, so no point lies in the future', () => {
    const now = Date.UTC(2027, 2, 3, 9, 0);
    const start = latestPastMorning(now, threeHours);
    expect(start).toBe(Date.UTC(2027, 2, 2, 7, 30));
    expect(start + threeHours).toBeLessThanOrEqual(now);
  });
  it('lies inside the default accepted age window, whatever the hour', () => {
    for (let h = 0; h < 24; h++) {
      const now = Date.UTC(2027, 2, 3, h, 17);
      const start = latestPastMorning(now, threeHours);
      expect(now - start).toBeLessThan(VALIDATION_DEFAULTS.maxAgeMs);
      expect(start + threeHours).toBeLessThanOrEqual(now);
    }
  });
});

describe('the demo morning (defaultMorningStart)', () => {
  it('has ended at every hour of the day, so no alert it raises starts in the future', () => {
    // Dated "today" it ran ahead of the wall clock until 10:30 UTC, and Alertmanager refused
    // every alert ("start time must be before end time"): morning.e2e failed after midnight.
    for (let h = 0; h < 24; h++) {
      const now = Date.UTC(2027, 2, 3, h, 17);
      const start = defaultMorningStart(now);
      expect(start + DEFAULT_MORNING.durationMs, `at ${h}:17 UTC`).toBeLessThanOrEqual(now);
      expect(now - start).toBeLessThan(VALIDATION_DEFAULTS.maxAgeMs);
    }
  });
});
