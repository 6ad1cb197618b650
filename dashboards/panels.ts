/**
 * Panel building blocks shared by Vigie's dashboards: the description of one panel's
 * SQL (which tests run on chDB) and foundation-SDK builders for ClickHouse time series,
 * ClickHouse tables and Prometheus time series, with the options every Vigie panel
 * shares (legend shown, 1-minute interval for rollups, multi tooltip).
 */
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import * as prometheus from '@grafana/grafana-foundation-sdk/prometheus';
import * as table from '@grafana/grafana-foundation-sdk/table';
import * as timeseries from '@grafana/grafana-foundation-sdk/timeseries';
import type { CounterSource } from '../schema/queries.ts';
import { CLICKHOUSE_PLUGIN_TYPE, clickhouseQuery } from './clickhouseQuery.ts';


/** What every dashboard builder needs: where the tables are and which data source reads them. */
export interface DashboardOptions {
  /** ClickHouse database holding Vigie's tables. */
  readonly database: string;
  /** Counter increases from `counters_1m` (default) or, for comparisons, `samples_1m` (see `SqlTarget`). */
  readonly counterSource?: CounterSource;
  /** Uid of the provisioned ClickHouse data source. */
  readonly datasourceUid: string;
}

/**
 * How a panel's query result is shaped; tests check the column order against it.
 * - `timeseries`: wide frame, `time` then one numeric column per line;
 * - `timeseriesLong`: long frame, `time`, one string label column, then numeric values
 *   (the plugin pivots it into one line per label value);
 * - `table`: the columns listed in `columns`, in that order.
 */
export type PanelKind = 'timeseries' | 'timeseriesLong' | 'table';

/** One panel's SQL as generated, before Grafana expands macros and variables. */
export interface PanelSql {
  readonly id: number;
  readonly title: string;
  readonly kind: PanelKind;
  readonly rawSql: string;
  /** Expected column names of a table panel, in order. */
  readonly columns?: readonly string[];
}

/** One PromQL panel (Vigie's self-metrics, read from Prometheus). */
export interface PromPanel {
  readonly id: number;
  readonly title: string;
  readonly description: string;
  readonly unit: string;
  /** `[legend, expr]` per query. */
  readonly queries: ReadonlyArray<readonly [legend: string, expr: string]>;
}

/** Data source reference of the provisioned ClickHouse data source. */
export function clickhouseDs(uid: string): common.DataSourceRef {
  return { type: CLICKHOUSE_PLUGIN_TYPE, uid };
}

/** The frame every Vigie dashboard shares: tags, editable, browser time zone, range, 30 s refresh, crosshair. */
export function vigieDashboard(title: string, uid: string, description: string, tags: readonly string[], from = 'now-3h'): dashboard.DashboardBuilder {
  return new dashboard.DashboardBuilder(title)
    .uid(uid)
    .description(description)
    .tags([...tags])
    .editable()
    .timezone('browser')
    .time({ from, to: 'now' })
    .refresh('30s')
    .tooltip(dashboard.DashboardCursorSync.Crosshair);
}

/** An annotation fed by a ClickHouse table query (time, text, tags). */
export function clickhouseAnnotation(name: string, iconColor: string, refId: string, datasourceUid: string, rawSql: string): dashboard.AnnotationQueryBuilder {
  return new dashboard.AnnotationQueryBuilder()
    .name(name)
    .datasource(clickhouseDs(datasourceUid))
    .enable(true)
    .iconColor(iconColor)
    .target(clickhouseQuery({ refId, datasourceUid, rawSql, kind: 'table' }));
}

/** Plugin id of Grafana's Prometheus data source. */
export const PROMETHEUS_TYPE = 'prometheus';

/** The dashboard variable holding the Prometheus data source uid. */
export const PROMETHEUS_DS_VAR = 'prometheus';

/** Finds a panel's SQL by id; throws when a dashboard lists a panel it has no SQL for. */
export function panelById(panels: readonly PanelSql[], id: number, dashboardName: string): PanelSql {
  const p = panels.find((x) => x.id === id);
  if (!p) throw new Error(`${dashboardName} dashboard: no SQL for panel ${id}`);
  return p;
}

function legend(): common.VizLegendOptionsBuilder {
  return new common.VizLegendOptionsBuilder()
    .showLegend(true)
    .displayMode(common.LegendDisplayMode.List)
    .placement(common.LegendPlacement.Bottom)
    .calcs(['lastNotNull', 'max']);
}

function tooltip(): common.VizTooltipOptionsBuilder {
  return new common.VizTooltipOptionsBuilder().mode(common.TooltipDisplayMode.Multi).sort(common.SortOrder.Descending);
}

/** A ClickHouse time series panel (wide or long frame). */
export function clickhouseTimeseriesPanel(p: PanelSql, datasourceUid: string, gridPos: dashboard.GridPos): timeseries.PanelBuilder {
  return new timeseries.PanelBuilder()
    .id(p.id)
    .title(p.title)
    .datasource(clickhouseDs(datasourceUid))
    .withTarget(clickhouseQuery({ refId: 'A', datasourceUid, rawSql: p.rawSql, kind: 'timeSeries' }))
    // Rollups are per minute; a finer interval would only repeat points.
    .interval('1m')
    .gridPos(gridPos)
    .legend(legend())
    .tooltip(tooltip())
    .lineWidth(2)
    .fillOpacity(10)
    .spanNulls(false);
}

/** A ClickHouse table panel. */
export function clickhouseTablePanel(p: PanelSql, datasourceUid: string, gridPos: dashboard.GridPos): table.PanelBuilder {
  return new table.PanelBuilder()
    .id(p.id)
    .title(p.title)
    .datasource(clickhouseDs(datasourceUid))
    .withTarget(clickhouseQuery({ refId: 'A', datasourceUid, rawSql: p.rawSql, kind: 'table' }))
    .interval('1m')
    .gridPos(gridPos);
}

/** A Prometheus time series panel on the data source picked in the `prometheus` variable. */
export function prometheusTimeseriesPanel(p: PromPanel, gridPos: dashboard.GridPos): timeseries.PanelBuilder {
  const ds = { type: PROMETHEUS_TYPE, uid: `\${${PROMETHEUS_DS_VAR}}` };
  const b = new timeseries.PanelBuilder()
    .id(p.id)
    .title(p.title)
    .description(p.description)
    .datasource(ds)
    .gridPos(gridPos)
    .unit(p.unit)
    .min(0)
    .legend(legend())
    .tooltip(tooltip())
    .lineWidth(2)
    .fillOpacity(10);
  p.queries.forEach(([legendFormat, expr], i) => {
    b.withTarget(
      new prometheus.DataqueryBuilder()
        .refId(String.fromCharCode(65 + i))
        .datasource(ds)
        .expr(expr)
        .legendFormat(legendFormat)
        .editorMode(prometheus.QueryEditorMode.Code)
        .range(),
    );
  });
  return b;
}
