/**
 * The exam-morning dashboard: the load each exam brings, against the schedule. Exam
 * starts (from `exam_schedule`) and alert transitions (from `alerts_log`) are
 * annotations, so a coordinator sees "SCI-101 starts" and "ExamSessionsNearCapacity
 * firing" on the same time axis as the sessions curve. The `faculties` variable is
 * multi-value with "All".
 */
import { sqlTarget } from '../schema/queries.ts';
import * as common from '@grafana/grafana-foundation-sdk/common';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { clickhouseAnnotation, clickhouseDs, clickhouseTablePanel, clickhouseTimeseriesPanel, panelById, vigieDashboard, type DashboardOptions, type PanelSql } from './panels.ts';
import {
  alertAnnotationsSql,
  examScheduleTableSql,
  examStartAnnotationsSql,
  facultyVariableSql,
  latencyByFacultySql,
  requestsByFacultySql,
  sessionsByExamSql,
  sessionsVsCapacitySql,
} from './sql.ts';

/** Options of {@link buildExamMorningDashboard}. */
export type ExamMorningDashboardOptions = DashboardOptions;

/** Stable uid of the exam-morning dashboard. */
export const EXAM_MORNING_DASHBOARD_UID = 'vigie-exam-morning';

/** Panel ids, fixed. */
export const EXAM_MORNING_PANEL_IDS = {
  sessionsByExam: 1,
  sessionsVsCapacity: 2,
  requests: 3,
  latency: 4,
  schedule: 5,
} as const;

/** The SQL of every panel, in panel-id order. */
export function examMorningPanelSql(opts: ExamMorningDashboardOptions): PanelSql[] {
  const t = sqlTarget(opts);
  return [
    { id: EXAM_MORNING_PANEL_IDS.sessionsByExam, title: 'Sessions by exam', kind: 'timeseriesLong', rawSql: sessionsByExamSql(t, 'faculties') },
    { id: EXAM_MORNING_PANEL_IDS.sessionsVsCapacity, title: 'Sessions vs capacity (selected faculties)', kind: 'timeseries', rawSql: sessionsVsCapacitySql(t, 'faculties') },
    { id: EXAM_MORNING_PANEL_IDS.requests, title: 'Requests by faculty', kind: 'timeseriesLong', rawSql: requestsByFacultySql(t, 'faculties') },
    { id: EXAM_MORNING_PANEL_IDS.latency, title: 'p95 latency by faculty', kind: 'timeseriesLong', rawSql: latencyByFacultySql(t, 'faculties') },
    {
      id: EXAM_MORNING_PANEL_IDS.schedule,
      title: 'Exam schedule',
      kind: 'table',
      rawSql: examScheduleTableSql(t, 'faculties'),
      columns: ['start', 'exam_id', 'faculty', 'enrolled', 'duration_min', 'peak_sessions', 'peak_share_of_enrolled'],
    },
  ];
}

/** SQL of the annotation queries, by name. */
export function examMorningAnnotationSql(opts: ExamMorningDashboardOptions): Record<string, string> {
  const t = sqlTarget(opts);
  return {
    'Exam starts': examStartAnnotationsSql(t, 'faculties'),
    Alerts: alertAnnotationsSql(t, 'faculties'),
  };
}

/** Builds the exam-morning dashboard. */
export function buildExamMorningDashboard(opts: ExamMorningDashboardOptions): dashboard.DashboardBuilder {
  const panels = examMorningPanelSql(opts);
  const byId = (id: number): PanelSql => panelById(panels, id, 'exam morning');
  const uid = opts.datasourceUid;
  const ds = clickhouseDs(uid);
  const annotations = examMorningAnnotationSql(opts);

  const facultiesVar = new dashboard.QueryVariableBuilder('faculties')
    .label('Faculties')
    .datasource(ds)
    .query(facultyVariableSql({ database: opts.database }))
    .definition(facultyVariableSql({ database: opts.database }))
    .refresh(dashboard.VariableRefresh.OnDashboardLoad)
    .sort(dashboard.VariableSort.AlphabeticalAsc)
    .multi(true)
    .includeAll(true)
    .current({ selected: true, text: ['All'], value: ['$__all'] });

  const byExam = clickhouseTimeseriesPanel(byId(EXAM_MORNING_PANEL_IDS.sessionsByExam), uid, { x: 0, y: 0, w: 24, h: 10 })
    .description('Active sessions per exam, stacked; exam starts are marked as annotations.')
    .unit('short')
    .min(0)
    .stacking(new common.StackingConfigBuilder().mode(common.StackingMode.Normal));

  const vsCap = clickhouseTimeseriesPanel(byId(EXAM_MORNING_PANEL_IDS.sessionsVsCapacity), uid, { x: 0, y: 10, w: 12, h: 9 })
    .description('Sessions summed over the selected faculties against their tested capacity.')
    .unit('short')
    .min(0)
    .overrideByName('capacity', [
      { id: 'custom.lineStyle', value: { fill: 'dash', dash: [10, 10] } },
      { id: 'custom.fillOpacity', value: 0 },
      { id: 'color', value: { mode: 'fixed', fixedColor: 'red' } },
    ]);

  const requests = clickhouseTimeseriesPanel(byId(EXAM_MORNING_PANEL_IDS.requests), uid, { x: 12, y: 10, w: 12, h: 9 })
    .description('Requests per interval per faculty (increase of http_server_request_duration_count).')
    .unit('short')
    .min(0);

  const latency = clickhouseTimeseriesPanel(byId(EXAM_MORNING_PANEL_IDS.latency), uid, { x: 0, y: 19, w: 12, h: 9 })
    .description('p95 request duration per faculty.')
    .unit('s')
    .min(0);

  const schedule = clickhouseTablePanel(byId(EXAM_MORNING_PANEL_IDS.schedule), uid, { x: 12, y: 19, w: 12, h: 9 })
    .description('Exams overlapping the range, with the peak sessions seen and their share of the enrolment.')
    .noValue('No exam scheduled in range (write one with writeSchedule)')
    .overrideByName('peak_share_of_enrolled', [{ id: 'unit', value: 'percentunit' }]);

  return vigieDashboard('Vigie — exam morning', EXAM_MORNING_DASHBOARD_UID, 'The load each exam brings, with exam starts and alert transitions as annotations.', ['vigie', 'exams'], 'now-4h')
    .withVariable(facultiesVar)
    .annotation(
      clickhouseAnnotation('Exam starts', 'blue', 'Exams', uid, annotations['Exam starts']!),
    )
    .annotation(
      clickhouseAnnotation('Alerts', 'red', 'Alerts', uid, annotations['Alerts']!),
    )
    .withPanel(byExam)
    .withPanel(vsCap)
    .withPanel(requests)
    .withPanel(latency)
    .withPanel(schedule);
}
