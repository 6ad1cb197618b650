/** The report's rendering without a database: charts to SVG, HTML, Markdown, progress. */
import { describe, expect, it } from 'vitest';
import {
  analyse,
  createProgress,
  escapeHtml,
  firstDeviationChart,
  latencyChart,
  leadTimeChart,
  renderReportHtml,
  renderReportMarkdown,
  sessionsChart,
  timelineChart,
  formatPostmortemText,
  postmortemSql,
  type AlertEvent,
} from '../../../postmortem/index.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 0, 12, 8, 0);
const minutes = [0, 1, 2, 3, 4].map((i) => T0 + i * MIN);
const gauges = minutes.map((m, i) => ({ faculty: 'sci<ences>', minute_ms: m, sessions: [10, 85, 95, 120, 120][i]!, capacity: 100 }));
const requests = minutes.map((m, i) => ({ faculty: 'sci<ences>', minute_ms: m, requests: 100, errors: [0, 1, 40, 60, 80][i]! }));
const buckets = minutes.flatMap((m) => [
  { faculty: 'sci<ences>', minute_ms: m, le: '0.5', n: 50 },
  { faculty: 'sci<ences>', minute_ms: m, le: '1', n: 90 },
  { faculty: 'sci<ences>', minute_ms: m, le: '+Inf', n: 100 },
]);
const alert = (atMs: number, state: string): AlertEvent => ({
  atMs,
  rule: 'Near<Capacity>',
  fingerprint: '1',
  state,
  labels: { faculty: 'sci<ences>', exam_id: 'E|1', severity: 'page' },
  annotations: {},
  value: 1,
  activeAtMs: null,
});
const report = analyse({ database: 'd', fromMs: T0, toMs: T0 + 5 * MIN }, gauges, requests, buckets, [alert(T0 + 90_000, 'firing'), alert(T0 + 4 * MIN, 'resolved')]);

describe('charts', () => {
  it('render SVG with paths, for every chart kind', () => {
    const charts = [timelineChart(report), leadTimeChart(report), firstDeviationChart(report)!, sessionsChart(report, 'sci<ences>'), latencyChart(report, 'sci<ences>')];
    for (const c of charts) {
      expect(c.svg.startsWith('<svg')).toBe(true);
      expect(c.svg).toMatch(/<path [^>]*d="M/);
      expect(c.svg).not.toContain('<ences>'); // text is escaped inside the SVG
      expect(c.sql.length).toBeGreaterThan(0);
    }
    expect(charts[1]!.svg).toContain('+1.5 min');
  });

  it('keeps the timeline legible with 50 alerts on three faculties in ten minutes', () => {
    const t9 = T0 + 60 * MIN;
    const faculties = ['hec', 'law', 'medicine'];
    const many: AlertEvent[] = [];
    for (let i = 0; i < 50; i++) {
      const faculty = faculties[i % 3]!;
      const at = t9 - 5 * MIN + Math.round((i * 10 * MIN) / 50);
      many.push({ atMs: at, rule: `Rule${i % 7}`, fingerprint: String(i), state: 'firing', labels: { faculty, severity: i % 2 ? 'page' : 'warning', server: `${faculty}-app-${i}` }, annotations: {}, value: 1, activeAtMs: null });
    }
    const g = faculties.flatMap((f) => [0, 30, 60, 90, 120].map((m) => ({ faculty: f, minute_ms: T0 + m * MIN, sessions: 90, capacity: 100 })));
    const busy = analyse({ database: 'd', fromMs: T0, toMs: T0 + 180 * MIN }, g, [], [], many);
    expect(busy.pages.length + busy.warnings.length).toBe(50);
    const svg = timelineChart(busy).svg;
    const markers = [...svg.matchAll(/<g class="marker" data-kind="(\w+)" data-count="(\d+)"><title>([^<]*)<\/title>/g)];
    // Grouped: a handful of markers per faculty, whose counts add up to every alert…
    expect(markers.length).toBeLessThanOrEqual(3 * 6);
    expect(markers.reduce((n, m) => n + Number(m[2]), 0)).toBe(50);
    // …each listing its alerts on hover, and no per-alert text label drawn on the chart.
    for (const a of many) expect(svg).toContain(`server=${a.labels['server']}`);
    expect(svg).not.toMatch(/<text[^>]*>Rule\d/);
    // Rows only for faculties with something to show.
    expect([...svg.matchAll(/font-size="12">([^<]+)<\/text>/g)].map((m) => m[1])).toEqual(faculties);
  });

  it('labels the time axis in UTC', () => {
    expect(sessionsChart(report, 'sci<ences>').svg).toContain('08:00');
  });

  it('has no first-deviation chart when nothing deviated', () => {
    const calm = analyse({ database: 'd', fromMs: T0, toMs: T0 + 5 * MIN }, gauges.map((g) => ({ ...g, sessions: 1 })), [], [], []);
    expect(firstDeviationChart(calm)).toBeNull();
    expect(leadTimeChart(calm).svg.startsWith('<svg')).toBe(true);
  });
});

describe('HTML and Markdown', () => {
  const html = renderReportHtml({
    report,
    sql: postmortemSql({ database: 'd' }),
    text: formatPostmortemText(report),
    charts: {
      timeline: timelineChart(report),
      leadTimes: leadTimeChart(report),
      firstDeviation: firstDeviationChart(report),
      faculties: [{ faculty: 'sci<ences>', sessions: sessionsChart(report, 'sci<ences>'), latency: latencyChart(report, 'sci<ences>') }],
    },
    generatedAtMs: T0,
  });

  it('is self-contained and escapes data', () => {
    expect(html).not.toMatch(/<script|<link |\bsrc="|url\(http|@import/i);
    expect(html).not.toContain('<ences>');
    expect(html).toContain('sci&lt;ences&gt;');
    expect(html.match(/<details><summary>SQL behind this chart<\/summary>/g)?.length).toBe(5);
    expect(html).toContain('argMaxMerge'); // the gauges SQL is shown
  });

  it('summarises in Markdown, escaping table cells', () => {
    const md = renderReportMarkdown(report, { htmlFile: 'report.html' });
    expect(md).toContain('**Collapse**: sci\\<ences\\> at 08:03');
    expect(md).toContain('| Near\\<Capacity\\> | sci\\<ences\\> | 08:01 | 08:04 | +1m30s |');
    expect(md).toContain('[report.html](report.html)');
  });

  it('escapes HTML', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });
});

describe('progress', () => {
  it('prints one line per step without a TTY', () => {
    const out: string[] = [];
    const p = createProgress({ total: 2, label: 'x', stream: { write: (s: string) => out.push(s), isTTY: false } });
    p.step('a');
    p.step('b');
    p.done();
    expect(out).toEqual(['x: [1/2] a\n', 'x: [2/2] b\n']);
  });

  it('redraws one line on a TTY and ends it', () => {
    const out: string[] = [];
    const p = createProgress({ total: 2, label: 'x', width: 4, stream: { write: (s: string) => out.push(s), isTTY: true } });
    p.step('a');
    p.step('b');
    p.done();
    expect(out[0]).toBe('\r\x1b[2Kx [----] 1/2 a');
    expect(out[1]).toBe('\r\x1b[2Kx [##--] 2/2 b');
    expect(out[2]).toBe('\r\x1b[2Kx [####] 2/2 done\n');
  });
});
