/**
 * Lazy command registration (cli/main.ts): the top-level help lists every command
 * without importing any command module, a command's module registers the command the
 * table names, and `vigie --help` / `vigie detect` load none of the heavy packages.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { COMMANDS, INGEST_ENV, INGEST_V8_FLAGS, requestedCommand } from '../../../cli/main.ts';
import { heavyPackagesIn } from '../../support/heavyPackages.ts';

const ROOT = resolve(import.meta.dirname, '../../..');
const BIN = join(ROOT, 'bin/vigie.mjs');
const dir = mkdtempSync(join(tmpdir(), 'vigie-main-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `vigie …args` in its own process; returns its output and the module URLs it loaded. */
function vigie(...args: string[]): { status: number | null; stdout: string; stderr: string; urls: string[] } {
  const record = join(dir, `imports-${Math.random().toString(36).slice(2)}.txt`);
  const r = spawnSync(process.execPath, ['--import', join(ROOT, 'test/support/recordImports.ts'), BIN, ...args], {
    cwd: ROOT,
    encoding: 'utf8',
    env: { ...process.env, VIGIE_RECORD_IMPORTS: record },
  });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, urls: readFileSync(record, 'utf8').split('\n').filter(Boolean) };
}

describe('requestedCommand', () => {
  it('finds the sub-command after global options, or after help', () => {
    expect(requestedCommand(['detect', '--input', 'x.csv'])?.name).toBe('detect');
    expect(requestedCommand(['-c', 'demo', 'ingest'])?.name).toBe('ingest'); // 'demo' is the config file
    expect(requestedCommand(['--config', 'f.yml', 'rules', 'check', 'r.yml'])?.name).toBe('rules');
    expect(requestedCommand(['--config=f.yml', 'query'])?.name).toBe('query');
    expect(requestedCommand(['help', 'postmortem'])?.name).toBe('postmortem');
    expect(requestedCommand(['--help'])).toBeUndefined();
    expect(requestedCommand(['nope'])).toBeUndefined();
  });
});

describe('the command table', () => {
  it('names, for each entry, the command its module registers', async () => {
    expect(new Set(COMMANDS.map((c) => c.name)).size).toBe(COMMANDS.length);
    for (const entry of COMMANDS) {
      const program = new Command('vigie');
      (await entry.load())(program);
      expect(program.commands.map((c) => c.name()), entry.name).toEqual([entry.name]);
    }
  }, 300_000); // CPU-bound: imports every command module (chDB, Kafka, OpenTelemetry, ECharts)
});

describe('V8 flags of a command', () => {
  /**
   * Runs `node [nodeFlags] vigie …args` with `env` added; returns the exit status and, per
   * process start (the bin re-executes itself in place), its execArgv and the variables of `INGEST_ENV`.
   */
  const starts = (nodeFlags: string[], env: Record<string, string>, ...args: string[]): { status: number | null; stderr: string; execArgv: string[][]; env: Record<string, string>[] } => {
    const record = join(dir, `execargv-${Math.random().toString(36).slice(2)}.txt`);
    writeFileSync(record, '');
    const names = JSON.stringify(Object.keys(INGEST_ENV));
    const hook = `data:text/javascript,import{appendFileSync}from'node:fs';appendFileSync(process.env.VIGIE_EXECARGV,JSON.stringify([process.execArgv,Object.fromEntries(${names}.map(k=>[k,process.env[k]]))])+'\\n')`;
    const base = { ...process.env };
    for (const k of Object.keys(INGEST_ENV)) delete base[k];
    const r = spawnSync(process.execPath, ['--import', hook, ...nodeFlags, BIN, ...args], { cwd: ROOT, encoding: 'utf8', env: { ...base, ...env, VIGIE_EXECARGV: record } });
    const lines = readFileSync(record, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as [string[], Record<string, string>]);
    return { status: r.status, stderr: r.stderr, execArgv: lines.map((l) => l[0]), env: lines.map((l) => l[1]) };
  };

  it('are accepted by this Node and never cap the heap (no crash near the cardinality limit)', () => {
    expect(COMMANDS.find((c) => c.name === 'ingest')?.v8Flags).toBe(INGEST_V8_FLAGS);
    for (const c of COMMANDS) {
      for (const f of c.v8Flags ?? []) expect(f, c.name).not.toMatch(/^--max-(old-space|heap)-size/);
      if (!c.v8Flags) continue;
      const r = spawnSync(process.execPath, [...c.v8Flags, '-e', '0'], { encoding: 'utf8' });
      expect(r.status, `${c.name}: ${r.stderr}`).toBe(0);
    }
  });

  it('`vigie ingest` runs with INGEST_V8_FLAGS and INGEST_ENV; a flag or variable the user gives wins', () => {
    const r = starts([], {}, 'ingest', '--help');
    expect(r.status, r.stderr).toBe(0);
    expect(r.execArgv).toHaveLength(2);
    for (const f of INGEST_V8_FLAGS) expect(r.execArgv[1]).toContain(f);
    expect(r.env[1]).toEqual(INGEST_ENV);
    const given = starts(['--max-semi-space-size=4'], { MALLOC_ARENA_MAX: '4' }, 'ingest', '--help');
    expect(given.status, given.stderr).toBe(0);
    const last = given.execArgv[given.execArgv.length - 1]!;
    expect(last).toContain('--max-semi-space-size=4');
    expect(last.filter((a) => a.startsWith('--max-semi-space-size'))).toEqual(['--max-semi-space-size=4']);
    for (const f of INGEST_V8_FLAGS.filter((x) => !x.startsWith('--max-semi-space-size'))) expect(last).toContain(f);
    expect(given.env[given.env.length - 1]).toEqual({ MALLOC_ARENA_MAX: '4' });
    // A command that declares nothing starts once.
    const detect = starts([], {}, 'detect', '--help');
    expect(detect.status, detect.stderr).toBe(0);
    expect(detect.execArgv).toHaveLength(1);
  });
});

describe('vigie start-up', () => {
  it('--help lists every command and loads no heavy package', () => {
    const r = vigie('--help');
    expect(r.status, r.stderr).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toMatch(new RegExp(`^  ${c.name} `, 'm'));
    expect(heavyPackagesIn(r.urls)).toEqual([]);
    expect(r.urls.some((u) => u.includes('/cli/commands/'))).toBe(false);
  });

  it('detect loads its own module only, none of the heavy packages', () => {
    const csv = join(dir, 'series.csv');
    writeFileSync(csv, ['timestamp,value', ...Array.from({ length: 50 }, (_, i) => `${i},${100 + (i % 3)}`)].join('\n') + '\n');
    const r = vigie('detect', '--input', csv);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(51);
    expect(heavyPackagesIn(r.urls)).toEqual([]);
    expect(r.urls.filter((u) => u.includes('/cli/commands/')).map((u) => u.replace(/.*\/cli\/commands\//, ''))).toEqual(['detect.ts']);
  });

  it('a heavy command loads what it uses (the recorder sees chDB, Kafka, OpenTelemetry)', () => {
    const r = vigie('demo', '--help');
    expect(r.status, r.stderr).toBe(0);
    expect(heavyPackagesIn(r.urls)).toEqual(expect.arrayContaining(['chdb', 'kafkajs', '@opentelemetry/sdk-metrics', 'echarts']));
  }, 300_000); // CPU-bound: about 1.5 CPU-s of module loading, many times that on a busy machine

  it('an unknown command fails with a suggestion', () => {
    const r = vigie('dem');
    expect(r.status).toBe(2);
    expect(r.stderr).toContain("unknown command 'dem'");
    expect(r.stderr).toContain('demo');
  });
});
