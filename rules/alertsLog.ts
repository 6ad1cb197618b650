/**
 * Writes alert state transitions into ClickHouse `alerts_log` (names from the pipeline's
 * schema module) as JSONEachRow. No per-insert `clickhouse_settings`: on the chDB
 * connection they would stick to the connection (see PITFALLS).
 */
import type { ClickHouseClient } from '@clickhouse/client';
import { ALERTS_LOG, TABLES } from '../schema/tables.ts';
import type { AlertTransition } from './engine.ts';

/** The part of the ClickHouse client the writer uses (a fake in unit tests). */
export type AlertsLogClient = Pick<ClickHouseClient, 'insert'>;

/** One alerts_log row in JSONEachRow form (DateTime64(3) as epoch ms). */
export function toAlertsLogRow(t: AlertTransition): Record<string, unknown> {
  return {
    [ALERTS_LOG.timestamp]: t.at,
    [ALERTS_LOG.rule]: t.rule,
    [ALERTS_LOG.fingerprint]: t.fingerprint,
    [ALERTS_LOG.state]: t.state,
    [ALERTS_LOG.labels]: { ...t.labels },
    [ALERTS_LOG.annotations]: { ...t.annotations },
    // JSON has no NaN/Inf; null becomes the column default (0) with input_format_null_as_default.
    [ALERTS_LOG.value]: Number.isFinite(t.value) ? t.value : null,
    [ALERTS_LOG.activeAt]: t.activeAt,
  };
}

/** Creates the transitions sink for `createRuleEngine({ onTransitions })`. */
export function createAlertsLogWriter(client: AlertsLogClient, database: string): (transitions: readonly AlertTransition[]) => Promise<void> {
  const table = `${database}.${TABLES.alertsLog}`;
  return async (transitions) => {
    if (transitions.length === 0) return;
    await client.insert({ table, values: transitions.map(toAlertsLogRow), format: 'JSONEachRow' });
  };
}
