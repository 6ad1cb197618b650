import { describe, expect, it } from 'vitest';
import { buildWebhookBody } from '../../../paging/receivers/webhook.ts';
import type { Notification } from '../../../paging/receivers/types.ts';
import { createAlertsLogWriter } from '../../../rules/alertsLog.ts';
import { T0 } from './helpers.ts';

const firing: Notification = {
  fingerprint: '12345678901234567890',
  status: 'firing',
  labels: { alertname: 'FacultySessionsSaturationForecast', faculty: 'med', severity: 'page' },
  annotations: { summary: 'med sessions will reach capacity in ~8 min' },
  startsAt: T0,
  generatorURL: 'http://vigie/graph?g0.expr=x',
  value: 8,
};
const resolved: Notification = { ...firing, status: 'resolved', endsAt: T0 + 600_000 };

describe('webhook body', () => {
  it('builds an Alertmanager v4 webhook body', () => {
    const body = buildWebhookBody([firing, { ...firing, fingerprint: '7', labels: { ...firing.labels, faculty: 'law' } }], { alertname: 'FacultySessionsSaturationForecast' }, { receiver: 'oncall', externalURL: 'http://vigie' });
    expect(body).toMatchObject({
      version: '4',
      groupKey: '{}:{alertname="FacultySessionsSaturationForecast"}',
      status: 'firing',
      receiver: 'oncall',
      groupLabels: { alertname: 'FacultySessionsSaturationForecast' },
      commonLabels: { alertname: 'FacultySessionsSaturationForecast', severity: 'page' },
      commonAnnotations: { summary: firing.annotations['summary'] },
      externalURL: 'http://vigie',
    });
    expect(body.alerts[0]).toEqual({
      status: 'firing',
      labels: firing.labels,
      annotations: firing.annotations,
      startsAt: new Date(T0).toISOString(),
      endsAt: '0001-01-01T00:00:00Z',
      generatorURL: firing.generatorURL,
      fingerprint: BigInt(firing.fingerprint).toString(16).padStart(16, '0'),
    });
  });
});

describe('alerts_log writer', () => {
  it('inserts transitions as JSONEachRow without clickhouse_settings', async () => {
    const inserts: Record<string, unknown>[] = [];
    const client = {
      insert: async (params: Record<string, unknown>) => {
        inserts.push(params);
        return { executed: true, query_id: 'q', summary: undefined, response_headers: {} };
      },
    };
    const write = createAlertsLogWriter(client as never, 'vigie');
    await write([]);
    await write([{ rule: 'A', group: 'g', fingerprint: '42', state: 'firing', labels: { alertname: 'A' }, annotations: { s: 'x' }, value: NaN, activeAt: T0, at: T0 + 60_000 }]);
    expect(inserts).toHaveLength(1);
    expect(inserts[0]).toEqual({
      table: 'vigie.alerts_log',
      format: 'JSONEachRow',
      values: [{ timestamp: T0 + 60_000, rule: 'A', fingerprint: '42', state: 'firing', labels: { alertname: 'A' }, annotations: { s: 'x' }, value: null, active_at: T0 }],
    });
  });
});
