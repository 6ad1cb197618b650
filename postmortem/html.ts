/**
 * The post-mortem as one self-contained HTML page: inline CSS, inline SVG charts (see
 * `./charts.ts`), no script, no external asset — it opens from a mail attachment or a
 * ticket as well as from disk. Under each chart, a `<details>` shows the SQL behind it.
 */
import type { Chart } from './charts.ts';
import { formatLead } from './format.ts';
import type { PostmortemReport, PostmortemSql } from './report.ts';

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}

const pad = (n: number): string => String(n).padStart(2, '0');
const clock = (ms: number): string => {
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
};
const stamp = (ms: number): string => `${new Date(ms).toISOString().slice(0, 10)} ${clock(ms)} UTC`;
const fix = (v: number | null | undefined, d: number): string => (v === null || v === undefined ? '–' : v.toFixed(d));

const SQL_TITLES: Record<keyof PostmortemSql, string> = {
  gauges: 'Sessions and capacity per faculty and minute (rollups)',
  requests: 'Requests and 5xx errors per faculty and minute (counter increases on rollups)',
  buckets: 'Latency bucket increases per faculty, minute and le (quantiles interpolated in TypeScript like histogram_quantile)',
  alerts: 'Alert transitions (alerts_log)',
};

const CSS = `
:root { --fg:#1d2330; --muted:#5b6475; --line:#e3e6ec; --bg:#f7f8fa; --red:#d62728; --green:#2ca02c; --orange:#e08a1e; }
* { box-sizing: border-box; }
body { margin:0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color:var(--fg); background:var(--bg); }
main { max-width: 1160px; margin: 0 auto; padding: 24px 24px 64px; }
h1 { font-size: 26px; margin: 8px 0 4px; }
h2 { font-size: 19px; margin: 36px 0 12px; border-bottom: 1px solid var(--line); padding-bottom: 6px; }
h3 { font-size: 15px; margin: 0 0 6px; }
.sub { color: var(--muted); margin: 0 0 18px; }
.cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(200px, 1fr)); gap: 12px; }
.card { background:#fff; border:1px solid var(--line); border-radius:10px; padding:12px 14px; }
.card .k { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .04em; }
.card .v { font-size: 22px; font-weight: 650; margin-top: 2px; }
.card .n { color: var(--muted); font-size: 13px; }
.bad { color: var(--red); } .good { color: var(--green); } .warn { color: var(--orange); }
figure { margin: 0 0 18px; background:#fff; border:1px solid var(--line); border-radius:10px; padding:14px; }
figure svg { display:block; max-width:100%; height:auto; }
figcaption { color: var(--muted); font-size: 13px; margin: 6px 0 0; }
.grid2 { display:grid; grid-template-columns: repeat(auto-fit, minmax(520px, 1fr)); gap: 12px; }
details { margin-top: 8px; font-size: 13px; }
details summary { cursor: pointer; color: var(--muted); }
pre { background:#0f1420; color:#dfe6f3; padding:12px; border-radius:8px; overflow:auto; font: 12px/1.45 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
table { border-collapse: collapse; width: 100%; background:#fff; border:1px solid var(--line); border-radius:10px; overflow:hidden; font-size: 14px; }
th, td { text-align:left; padding:7px 10px; border-bottom:1px solid var(--line); }
th { background:#f0f2f6; font-weight:600; font-size: 13px; }
td.num { text-align:right; font-variant-numeric: tabular-nums; }
tr.warning td { color: var(--muted); }
footer { color: var(--muted); font-size: 12px; margin-top: 40px; }
`;

function sqlDetails(chart: Chart, sql: PostmortemSql): string {
  const blocks = chart.sql
    .map((k) => `<p>${escapeHtml(SQL_TITLES[k])}</p><pre><code>${escapeHtml(sql[k].trim())}</code></pre>`)
    .join('');
  return `<details><summary>SQL behind this chart</summary>${blocks}<p>Parameters: <code>{from:DateTime64(3)}</code>, <code>{to:DateTime64(3)}</code>, <code>{faculty:String}</code> (empty = all), bound as query parameters.</p></details>`;
}

function figure(chart: Chart, sql: PostmortemSql): string {
  return `<figure id="${escapeHtml(chart.id)}" data-chart="${escapeHtml(chart.id)}">
<h3>${escapeHtml(chart.title)}</h3>
${chart.svg}
<figcaption>${escapeHtml(chart.caption)}</figcaption>
${sqlDetails(chart, sql)}
</figure>`;
}

function card(k: string, v: string, n: string, cls = ''): string {
  return `<div class="card"><div class="k">${escapeHtml(k)}</div><div class="v ${cls}">${escapeHtml(v)}</div><div class="n">${escapeHtml(n)}</div></div>`;
}

function labelText(labels: Readonly<Record<string, string>>): string {
  return Object.keys(labels)
    .filter((k) => k !== 'alertname')
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(', ');
}

/** Everything the HTML page shows. */
export interface ReportHtmlInput {
  readonly report: PostmortemReport;
  readonly sql: PostmortemSql;
  readonly text: string;
  readonly charts: {
    readonly timeline: Chart;
    readonly leadTimes: Chart;
    readonly firstDeviation: Chart | null;
    readonly faculties: ReadonlyArray<{ readonly faculty: string; readonly sessions: Chart; readonly latency: Chart }>;
  };
  /** When the report was generated (epoch ms); shown in the footer only. */
  readonly generatedAtMs: number;
}

