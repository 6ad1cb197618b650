import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../core/config.ts';
import { scheduleSourceSpecOf } from '../../../schedule/index.ts';

const refusal = (input: unknown) => {
  try {
    parseConfig(input);
  } catch (err) {
    return (err as Error).message;
  }
  throw new Error('accepted');
};

describe('config: schedule section', () => {
  it('is optional, takes a file or a URL, and turns into a source spec', () => {
    expect(parseConfig({}).schedule).toBeUndefined();
    const file = parseConfig({ schedule: { file: 'deploy/examples/timetable.ics' } }).schedule!;
    expect(scheduleSourceSpecOf(file)).toEqual({ file: 'deploy/examples/timetable.ics', pollMs: 30_000 });
    const url = parseConfig({ schedule: { url: 'https://planning.example/exams.ics', pollSeconds: 120, headers: { Authorization: 'Bearer t' }, format: 'ics', capacity: { law: 1100 } } }).schedule!;
    expect(scheduleSourceSpecOf(url)).toEqual({ url: 'https://planning.example/exams.ics', pollMs: 120_000, headers: { Authorization: 'Bearer t' }, format: 'ics' });
    expect(url.capacity).toEqual({ law: 1100 });
  });

  it('names the offending key', () => {
    expect(refusal({ schedule: { file: 'a.csv', url: 'http://x/y' } })).toBe('invalid configuration:\n  - schedule: give exactly one of schedule.file or schedule.url');
    expect(refusal({ schedule: {} })).toContain('  - schedule: give exactly one of schedule.file or schedule.url');
    expect(refusal({ schedule: { file: 'a.csv', poll: 3 } })).toContain("  - schedule: Unrecognized key(s) in object: 'poll'");
    expect(refusal({ schedule: { file: 'a.csv', headers: { a: 'b' } } })).toContain('  - schedule.headers: headers apply to schedule.url only');
    expect(refusal({ schedule: { url: 'ftp://x/y' } })).toContain('  - schedule.url: expected an http:// or https:// URL');
    expect(refusal({ schedule: { file: 'a.csv', pollSeconds: 0 } })).toContain('  - schedule.pollSeconds:');
    expect(refusal({ schedule: { file: 'a.csv', capacity: { law: 'many' } } })).toContain('  - schedule.capacity.law: Expected number, received string');
    expect(refusal({ schedule: { file: 'a.csv', format: 'xlsx' } })).toContain("  - schedule.format: Invalid enum value. Expected 'csv' | 'json' | 'ics', received 'xlsx'");
  });
});
