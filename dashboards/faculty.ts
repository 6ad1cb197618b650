/**
 * The per-faculty dashboard: sessions against capacity, request latency, error ratio
 * and the alerts firing now, for the faculty picked in the `faculty` variable, broken
 * down per exam (sessions, requests, errors, p95) and per server (utilization). Built
 * with the Grafana foundation SDK; uids and panel ids are fixed so a regenerated file
 * diffs cleanly and links to panels survive.
 */
import { sqlTarget } from '../schema/queries.ts';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { clickhouseAnnotation, clickhouseDs, clickhouseTablePanel, clickhouseTimeseriesPanel, panelById, vigieDashboard, type DashboardOptions, type PanelSql } from './panels.ts';
import {
  alertAnnotationsSql,
  errorRatioSql,
  examsTableSql,
  facultyVariableSql,
  firingAlertsSql,
  latencyQuantilesSql,
  serversTableSql,
  serverUtilizationSql,
  sessionsByExamSql,
  sessionsVsCapacitySql,
} from './sql.ts';

export type { PanelKind, PanelSql } from './panels.ts';

/** Options of {@link buildFacultyDashboard}. */
export type FacultyDashboardOptions = DashboardOptions;

/** Stable uid of the faculty dashboard. */
export const FACULTY_DASHBOARD_UID = 'vigie-faculty';

/** Panel ids, fixed: Grafana links (`viewPanel=`) and tests refer to them. */
export const FACULTY_PANEL_IDS = {
  sessionsVsCapacity: 1,
  latency: 2,
  errorRatio: 3,
  firingAlerts: 4,
  sessionsByExam: 5,
  serverUtilization: 6,
  exams: 7,
  servers: 8,
} as const;

/** The SQL of every panel of the faculty dashboard, in panel-id order. */
export function facultyPanelSql(opts: FacultyDashboardOptions): PanelSql[] {
  const t = sqlTarget(opts);
  return [
    { id: FACULTY_PANEL_IDS.sessionsVsCapacity, title: 'Sessions vs capacity', kind: 'timeseries', rawSql: sessionsVsCapacitySql(t) },
    { id: FACULTY_PANEL_IDS.latency, title: 'Request latency (p50, p95, p99)', kind: 'timeseries', rawSql: latencyQuantilesSql(t) },
    { id: FACULTY_PANEL_IDS.errorRatio, title: 'Error ratio (5xx / requests)', kind: 'timeseries', rawSql: errorRatioSql(t) },
    {
      id: FACULTY_PANEL_IDS.firingAlerts,
      title: 'Firing alerts',
      kind: 'table',
      rawSql: firingAlertsSql(t),
      columns: ['firing_since', 'rule', 'severity', 'faculty', 'exam_id', 'server', 'summary', 'value'],
    },
    { id: FACULTY_PANEL_IDS.sessionsByExam, title: 'Sessions by exam', kind: 'timeseriesLong', rawSql: sessionsByExamSql(t, 'faculty') },
    { id: FACULTY_PANEL_IDS.serverUtilization, title: 'Utilization by server (sessions / capacity)', kind: 'timeseriesLong', rawSql: serverUtilizationSql(t) },
    {
      id: FACULTY_PANEL_IDS.exams,
      title: 'Exams: load, errors, latency',
      kind: 'table',
      rawSql: examsTableSql(t),
      columns: ['exam', 'peak_sessions', 'requests', 'error_ratio', 'p95_seconds'],
    },
    {
      id: FACULTY_PANEL_IDS.servers,
      title: 'Servers: sessions against capacity',
      kind: 'table',
      rawSql: serversTableSql(t),
      columns: ['server', 'peak_sessions', 'capacity', 'peak_utilization', 'utilization_now'],
    },
  ];
}

/** SQL of the dashboard's "Alerts" annotation query (firing/resolved transitions). */
export function facultyAnnotationSql(opts: FacultyDashboardOptions): string {
  return alertAnnotationsSql({ database: opts.database });
}

