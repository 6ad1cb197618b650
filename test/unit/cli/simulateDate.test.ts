/** `vigie simulate` dates its morning so that a running `vigie ingest` accepts every point. */
import { describe, expect, it } from 'vitest';
import { latestPastMorning } from '../../../cli/commands/simulate.ts';
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
