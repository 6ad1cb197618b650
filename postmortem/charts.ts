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

const esc = (t: string): string => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
const hhmmss = (ms: number): string => new Date(ms).toISOString().slice(11, 19);

/** Markers closer than this many pixels on one row are drawn as one counted group. */
const CLUSTER_PX = 18;

interface Marker {
  readonly x: number;
  readonly atMs: number;
  readonly kind: 'page' | 'warning' | 'resolved';
  readonly text: string;
}

/** Groups markers of one row whose x positions lie within {@link CLUSTER_PX} of the group's first. */
export function clusterMarkers<T extends { readonly x: number }>(items: readonly T[], px = CLUSTER_PX): T[][] {
  const sorted = [...items].sort((a, b) => a.x - b.x);
  const out: T[][] = [];
  for (const m of sorted) {
    const last = out[out.length - 1];
    if (last && m.x - last[0]!.x <= px) last.push(m);
    else out.push([m]);
  }
  return out;
}

/**
 * The whole morning on one axis, one row per faculty: first deviation, pages, warnings,
 * resolves and the collapse. Drawn as plain SVG rather than echarts: fifty alerts on three
 * faculties in ten minutes must stay legible, so markers that would overlap are grouped
 * into one marker with a count, and each marker carries a `<title>` (shown on hover)
 * listing its alerts; the table under the chart has them all.
 */