/** Builds the faculty dashboard. */
export function buildFacultyDashboard(opts: FacultyDashboardOptions): dashboard.DashboardBuilder {
  const panels = facultyPanelSql(opts);
  const byId = (id: number): PanelSql => panelById(panels, id, 'faculty');
  const ds = clickhouseDs(opts.datasourceUid);
  const timeseriesPanel = (p: PanelSql, gridPos: dashboard.GridPos) => clickhouseTimeseriesPanel(p, opts.datasourceUid, gridPos);

  const facultyVar = new dashboard.QueryVariableBuilder('faculty')
    .label('Faculty')
    .datasource(ds)
    .query(facultyVariableSql({ database: opts.database }))
    .definition(facultyVariableSql({ database: opts.database }))
    .refresh(dashboard.VariableRefresh.OnDashboardLoad)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(false)
    .includeAll(false);

  const sessions = timeseriesPanel(byId(FACULTY_PANEL_IDS.sessionsVsCapacity), { x: 0, y: 0, w: 12, h: 9 })
    .description('Active exam sessions summed over servers, against the tested capacity.')
    .unit('short')
    .min(0)
    .overrideByName('capacity', [
      { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
      { id: 'custom.fillOpacity', value: 0 },
      { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
    ]);

  const latency = timeseriesPanel(byId(FACULTY_PANEL_IDS.latency), { x: 12, y: 0, w: 12, h: 9 })
    .description('Server request duration quantiles, interpolated from histogram buckets like histogram_quantile.')
    .unit('s')
    .min(0);

  const errors = timeseriesPanel(byId(FACULTY_PANEL_IDS.errorRatio), { x: 0, y: 9, w: 12, h: 9 })
    .description('Share of requests answered with a 5xx status.')
    .unit('percentunit')
    .min(0)
    .max(1)
    .thresholds(
      new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
        { value: null, color: 'green' },
        { value: 0.05, color: 'orange' },
        { value: 0.5, color: 'red' },
      ]),
    )
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Line));

  const alertsPanel = byId(FACULTY_PANEL_IDS.firingAlerts);
  const alerts = clickhouseTablePanel(alertsPanel, opts.datasourceUid, { x: 12, y: 9, w: 12, h: 9 })
    .description('Alerts whose latest state at the end of the range is firing.')
    .noValue('No alert firing');

  const byExam = timeseriesPanel(byId(FACULTY_PANEL_IDS.sessionsByExam), { x: 0, y: 18, w: 12, h: 9 })
    .description('Active sessions per exam (label exam_id), summed over servers: which exam brings the load.')
    .unit('short')
    .min(0)
    .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));

  const byServer = timeseriesPanel(byId(FACULTY_PANEL_IDS.serverUtilization), { x: 12, y: 18, w: 12, h: 9 })
    .description('Sessions over tested capacity per server: 1 means the server is full.')
    .unit('percentunit')
    .min(0)
    .thresholds(
      new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
        { value: null, color: 'green' },
        { value: 0.8, color: 'orange' },
        { value: 1, color: 'red' },
      ]),
    )
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed));

  const exams = clickhouseTablePanel(byId(FACULTY_PANEL_IDS.exams), opts.datasourceUid, { x: 0, y: 27, w: 12, h: 8 })
    .description('Per exam over the range: peak sessions, requests, 5xx share and p95 latency (s).')
    .noValue('No request in range');

  const servers = clickhouseTablePanel(byId(FACULTY_PANEL_IDS.servers), opts.datasourceUid, { x: 12, y: 27, w: 12, h: 8 })
    .description('Per server over the range: peak sessions against capacity, peak and latest utilization.')
    .noValue('No server in range');

  return vigieDashboard('Vigie — faculty', FACULTY_DASHBOARD_UID, 'Per-faculty view of an exam session morning: load, latency, errors, alerts.', ['vigie', 'exams'])
    .withVariable(facultyVar)
    .annotation(
      clickhouseAnnotation('Alerts', 'red', 'Anno', opts.datasourceUid, facultyAnnotationSql(opts)),
    )
    .withPanel(sessions)
    .withPanel(latency)
    .withPanel(errors)
    .withPanel(alerts)
    .withPanel(byExam)
    .withPanel(byServer)
    .withPanel(exams)
    .withPanel(servers);
}
