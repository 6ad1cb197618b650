import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { registerSilenceCommand } from '../../../../cli/commands/silence.ts';
import { createSilenceIndex, readSilences } from '../../../../paging/routing/silences.ts';

const T0 = Date.UTC(2026, 0, 12, 8, 0, 0);

async function run(args: string[], now = T0): Promise<string> {
  let out = '';
  const program = new Command('vigie').exitOverride();
  program.configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  registerSilenceCommand(program, { clock: () => now, out: (s) => (out += s) });
  await program.parseAsync(['node', 'vigie', ...args]);
  return out;
}

describe('vigie silence', () => {
  it('adds, lists, schedules a maintenance window, expires; the pager honours the file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'vigie-sil-')), 'silences.json');
    const added = await run(['silence', 'add', 'faculty=law', 'severity!=info', '--for', '2h', '--comment', 'paper exam', '--author', 'marie', '--file', file]);
    const id = added.split('\n')[0]!;
    expect(added).toMatch(/silence active from 2026-01-12T08:00:00.000Z until 2026-01-12T10:00:00.000Z/);
    await run(['silence', 'add', 'faculty=~"med|sci"', '--start', '2026-01-13T07:00:00Z', '--for', '1h', '--comment', 'upgrade', '--file', file]);
    const list = await run(['silence', 'list', '--file', file]);
    expect(list).toMatch(/active .*faculty=law,severity!=info {2}by marie: paper exam/);
    expect(list).toMatch(/pending .*faculty=~"med\|sci"/);
    const index = createSilenceIndex(file);
    expect(index.silencedBy({ faculty: 'law', severity: 'page' }, T0 + 60_000)?.id).toBe(id);
    expect(index.silencedBy({ faculty: 'med' }, T0 + 60_000)).toBeUndefined();
    expect(index.silencedBy({ faculty: 'med' }, Date.parse('2026-01-13T07:30:00Z'))).toBeDefined();
    await run(['silence', 'expire', id.slice(0, 8), '--file', file], T0 + 600_000);
    expect(await run(['silence', 'list', '--file', file], T0 + 600_001)).not.toContain('faculty=law');
    expect(index.silencedBy({ faculty: 'law', severity: 'page' }, T0 + 600_001)).toBeUndefined();
    expect(readSilences(file)).toHaveLength(2);
  });

  it('rejects bad matchers and missing durations, with --help for each sub-command', async () => {
    await expect(run(['silence', 'add', 'faculty', '--for', '1h', '--comment', 'x', '--file', '/tmp/none.json'])).rejects.toThrow(/expected name=value/);
    await expect(run(['silence', 'add', 'faculty=law', '--comment', 'x', '--file', '/tmp/none.json'])).rejects.toThrow(/exactly one of --for/);
    await expect(run(['silence', 'add', '--help'])).rejects.toMatchObject({ code: 'commander.helpDisplayed' });
    const help = await run(['silence', 'add', '--help']).catch(() => '');
    void help;
  });
});