export function timelineChart(r: PostmortemReport, width = 1100): Chart {
  const firings = [...r.pages, ...r.warnings];
  const rowOf = (faculty: string | null) => faculty ?? '(platform)';
  // Only rows with something to show; the quiet faculties are named in the caption.
  const eventful = r.faculties.filter((f) => f.firstDeviation || f.collapse).map((f) => f.faculty);
  const rows = [...new Set([...eventful, ...firings.map((p) => rowOf(p.faculty))])].sort();
  const quiet = r.faculties.map((f) => f.faculty).filter((f) => !rows.includes(f));
  const left = 120;
  const right = 30;
  const top = 44;
  const rowH = 72;
  const height = top + rows.length * rowH + 46;
  const span = Math.max(1, r.toMs - r.fromMs);
  const x = (ms: number) => left + ((Math.min(Math.max(ms, r.fromMs), r.toMs) - r.fromMs) / span) * (width - left - right);
  const parts: string[] = [];
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family='${FONT}' font-size="11">`);
  parts.push(`<rect width="${width}" height="${height}" fill="#fff"/>`);
  // Legend.
  const legendItems: Array<[string, string]> = [
    [`<path d="M0,-6 L6,0 L0,6 L-6,0 Z" fill="${COLORS.deviation}"/>`, 'first deviation'],
    [`<path d="M-6,5 L6,5 L0,-6 Z" fill="${COLORS.fired}"/>`, 'page'],
    [`<path d="M-5,-4 L5,-4 L0,5 Z" fill="${COLORS.deviation}"/>`, 'warning'],
    [`<circle r="4.5" fill="${COLORS.resolved}"/>`, 'resolved'],
    [`<rect x="-1.5" y="-7" width="3" height="14" fill="${COLORS.collapse}"/>`, 'collapse'],
    [`<circle r="8" fill="#fff" stroke="#555"/><text text-anchor="middle" dy="3.5" font-size="9">n</text>`, 'n alerts grouped (hover for details)'],
  ];
  let lx = left;
  for (const [icon, label] of legendItems) {
    parts.push(`<g transform="translate(${lx},18)">${icon}<text x="12" dy="4" fill="#333">${esc(label)}</text></g>`);
    lx += 30 + label.length * 6.2;
  }
  // Time axis: a tick every 15 min (30 min on long windows).
  const tickMs = span > 4 * 3600_000 ? 30 * 60_000 : 15 * 60_000;
  const axisY = top + rows.length * rowH;
  for (let t = Math.ceil(r.fromMs / tickMs) * tickMs; t <= r.toMs; t += tickMs) {
    parts.push(`<line x1="${x(t)}" x2="${x(t)}" y1="${top}" y2="${axisY}" stroke="#eee"/>`);
    parts.push(`<text x="${x(t)}" y="${axisY + 16}" text-anchor="middle" fill="#555">${hhmm(t)}</text>`);
  }
  parts.push(`<line x1="${left}" x2="${width - right}" y1="${axisY}" y2="${axisY}" stroke="#999"/>`);
  parts.push(`<text x="${(left + width - right) / 2}" y="${axisY + 34}" text-anchor="middle" fill="#777">UTC</text>`);

  rows.forEach((row, i) => {
    const y = top + i * rowH + rowH / 2;
    parts.push(`<line x1="${left}" x2="${width - right}" y1="${y}" y2="${y}" stroke="#e6e6e6"/>`);
    parts.push(`<text x="${left - 10}" y="${y + 4}" text-anchor="end" fill="#1d2330" font-size="12">${esc(row)}</text>`);
    const f = r.faculties.find((ff) => ff.faculty === row);
    if (f?.collapse) {
      const cx = x(f.collapse.minuteMs);
      parts.push(
        `<g><title>${esc(`${row}: collapse ${hhmm(f.collapse.minuteMs)}, error ratio ${f.collapse.errorRatio.toFixed(2)} over ${Math.round(f.collapse.requests)} requests`)}</title><rect x="${cx - 1.5}" y="${y - rowH / 2 + 6}" width="3" height="${rowH - 12}" fill="${COLORS.collapse}"/><text x="${cx + 5}" y="${y - rowH / 2 + 10}" font-weight="bold" fill="${COLORS.collapse}">collapse ${hhmm(f.collapse.minuteMs)}</text></g>`,
      );
    }
    if (f?.firstDeviation) {
      const d = f.firstDeviation;
      const dx = x(d.minuteMs);
      const what = d.kind === 'utilization' ? `utilization ${d.value.toFixed(2)} > ${d.threshold}` : `p95 ${d.value.toFixed(2)} s > ${d.threshold} s`;
      parts.push(
        `<g><title>${esc(`${row}: first deviation ${hhmm(d.minuteMs)}, ${what}`)}</title><path transform="translate(${dx},${y})" d="M0,-7 L7,0 L0,7 L-7,0 Z" fill="${COLORS.deviation}" stroke="#fff"/><text x="${dx}" y="${y + 22}" text-anchor="middle" fill="${COLORS.deviation}">dev. ${hhmm(d.minuteMs)}</text></g>`,
      );
    }
    const markers: Marker[] = [];
    for (const p of firings.filter((pp) => rowOf(pp.faculty) === row)) {
      const lead = p.leadTimeMs === null ? '' : `, lead ${p.leadTimeMs >= 0 ? '+' : '-'}${Math.round(Math.abs(p.leadTimeMs) / 60_000)} min`;
      const labels = Object.entries(p.labels)
        .filter(([k]) => k !== 'alertname' && k !== 'faculty' && k !== 'severity')
        .map(([k, v]) => `${k}=${v}`)
        .join(', ');
      const kind = p.severity === 'page' ? 'page' : 'warning';
      markers.push({ x: x(p.firedAtMs), atMs: p.firedAtMs, kind, text: `${hhmmss(p.firedAtMs)} ${kind.toUpperCase()} ${p.rule}${labels ? ` {${labels}}` : ''}${lead}` });
      if (p.resolvedAtMs !== null && p.resolvedAtMs <= r.toMs) markers.push({ x: x(p.resolvedAtMs), atMs: p.resolvedAtMs, kind: 'resolved', text: `${hhmmss(p.resolvedAtMs)} resolved ${p.rule}${labels ? ` {${labels}}` : ''}` });
    }
    // Fired markers above the row line, resolves below it: each lane is grouped on its own.
    for (const lane of ['fired', 'resolved'] as const) {
      const laneMarkers = markers.filter((m) => (lane === 'resolved') === (m.kind === 'resolved'));
      const my = lane === 'fired' ? y - 12 : y + 12;
      for (const group of clusterMarkers(laneMarkers)) {
        const gx = group.reduce((a, m) => a + m.x, 0) / group.length;
        const pages = group.filter((m) => m.kind === 'page').length;
        const color = lane === 'resolved' ? COLORS.resolved : pages > 0 ? COLORS.fired : COLORS.deviation;
        const title = esc(
          group.length === 1
            ? group[0]!.text
            : `${group.length} alerts ${hhmmss(Math.min(...group.map((m) => m.atMs)))}–${hhmmss(Math.max(...group.map((m) => m.atMs)))}${lane === 'fired' ? ` (${pages} pages, ${group.length - pages} warnings)` : ' resolved'}:\n${group.map((m) => m.text).join('\n')}`,
        );
        const kindAttr = lane === 'resolved' ? 'resolved' : pages > 0 ? 'page' : 'warning';
        if (group.length === 1) {
          const shape =
            lane === 'resolved'
              ? `<circle cx="${gx}" cy="${my}" r="4.5" fill="${color}"/>`
              : pages > 0
                ? `<path transform="translate(${gx},${my})" d="M-6,5 L6,5 L0,-6 Z" fill="${color}"/>`
                : `<path transform="translate(${gx},${my})" d="M-5,-4 L5,-4 L0,5 Z" fill="${color}"/>`;
          parts.push(`<g class="marker" data-kind="${kindAttr}" data-count="1"><title>${title}</title>${shape}</g>`);
        } else {
          parts.push(
            `<g class="marker" data-kind="${kindAttr}" data-count="${group.length}"><title>${title}</title><circle cx="${gx}" cy="${my}" r="8.5" fill="${color}" stroke="#fff" stroke-width="1.5"/><text x="${gx}" y="${my + 3.5}" text-anchor="middle" font-size="9.5" font-weight="bold" fill="#fff">${group.length}</text></g>`,
          );
        }
      }
    }
  });
  parts.push('</svg>');
  return {
    id: 'timeline',
    title: 'Timeline',
    caption: `Each faculty on its own row: first deviation, pages (red) and warnings (orange) above the line, resolves (green) below, and the collapse. Alerts closer than a few minutes are grouped into one numbered marker; hover a marker for its alerts, or read them all in the table below (${r.pages.length} pages, ${r.warnings.length} warnings).${quiet.length ? ` No deviation, alert or collapse: ${quiet.join(', ')}.` : ''}`,
    svg: parts.join(''),
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
  // Room on both sides for the value labels, which sit outside the bars (negative ones to
  // the left of theirs): without it echarts clips them at the grid's edge.
  const values = pages.map((p) => (p.leadTimeMs === null ? 0 : p.leadTimeMs / 60_000));
  const lo = Math.min(0, ...values);
  const hi = Math.max(0, ...values);
  const pad = Math.max(4, (hi - lo) * 0.18);
  return {
    id: 'lead-times',
    title: 'Lead time of each page',
    caption: 'Minutes between a page and the collapse of its faculty: green bars came before the collapse (useful), red ones after; grey: the faculty never collapsed.',
    svg: renderSvg(
      {
        grid: { left: 300, right: 60, top: 24, bottom: 48 },
        xAxis: {
          type: 'value',
          name: 'minutes before collapse',
          nameLocation: 'middle',
          nameGap: 28,
          min: lo < 0 ? Math.floor(lo - pad) : 0,
          max: Math.ceil(hi + pad),
          splitLine: { lineStyle: { color: '#eee' } },
        },
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
                position: p.leadTimeMs !== null && p.leadTimeMs < 0 ? 'left' : 'right',
                color: p.leadTimeMs !== null && p.leadTimeMs < 0 ? COLORS.fired : '#333',
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
