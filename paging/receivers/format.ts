/**
 * Pages people can act on. One line says what saturates, where (faculty, exam, server),
 * the current value against the limit, the trend and when the limit will be reached —
 * from the rule's `summary` annotation plus the optional `limit`, `trend`, `eta`
 * annotations — followed by a link to the dashboard panel over the alert's time range
 * and a runbook link (`runbook_url` annotation). Resolves say how long it lasted.
 * Pure functions: every receiver renders through them, so all pages read the same.
 */
import type { Notification, OutboxMessage } from './types.ts';

/** Where links point. */
export interface FormatOptions {
  /** Grafana base URL, e.g. https://grafana.example.org (no trailing slash needed). */
  readonly dashboardUrl?: string;
  /** Runbook base used when an alert has no `runbook_url` annotation: `${runbookUrl}#${alertname}`. */
  readonly runbookUrl?: string;
}

/** Panel ids of the faculty dashboard (`dashboards/faculty.ts` FACULTY_PANEL_IDS), chosen by alert name. */
const PANEL_BY_NAME: readonly (readonly [RegExp, number])[] = [
  [/latency|duration|slow/i, 2],
  [/error|5xx|fail/i, 3],
  [/server|worker|cpu|memory|host/i, 6],
  [/exam/i, 5],
];

/** "12 min", "1 h 05 min", "45 s". */
export function formatSpan(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.round(s / 60);
  if (m < 60) return `${m} min`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Math.abs(v) >= 100 || Number.isInteger(v)) return String(Math.round(v));
  return v.toPrecision(3);
}

/** The "where" part: faculty, exam, server (whichever labels the alert carries). */
export function whereOf(a: Notification): string {
  const l = a.labels;
  const parts: string[] = [];
  if (l['faculty']) parts.push(`faculty ${l['faculty']}`);
  const exam = l['exam_id'] ?? l['exam'];
  if (exam) parts.push(`exam ${exam}`);
  const server = l['server'] ?? l['instance'];
  if (server) parts.push(`server ${server}`);
  return parts.join(', ');
}

/** The one line of a page. */
export function formatAlertLine(a: Notification): string {
  const an = a.annotations;
  const name = a.labels['alertname'] ?? 'alert';
  const parts: string[] = [`${a.status === 'firing' ? 'FIRING' : 'RESOLVED'} ${name}`];
  const where = whereOf(a);
  if (where) parts.push(where);
  if (an['summary']) parts.push(an['summary']);
  if (a.status === 'firing') {
    const value = an['value'] ?? (a.value === null || a.value === undefined || Number.isNaN(a.value) ? undefined : formatNumber(a.value));
    if (an['limit'] && value !== undefined) parts.push(`now ${value} / limit ${an['limit']}`);
    else if (value !== undefined) parts.push(`value ${value}`);
    if (an['trend']) parts.push(`trend ${an['trend']}`);
    if (an['eta']) parts.push(`limit reached ${an['eta']}`);
  } else if (a.endsAt !== undefined) {
    parts.push(`lasted ${formatSpan(a.endsAt - a.startsAt)}`);
  }
  return parts.join(' — ');
}

/** Grafana link to the faculty dashboard panel over the alert's time range, or undefined without a dashboard URL. */
export function dashboardLink(a: Notification, opts: FormatOptions): string | undefined {
  if (!opts.dashboardUrl) return undefined;
  const base = opts.dashboardUrl.replace(/\/$/, '');
  const name = a.labels['alertname'] ?? '';
  const panel = a.annotations['dashboard_panel'] ?? String(PANEL_BY_NAME.find(([re]) => re.test(name))?.[1] ?? 1);
  const q = new URLSearchParams();
  if (a.labels['faculty']) q.set('var-faculty', a.labels['faculty']);
  q.set('from', String(a.startsAt - 30 * 60_000));
  q.set('to', a.status === 'resolved' && a.endsAt !== undefined ? String(a.endsAt + 10 * 60_000) : 'now');
  q.set('viewPanel', panel);
  return `${base}/d/vigie-faculty/vigie-faculty?${q.toString()}`;
}

/** Runbook link: the `runbook_url` annotation, else `${runbookUrl}#${alertname}`. */
export function runbookLink(a: Notification, opts: FormatOptions): string | undefined {
  if (a.annotations['runbook_url']) return a.annotations['runbook_url'];
  if (!opts.runbookUrl) return undefined;
  return `${opts.runbookUrl}#${(a.labels['alertname'] ?? '').toLowerCase()}`;
}

/** Title of a message (mail subject, chat headline). */
export function formatTitle(m: OutboxMessage): string {
  const first = m.alerts[0];
  const name = first?.labels['alertname'] ?? 'alerts';
  const firing = m.alerts.filter((a) => a.status === 'firing').length;
  const where = first ? whereOf(first) : '';
  const prefix = m.undeliverable ? `[UNDELIVERED to ${m.undeliverable.receiver}] ` : '';
  const count = m.alerts.length > 1 ? ` (${m.status === 'firing' ? `${firing} firing` : `${m.alerts.length} resolved`})` : '';
  return `${prefix}[${m.status.toUpperCase()}] ${name}${where && m.alerts.length === 1 ? ` — ${where}` : ''}${count}`;
}

/** One block per alert: the line, then the links. */
export function formatAlertBlock(a: Notification, opts: FormatOptions): string[] {
  const out = [formatAlertLine(a)];
  const d = dashboardLink(a, opts);
  if (d) out.push(`Dashboard: ${d}`);
  const r = runbookLink(a, opts);
  if (r) out.push(`Runbook: ${r}`);
  return out;
}

/** Plain-text body (mail, chat fallback text). */
export function formatText(m: OutboxMessage, opts: FormatOptions): string {
  const lines: string[] = [];
  if (m.undeliverable) lines.push(`Could not deliver this notification to ${m.undeliverable.receiver}: ${m.undeliverable.reason}`, '');
  for (const a of m.alerts) lines.push(...formatAlertBlock(a, opts), '');
  return lines.join('\n').trimEnd() + '\n';
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Simple HTML body (mail). */
export function formatHtml(m: OutboxMessage, opts: FormatOptions): string {
  const items = m.alerts.map((a) => {
    const links = [
      dashboardLink(a, opts) ? `<a href="${escapeHtml(dashboardLink(a, opts)!)}">Dashboard</a>` : '',
      runbookLink(a, opts) ? `<a href="${escapeHtml(runbookLink(a, opts)!)}">Runbook</a>` : '',
    ].filter(Boolean);
    return `<li><p>${escapeHtml(formatAlertLine(a))}</p>${links.length ? `<p>${links.join(' · ')}</p>` : ''}</li>`;
  });
  const note = m.undeliverable ? `<p><strong>Could not deliver this notification to ${escapeHtml(m.undeliverable.receiver)}:</strong> ${escapeHtml(m.undeliverable.reason)}</p>` : '';
  return `<!doctype html><html><body><h3>${escapeHtml(formatTitle(m))}</h3>${note}<ul>${items.join('')}</ul></body></html>`;
}
