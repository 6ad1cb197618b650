/**
 * The `vigie` command as a user runs it: through bin/vigie.mjs (the package's bin), with
 * help on every command and a clear error, exit 2, on bad input.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/vigie.mjs', import.meta.url));
const vigie = (...args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 60_000 });

describe('vigie CLI', () => {
  it('lists every command, each with --help', () => {
    const top = vigie('--help');
    expect(top.status).toBe(0);
    const commands = ['demo', 'simulate', 'collect', 'gateway', 'import', 'ingest', 'silence', 'detect', 'rules', 'dashboards', 'postmortem', 'query', 'schedule', 'plan', 'status', 'store'];
    for (const c of commands) expect(top.stdout).toContain(`  ${c}`);
    for (const c of commands) {
      const r = vigie(c, '--help');
      expect(r.status, `${c} --help: ${r.stderr}`).toBe(0);
      expect(r.stdout).toContain(`Usage: vigie ${c}`);
    }
  });

  it('refuses a bad flag value with exit 2 and names the flag and the value', () => {
    const r = vigie('demo', '--seed', 'abc');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('--seed expects a number, got "abc"');
  });
});
