/**
 * `vigie postmortem` and `vigie query` run as a user would, in their own processes, on a
 * chDB directory seeded beforehand by another process (chDB: one process per directory).
 * The commands are wired the way `cli/main.ts` wires them: `register*Command(program)`.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MORNING_END_MS, MORNING_START_MS } from '../unit/postmortem/syntheticMorning.ts';

const exec = promisify(execFile);
const ROOT = process.cwd();
const dir = mkdtempSync(join(tmpdir(), 'vigie-e2e-cli-'));
const chdb = join(dir, 'chdb');
const from = new Date(MORNING_START_MS).toISOString();
const to = new Date(MORNING_END_MS).toISOString();

/** Runs module code from the repository root (Node strips the types of the .ts files it imports). */
function node(code: string): Promise<{ stdout: string; stderr: string }> {
  return exec(process.execPath, ['--input-type=module', '--eval', code], { cwd: ROOT, timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
}

/** `vigie <argv…>` with the commands this stage provides. */
function vigie(...argv: string[]): Promise<{ stdout: string; stderr: string }> {
  return node(`
    import { Command } from 'commander';
    import { registerPostmortemCommand } from './cli/commands/postmortem.ts';
    import { registerQueryCommand } from './cli/commands/query.ts';
    const program = new Command('vigie');
    registerPostmortemCommand(program);
    registerQueryCommand(program);
    await program.parseAsync(${JSON.stringify(['node', 'vigie', ...argv])});
  `);
}

beforeAll(async () => {
  await node(`
    import { migrate } from './schema/migrate.ts';
    import { createStorage } from './pipeline/storage.ts';
    import { insertMorning } from './test/unit/postmortem/syntheticMorning.ts';
    const s = createStorage({ chdbPath: ${JSON.stringify(chdb)}, database: 'vigie' });
    await migrate(s.client, { database: 'vigie' });
    await insertMorning(s.client, 'vigie');
    await s.close();
  `);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('vigie postmortem (CLI)', () => {
  it('prints the timeline, writes report.html and report.md, progress on stderr', async () => {
    const out = join(dir, 'report');
    const { stdout, stderr } = await vigie('postmortem', '--chdb-path', chdb, '--from', from, '--to', to, '--out', out);
    expect(stdout).toMatch(/08:54\s+PAGE\s+ExamSessionsNearCapacity .*lead \+8m00s/);
    expect(stdout).toContain('COLLAPSE');
    expect(stdout).toContain(`wrote ${join(out, 'report.html')}`);
    expect(existsSync(join(out, 'report.md'))).toBe(true);
    expect(readFileSync(join(out, 'report.html'), 'utf8')).toContain('<svg');
    // Not a TTY: one line per step.
    expect(stderr.trim().split('\n')).toEqual([
      `vigie postmortem: reading embedded chDB at ${chdb}`,
      'post-mortem: [1/5] querying rollups and alerts',
      'post-mortem: [2/5] rendering timeline, lead times, first deviation',
      'post-mortem: [3/5] rendering 6 faculty charts',
      'post-mortem: [4/5] writing report.html',
      'post-mortem: [5/5] writing report.md',
    ]);
  });

  it('prints only the timeline without --out, for one faculty', async () => {
    const { stdout } = await vigie('postmortem', '--chdb-path', chdb, '--from', from, '--to', to, '--faculty', 'medecine');
    expect(stdout).toContain('faculty medecine');
    expect(stdout).toContain('ExamLatencyHigh');
    expect(stdout).not.toContain('ExamSessionsNearCapacity');
  });
});

describe('one data directory for every command', () => {
  it('says where data is missing and how to get some, and creates nothing', async () => {
    const missing = join(dir, 'nothing-here');
    const failed = await vigie('postmortem', '--chdb-path', missing, '--from', from, '--to', to).then(
      () => null,
      (err: { stderr: string }) => err,
    );
    expect(failed?.stderr).toContain(`no Vigie data at ${missing}: run \`vigie demo\` or \`vigie ingest\` first`);
    expect(existsSync(missing)).toBe(false);
  });

  it('names the database that does not exist instead of a raw engine error', async () => {
    const failed = await vigie('postmortem', '--chdb-path', chdb, '--database', 'nope', '--from', from, '--to', to).then(
      () => null,
      (err: { stderr: string }) => err,
    );
    expect(failed?.stderr).toMatch(/database nope does not exist in .*: nothing was ingested there yet/);
  });
});

describe('vigie query (CLI)', () => {
  it('runs a saved query with params as CSV', async () => {
    const { stdout } = await vigie('query', 'first_deviation', '--chdb-path', chdb, '--param', `from=${from}`, '--param', `to=${to}`, '--format', 'csv');
    const [header, first] = stdout.trim().split('\n');
    expect(header).toBe('faculty,first_deviation,sessions,capacity,utilization');
    expect(first).toMatch(/^sciences,2026-01-12 08:48:00,/);
  });

  it('keeps a hostile parameter as data', async () => {
    const { stdout } = await vigie('query', 'timeline', '--chdb-path', chdb, '--param', `from=${from}`, '--param', `to=${to}`, '--param', "faculty=x' OR 1=1 --", '--format', 'json');
    expect(JSON.parse(stdout)).toEqual([]);
  });
});
