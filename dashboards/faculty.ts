/**
 * The per-faculty dashboard: sessions against capacity, request latency, error ratio
 * and the alerts firing now, for the faculty picked in the `faculty` variable. Built
 * with the Grafana foundation SDK; uids and panel ids are fixed so a regenerated file
 * diffs cleanly and links to panels survive.
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import { CLICKHOUSE_PLUGIN_TYPE, clickhouseQuery } from './clickhouseQuery.ts';
import {
  alertAnnotationsSql,
  errorRatioSql,
  facultyVariableSql,
  firingAlertsSql,
  latencyQuantilesSql,
  sessionsVsCapacitySql,
} from './sql.ts';

/** Options of {@link buildFacultyDashboard}. */
export interface FacultyDashboardOptions {
  /** ClickHouse database holding Vigie's tables. */
  readonly database: string;
  /** Uid of the provisioned ClickHouse data source. */
  readonly datasourceUid: string;
}

/** Stable uid of the faculty dashboard. */
export const FACULTY_DASHBOARD_UID = 'vigie-faculty';

/** Panel ids, fixed: Grafana links (`viewPanel=`) and tests refer to them. */
export const FACULTY_PANEL_IDS = {
  sessionsVsCapacity: 1,
  latency: 2,
  errorRatio: 3,
  firingAlerts: 4,
} as const;

/** How a panel's query is meant to be read; tests use it to check column order. */
export type PanelKind = 'timeseries' | 'table';

/** One panel's SQL as generated, before Grafana expands macros and variables. */
export interface PanelSql {
  readonly id: number;
  readonly title: string;
  readonly kind: PanelKind;
  readonly rawSql: string;
}

/** The SQL of every panel of the faculty dashboard, in panel-id order. */
export function facultyPanelSql(opts: FacultyDashboardOptions): PanelSql[] {
  const t = { database: opts.database };
  return [
    { id: FACULTY_PANEL_IDS.sessionsVsCapacity, title: 'Sessions vs capacity', kind: 'timeseries', rawSql: sessionsVsCapacitySql(t) },
    { id: FACULTY_PANEL_IDS.latency, title: 'Request latency (p50, p95)', kind: 'timeseries', rawSql: latencyQuantilesSql(t) },
    { id: FACULTY_PANEL_IDS.errorRatio, title: 'Error ratio (5xx / requests)', kind: 'timeseries', rawSql: errorRatioSql(t) },
    { id: FACULTY_PANEL_IDS.firingAlerts, title: 'Firing alerts', kind: 'table', rawSql: firingAlertsSql(t) },
  ];
}

/** SQL of the dashboard's "Alerts" annotation query (firing/resolved transitions). */
export function facultyAnnotationSql(opts: FacultyDashboardOptions): string {
  return alertAnnotationsSql({ database: opts.database });
}

function legend(): common.VizLegendOptionsBuilder {
  return new common.VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(common.LegendDisplayMode.List)
    .placement(common.LegendPlacement.Bottom)
    .calcs(['lastNotNull', 'max']);
}

function timeseriesPanel(p: PanelSql, opts: FacultyDashboardOptions, gridPos: dashboard.GridPos): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .id(p.id)
    .title(p.title)
    .datasource({ type: CLICKHOUSE_PLUGIN_TYPE, uid: opts.datasourceUid })
    .withTarget(clickhouseQuery({ refId: 'A', datasourceUid: opts.datasourceUid, rawSql: p.rawSql, kind: 'timeSeries' }))
    // Rollups are per minute; a finer interval would only repeat points.
    .interval('1m')
    .gridPos(gridPos)
    .legend(legend())
    .tooltip(new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.None))
    .lineWidth(2)
    .fillOpacity(10)
    .spanNulls(false);
}

/** Builds the faculty dashboard. */
export function buildFacultyDashboard(opts: FacultyDashboardOptions): dashboard.DashboardBuilder {
  const panels = facultyPanelSql(opts);
  const byId = (id: number): PanelSql => {
    const p = panels.find((x) => x.id === id);
    if (!p) throw new Error(`faculty dashboard: no SQL for panel ${id}`);
    return p;
  };
  const ds = { type: CLICKHOUSE_PLUGIN_TYPE, uid: opts.datasourceUid };

  const facultyVar = new dashboard.QueryVariableBuilder('faculty')
    .label('Faculty')
    .datasource(ds)
    .query(facultyVariableSql({ database: opts.database }))
    .definition(facultyVariableSql({ database: opts.database }))
    .refresh(dashboard.VariableRefresh.OnDashboardLoad)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(false)
    .includeAll(false);

  const sessions = timeseriesPanel(byId(FACULTY_PANEL_IDS.sessionsVsCapacity), opts, { x: 0, y: 0, w: 12, h: 9 })
    .description('Active exam sessions summed over servers, against the tested capacity.')
    .unit('short')
    .min(0)
    .overrideByName('capacity', [
      { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
      { id: 'custom.fillOpacity', value: 0 },
      { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
    ]);

  const latency = timeseriesPanel(byId(FACULTY_PANEL_IDS.latency), opts, { x: 12, y: 0, w: 12, h: 9 })
    .description('Server request duration quantiles, interpolated from histogram buckets like histogram_quantile.')
    .unit('s')
    .min(0);

  const errors = timeseriesPanel(byId(FACULTY_PANEL_IDS.errorRatio), opts, { x: 0, y: 9, w: 12, h: 9 })
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
  const alerts = new table.PanelBuilder()
    .id(alertsPanel.id)
    .title(alertsPanel.title)
    .description('Alerts whose latest state at the end of the range is firing.')
    .datasource(ds)
    .withTarget(clickhouseQuery({ refId: 'A', datasourceUid: opts.datasourceUid, rawSql: alertsPanel.rawSql, kind: 'table' }))
    .gridPos({ x: 12, y: 9, w: 12, h: 9 })
    .noValue('No alert firing');

  return new dashboard.DashboardBuilder('Vigie — faculty')
    .uid(FACULTY_DASHBOARD_UID)
    .description('Per-faculty view of an exam session morning: load, latency, errors, alerts.')
    .tags(['vigie', 'exams'])
    .editable()
    .timezone('browser')
    .time({ from: 'now-3h', to: 'now' })
    .refresh('30s')
    .tooltip(dashboard.DashboardCursorSync.Crosshair)
    .withVariable(facultyVar)
    .annotation(
      new dashboard.AnnotationQueryBuilder()
        .name('Alerts')
        .datasource(ds)
        .enable(true)
        .iconColor('red')
        .target(clickhouseQuery({ refId: 'Anno', datasourceUid: opts.datasourceUid, rawSql: facultyAnnotationSql(opts), kind: 'table' })),
    )
    .withPanel(sessions)
    .withPanel(latency)
    .withPanel(errors)
    .withPanel(alerts);
}
