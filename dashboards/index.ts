/**
 * Stage: dashboards (Grafana generation).
 *
 * In: the ClickHouse schema's table and column names (`pipeline/schema/tables.ts`), the
 * database name and the Grafana data source uid. Out: Grafana dashboard JSON built with
 * the foundation SDK, plus provisioning YAML (ClickHouse data source, dashboard file
 * provider) that a stock Grafana with the `grafana-clickhouse-datasource` plugin (v4.x)
 * loads at start-up. Feeds: people, through Grafana; nothing downstream in Vigie.
 */
export { buildDashboards, dashboardJson, type BuildDashboardsOptions } from './build.ts';
export {
  buildFacultyDashboard,
  facultyAnnotationSql,
  facultyPanelSql,
  FACULTY_DASHBOARD_UID,
  FACULTY_PANEL_IDS,
  type FacultyDashboardOptions,
  type PanelKind,
  type PanelSql,
} from './faculty.ts';
export {
  ClickHouseFormat,
  ClickHouseQueryBuilder,
  CLICKHOUSE_PLUGIN_TYPE,
  clickhouseQuery,
  type ClickHouseQuery,
  type ClickHouseQueryType,
} from './clickhouseQuery.ts';
export { expandMacros, type MacroContext } from './macros.ts';
export {
  dashboardProviderYaml,
  datasourceYaml,
  parseProvisioningOptions,
  type ProvisioningOptions,
  type ProvisioningOptionsInput,
} from './provisioning.ts';
export { counterIncreaseSql, facultyVariableSql, histogramQuantileSql, PANEL_METRICS } from './sql.ts';
