/**
 * Server-side charts of the post-mortem report: echarts 6 rendered straight to SVG
 * strings (SSR, no DOM, no canvas), so the HTML report carries its charts inline and
 * opens anywhere. Every chart instance is disposed after rendering, or the process
 * would never exit. Times are shown in UTC, whatever the machine's zone.
 */
import * as echarts from 'echarts';
import type { Page, PostmortemReport } from './report.ts';

/** One rendered chart. */
export interface Chart {
  /** Anchor id in the report. */
  readonly id: string;
  readonly title: string;
  /** What to read in it, one sentence. */
  readonly caption: string;
  /** Inline SVG document (`<svg …>…</svg>`). */
  readonly svg: string;
  /** Keys of `PostmortemSql` whose queries feed this chart. */
  readonly sql: ReadonlyArray<'gauges' | 'requests' | 'buckets' | 'alerts'>;
}

type Option = Parameters<echarts.ECharts['setOption']>[0];

const COLORS = {
  sessions: '#2f6fdf',
  capacity: '#d62728',
  p50: '#5aa469',
  p95: '#e08a1e',
  p99: '#b8336a',
  band: 'rgba(214, 39, 40, 0.10)',
  deviation: '#e08a1e',
  collapse: '#222222',
  fired: '#d62728',
  resolved: '#2ca02c',
};

const FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, sans-serif';

/** Renders an option to an SVG string and disposes the instance, even on error. */
export function renderSvg(option: Option, width: number, height: number): string {
  const chart = echarts.init(null, null, { renderer: 'svg', ssr: true, width, height });
  try {
    chart.setOption({ animation: false, useUTC: true, textStyle: { fontFamily: FONT }, ...option });
    return chart.renderToSVGString();
  } finally {
    chart.dispose();
  }
}

