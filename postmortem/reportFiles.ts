/**
 * Builds the post-mortem files in one call: runs the report queries, renders the charts,
 * writes `report.html` (self-contained) and `report.md`, and returns the text timeline.
 * Takes an open client so the demo can call it in-process (with chDB, one process owns
 * the data directory).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { ClickHouseClient } from '@clickhouse/client';
import { firstDeviationChart, latencyChart, leadTimeChart, sessionsChart, timelineChart } from './charts.ts';
import { formatPostmortemText } from './format.ts';
import { renderReportHtml } from './html.ts';
import { renderReportMarkdown } from './markdown.ts';
import { createProgress, silentProgress, type Progress, type ProgressStream } from './progress.ts';
import { postmortem, postmortemSql, type PostmortemOptions, type PostmortemReport } from './report.ts';

/** Options of {@link writePostmortemReport}. */
export interface WriteReportOptions extends PostmortemOptions {
  /** Directory to write `report.html` and `report.md` into (created if missing). */
  readonly outDir: string;
  /** Progress on this stream (default stderr); `false` for none. */
  readonly progress?: ProgressStream | false;
  /** Shown in the HTML footer (default: now). */
  readonly generatedAtMs?: number;
}

/** What {@link writePostmortemReport} produced. */
export interface WrittenReport {
  readonly files: string[];
  readonly report: PostmortemReport;
  readonly text: string;
}

const STEPS = 5;

/** Queries, renders and writes the report; returns the written paths (html, md). */
export async function writePostmortemReport(client: ClickHouseClient, opts: WriteReportOptions): Promise<WrittenReport> {
  const progress: Progress = opts.progress === false ? silentProgress : createProgress({ total: STEPS, label: 'post-mortem', ...(opts.progress ? { stream: opts.progress } : {}) });
  try {
    progress.step('querying rollups and alerts');
    const report = await postmortem(client, opts);
    const sql = postmortemSql(opts);
    const text = formatPostmortemText(report);

    progress.step('rendering timeline, lead times, first deviation');
    const timeline = timelineChart(report);
    const leadTimes = leadTimeChart(report);
    const firstDeviation = firstDeviationChart(report);

    progress.step(`rendering ${report.faculties.length * 2} faculty charts`);
    const faculties = report.faculties.map((f) => ({
      faculty: f.faculty,
      sessions: sessionsChart(report, f.faculty),
      latency: latencyChart(report, f.faculty),
    }));

    progress.step('writing report.html');
    const outDir = resolve(opts.outDir);
    mkdirSync(outDir, { recursive: true });
    const htmlFile = join(outDir, 'report.html');
    writeFileSync(
      htmlFile,
      renderReportHtml({ report, sql, text, charts: { timeline, leadTimes, firstDeviation, faculties }, generatedAtMs: opts.generatedAtMs ?? Date.now() }),
    );

    progress.step('writing report.md');
    const mdFile = join(outDir, 'report.md');
    writeFileSync(mdFile, renderReportMarkdown(report, { htmlFile: 'report.html' }));
    return { files: [htmlFile, mdFile], report, text };
  } finally {
    progress.done();
  }
}
