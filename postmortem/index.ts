/**
 * Stage: post-mortem.
 *
 * In: a ClickHouse client on Vigie's database (per-minute rollups `samples_1m`, the
 * `series` labels, `alerts_log`, `exam_schedule`) and a time window. Out: a
 * `PostmortemReport` (timeline of alert transitions, collapse minute, first deviation,
 * per-faculty peaks, page lead times), its text rendering for the CLI, a self-contained
 * HTML report with server-side SVG charts and a Markdown summary, saved SQL queries
 * (`./queries/*.sql`); the timetable is written by `schedule/`. Feeds: people after an incident.
 */
export {
  analyse,
  isPage,
  leadTimeOf,
  postmortem,
  type AlertEvent,
  type Collapse,
  type Deviation,
  type FacultySummary,
  type MinuteStats,
  type Moment,
  type Page,
  type PostmortemOptions,
  type PostmortemReport,
  postmortemSql,
  type PostmortemSql,
} from './report.ts';
export { writePostmortemReport, type WriteReportOptions, type WrittenReport } from './reportFiles.ts';
export { renderReportHtml, escapeHtml, type ReportHtmlInput } from './html.ts';
export { renderReportMarkdown } from './markdown.ts';
export { firstDeviationChart, latencyChart, leadTimeChart, renderSvg, sessionsChart, timelineChart, type Chart } from './charts.ts';
export { createProgress, silentProgress, type Progress, type ProgressStream } from './progress.ts';
export {
  bindParams,
  formatResult,
  listSavedQueries,
  loadSavedQuery,
  parseSavedQuery,
  runSavedQuery,
  SAVED_QUERIES_DIR,
  type QueryResult,
  type SavedQuery,
  type SavedQueryParam,
} from './savedQueries.ts';
export { formatLead, formatPostmortemText } from './format.ts';
export { histogramQuantile, parseLe, type Bucket } from './histogramQuantile.ts';
