/**
 * The post-mortem HTML report as a person sees it: generated over the synthetic morning
 * on chDB, opened in headless Chromium, screenshotted to out/test-artifacts/report.png,
 * and its rendered DOM checked for real SVG charts with the expected titles.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePostmortemReport, type WrittenReport } from '../../postmortem/index.ts';
import { insertMorning, MORNING_END_MS, MORNING_START_MS, openTestStore, plantedFacts } from '../unit/postmortem/syntheticMorning.ts';

const run = promisify(execFile);
const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = resolve('out/test-artifacts');

type Store = Awaited<ReturnType<typeof openTestStore>>;
let store: Store;
let out: string;
let written: WrittenReport;
const progress: string[] = [];

function chromiumArgs(profile: string): string[] {
  return [
    '--headless',
    '--no-sandbox',
    '--disable-gpu',
    '--disable-quic',
    '--no-first-run',
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--hide-scrollbars',
    `--user-data-dir=${profile}`,
  ];
}

beforeAll(async () => {
  store = await openTestStore();
  await insertMorning(store.client, store.database);
  out = mkdtempSync(join(tmpdir(), 'vigie-report-'));
  written = await writePostmortemReport(store.client, {
    database: store.database,
    fromMs: MORNING_START_MS,
    toMs: MORNING_END_MS,
    outDir: out,
    generatedAtMs: MORNING_END_MS,
    progress: { write: (s: string) => progress.push(s), isTTY: false },
  });
});
afterAll(async () => {
  await store?.close();
  if (out) rmSync(out, { recursive: true, force: true });
});

describe('post-mortem report files', () => {
  it('writes a self-contained report.html and a report.md', () => {
    expect(written.files.map((f) => f.slice(out.length))).toEqual(['/report.html', '/report.md']);
    const html = readFileSync(join(out, 'report.html'), 'utf8');
    expect(html).not.toMatch(/<script|<link |\bsrc="|url\(http|@import/i); // no external assets, no script
    expect(html).toContain('<details><summary>SQL behind this chart</summary>');
    const md = readFileSync(join(out, 'report.md'), 'utf8');
    expect(md).toMatch(/\*\*Collapse\*\*: sciences at 09:02/);
    expect(md).toContain('| ExamSessionsNearCapacity | sciences | 08:54 | 09:26 | +8m00s |');
  });

  it('reports progress one line per step when stderr is not a TTY', () => {
    expect(progress).toHaveLength(5);
    expect(progress.every((l) => /^post-mortem: \[\d\/5\] .+\n$/.test(l))).toBe(true);
  });
});

describe('post-mortem report in headless Chromium', () => {
  // The oracle is required: a missing Chromium fails the suite (scripts/stack.sh installs it).
  it('has Chromium', () => {
    expect(existsSync(CHROMIUM), `${CHROMIUM} is missing: run bash scripts/stack.sh start (it installs chromium)`).toBe(true);
  });
  it('renders SVG charts with the expected titles, and a screenshot', async () => {
    const url = pathToFileURL(join(out, 'report.html')).href;
    const profile = mkdtempSync(join(tmpdir(), 'vigie-chromium-'));
    try {
      mkdirSync(ARTIFACTS, { recursive: true });
      const png = join(ARTIFACTS, 'report.png');
      rmSync(png, { force: true });
      await run(CHROMIUM, [...chromiumArgs(profile), `--screenshot=${png}`, '--window-size=1400,2400', url], { timeout: 90_000 });
      const head = readFileSync(png).subarray(0, 8);
      expect(head.equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]))).toBe(true);
      expect(statSync(png).size).toBeGreaterThan(50_000);

      const { stdout: dom } = await run(CHROMIUM, [...chromiumArgs(profile), '--dump-dom', url], { timeout: 90_000, maxBuffer: 64 * 1024 * 1024 });
      const figures = [...dom.matchAll(/<figure id="([^"]+)"[\s\S]*?<\/figure>/g)];
      const ids = figures.map((m) => m[1]);
      expect(ids).toEqual(
        expect.arrayContaining(['timeline', 'lead-times', 'first-deviation', 'sessions-sciences', 'latency-sciences', 'sessions-droit', 'latency-medecine']),
      );
      for (const [fig] of figures) {
        const svg = /<svg[\s\S]*?<\/svg>/.exec(fig)?.[0] ?? '';
        expect(svg.length, 'non-empty svg').toBeGreaterThan(1000);
        expect(svg).toMatch(/<path [^>]*d="M/);
      }
      for (const title of [
        'Timeline',
        'Lead time of each page',
        `First deviation: ${plantedFacts.collapseFaculty} at 08:48`,
        'sciences: sessions vs capacity',
        'sciences: latency percentiles',
      ]) {
        expect(dom).toContain(title);
      }
      // Chart text is real SVG text: the collapse marker and a page name are in the timeline.
      const timeline = figures.find((m) => m[1] === 'timeline')![0];
      expect(timeline).toContain('collapse 09:02');
      expect(timeline).toContain('08:54:00 PAGE ExamSessionsNearCapacity');
    } finally {
      rmSync(profile, { recursive: true, force: true });
    }
  });
});
