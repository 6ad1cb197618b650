/**
 * Every ClickHouse query of every generated dashboard in one list (panels and
 * annotations), so tests run each on chDB and the benchmark times each on a day of data.
 * Prometheus panels are listed apart: they run on Prometheus, not ClickHouse.
 */
import { EXAM_MORNING_DASHBOARD_UID, examMorningAnnotationSql, examMorningPanelSql } from './examMorning.ts';
import { FACULTY_DASHBOARD_UID, facultyAnnotationSql, facultyPanelSql } from './faculty.ts';
import { OVERVIEW_DASHBOARD_UID, overviewAnnotationSql, overviewPanelSql } from './overview.ts';
import type { CounterSource } from '../schema/queries.ts';
import type { PanelSql, PromPanel } from './panels.ts';
import { PIPELINE_HEALTH_DASHBOARD_UID, pipelineHealthPanelSql, pipelineHealthPromPanels } from './pipelineHealth.ts';

/** One dashboard's ClickHouse queries. */
export interface DashboardQueries {
  readonly uid: string;
  readonly panels: readonly PanelSql[];
  /** Annotation SQL by annotation name (`time, text, tags`). */
  readonly annotations: Readonly<Record<string, string>>;
  readonly prometheus: readonly PromPanel[];
}

/** The ClickHouse queries of all four dashboards. */
export function dashboardCatalog(opts: { database: string; datasourceUid: string; counterSource?: CounterSource }): DashboardQueries[] {
  return [
    { uid: OVERVIEW_DASHBOARD_UID, panels: overviewPanelSql(opts), annotations: overviewAnnotationSql(opts), prometheus: [] },
    { uid: FACULTY_DASHBOARD_UID, panels: facultyPanelSql(opts), annotations: { Alerts: facultyAnnotationSql(opts) }, prometheus: [] },
    { uid: EXAM_MORNING_DASHBOARD_UID, panels: examMorningPanelSql(opts), annotations: examMorningAnnotationSql(opts), prometheus: [] },
    { uid: PIPELINE_HEALTH_DASHBOARD_UID, panels: pipelineHealthPanelSql(opts), annotations: {}, prometheus: pipelineHealthPromPanels() },
  ];
}
