/** The embedded-database guard of scaled-out ingest: one warning per episode of a shared group. */
import { describe, expect, it } from 'vitest';
import { startEmbeddedGroupGuard } from '../../../cli/scaleout.ts';

describe('embedded group guard', () => {
  it('warns once while other members share the group, again after the group was alone, never on an unreadable group', async () => {
    const counts: (number | Error)[] = [1, 3, 3, new Error('broker down'), 1, 2];
    const lines: string[] = [];
    const g = startEmbeddedGroupGuard({
      group: 'vigie-pipeline',
      chdbPath: '/data/a',
      members: async () => {
        const c = counts.shift()!;
        if (c instanceof Error) throw c;
        return c;
      },
      log: (l) => lines.push(l),
      firstCheckMs: 3_600_000,
    });
    const seen = [];
    for (let i = 0; i < 6; i++) seen.push(await g.check());
    g.stop();
    expect(seen).toEqual([1, 3, 3, null, 1, 2]);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toContain('group vigie-pipeline has 3 members, but this instance stores into its own embedded database (/data/a)');
    expect(lines[0]).toContain('--clickhouse-url');
    expect(lines[1]).toContain('has 2 members');
  });
});
