/**
 * Stage: dashboards (Grafana generation).
 *
 * In: the ClickHouse schema's table and column names (`schema/tables.ts`) and
 * shared reader SQL (`schema/queries.ts`), the database name and the Grafana
 * data source uids. Out: four Grafana dashboards built with the foundation SDK (session
 * overview, faculty, exam morning, pipeline health), plus provisioning YAML (ClickHouse
 * and Prometheus data sources, dashboard file provider) that a stock Grafana with the
 * `grafana-clickhouse-datasource` plugin (v4.x) loads at start-up. Feeds: people,
 * through Grafana; nothing downstream in Vigie.
 */
export { buildDashboards, dashboardJson, type BuildDashboardsOptions } from './build.ts';
export { dashboardCatalog, type DashboardQueries } from './catalog.ts';
export {
  buildFacultyDashboard,
  facultyAnnotationSql,
  facultyPanelSql,
  FACULTY_DASHBOARD_UID,
  FACULTY_PANEL_IDS,
  type FacultyDashboardOptions,
} from './faculty.ts';
export {
  buildOverviewDashboard,
  overviewAnnotationSql,
  overviewPanelSql,
  OVERVIEW_DASHBOARD_UID,
  OVERVIEW_PANEL_IDS,
  type OverviewDashboardOptions,
} from './overview.ts';
export {
  buildExamMorningDashboard,
  examMorningAnnotationSql,
  examMorningPanelSql,
  EXAM_MORNING_DASHBOARD_UID,
  EXAM_MORNING_PANEL_IDS,
  type ExamMorningDashboardOptions,
} from './examMorning.ts';
export {
  buildPipelineHealthDashboard,
  pipelineHealthPanelSql,
  pipelineHealthPromPanels,
  PIPELINE_HEALTH_DASHBOARD_UID,
  PIPELINE_HEALTH_PANEL_IDS,
  SELF_METRICS,
  type PipelineHealthDashboardOptions,
} from './pipelineHealth.ts';
export { PROMETHEUS_TYPE, type PanelKind, type PanelSql, type PromPanel } from './panels.ts';
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
export { counterIncreaseSql, counterRollupSql, facultyVariableSql, histogramQuantileSql, PANEL_METRICS, saturationForecastSql, type FacultyScope } from './sql.ts';
