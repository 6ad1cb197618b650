/**
 * `vigie detect` as a user runs it: a CSV file or stdin in, scored CSV on stdout, a clear
 * error and exit status 2 on a bad row, through `bin/vigie.mjs`.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const BIN = join(ROOT, 'bin/vigie.mjs');

function vigie(args: string[], input?: string) {
  return spawnSync(process.execPath, [BIN, ...args], { cwd: ROOT, encoding: 'utf8', ...(input !== undefined ? { input } : {}) });
}

describe('vigie detect', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigie-detect-'));
  const rows = Array.from({ length: 300 }, (_, i) => `${new Date(Date.UTC(2026, 0, 12, 6) + i * 60_000).toISOString()},${i === 245 ? 900 : 100 + (i % 3)}`);

  it('scores a file: one row per input row, timestamps echoed unchanged, scores in [0,1]', () => {
    const file = join(dir, 'in.csv');
    writeFileSync(file, ['timestamp,value', ...rows].join('\n') + '\n');
    const r = vigie(['detect', '--input', file]);
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout.trimEnd().split('\n');
    expect(out[0]).toBe('timestamp,value,anomaly_score,anomaly');
    expect(out).toHaveLength(301);
    out.slice(1).forEach((line, i) => {
      expect(line.startsWith(rows[i]! + ',')).toBe(true);
      const s = Number(line.split(',')[2]);
      expect(s >= 0 && s <= 1).toBe(true);
    });
    // The spike, and nothing else, is flagged at the default threshold.
    expect(out.slice(1).filter((l) => l.endsWith(',1'))).toEqual([`${rows[245]},1.000000,1`]);
  });

  it('reads stdin with -, and fails on a bad row with its line number and content', () => {
    const ok = vigie(['detect', '--input', '-'], rows.join('\n'));
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout.trimEnd().split('\n')).toHaveLength(301);
    const bad = vigie(['detect', '--input', '-'], [rows[0], rows[1], '2026-01-12T10:00:00Z,lots'].join('\n'));
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/line 3: "2026-01-12T10:00:00Z,lots"/);
    const skip = vigie(['detect', '--input', '-', '--skip-invalid'], [rows[0], 'oops', rows[1]].join('\n'));
    expect(skip.status).toBe(0);
    expect(skip.stdout.trimEnd().split('\n')).toHaveLength(3);
    expect(skip.stderr).toMatch(/skipped 1 invalid row/);
  });

  it('has --help', () => {
    const r = vigie(['detect', '--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/--input <file>/);
    expect(r.stdout).toMatch(/--skip-invalid/);
    expect(r.stdout).toMatch(/--threshold <score>/);
  });

  it('rejects a threshold outside [0, 1] naming the option', () => {
    const r = vigie(['detect', '--input', '-', '--threshold', '1.5'], rows.join('\n'));
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--threshold: expected a number in \[0, 1\], got "1.5"/);
  });
});
