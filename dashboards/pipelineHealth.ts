/**
 * Pipeline health: Vigie watching itself. Consumer lag, throughput, ClickHouse insert
 * latency, DLQ and outbox depth and rule evaluation time come from Vigie's own
 * Prometheus endpoint (self-metrics, so a Prometheus data source picked in the
 * `prometheus` variable); ingest volume and data freshness come from the rollups, so
 * the dashboard still shows a stalled pipeline when Prometheus is not scraping.
 */
import { sqlTarget } from '../schema/queries.ts';
import * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import {
  clickhouseTablePanel,
  clickhouseTimeseriesPanel,
  panelById,
  prometheusTimeseriesPanel,
  vigieDashboard,
  PROMETHEUS_DS_VAR,
  PROMETHEUS_TYPE,
  type DashboardOptions,
  type PanelSql,
  type PromPanel,
} from './panels.ts';
import { dataFreshnessSql, ingestVolumeSql } from './sql.ts';

/** Options of {@link buildPipelineHealthDashboard}. */
export interface PipelineHealthDashboardOptions extends DashboardOptions {
  /** Uid of the Prometheus data source selected by default in the `prometheus` variable. */
  readonly prometheusUid: string;
}

/** Stable uid of the pipeline-health dashboard. */
export const PIPELINE_HEALTH_DASHBOARD_UID = 'vigie-pipeline-health';

/** Vigie's self-metric names as the Prometheus exporter exposes them (no unit suffix). */
export const SELF_METRICS = {
  messages: 'pipeline_messages_total',
  dlq: 'pipeline_dlq_total',
  insertDurationBucket: 'pipeline_clickhouse_insert_duration_bucket',
  ruleEvalBucket: 'alerts_rules_evaluation_duration_bucket',
  outboxDepth: 'alerts_outbox_depth',
  consumerLag: 'pipeline_consumer_lag',
} as const;

/** Panel ids, fixed. ClickHouse panels first, then Prometheus ones. */
export const PIPELINE_HEALTH_PANEL_IDS = {
  ingestVolume: 1,
  freshness: 2,
  consumerLag: 3,
  throughput: 4,
  insertLatency: 5,
  dlq: 6,
  outbox: 7,
  ruleEval: 8,
} as const;

/** The ClickHouse panels' SQL. */
export function pipelineHealthPanelSql(opts: { database: string }): PanelSql[] {
  const t = sqlTarget(opts);
  return [
    { id: PIPELINE_HEALTH_PANEL_IDS.ingestVolume, title: 'Samples stored per interval (rollups)', kind: 'timeseries', rawSql: ingestVolumeSql(t) },
    {
      id: PIPELINE_HEALTH_PANEL_IDS.freshness,
      title: 'Data freshness by faculty',
      kind: 'table',
      rawSql: dataFreshnessSql(t),
      columns: ['faculty', 'newest_minute', 'age_seconds'],
    },
  ];
}

const q = (quantile: number, bucket: string): string =>
  `histogram_quantile(${quantile}, sum by (le) (rate(${bucket}[$__rate_interval])))`;

/** The Prometheus panels (self-metrics). */
export function pipelineHealthPromPanels(): PromPanel[] {
  const S = SELF_METRICS;
  return [
    {
      id: PIPELINE_HEALTH_PANEL_IDS.consumerLag,
      title: 'Kafka consumer lag',
      description: 'Messages behind the end of otlp_metrics; a lag that grows means the pipeline cannot keep up.',
      unit: 'short',
      queries: [['lag', `sum(${S.consumerLag})`]],
    },
    {
      id: PIPELINE_HEALTH_PANEL_IDS.throughput,
      title: 'Messages consumed per second',
      description: 'OTLP messages consumed and committed; zero on a session morning means a stalled pipeline.',
      unit: 'short',
      queries: [['messages/s', `sum(rate(${S.messages}[$__rate_interval]))`]],
    },
    {
      id: PIPELINE_HEALTH_PANEL_IDS.insertLatency,
      title: 'ClickHouse insert latency',
      description: 'Duration of acknowledged inserts (p50, p95, p99).',
      unit: 's',
      queries: [
        ['p50', q(0.5, S.insertDurationBucket)],
        ['p95', q(0.95, S.insertDurationBucket)],
        ['p99', q(0.99, S.insertDurationBucket)],
      ],
    },
    {
      id: PIPELINE_HEALTH_PANEL_IDS.dlq,
      title: 'Dead-letter messages',
      description: 'Messages sent to otlp_metrics.dlq per interval, by reason. Anything above zero deserves a look.',
      unit: 'short',
      queries: [['{{reason}}', `sum by (reason) (increase(${S.dlq}[$__rate_interval]))`]],
    },
    {
      id: PIPELINE_HEALTH_PANEL_IDS.outbox,
      title: 'Notification outbox depth',
      description: 'Notifications waiting in the durable outbox; growing means a receiver is unreachable.',
      unit: 'short',
      queries: [['outbox', `sum(${S.outboxDepth})`]],
    },
    {
      id: PIPELINE_HEALTH_PANEL_IDS.ruleEval,
      title: 'Rule evaluation time',
      description: 'Duration of one rule-group evaluation (p50, p95).',
      unit: 's',
      queries: [
        ['p50', q(0.5, S.ruleEvalBucket)],
        ['p95', q(0.95, S.ruleEvalBucket)],
      ],
    },
  ];
}

/** Builds the pipeline-health dashboard. */
export function buildPipelineHealthDashboard(opts: PipelineHealthDashboardOptions): dashboard.DashboardBuilder {
  const panels = pipelineHealthPanelSql(opts);
  const byId = (id: number): PanelSql => panelById(panels, id, 'pipeline health');
  const uid = opts.datasourceUid;

  const promVar = new dashboard.DatasourceVariableBuilder(PROMETHEUS_DS_VAR)
    .label('Prometheus')
    .type(PROMETHEUS_TYPE)
    .current({ selected: true, text: opts.prometheusUid, value: opts.prometheusUid });

  const volume = clickhouseTimeseriesPanel(byId(PIPELINE_HEALTH_PANEL_IDS.ingestVolume), uid, { x: 0, y: 0, w: 12, h: 8 })
    .description('Samples that reached the per-minute rollups; a drop to zero while exams run is a stalled pipeline.')
    .unit('short')
    .min(0);
  const fresh = clickhouseTablePanel(byId(PIPELINE_HEALTH_PANEL_IDS.freshness), uid, { x: 12, y: 0, w: 12, h: 8 })
    .description('Newest rollup minute per faculty and its age at the end of the range.')
    .overrideByName('age_seconds', [
      { id: 'unit', value: 's' },
      {
        id: 'thresholds',
        value: new dashboard.ThresholdsConfigBuilder()
          .mode(dashboard.ThresholdsMode.Absolute)
          .steps([
            { value: null, color: 'green' },
            { value: 180, color: 'orange' },
            { value: 600, color: 'red' },
          ])
          .build(),
      },
    ]);

  let b = vigieDashboard('Vigie — pipeline health', PIPELINE_HEALTH_DASHBOARD_UID, "Vigie's own health: consumer lag, insert latency, DLQ, outbox, rule evaluation, data freshness.", ['vigie', 'self-monitoring'])
    .withVariable(promVar)
    .withPanel(volume)
    .withPanel(fresh);
  pipelineHealthPromPanels().forEach((p, i) => {
    b = b.withPanel(prometheusTimeseriesPanel(p, { x: (i % 2) * 12, y: 8 + Math.floor(i / 2) * 8, w: 12, h: 8 }));
  });
  return b;
}
