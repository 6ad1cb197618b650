/**
 * A typed query for the `grafana-clickhouse-datasource` plugin (v4.x), as a foundation-SDK
 * builder. The SDK ships no ClickHouse query type, so this is the one place that knows
 * the plugin's query JSON: `rawSql`, `editorType`, `queryType` and the numeric `format`.
 */
import type * as cog from '@grafana/grafana-foundation-sdk/cog';
import type * as common from '@grafana/grafana-foundation-sdk/common';

/** Plugin id of the official ClickHouse data source. */
export const CLICKHOUSE_PLUGIN_TYPE = 'grafana-clickhouse-datasource';

/**
 * Result formats of plugin v4. The backend (sqlds) decodes `format` as an integer
 * `sqlutil.FormatQueryOption`: 0 time series (long frames pivoted with LongToWide),
 * 1 table, 2 logs, 3 traces. A string here would silently fall back to time series.
 */
export const ClickHouseFormat = {
  timeSeries: 0,
  table: 1,
  logs: 2,
  traces: 3,
} as const;
/** One of {@link ClickHouseFormat}'s values. */
export type ClickHouseFormat = (typeof ClickHouseFormat)[keyof typeof ClickHouseFormat];

/** The plugin's `QueryType` enum (note the camel case of `timeSeries`). */
export type ClickHouseQueryType = 'timeSeries' | 'table' | 'logs' | 'traces';

/** The query JSON the plugin reads from a panel target. */
export interface ClickHouseQuery extends cog.Dataquery {
  refId: string;
  datasource: common.DataSourceRef;
  rawSql: string;
  editorType: 'sql';
  queryType: ClickHouseQueryType;
  format: ClickHouseFormat;
  /** Plugin field: expand the SQL editor; kept false so generated JSON is stable. */
  expand?: boolean;
}

/** Builder for {@link ClickHouseQuery}, usable wherever the SDK takes a `cog.Builder<cog.Dataquery>`. */
export class ClickHouseQueryBuilder implements cog.Builder<cog.Dataquery> {
  private readonly internal: ClickHouseQuery;

  constructor() {
    this.internal = {
      refId: 'A',
      datasource: { type: CLICKHOUSE_PLUGIN_TYPE },
      rawSql: '',
      editorType: 'sql',
      queryType: 'table',
      format: ClickHouseFormat.table,
      // Marker the SDK's Dataquery variant needs; a function, so JSON.stringify drops it.
      _implementsDataqueryVariant: () => {},
    };
  }

  /** Builds the query object. */
  build(): ClickHouseQuery {
    return this.internal;
  }

  /** Query reference id within its panel (A, B, …). */
  refId(refId: string): this {
    this.internal.refId = refId;
    return this;
  }

  /** Data source by uid; the type is always the ClickHouse plugin. */
  datasourceUid(uid: string): this {
    this.internal.datasource = { type: CLICKHOUSE_PLUGIN_TYPE, uid };
    return this;
  }

  /** Raw SQL with the plugin's macros and Grafana variables still in it. */
  rawSql(sql: string): this {
    this.internal.rawSql = sql;
    return this;
  }

  /** Time series result: first column `time`, then labels (strings) and values; sorted by time. */
  timeSeries(): this {
    this.internal.queryType = 'timeSeries';
    this.internal.format = ClickHouseFormat.timeSeries;
    return this;
  }

  /** Table result, passed to the panel as is. */
  table(): this {
    this.internal.queryType = 'table';
    this.internal.format = ClickHouseFormat.table;
    return this;
  }
}

/** Shorthand: a ClickHouse SQL query builder for one data source. */
export function clickhouseQuery(opts: {
  refId: string;
  datasourceUid: string;
  rawSql: string;
  kind: 'timeSeries' | 'table';
}): ClickHouseQueryBuilder {
  const b = new ClickHouseQueryBuilder().refId(opts.refId).datasourceUid(opts.datasourceUid).rawSql(opts.rawSql);
  return opts.kind === 'timeSeries' ? b.timeSeries() : b.table();
}
