/** The ClickHouse query builder emits the plugin's query JSON. */
import { describe, expect, it } from 'vitest';
import { clickhouseQuery, ClickHouseQueryBuilder } from '../../../dashboards/index.ts';

describe('ClickHouseQueryBuilder', () => {
  it('serializes to the plugin v4 query model', () => {
    const q = clickhouseQuery({ refId: 'B', datasourceUid: 'ch', rawSql: 'SELECT 1', kind: 'timeSeries' }).build();
    expect(JSON.parse(JSON.stringify(q))).toEqual({
      refId: 'B',
      datasource: { type: 'grafana-clickhouse-datasource', uid: 'ch' },
      rawSql: 'SELECT 1',
      editorType: 'sql',
      queryType: 'timeSeries',
      format: 0,
    });
  });

  it('defaults to a table query and switches format with the kind', () => {
    const b = new ClickHouseQueryBuilder();
    expect(b.build()).toMatchObject({ queryType: 'table', format: 1, refId: 'A' });
    expect(b.timeSeries().build()).toMatchObject({ queryType: 'timeSeries', format: 0 });
    expect(b.table().build()).toMatchObject({ queryType: 'table', format: 1 });
  });
});
