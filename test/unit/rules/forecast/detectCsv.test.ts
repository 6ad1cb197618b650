import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { detect, DetectInputError } from '../../../../cli/commands/detect.ts';

async function run(lines: string[], opts: Parameters<typeof detect>[2] = {}): Promise<{ out: string; summary: Awaited<ReturnType<typeof detect>> }> {
  let out = '';
  const summary = await detect(lines, (c) => {
    out += c;
  }, opts);
  return { out, summary };
}

describe('vigie detect (CSV kernel)', () => {
  it('echoes timestamps and values byte for byte, one row per input row, with a header', async () => {
    const input = ['time,val', '2026-01-12T09:00:00Z,10', ' 1768208415 , 10.50 ', '"2026-01-12 09:00:30",11', '', '2026-01-12T09:00:45Z,1e1\r'];
    const { out, summary } = await run(input);
    const rows = out.trimEnd().split('\n');
    expect(rows[0]).toBe('timestamp,value,anomaly_score,anomaly');
    expect(rows.slice(1).map((r) => r.split(',').slice(0, -2).join(','))).toEqual(['2026-01-12T09:00:00Z,10', ' 1768208415 , 10.50 ', '"2026-01-12 09:00:30",11', '2026-01-12T09:00:45Z,1e1']);
    expect(summary.rows).toBe(4);
    for (const r of rows.slice(1)) expect(Number(r.split(',').at(-2))).toBeGreaterThanOrEqual(0);
  });

  it('fails on a bad row naming the line number and its content', async () => {
    await expect(run(['t,v', '1,2', '2,abc'])).rejects.toThrow(DetectInputError);
    await expect(run(['t,v', '1,2', '2,abc'])).rejects.toThrow(/line 3: "2,abc"/);
    await expect(run(['1,2', '2,3,4'])).rejects.toThrow(/line 2.*expected 2 fields/);
    await expect(run(['1,2', ',3'])).rejects.toThrow(/line 2.*empty timestamp/);
  });

  it('refuses a timestamp that is not a time, and unsorted or duplicate timestamps', async () => {
    await expect(run(['banana,1'])).rejects.toThrow(/line 1: "banana,1": timestamp "banana" is neither a number/);
    await expect(run(['t,v', '2026-01-12T09:00:00Z,1', '2026-01-12T08:59:45Z,2'])).rejects.toThrow(/line 3.*before the previous row's \(rows must be sorted/);
    await expect(run(['10,1', '10,2'])).rejects.toThrow(/line 2.*a duplicate of the previous row's/);
    expect((await run(['1768208400,1', '2026-01-12T09:00:15Z,2'])).summary.rows).toBe(2);
  });

  it('skips bad rows with --skip-invalid and counts them', async () => {
    const { out, summary } = await run(['1,2', 'x', '3,NaN', '4,5'], { skipInvalid: true });
    expect(summary).toMatchObject({ rows: 2, skipped: 2 });
    expect(summary.skippedExamples[0]).toMatch(/line 2/);
    expect(out.trimEnd().split('\n')).toHaveLength(3);
  });

  it('is streaming: appending rows never changes the output of earlier rows', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { minLength: 1, maxLength: 60 }),
        fc.array(fc.double({ min: -1e6, max: 1e6, noNaN: true }), { maxLength: 20 }),
        async (a, b) => {
          const toLines = (xs: number[]) => xs.map((x, i) => `${i},${x}`);
          const one = (await run(toLines(a))).out;
          const two = (await run(toLines([...a, ...b]))).out;
          expect(two.startsWith(one)).toBe(true);
          for (const line of two.trimEnd().split('\n').slice(1)) {
            const s = Number(line.split(',').at(-2));
            expect(s >= 0 && s <= 1).toBe(true);
          }
        },
      ),
      { numRuns: 50 },
    );
  });

  it('flags a spike in a noisy series in the anomaly column, and only it', async () => {
    const xs = Array.from({ length: 400 }, (_, i) => 100 + ((i * 7919) % 11) - 5);
    xs[300] = 300;
    const { out, summary } = await run(xs.map((x, i) => `${i},${x}`), { header: false });
    const rows = out.trimEnd().split('\n').map((l) => l.split(','));
    expect(Number(rows[300]![2])).toBeGreaterThan(0.9999);
    expect(rows.filter((r) => r[3] === '1').map((r) => r[0])).toEqual(['300']);
    expect(summary.anomalies).toBe(1);
  });

  it('honours --threshold: a lower threshold flags more rows', async () => {
    const xs = Array.from({ length: 600 }, (_, i) => 100 + ((i * 7919) % 13) + ((i * 104729) % 7));
    const strict = await run(xs.map((x, i) => `${i},${x}`), { threshold: 0.9999 });
    const loose = await run(xs.map((x, i) => `${i},${x}`), { threshold: 0.5 });
    expect(loose.summary.anomalies).toBeGreaterThan(strict.summary.anomalies);
  });
});
