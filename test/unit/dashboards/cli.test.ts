/** `vigie dashboards build`, `vigie query` and `vigie postmortem` argument handling (no database). */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { registerDashboardsCommand } from '../../../cli/commands/dashboards.ts';
import { registerPostmortemCommand } from '../../../cli/commands/postmortem.ts';
import { registerQueryCommand } from '../../../cli/commands/query.ts';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

let out = '';
beforeEach(() => {
  out = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
});
afterEach(() => vi.restoreAllMocks());

function program(): Command {
  const p = new Command('vigie').exitOverride().configureOutput({ writeOut: (s) => (out += s), writeErr: (s) => (out += s) });
  registerDashboardsCommand(p);
  registerQueryCommand(p);
  registerPostmortemCommand(p);
  for (const c of p.commands) {
    c.exitOverride();
    for (const s of c.commands) s.exitOverride();
  }
  return p;
}
const run = (...argv: string[]) => program().parseAsync(['node', 'vigie', ...argv]);

describe('vigie dashboards build', () => {
  it('writes the four dashboards and provisioning and prints each file', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigie-cli-'));
    dirs.push(dir);
    await run('dashboards', 'build', '--out', dir, '--database', 'exams', '--datasource-uid', 'ch1', '--clickhouse-host', 'ch.internal');
    const lines = out.trim().split('\n');
    expect(lines).toHaveLength(6);
    for (const l of lines) {
      expect(l).toMatch(/^wrote \//);
      expect(existsSync(l.slice(6))).toBe(true);
    }
    expect(out).toContain('vigie-pipeline-health.json');
  });

  it('documents its options in --help', async () => {
    await expect(run('dashboards', 'build', '--help')).rejects.toMatchObject({ code: 'commander.helpDisplayed' });
    for (const flag of ['--out', '--database', '--datasource-uid', '--clickhouse-host', '--prometheus-url']) expect(out).toContain(flag);
  });

  it('refuses a bad port and a missing --out', async () => {
    await expect(run('dashboards', 'build', '--out', '/tmp/x', '--clickhouse-port', '99999')).rejects.toThrow(/--clickhouse-port/);
    await expect(run('dashboards', 'build')).rejects.toThrow(/--out/);
  });
});

describe('vigie query', () => {
  it('lists the saved queries without a name', async () => {
    await run('query');
    for (const n of ['timeline', 'faculty_peaks', 'first_deviation', 'alert_lead_times', 'exam_load', 'error_budget']) expect(out).toContain(n);
    expect(out).toContain('from DateTime64(3)');
  });

  it('names the available queries for an unknown one, before opening any storage', async () => {
    await expect(run('query', 'nope', '--chdb-path', '/nonexistent/should-not-be-created')).rejects.toThrow(/unknown query "nope"; available: /);
    expect(existsSync('/nonexistent/should-not-be-created')).toBe(false);
  });

  it('names a missing parameter and rejects malformed --param and --format', async () => {
    await expect(run('query', 'timeline', '--param', 'to=2026-01-12T10:00:00Z')).rejects.toThrow(/missing parameter "from"/);
    await expect(run('query', 'timeline', '--param', 'from')).rejects.toThrow(/NAME=VALUE/);
    await expect(run('query', 'timeline', '--format', 'xml')).rejects.toThrow(/table, csv or json/);
  });
});

describe('vigie postmortem', () => {
  it('requires --from and --to and validates times', async () => {
    await expect(run('postmortem', '--to', '2026-01-12T10:00:00Z')).rejects.toThrow(/--from/);
    await expect(run('postmortem', '--from', 'yesterday', '--to', '1')).rejects.toThrow(/--from expects an ISO time/);
    await expect(run('postmortem', '--from', '2026-01-12T10:00:00Z', '--to', '2026-01-12T09:00:00Z')).rejects.toThrow(/after --to/);
  });
});
