/**
 * The plan as people use it: a plain-text summary for the on-call engineer, a CSV of
 * proposed start times for the timetabling office, and a self-contained HTML page with
 * server-side SVG charts (load against capacity over the morning, before and after the
 * proposed changes), rendered like the post-mortem's charts.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { hhmm, renderSvg } from '../postmortem/charts.ts';
import { gridTime, type Forecast } from './forecast.ts';
import type { Plan, StartRisk } from './plan.ts';

const pct = (x: number) => `${Math.round(x * 100)} %`;
const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const fmtShift = (m: number) => `${m > 0 ? '+' : ''}${m} min`;
const riskText = (s: StartRisk) =>
  `${pct(s.risk.probability)} (${s.risk.collapsed} of ${s.risk.comparable} simulated mornings planned at ${s.risk.from.toFixed(2)}–${s.risk.to.toFixed(2)} collapsed)`;

/** The exams whose start the plan moves, with old and new start. */
export function proposedChanges(plan: Plan): { id: string; faculty: string; from: number; to: number; minutes: number; enrolled: number }[] {
  const orig = new Map(plan.exams.map((e) => [e.id, e]));
  return plan.proposedExams
    .filter((e) => orig.get(e.id)!.start !== e.start)
    .map((e) => ({ id: e.id, faculty: e.faculty, from: orig.get(e.id)!.start, to: e.start, minutes: (e.start - orig.get(e.id)!.start) / 60_000, enrolled: e.enrolled }));
}

/** Plain-text summary for the on-call engineer. */
export function formatPlanText(plan: Plan): string {
  const L: string[] = [];
  const days = [...new Set(plan.exams.map((e) => day(e.start)))].join(', ');
  L.push(`Vigie plan — ${days} — ${plan.exams.length} exams, target ${pct(plan.target)} of capacity (${plan.band} load)`);
  if (plan.whatIfs.length) L.push(`what-if: ${plan.whatIfs.map((w) => w.text).join('; ')}`);
  const sources = [...plan.profileSource].map(([f, p]) => `${f}: ${p.source}${p.source === 'history' ? ` (n=${p.attendance.n})` : ''}`);
  L.push(`load profiles: ${sources.join(', ')}`);
  const capacityFrom = { config: "the config's capacity: section", history: 'reported by the platform in stored mornings', simulator: "the demo's simulated university", defaults: 'defaults' }[plan.capacity.source];
  L.push(`capacity: ${capacityFrom}; collapse risk from ${plan.riskSource}`);
  L.push('');
  const risky = plan.starts.filter((s) => s.plannedPeak > plan.target);
  L.push(`── Exam starts over ${pct(plan.target)} of capacity (${risky.length}) ─────────────`);
  for (const s of risky) L.push(`RISK  ${hhmm(s.startMs)}  ${s.faculty.padEnd(16)} peak ${pct(s.plannedPeak).padStart(6)}  collapse risk ${riskText(s)}  [${s.examIds.join(', ')}]`);
  if (!risky.length) L.push('none');
  L.push('');
  L.push(`── Minutes over target: ${plan.flags.length} runs ──────────────────────────────`);
  for (const f of plan.flags.slice(0, 25)) L.push(`${hhmm(f.fromMs)}–${hhmm(f.toMs)}  ${f.scope.padEnd(24)} peak ${pct(f.peak)} at ${hhmm(f.peakAtMs)}`);
  if (plan.flags.length > 25) L.push(`… ${plan.flags.length - 25} more in plan.html`);
  L.push('');
  L.push('── Remedy 1: staggered start times ──────────────────────────────');
  const changes = proposedChanges(plan);
  for (const c of changes) L.push(`SHIFT ${c.id.padEnd(16)} ${c.faculty.padEnd(16)} ${hhmm(c.from)} → ${hhmm(c.to)} (${fmtShift(c.minutes)})`);
  for (const s of plan.stagger.filter((x) => x.solution.peakBefore > plan.target)) {
    const sol = s.solution;
    const gap = sol.optimal ? 'optimal' : `stopped short of the optimum: at most ${sol.cost.shifted - sol.lowerBound.shifted} more shifted exams and ${sol.cost.minutes - sol.lowerBound.minutes} more minutes than the best possible`;
    L.push(
      `      ${s.faculty.padEnd(16)} peak ${pct(sol.peakBefore)} → ${pct(sol.peakAfter)}${sol.feasible ? '' : ` — still over ${pct(plan.target)}: shifts within the windows are not enough`}; ${sol.cost.shifted} shifted, ${sol.cost.minutes} min; ${gap} (${sol.evaluations} evaluations)`,
    );
  }
  if (!changes.length) L.push('no shift needed');
  const after = plan.startsAfter.filter((s) => s.plannedPeak > plan.target);
  L.push(`after the shifts: ${after.length} start(s) over target; highest risk ${pct(Math.max(0, ...plan.startsAfter.map((s) => s.risk.probability)))}`);
  L.push('');
  L.push('── Remedy 2: exams on servers (unchanged timetable, whole platform) ─');
  const p = plan.packing.solution;
  L.push(
    p.unplaced.length
      ? `the unchanged timetable does not fit on the platform's servers under ${pct(plan.target)}: ${p.unplaced.join(', ')} left over (first-fit decreasing; ${p.serversUsed} servers used); combine with remedy 1 or 3`
      : `${p.serversUsed} servers hold exams (proven minimum ${p.lowerBound}${p.optimal ? ', optimal' : `, so at most ${p.serversUsed - p.lowerBound} more than needed`}), peak server use ${pct(p.peakUtilization)}`,
  );
  const byServer = new Map<string, string[]>();
  for (const [item, server] of p.assignment) byServer.set(server, [...(byServer.get(server) ?? []), item]);
  for (const [server, items] of [...byServer].sort()) L.push(`      ${server.padEnd(22)} ${items.join(', ')}`);
  L.push('');
  L.push('── Remedy 3: capacity for the unchanged timetable ────────────────');
  for (const c of plan.capacityNeeded.filter((x) => x.peak > plan.target)) {
    L.push(`${c.scope.padEnd(24)} peak ${pct(c.peak)} → ×${c.factor.toFixed(2)} capacity${c.currentServers ? ` (${c.currentServers} → ${c.serversNeeded} servers)` : ''}`);
  }
  if (!plan.capacityNeeded.some((x) => x.peak > plan.target)) L.push('current capacity holds the timetable');
  return L.join('\n') + '\n';
}

