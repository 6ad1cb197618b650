/**
 * The session overview: every faculty at a glance on one screen — sessions against
 * capacity, the forecast minutes until saturation (least-squares slope of the last 10
 * minutes of sessions, computed in SQL on the rollups), p95 latency, error ratio and
 * firing alerts. No variable: a coordinator opens it and sees the whole campus.
 */
import { sqlTarget } from '../schema/queries.ts';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { clickhouseAnnotation, clickhouseTablePanel, clickhouseTimeseriesPanel, panelById, vigieDashboard, type DashboardOptions, type PanelSql } from './panels.ts';
import {
  alertAnnotationsSql,
  errorRatioByFacultySql,
  facultiesNowSql,
  firingAlertsSql,
  latencyByFacultySql,
  saturationForecastByFacultySql,
  utilizationByFacultySql,
} from './sql.ts';

/** Options of {@link buildOverviewDashboard}. */
export type OverviewDashboardOptions = DashboardOptions;

/** Stable uid of the session overview dashboard. */
export const OVERVIEW_DASHBOARD_UID = 'vigie-overview';

/** Panel ids, fixed. */
export const OVERVIEW_PANEL_IDS = {
  facultiesNow: 1,
  utilization: 2,
  timeToSaturation: 3,
  latency: 4,
  errorRatio: 5,
  firingAlerts: 6,
} as const;

/** The SQL of every panel of the overview, in panel-id order. */
export function overviewPanelSql(opts: OverviewDashboardOptions): PanelSql[] {
  const t = sqlTarget(opts);
  return [
    {
      id: OVERVIEW_PANEL_IDS.facultiesNow,
      title: 'Faculties now',
      kind: 'table',
      rawSql: facultiesNowSql(t),
      columns: ['faculty', 'sessions', 'capacity', 'utilization', 'minutes_to_saturation', 'p95_seconds', 'error_ratio', 'firing_alerts'],
    },
    { id: OVERVIEW_PANEL_IDS.utilization, title: 'Sessions / capacity by faculty', kind: 'timeseriesLong', rawSql: utilizationByFacultySql(t, 'all') },
    { id: OVERVIEW_PANEL_IDS.timeToSaturation, title: 'Forecast: minutes until saturation', kind: 'timeseriesLong', rawSql: saturationForecastByFacultySql(t, 'all') },
    { id: OVERVIEW_PANEL_IDS.latency, title: 'p95 latency by faculty', kind: 'timeseriesLong', rawSql: latencyByFacultySql(t, 'all') },
    { id: OVERVIEW_PANEL_IDS.errorRatio, title: 'Error ratio by faculty', kind: 'timeseriesLong', rawSql: errorRatioByFacultySql(t, 'all') },
    {
      id: OVERVIEW_PANEL_IDS.firingAlerts,
      title: 'Firing alerts (all faculties)',
      kind: 'table',
      rawSql: firingAlertsSql(t, 'all'),
      columns: ['firing_since', 'rule', 'severity', 'faculty', 'exam_id', 'server', 'summary', 'value'],
    },
  ];
}

/** SQL of the overview's annotation queries, by name. */
export function overviewAnnotationSql(opts: OverviewDashboardOptions): Record<string, string> {
  return { Alerts: alertAnnotationsSql({ database: opts.database }, 'all') };
}

const red = (v: number): dashboard.ThresholdsConfigBuilder =>
  new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
    { value: null, color: 'green' },
    { value: v * 0.8, color: 'orange' },
    { value: v, color: 'red' },
  ]);

