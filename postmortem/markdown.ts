/**
 * The post-mortem as a short Markdown summary (for a ticket, a wiki page or a mail):
 * the headline numbers, the pages with their lead times and one line per faculty.
 * The charts live in the HTML report next to it.
 */
import { formatLead } from './format.ts';
import type { PostmortemReport } from './report.ts';

const pad = (n: number): string => String(n).padStart(2, '0');
const clock = (ms: number): string => `${pad(new Date(ms).getUTCHours())}:${pad(new Date(ms).getUTCMinutes())}`;
const fix = (v: number | null | undefined, d: number): string => (v === null || v === undefined ? '–' : v.toFixed(d));
/** Escapes the characters that would break a Markdown table cell or add markup. */
const md = (s: string): string => s.replace(/([\\`*_[\]|<>])/g, '\\$1');

/** Renders the Markdown summary (ends with a newline). */
export function renderReportMarkdown(r: PostmortemReport, opts: { htmlFile?: string } = {}): string {
  const day = new Date(r.fromMs).toISOString().slice(0, 10);
  const lines: string[] = [];
  lines.push(`# Post-mortem ${day} ${clock(r.fromMs)}–${clock(r.toMs)} UTC`);
  lines.push('');
  lines.push(`Database \`${r.database}\`, ${r.faculty ? `faculty ${md(r.faculty)}` : 'all faculties'}.`);
  lines.push('');
  lines.push('## Summary');
  lines.push('');
  lines.push(
    r.collapse
      ? `- **Collapse**: ${md(r.collapse.faculty)} at ${clock(r.collapse.minuteMs)} (${(r.collapse.errorRatio * 100).toFixed(0)} % of ${Math.round(r.collapse.requests)} requests failed).`
      : `- **Collapse**: none (no faculty above ${r.thresholds.collapseErrorRatio * 100} % errors).`,
  );
  lines.push(
    r.firstDeviation
      ? `- **First deviation**: ${md(r.firstDeviation.faculty)} at ${clock(r.firstDeviation.minuteMs)}, ${r.firstDeviation.kind} ${fix(r.firstDeviation.value, 2)} > ${r.firstDeviation.threshold}.`
      : '- **First deviation**: none.',
  );
  const before = r.pages.filter((p) => p.leadTimeMs !== null && p.leadTimeMs > 0);
  lines.push(`- **Pages**: ${r.pages.length}, of which ${before.length} before their faculty's collapse; **warnings**: ${r.warnings.length}.`);
  if (r.firstPage && r.leadTimeMs !== null) lines.push(`- **Lead time**: ${formatLead(r.leadTimeMs)}, from the first page (${md(r.firstPage.rule)} at ${clock(r.firstPage.firedAtMs)}) to the collapse.`);
  lines.push('');
  lines.push('## Pages and warnings');
  lines.push('');
  const firings = [...r.pages, ...r.warnings].sort((a, b) => a.firedAtMs - b.firedAtMs || a.rule.localeCompare(b.rule));
  if (firings.length === 0) lines.push('No alert fired in the window.');
  else {
    lines.push('| Severity | Alert | Faculty | Fired | Resolved | Lead time |');
    lines.push('|---|---|---|---|---|---|');
    for (const p of firings) {
      lines.push(
        `| ${md(p.severity)} | ${md(p.rule)} | ${md(p.faculty ?? 'platform')} | ${clock(p.firedAtMs)} | ${p.resolvedAtMs === null ? 'still firing' : clock(p.resolvedAtMs)} | ${
          p.leadTimeMs === null ? 'no collapse' : formatLead(p.leadTimeMs)
        } |`,
      );
    }
  }
  lines.push('');
  lines.push('## Faculties');
  lines.push('');
  lines.push('| Faculty | Peak sessions | Capacity | Peak utilization | Peak p95 (s) | First deviation | Collapse |');
  lines.push('|---|--:|--:|--:|--:|---|---|');
  for (const f of r.faculties) {
    lines.push(
      `| ${md(f.faculty)} | ${fix(f.peakSessions?.value, 0)} | ${fix(f.peakCapacity, 0)} | ${fix(f.peakUtilization?.value, 2)} | ${fix(f.peakP95Seconds?.value, 2)} | ${
        f.firstDeviation ? clock(f.firstDeviation.minuteMs) : '–'
      } | ${f.collapse ? clock(f.collapse.minuteMs) : '–'} |`,
    );
  }
  lines.push('');
  if (opts.htmlFile) lines.push(`Charts (timeline, sessions vs capacity, latency percentiles, lead times) and the SQL behind them: [${opts.htmlFile}](${opts.htmlFile}).`);
  return lines.join('\n') + '\n';
}