/** CSV of every exam's current and proposed start, for the timetabling office. */
export function formatPlanCsv(plan: Plan): string {
  const orig = new Map(plan.exams.map((e) => [e.id, e]));
  const q = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  const rows = ['exam_id,faculty,enrolled,duration_min,current_start,proposed_start,shift_min'];
  for (const e of [...plan.proposedExams].sort((a, b) => a.start - b.start || a.id.localeCompare(b.id))) {
    const o = orig.get(e.id)!;
    rows.push([q(e.id), q(e.faculty), e.enrolled, e.durationMs / 60_000, new Date(o.start).toISOString(), new Date(e.start).toISOString(), (e.start - o.start) / 60_000].join(','));
  }
  return rows.join('\n') + '\n';
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

/** Utilization chart of one scope, before and after, against the target and 100 %. */
function chart(title: string, before: Forecast, after: Forecast, pick: (f: Forecast) => Float64Array, target: number, starts: number[]): string {
  const pts = (f: Forecast) => Array.from(pick(f), (u, i) => [gridTime(f.grid, i), Math.round(u * 1000) / 10]);
  const g = before.grid;
  return renderSvg(
    {
      title: { text: title, left: 8, top: 4, textStyle: { fontSize: 13 } },
      grid: { left: 56, right: 90, top: 40, bottom: 48 },
      legend: { bottom: 4 },
      tooltip: {},
      xAxis: { type: 'time', min: g.fromMs, max: gridTime(g, g.length - 1), axisLabel: { formatter: (v: number) => (v % 1_800_000 === 0 ? hhmm(v) : '') } },
      yAxis: { type: 'value', min: 0, max: (v: { max: number }) => Math.max(110, Math.ceil(v.max / 10) * 10), axisLabel: { formatter: '{value} %' } },
      series: [
        { name: 'current timetable', type: 'line', showSymbol: false, data: pts(before), lineStyle: { color: '#d62728' }, itemStyle: { color: '#d62728' } },
        {
          name: 'proposed timetable',
          type: 'line',
          showSymbol: false,
          data: pts(after),
          lineStyle: { color: '#2f6fdf' },
          itemStyle: { color: '#2f6fdf' },
          markLine: {
            symbol: 'none',
            data: [
              { yAxis: Math.round(target * 100), name: 'target', lineStyle: { color: '#e08a1e', type: 'dashed' }, label: { formatter: `target ${Math.round(target * 100)} %`, position: 'end', fontSize: 10 } },
              { yAxis: 100, name: 'capacity', lineStyle: { color: '#222' }, label: { formatter: 'capacity', position: 'end', fontSize: 10, offset: [0, -6] } },
              ...starts.map((s) => ({ xAxis: s, lineStyle: { color: '#999', type: 'dotted' }, label: { formatter: hhmm(s), fontSize: 9 } })),
            ],
          },
        },
      ],
    },
    900,
    260,
  );
}

/** The HTML plan (self-contained). */
export function renderPlanHtml(plan: Plan): string {
  const text = formatPlanText(plan);
  const charts: string[] = [];
  const facs = [...plan.before.faculties].sort((a, b) => Math.max(...b.utilization) - Math.max(...a.utilization));
  charts.push(
    chart(
      'Platform — shared database connection pool',
      plan.before,
      plan.after,
      (f) => (plan.band === 'high' ? f.platform.dbConnectionsHigh : f.platform.dbConnections).map((v) => v / f.platform.dbPoolMax),
      plan.target,
      [],
    ),
  );
  for (const fac of facs) {
    const starts = [...new Set(plan.exams.filter((e) => e.faculty === fac.faculty).map((e) => e.start))];
    charts.push(
      chart(
        `${fac.faculty} — use of its pool, sessions or workers, whichever is higher (peak ${pct(Math.max(...fac.utilization))} → ${pct(Math.max(...plan.after.faculties.find((y) => y.faculty === fac.faculty)!.utilization))})`,
        plan.before,
        plan.after,
        (f) => {
          const x = f.faculties.find((y) => y.faculty === fac.faculty)!;
          return plan.band === 'high' ? x.utilizationHigh : x.utilization;
        },
        plan.target,
        starts,
      ),
    );
  }
  const changes = proposedChanges(plan);
  const rows = plan.starts
    .map((s) => `<tr class="${s.plannedPeak > plan.target ? 'risk' : ''}"><td>${hhmm(s.startMs)}</td><td>${esc(s.faculty)}</td><td>${esc(s.examIds.join(', '))}</td><td>${pct(s.plannedPeak)}</td><td>${esc(riskText(s))}</td></tr>`)
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Vigie plan</title>
<style>body{font-family:system-ui,sans-serif;margin:24px;max-width:960px;color:#222}h1{font-size:20px}h2{font-size:16px;margin-top:28px}
table{border-collapse:collapse;font-size:13px}td,th{border-bottom:1px solid #ddd;padding:3px 8px;text-align:left}tr.risk td{background:#fde8e8}
pre{background:#f6f6f6;padding:12px;font-size:12px;overflow:auto}.chart{margin:8px 0}</style></head>
<body><h1>Vigie plan — ${esc([...new Set(plan.exams.map((e) => day(e.start)))].join(', '))}</h1>
<p>${plan.exams.length} exams; target ${pct(plan.target)} of capacity. Red: current timetable; blue: with the ${changes.length} proposed shift(s).</p>
<h2>Proposed start times</h2>
<table><tr><th>exam</th><th>faculty</th><th>current</th><th>proposed</th><th>shift</th></tr>
${changes.map((c) => `<tr><td>${esc(c.id)}</td><td>${esc(c.faculty)}</td><td>${hhmm(c.from)}</td><td>${hhmm(c.to)}</td><td>${fmtShift(c.minutes)}</td></tr>`).join('\n')}
</table>
<h2>Load against capacity</h2>
${charts.map((c) => `<div class="chart">${c}</div>`).join('\n')}
<h2>Exam starts and their risk of collapse</h2>
<table><tr><th>start</th><th>faculty</th><th>exams</th><th>planned peak</th><th>risk of collapse</th></tr>
${rows}
</table>
<h2>Summary</h2><pre>${esc(text)}</pre>
</body></html>
`;
}

/** Writes plan.html, proposed-starts.csv and plan.txt into `dir`; returns the paths. */
export function writePlanFiles(plan: Plan, dir: string): string[] {
  mkdirSync(dir, { recursive: true });
  const files = [
    [join(dir, 'plan.html'), renderPlanHtml(plan)],
    [join(dir, 'proposed-starts.csv'), formatPlanCsv(plan)],
    [join(dir, 'plan.txt'), formatPlanText(plan)],
  ] as const;
  for (const [f, body] of files) writeFileSync(f, body);
  return files.map(([f]) => f);
}