const pad = (n: number): string => String(n).padStart(2, '0');
/** `HH:MM` in UTC. */
export function hhmm(ms: number): string {
  const d = new Date(ms);
  return `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

function timeAxis(r: PostmortemReport, width = 1100): Record<string, unknown> {
  const labels = Math.max(3, Math.floor(width / 90));
  const step = Math.max(1, Math.ceil((r.toMs - r.fromMs) / labels / 300_000)) * 300_000;
  return {
    type: 'time',
    min: r.fromMs,
    max: r.toMs,
    splitNumber: labels,
    // SSR does not measure labels (hideOverlap has no effect): label only ticks on `step`.
    axisLabel: { formatter: (v: number) => (v % step === 0 ? hhmm(v) : ''), hideOverlap: true },
    splitLine: { show: true, lineStyle: { color: '#eee' } },
  };
}

const grid = { left: 64, right: 24, top: 36, bottom: 56 };
const legend = { bottom: 6, icon: 'roundRect' };

/** Firing periods (fired → resolved, or the window end) of the pages that concern `faculty`. */
function alertBands(r: PostmortemReport, faculty: string | null): Array<[Record<string, unknown>, Record<string, unknown>]> {
  return r.pages
    .filter((p) => faculty === null || p.faculty === faculty || p.faculty === null)
    .map((p) => [
      { name: p.rule, xAxis: p.firedAtMs, label: { show: true, position: 'insideTopLeft', fontSize: 10, color: COLORS.fired } },
      { xAxis: Math.min(p.resolvedAtMs ?? r.toMs, r.toMs) },
    ]);
}

function eventLines(r: PostmortemReport, faculty: string): Array<Record<string, unknown>> {
  const f = r.faculties.find((x) => x.faculty === faculty);
  const out: Array<Record<string, unknown>> = [];
  if (f?.firstDeviation) {
    out.push({
      name: 'first deviation',
      xAxis: f.firstDeviation.minuteMs,
      lineStyle: { color: COLORS.deviation, type: 'dashed', width: 1.5 },
      label: { formatter: `deviation ${hhmm(f.firstDeviation.minuteMs)}`, color: COLORS.deviation, fontSize: 10 },
    });
  }
  if (f?.collapse) {
    out.push({
      name: 'collapse',
      xAxis: f.collapse.minuteMs,
      lineStyle: { color: COLORS.collapse, type: 'solid', width: 2 },
      label: { formatter: `collapse ${hhmm(f.collapse.minuteMs)}`, color: COLORS.collapse, fontSize: 10 },
    });
  }
  return out;
}

/** The whole morning on one axis: deviations, pages fired and resolved, collapses, per faculty. */
export function timelineChart(r: PostmortemReport, width = 1100): Chart {
  const faculties = r.faculties.map((f) => f.faculty);
  const alertFaculties = r.alerts.map((a) => a.labels['faculty'] ?? '(platform)');
  const rows = [...new Set([...faculties, ...alertFaculties])].sort().reverse();
  const point = (at: number, faculty: string, label: string) => ({ value: [at, faculty], name: label });
  const series = [
    {
      name: 'first deviation',
      type: 'scatter',
      symbol: 'diamond',
      symbolSize: 16,
      itemStyle: { color: COLORS.deviation },
      data: r.faculties.filter((f) => f.firstDeviation).map((f) => point(f.firstDeviation!.minuteMs, f.faculty, `deviation ${hhmm(f.firstDeviation!.minuteMs)}`)),
      label: { show: true, position: 'top', formatter: '{b}', fontSize: 10, color: COLORS.deviation },
    },
    {
      name: 'page fired',
      type: 'scatter',
      symbol: 'triangle',
      symbolSize: 14,
      itemStyle: { color: COLORS.fired },
      data: r.pages.map((p) => point(p.firedAtMs, p.faculty ?? '(platform)', `${p.rule} ${hhmm(p.firedAtMs)}`)),
      label: { show: true, position: 'bottom', formatter: '{b}', fontSize: 10, color: COLORS.fired },
    },
    {
      name: 'resolved',
      type: 'scatter',
      symbol: 'circle',
      symbolSize: 10,
      itemStyle: { color: COLORS.resolved },
      data: r.pages.filter((p) => p.resolvedAtMs !== null && p.resolvedAtMs <= r.toMs).map((p) => point(p.resolvedAtMs!, p.faculty ?? '(platform)', `resolved ${hhmm(p.resolvedAtMs!)}`)),
    },
    {
      name: 'collapse',
      type: 'scatter',
      symbol: 'pin',
      symbolSize: 26,
      itemStyle: { color: COLORS.collapse },
      data: r.faculties.filter((f) => f.collapse).map((f) => point(f.collapse!.minuteMs, f.faculty, `COLLAPSE ${hhmm(f.collapse!.minuteMs)}`)),
      label: { show: true, position: 'right', formatter: '{b}', fontSize: 11, fontWeight: 'bold', color: COLORS.collapse },
    },
  ];
  const height = Math.max(260, 110 + rows.length * 64);
  return {
    id: 'timeline',
    title: 'Timeline',
    caption: 'Each faculty on its own row: when it first left normal operation, when pages fired and resolved, and when it collapsed.',
    svg: renderSvg(
      {
        grid: { ...grid, left: 110 },
        legend,
        xAxis: timeAxis(r),
        yAxis: { type: 'category', data: rows, splitLine: { show: true, lineStyle: { color: '#f2f2f2' } } },
        series,
      } as Option,
      width,
      height,
    ),
    sql: ['gauges', 'requests', 'alerts'],
  };
}

/** Sessions against capacity for one faculty, with alert bands and deviation / collapse markers. */
export function sessionsChart(r: PostmortemReport, faculty: string, width = 540, height = 280): Chart {
  const f = r.faculties.find((x) => x.faculty === faculty);
  const minutes = f?.minutes ?? [];
  return {
    id: `sessions-${slug(faculty)}`,
    title: `${faculty}: sessions vs capacity`,
    caption: 'Active sessions summed over servers (solid) against tested capacity (dashed); shaded bands are alerts firing.',
    svg: renderSvg(
      {
        grid,
        legend,
        tooltip: { trigger: 'axis' },
        xAxis: timeAxis(r, width),
        yAxis: { type: 'value', min: 0, name: 'sessions', nameTextStyle: { fontSize: 10 } },
        series: [
          {
            name: 'sessions',
            type: 'line',
            showSymbol: false,
            lineStyle: { width: 2 },
            itemStyle: { color: COLORS.sessions },
            areaStyle: { opacity: 0.08 },
            data: minutes.map((m) => [m.minuteMs, m.sessions]),
            markArea: { silent: true, itemStyle: { color: COLORS.band }, data: alertBands(r, faculty) },
            markLine: { silent: true, symbol: 'none', data: eventLines(r, faculty) },
          },
          {
            name: 'capacity',
            type: 'line',
            showSymbol: false,
            lineStyle: { width: 2, type: 'dashed' },
            itemStyle: { color: COLORS.capacity },
            data: minutes.map((m) => [m.minuteMs, m.capacity]),
          },
        ],
      } as Option,
      width,
      height,
    ),
    sql: ['gauges', 'alerts'],
  };
}

/** p50 / p95 / p99 request latency for one faculty, with the p95 threshold and alert bands. */
export function latencyChart(r: PostmortemReport, faculty: string, width = 540, height = 280): Chart {
  const f = r.faculties.find((x) => x.faculty === faculty);
  const minutes = f?.minutes ?? [];
  const line = (name: 'p50' | 'p95' | 'p99', pick: (m: (typeof minutes)[number]) => number | null) => ({
    name,
    type: 'line',
    showSymbol: false,
    connectNulls: false,
    lineStyle: { width: name === 'p95' ? 2.5 : 1.5 },
    itemStyle: { color: COLORS[name] },
    data: minutes.map((m) => [m.minuteMs, pick(m)]),
  });
  const p95 = line('p95', (m) => m.p95Seconds);
  return {
    id: `latency-${slug(faculty)}`,
    title: `${faculty}: latency percentiles`,
    caption: `Request duration percentiles per minute (histogram_quantile over bucket increases); dotted line: the ${r.thresholds.p95Seconds} s p95 deviation threshold.`,
    svg: renderSvg(
      {
        grid,
        legend,
        tooltip: { trigger: 'axis' },
        xAxis: timeAxis(r, width),
        yAxis: { type: 'value', min: 0, name: 'seconds', nameTextStyle: { fontSize: 10 } },
        series: [
          line('p50', (m) => m.p50Seconds),
          {
            ...p95,
            markArea: { silent: true, itemStyle: { color: COLORS.band }, data: alertBands(r, faculty) },
            markLine: {
              silent: true,
              symbol: 'none',
              data: [{ yAxis: r.thresholds.p95Seconds, lineStyle: { type: 'dotted', color: '#888' }, label: { formatter: `${r.thresholds.p95Seconds} s`, fontSize: 10 } }],
            },
          },
          line('p99', (m) => m.p99Seconds),
        ],
      } as Option,
      width,
      height,
    ),
    sql: ['buckets', 'alerts'],
  };
}

/** The faculty that deviated first: utilization and error ratio, thresholds, the deviation and collapse minutes. */
export function firstDeviationChart(r: PostmortemReport, width = 1100, height = 320): Chart | null {
  const d = r.firstDeviation;
  if (!d) return null;
  const f = r.faculties.find((x) => x.faculty === d.faculty);
  const minutes = f?.minutes ?? [];
  const what = d.kind === 'utilization' ? `utilization ${d.value.toFixed(2)} > ${d.threshold}` : `p95 ${d.value.toFixed(2)} s > ${d.threshold} s`;
  return {
    id: 'first-deviation',
    title: `First deviation: ${d.faculty} at ${hhmm(d.minuteMs)} (${what})`,
    caption: `Utilization (sessions / capacity) and 5xx ratio of ${d.faculty}; the deviation is the first minute above ${r.thresholds.utilization} utilization or ${r.thresholds.p95Seconds} s p95, the collapse the first minute above ${r.thresholds.collapseErrorRatio} errors.`,
    svg: renderSvg(
      {
        grid: { ...grid, right: 64 },
        legend,
        tooltip: { trigger: 'axis' },
        xAxis: timeAxis(r),
        yAxis: [
          { type: 'value', min: 0, name: 'utilization', nameTextStyle: { fontSize: 10 } },
          { type: 'value', min: 0, max: 1, name: 'error ratio', nameTextStyle: { fontSize: 10 }, splitLine: { show: false } },
        ],
        series: [
          {
            name: 'utilization',
            type: 'line',
            showSymbol: false,
            lineStyle: { width: 2.5 },
            itemStyle: { color: COLORS.sessions },
            data: minutes.map((m) => [m.minuteMs, m.utilization]),
            markLine: {
              silent: true,
              symbol: 'none',
              data: [
                { yAxis: r.thresholds.utilization, lineStyle: { type: 'dotted', color: COLORS.deviation }, label: { formatter: `${r.thresholds.utilization}`, fontSize: 10 } },
                ...eventLines(r, d.faculty),
              ],
            },
            markPoint: {
              symbol: 'pin',
              symbolSize: 40,
              itemStyle: { color: COLORS.deviation },
              data: [{ coord: [d.minuteMs, d.kind === 'utilization' ? d.value : (minutes.find((m) => m.minuteMs === d.minuteMs)?.utilization ?? 0)], value: hhmm(d.minuteMs) }],
              label: { fontSize: 9, color: '#fff' },
            },
            markArea: { silent: true, itemStyle: { color: COLORS.band }, data: alertBands(r, d.faculty) },
          },
          {
            name: 'error ratio',
            type: 'line',
            yAxisIndex: 1,
            showSymbol: false,
            lineStyle: { width: 1.5 },
            itemStyle: { color: COLORS.capacity },
            data: minutes.map((m) => [m.minuteMs, m.errorRatio]),
          },
        ],
      } as Option,
      width,
      height,
    ),
    sql: ['gauges', 'requests'],
  };
}

function pageLabel(p: Page): string {
  const who = p.labels['exam_id'] ?? p.labels['server'] ?? p.faculty ?? 'platform';
  return `${p.rule} (${who}) ${hhmm(p.firedAtMs)}`;
}

/** Each page's lead time before its faculty's collapse, in minutes (negative: it came after). */
export function leadTimeChart(r: PostmortemReport, width = 1100): Chart {
  const pages = r.pages;
  const height = Math.max(200, 100 + pages.length * 36);
  return {
    id: 'lead-times',
    title: 'Lead time of each page',
    caption: 'Minutes between a page and the collapse of its faculty: green bars came before the collapse (useful), red ones after; grey: the faculty never collapsed.',
    svg: renderSvg(
      {
        grid: { left: 300, right: 60, top: 24, bottom: 48 },
        xAxis: { type: 'value', name: 'minutes before collapse', nameLocation: 'middle', nameGap: 28, splitLine: { lineStyle: { color: '#eee' } } },
        yAxis: { type: 'category', data: pages.map(pageLabel), inverse: true, axisLabel: { fontSize: 11 } },
        series: [
          {
            name: 'lead time',
            type: 'bar',
            barMaxWidth: 22,
            data: pages.map((p) => ({
              value: p.leadTimeMs === null ? 0 : Math.round(p.leadTimeMs / 6000) / 10,
              itemStyle: { color: p.leadTimeMs === null ? '#bbbbbb' : p.leadTimeMs >= 0 ? COLORS.resolved : COLORS.fired },
              label: {
                show: true,
                position: p.leadTimeMs !== null && p.leadTimeMs < 0 ? 'insideLeft' : 'right',
                color: p.leadTimeMs !== null && p.leadTimeMs < 0 ? '#fff' : '#333',
                formatter: p.leadTimeMs === null ? 'no collapse' : `${p.leadTimeMs >= 0 ? '+' : ''}${(p.leadTimeMs / 60_000).toFixed(1)} min`,
                fontSize: 11,
              },
            })),
          },
        ],
      } as Option,
      width,
      height,
    ),
    sql: ['alerts', 'requests'],
  };
}

/** A safe anchor id from a faculty name. */
export function slug(s: string): string {
  return s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '') || 'x';
}
