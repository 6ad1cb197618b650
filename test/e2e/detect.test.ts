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
  const rows = Array.from({ length: 60 }, (_, i) => `2026-01-12T09:${String(i).padStart(2, '0')}:00.000Z,${i === 45 ? 900 : 100 + (i % 3)}`);

  it('scores a file: one row per input row, timestamps echoed unchanged, scores in [0,1]', () => {
    const file = join(dir, 'in.csv');
    writeFileSync(file, ['timestamp,value', ...rows].join('\n') + '\n');
    const r = vigie(['detect', '--input', file]);
    expect(r.status, r.stderr).toBe(0);
    const out = r.stdout.trimEnd().split('\n');
    expect(out[0]).toBe('timestamp,value,anomaly_score');
    expect(out).toHaveLength(61);
    out.slice(1).forEach((line, i) => {
      expect(line.startsWith(rows[i]! + ',')).toBe(true);
      const s = Number(line.slice(rows[i]!.length + 1));
      expect(s >= 0 && s <= 1).toBe(true);
    });
    expect(Number(out[46]!.split(',')[2])).toBeGreaterThan(0.9);
  });

  it('reads stdin with -, and fails on a bad row with its line number and content', () => {
    const ok = vigie(['detect', '--input', '-'], rows.join('\n'));
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout.trimEnd().split('\n')).toHaveLength(61);
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
  });
});
