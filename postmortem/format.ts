/**
 * Renders a {@link PostmortemReport} as plain text for the CLI: a timeline in UTC, the
 * pages with their lead times, and one line per faculty.
 */
import type { PostmortemReport } from './report.ts';

const pad = (n: number): string => String(n).padStart(2, '0');

/** `HH:MM` (UTC), or `HH:MM:SS` when the instant is not on a minute. */
function clock(ms: number): string {
  const d = new Date(ms);
  const hm = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  return d.getUTCSeconds() || d.getUTCMilliseconds() ? `${hm}:${pad(d.getUTCSeconds())}` : hm;
}

/** `2026-01-12 08:30Z`. */
function stamp(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 10)} ${clock(ms)}Z`;
}

/** Signed duration such as `+8m00s` or `-2m00s`. */
export function formatLead(ms: number): string {
  const sign = ms < 0 ? '-' : '+';
  const s = Math.round(Math.abs(ms) / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const rest = `${pad(m)}m${pad(s % 60)}s`;
  return sign + (h ? `${h}h${rest}` : rest.replace(/^0/, ''));
}

const fix = (v: number | null | undefined, d: number): string => (v === null || v === undefined ? '-' : v.toFixed(d));

function labelText(labels: Readonly<Record<string, string>>): string {
  const keys = Object.keys(labels).filter((k) => k !== 'alertname').sort();
  return keys.length ? `{${keys.map((k) => `${k}=${labels[k]}`).join(', ')}}` : '';
}

/** The report as readable text (ends with a newline). */
export function formatPostmortemText(r: PostmortemReport): string {
  const lines: string[] = [];
  lines.push(
    `Vigie post-mortem: ${stamp(r.fromMs)} to ${stamp(r.toMs)}, database ${r.database}, ${r.faculty ? `faculty ${r.faculty}` : 'all faculties'}`,
  );
  lines.push('');
  lines.push(...headlineLines(r));
  lines.push('');

  const events: Array<{ at: number; order: number; text: string }> = [];
  for (const f of r.faculties) {
    const d = f.firstDeviation;
    if (d) {
      const what = d.kind === 'utilization' ? `utilization ${fix(d.value, 2)} > ${d.threshold}` : `p95 ${fix(d.value, 2)} s > ${d.threshold} s`;
      events.push({ at: d.minuteMs, order: 0, text: `first deviation  ${f.faculty}: ${what}` });
    }
    if (f.collapse) {
      events.push({
        at: f.collapse.minuteMs,
        order: 2,
        text: `COLLAPSE         ${f.faculty}: error ratio ${fix(f.collapse.errorRatio, 2)} > ${r.thresholds.collapseErrorRatio} (${Math.round(f.collapse.requests)} requests)`,
      });
    }
  }
  r.alerts.forEach((a) => {
    const page = a.state === 'firing' ? r.pages.find((p) => p.firedAtMs === a.atMs && p.fingerprint === a.fingerprint) : undefined;
    const lead = page && page.leadTimeMs !== null ? `  lead ${formatLead(page.leadTimeMs)} vs ${page.leadTimeAgainst} collapse` : '';
    const state = a.state === 'firing' ? (page ? 'PAGE' : 'WARNING') : a.state;
    events.push({ at: a.atMs, order: 1, text: `${state.padEnd(16)} ${a.rule} ${labelText(a.labels)}${lead}` });
  });
  events.sort((a, b) => a.at - b.at || a.order - b.order);

  lines.push('Timeline (UTC)');
  if (events.length === 0) lines.push('  nothing notable in the window');
  for (const e of events) lines.push(`  ${clock(e.at).padEnd(8)} ${e.text}`);
  lines.push('');

  for (const [title, list] of [
    ['Pages', r.pages],
    ['Warnings', r.warnings],
  ] as const) {
    lines.push(`${title} (${list.length})`);
    if (list.length === 0) lines.push(`  no ${title.toLowerCase().slice(0, -1)} fired`);
    for (const p of list) {
      const resolved = p.resolvedAtMs === null ? 'still firing' : `resolved ${clock(p.resolvedAtMs)}`;
      const lead = p.leadTimeMs === null ? 'no collapse to measure against' : `lead ${formatLead(p.leadTimeMs)} (${p.leadTimeMs >= 0 ? 'before' : 'after'} ${p.leadTimeAgainst} collapse)`;
      lines.push(`  ${p.rule} ${labelText(p.labels)}: fired ${clock(p.firedAtMs)}, ${resolved}, ${lead}`);
    }
    lines.push('');
  }

  lines.push('Faculties');
  lines.push('  faculty          peak sessions   capacity  peak util  peak p95 (s)  first deviation  collapse');
  for (const f of r.faculties) {
    const at = (m: { minuteMs: number } | null): string => (m ? clock(m.minuteMs) : '-');
    lines.push(
      '  ' +
        [
          f.faculty.padEnd(16),
          `${fix(f.peakSessions?.value, 0)} @${at(f.peakSessions)}`.padStart(14),
          fix(f.peakCapacity, 0).padStart(10),
          fix(f.peakUtilization?.value, 2).padStart(10),
          fix(f.peakP95Seconds?.value, 2).padStart(13),
          `  ${at(f.firstDeviation)}`.padEnd(17),
          at(f.collapse),
        ].join(' '),
    );
  }
  return lines.join('\n') + '\n';
}

/**
 * The headline every rendering shares (text report, HTML cards, Markdown, the demo's
 * summary): collapse, first page, lead time, pages and warnings counted apart.
 */
export function headlineLines(r: PostmortemReport): string[] {
  const c = r.collapse;
  const collapsed = r.faculties.filter((f) => f.collapse).map((f) => f.faculty);
  const fp = r.firstPage;
  return [
    `collapse               ${c ? `${clock(c.minuteMs)} (${collapsed.join(', ')}): first minute with more than ${r.thresholds.collapseErrorRatio * 100} % of requests failing` : 'none'}`,
    `first page             ${fp ? `${clock(fp.firedAtMs)} ${fp.rule}${fp.faculty ? `{faculty="${fp.faculty}"}` : ''}` : 'none'}`,
    `lead time              ${r.leadTimeMs === null ? 'n/a' : `${formatLead(r.leadTimeMs)} (${r.leadTimeMs >= 0 ? 'first page before the collapse' : 'first page AFTER the collapse'})`}`,
    `alerts fired           ${r.pages.length} pages, ${r.warnings.length} warnings; ${r.alerts.filter((a) => a.state === 'resolved').length} resolved`,
  ];
}