/** Builds the session overview dashboard. */
export function buildOverviewDashboard(opts: OverviewDashboardOptions): dashboard.DashboardBuilder {
  const panels = overviewPanelSql(opts);
  const byId = (id: number): PanelSql => panelById(panels, id, 'overview');
  const uid = opts.datasourceUid;
  const cellColor = (id: string, mode: common.TableCellDisplayMode) => ({ id, value: { type: mode } });

  const now = clickhouseTablePanel(byId(OVERVIEW_PANEL_IDS.facultiesNow), uid, { x: 0, y: 0, w: 24, h: 9 })
    .description(
      'At the end of the range, per faculty: sessions against tested capacity, forecast minutes until sessions reach capacity ' +
        '(least-squares slope of the last 10 minutes; empty when not rising), p95 latency and 5xx ratio over the last 5 minutes, alerts firing.',
    )
    .noValue('No data in range')
    .overrideByName('utilization', [
      { id: 'unit', value: 'percentunit' },
      { id: 'thresholds', value: red(1).build() },
      cellColor('custom.cellOptions', common.TableCellDisplayMode.ColorBackground),
    ])
    .overrideByName('minutes_to_saturation', [
      { id: 'unit', value: 'm' },
      { id: 'decimals', value: 0 },
      {
        id: 'thresholds',
        value: new dashboard.ThresholdsConfigBuilder()
          .mode(dashboard.ThresholdsMode.Absolute)
          .steps([
            { value: null, color: 'red' },
            { value: 10, color: 'orange' },
            { value: 30, color: 'green' },
          ])
          .build(),
      },
      cellColor('custom.cellOptions', common.TableCellDisplayMode.ColorBackground),
    ])
    .overrideByName('p95_seconds', [
      { id: 'unit', value: 's' },
      { id: 'thresholds', value: red(1).build() },
      cellColor('custom.cellOptions', common.TableCellDisplayMode.ColorText),
    ])
    .overrideByName('error_ratio', [
      { id: 'unit', value: 'percentunit' },
      { id: 'thresholds', value: red(0.05).build() },
      cellColor('custom.cellOptions', common.TableCellDisplayMode.ColorText),
    ]);

  const util = clickhouseTimeseriesPanel(byId(OVERVIEW_PANEL_IDS.utilization), uid, { x: 0, y: 9, w: 12, h: 9 })
    .description('Sessions over tested capacity, one line per faculty: 100 % is full.')
    .unit('percentunit')
    .min(0)
    .thresholds(red(1))
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.Dashed));

  const tts = clickhouseTimeseriesPanel(byId(OVERVIEW_PANEL_IDS.timeToSaturation), uid, { x: 12, y: 9, w: 12, h: 9 })
    .description('Minutes until sessions reach capacity at the slope of the last 10 minutes; 0 = at or over capacity; gaps = not rising.')
    .unit('m')
    .min(0)
    .thresholds(
      new dashboard.ThresholdsConfigBuilder().mode(dashboard.ThresholdsMode.Absolute).steps([
        { value: null, color: 'red' },
        { value: 10, color: 'orange' },
        { value: 30, color: 'green' },
      ]),
    )
    .thresholdsStyle(new common.GraphThresholdsStyleConfigBuilder().mode(common.GraphThresholdsStyleMode.LineAndArea));

  const latency = clickhouseTimeseriesPanel(byId(OVERVIEW_PANEL_IDS.latency), uid, { x: 0, y: 18, w: 12, h: 9 })
    .description('Server request duration p95 per faculty, from histogram buckets like histogram_quantile.')
    .unit('s')
    .min(0);

  const errors = clickhouseTimeseriesPanel(byId(OVERVIEW_PANEL_IDS.errorRatio), uid, { x: 12, y: 18, w: 12, h: 9 })
    .description('Share of requests answered with a 5xx status, per faculty.')
    .unit('percentunit')
    .min(0)
    .max(1);

  const alerts = clickhouseTablePanel(byId(OVERVIEW_PANEL_IDS.firingAlerts), uid, { x: 0, y: 27, w: 24, h: 8 })
    .description('Alerts whose latest state at the end of the range is firing, every faculty.')
    .noValue('No alert firing');

  return vigieDashboard('Vigie — session overview', OVERVIEW_DASHBOARD_UID, 'Every faculty at a glance on a session morning: load against capacity, time to saturation, latency, errors, alerts.', ['vigie', 'exams'])
    .annotation(
      clickhouseAnnotation('Alerts', 'red', 'Anno', uid, overviewAnnotationSql(opts)['Alerts']!),
    )
    .withPanel(now)
    .withPanel(util)
    .withPanel(tts)
    .withPanel(latency)
    .withPanel(errors)
    .withPanel(alerts);
}
