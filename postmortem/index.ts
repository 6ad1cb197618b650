/**
 * Stage: post-mortem.
 *
 * In: a ClickHouse client on Vigie's database (per-minute rollups `samples_1m`, the
 * `series` labels and `alerts_log`) and a time window. Out: a `PostmortemReport`
 * (timeline of alert transitions, collapse minute, first deviation, per-faculty peaks,
 * page lead times) and its text rendering for the CLI. Feeds: people after an incident.
 */
export {
  analyse,
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
} from './report.ts';
export { formatLead, formatPostmortemText } from './format.ts';
export { histogramQuantile, parseLe, type Bucket } from './histogramQuantile.ts';
