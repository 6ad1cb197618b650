/**
 * `vigie plan` as a user runs it, on the demo's timetable: the summary flags the
 * collapsing faculties' 09:00 starts with their risk, the CSV for the timetabling office
 * carries the proposed starts, the simulator (`runMorning`, collectors included) playing
 * those starts does not collapse, and the HTML plan renders its charts in Chromium
 * (screenshot: out/test-artifacts/plan.png).
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMorning } from '../../simulator/index.ts';
import type { Exam } from '../../simulator/model.ts';

const BIN = fileURLToPath(new URL('../../bin/vigie.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHROMIUM = '/usr/bin/chromium';
// Asynchronous: a synchronous spawn of a minute on a loaded machine blocks vitest's worker RPC.
const vigie = (...args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> =>
  new Promise((done) => {
    execFile(process.execPath, [BIN, ...args], { encoding: 'utf8', timeout: 300_000 }, (err, stdout, stderr) =>
      done({ status: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
const DATE = new Date().toISOString().slice(0, 10);
const DAY = Date.parse(`${DATE}T00:00:00Z`);

let dir: string;
let stdout: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'vigie-plan-'));
  const r = await vigie('plan', '--demo', '--date', DATE, '--history-days', '0', '--out', dir);
  expect(r.status, r.stderr).toBe(0);
  stdout = r.stdout;
}, 500_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function csvExams(): { current: Exam[]; proposed: Exam[] } {
  const [head, ...rows] = readFileSync(join(dir, 'proposed-starts.csv'), 'utf8').trim().split('\n');
  expect(head).toBe('exam_id,faculty,enrolled,duration_min,current_start,proposed_start,shift_min');
  const parsed = rows.map((r) => r.split(','));
  const mk = (col: number): Exam[] =>
    parsed.map((c) => ({ id: c[0]!, faculty: c[1]!, enrolled: Number(c[2]), durationMs: Number(c[3]) * 60_000, start: Date.parse(c[col]!) }));
  return { current: mk(4), proposed: mk(5) };
}

describe('vigie plan --demo', () => {
  it("flags the collapsing faculties' 09:00 starts with their risk and proposes shifts", () => {
    for (const f of ['medicine', 'hec', 'law']) expect(stdout).toMatch(new RegExp(`RISK\\s+09:00\\s+${f}\\s+peak\\s+1\\d\\d %\\s+collapse risk \\d+ %`));
    expect(stdout).not.toMatch(/RISK\s+09:00\s+(engineering|sciences|philosophy|psychology)/);
    expect(stdout).toMatch(/note: no usable past morning .*documented defaults/);
    const shifts = stdout.match(/^SHIFT .*$/gm) ?? [];
    expect(shifts.length).toBeGreaterThanOrEqual(3);
    expect(stdout).toMatch(/after the shifts: 0 start\(s\) over target/);
    const { current, proposed } = csvExams();
    expect(current).toHaveLength(20);
    expect(proposed.filter((e, i) => e.start !== current[i]!.start).map((e) => e.faculty).sort()).toEqual(['hec', 'law', 'medicine']);
    for (const e of proposed) expect((e.start - DAY) % (5 * 60_000)).toBe(0);
  });

  it('the simulator playing the proposed starts does not collapse', async () => {
    const { proposed } = csvExams();
    let messages = 0;
    // 08:00–12:00 so the shifted exams end inside the run; 60 s scrapes (the model steps every 5 s regardless).
    const truth = await runMorning(
      { exams: proposed, start: DAY + 8 * 3_600_000, durationMs: 4 * 3_600_000, scrapeIntervalMs: 60_000, seed: 42 },
      { producer: { connect: async () => {}, disconnect: async () => {}, send: async (_t, m) => void (messages += m.length) } },
    );
    expect(messages).toBeGreaterThan(0);
    expect(truth.collapsedFaculties).toEqual([]);
    expect(truth.collapseAtMs).toBeNull();
    for (const f of truth.faculties) expect(f.peakErrorRatio, f.faculty).toBeLessThan(0.2);
  }, 600_000);

  it('renders the HTML plan with its charts in Chromium', async () => {
    const png = resolve(ROOT, 'out/test-artifacts/plan.png');
    mkdirSync(resolve(ROOT, 'out/test-artifacts'), { recursive: true });
    const profile = mkdtempSync(join(tmpdir(), 'vigie-chromium-'));
    const args = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--hide-scrollbars', `--user-data-dir=${profile}`];
    const url = `file://${join(dir, 'plan.html')}`;
    try {
      await promisify(execFile)(CHROMIUM, [...args, `--screenshot=${png}`, '--window-size=1000,1100', url], { timeout: 90_000 });
      const { stdout: dom } = await promisify(execFile)(CHROMIUM, [...args, '--dump-dom', url], { timeout: 90_000, maxBuffer: 64 << 20 });
      expect(dom).toContain('Proposed start times');
      expect((dom.match(/<svg/g) ?? []).length).toBeGreaterThanOrEqual(12);
      expect(dom).toMatch(/medicine — use of its pool/);
      expect(readFileSync(png).subarray(1, 4).toString()).toBe('PNG');
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  }, 500_000);

  it('takes what-ifs, and names a bad one', async () => {
    const more = await vigie('plan', '--demo', '--date', DATE, '--history-days', '0', '--what-if', 'capacity=+3 servers');
    expect(more.status, more.stderr).toBe(0);
    expect(more.stdout).toMatch(/what-if: capacity=\+3 servers/);
    expect(more.stdout).toMatch(/no shift needed/);
    const bad = await vigie('plan', '--demo', '--history-days', '0', '--what-if', 'capacity=lots');
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/capacity=lots/);
  }, 500_000);
});