/** Renders the report page. */
export function renderReportHtml(input: ReportHtmlInput): string {
  const { report: r, sql, charts } = input;
  const useful = r.pages.filter((p) => p.leadTimeMs !== null && p.leadTimeMs > 0);
  const scope = r.faculty ? `faculty ${r.faculty}` : 'all faculties';

  const cards = [
    r.collapse
      ? card('Collapse', clock(r.collapse.minuteMs), `${r.collapse.faculty}: ${(r.collapse.errorRatio * 100).toFixed(0)} % errors`, 'bad')
      : card('Collapse', 'none', `no faculty above ${r.thresholds.collapseErrorRatio * 100} % errors`, 'good'),
    r.firstDeviation
      ? card('First deviation', clock(r.firstDeviation.minuteMs), `${r.firstDeviation.faculty}: ${r.firstDeviation.kind} ${fix(r.firstDeviation.value, 2)}`, 'warn')
      : card('First deviation', 'none', 'every faculty stayed normal'),
    card('Pages', String(r.pages.length), `${useful.length} before their faculty's collapse; plus ${r.warnings.length} warnings`),
    r.leadTimeMs !== null && r.firstPage
      ? card('Lead time', formatLead(r.leadTimeMs), `first page ${clock(r.firstPage.firedAtMs)} (${r.firstPage.rule}) to the collapse`, r.leadTimeMs >= 0 ? 'good' : 'bad')
      : card('Lead time', '–', r.collapse ? 'no page in the window' : 'no collapse to lead', r.collapse ? 'bad' : ''),
  ].join('\n');

  const firings = [...r.pages, ...r.warnings].sort((a, b) => a.firedAtMs - b.firedAtMs || a.rule.localeCompare(b.rule));
  const pagesRows = firings.length
    ? firings
        .map(
          (p) => `<tr class="${p.severity === 'page' ? 'page' : 'warning'}"><td>${escapeHtml(p.severity)}</td><td>${escapeHtml(p.rule)}</td><td>${escapeHtml(labelText(p.labels))}</td><td>${clock(p.firedAtMs)}</td><td>${
            p.resolvedAtMs === null ? 'still firing' : clock(p.resolvedAtMs)
          }</td><td class="num ${p.leadTimeMs === null ? '' : p.leadTimeMs >= 0 ? 'good' : 'bad'}">${
            p.leadTimeMs === null ? 'no collapse' : escapeHtml(formatLead(p.leadTimeMs))
          }</td></tr>`,
        )
        .join('\n')
    : '<tr><td colspan="6">No alert fired in the window.</td></tr>';

  const facultyRows = r.faculties
    .map(
      (f) => `<tr><td><a href="#sessions-${escapeHtml(slugOf(f.faculty, charts))}">${escapeHtml(f.faculty)}</a></td><td class="num">${fix(f.peakSessions?.value, 0)}</td><td class="num">${fix(
        f.peakCapacity,
        0,
      )}</td><td class="num">${fix(f.peakUtilization?.value, 2)}</td><td class="num">${fix(f.peakP95Seconds?.value, 2)}</td><td>${
        f.firstDeviation ? clock(f.firstDeviation.minuteMs) : '–'
      }</td><td class="${f.collapse ? 'bad' : ''}">${f.collapse ? clock(f.collapse.minuteMs) : '–'}</td></tr>`,
    )
    .join('\n');

  const facultyFigures = charts.faculties
    .map((f) => `<h3 id="faculty-${escapeHtml(f.sessions.id)}">${escapeHtml(f.faculty)}</h3><div class="grid2">${figure(f.sessions, sql)}${figure(f.latency, sql)}</div>`)
    .join('\n');

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Vigie post-mortem ${escapeHtml(stamp(r.fromMs))} – ${escapeHtml(clock(r.toMs))}</title>
<style>${CSS}</style>
</head>
<body>
<main>
<h1>Post-mortem: ${escapeHtml(stamp(r.fromMs))} to ${escapeHtml(clock(r.toMs))} UTC</h1>
<p class="sub">Database <code>${escapeHtml(r.database)}</code>, ${escapeHtml(scope)}. Thresholds: collapse at ${r.thresholds.collapseErrorRatio * 100} % errors, deviation at ${
    r.thresholds.utilization
  } utilization or ${r.thresholds.p95Seconds} s p95.</p>
<section class="cards">
${cards}
</section>

<h2>Timeline</h2>
${figure(charts.timeline, sql)}

<h2>Pages, warnings and lead times</h2>
${figure(charts.leadTimes, sql)}
<table>
<thead><tr><th>Severity</th><th>Alert</th><th>Labels</th><th>Fired</th><th>Resolved</th><th>Lead time</th></tr></thead>
<tbody>
${pagesRows}
</tbody>
</table>

<h2>First deviation</h2>
${charts.firstDeviation ? figure(charts.firstDeviation, sql) : '<p>No faculty deviated from normal operation in the window.</p>'}

<h2>Faculties</h2>
<table>
<thead><tr><th>Faculty</th><th>Peak sessions</th><th>Capacity</th><th>Peak utilization</th><th>Peak p95 (s)</th><th>First deviation</th><th>Collapse</th></tr></thead>
<tbody>
${facultyRows}
</tbody>
</table>
${facultyFigures}

<h2>Text timeline</h2>
<details open><summary>As printed by <code>vigie postmortem</code></summary><pre>${escapeHtml(input.text)}</pre></details>

<footer>Generated by Vigie at ${escapeHtml(new Date(input.generatedAtMs).toISOString())}. Self-contained: inline SVG and CSS, no external assets.</footer>
</main>
</body>
</html>
`;
}

function slugOf(faculty: string, charts: ReportHtmlInput['charts']): string {
  const c = charts.faculties.find((f) => f.faculty === faculty);
  return c ? c.sessions.id.replace(/^sessions-/, '') : '';
}
