import { describe, expect, it } from 'vitest';
import { manualClock } from '../../../core/clock.ts';
import { createAlertmanagerNotifier } from '../../../alerts/notifiers/alertmanager.ts';
import { buildWebhookBody, createWebhookNotifier } from '../../../alerts/notifiers/webhook.ts';
import type { Notification } from '../../../alerts/notifiers/types.ts';
import { createAlertsLogWriter } from '../../../alerts/alertsLog.ts';
import { T0 } from './helpers.ts';

interface Call {
  url: string;
  body: unknown;
}

function fakeFetch(statuses: number[] = []): { fetch: typeof fetch; calls: Call[] } {
  const calls: Call[] = [];
  const f = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), body: JSON.parse(String(init?.body)) });
    const status = statuses.shift() ?? 200;
    return new Response(status === 200 ? '' : 'boom', { status });
  }) as typeof fetch;
  return { fetch: f, calls };
}

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

describe('Alertmanager notifier', () => {
  it('sends firing alerts without endsAt, re-sends every resendInterval, then the resolve with endsAt', async () => {
    const clock = manualClock(T0);
    const { fetch, calls } = fakeFetch();
    const notify = createAlertmanagerNotifier({ url: 'http://am:9093/', fetch, clock: clock.now, resendIntervalMs: 60_000 });
    for (let i = 0; i < 9; i++) {
      await notify([firing]);
      clock.advance(15_000);
    }
    // t = 0, 60, 120 s.
    expect(calls).toHaveLength(3);
    expect(calls[0]!.url).toBe('http://am:9093/api/v2/alerts');
    expect(calls[0]!.body).toEqual([
      { labels: firing.labels, annotations: firing.annotations, startsAt: new Date(T0).toISOString(), generatorURL: firing.generatorURL },
    ]);
    await notify([resolved]);
    await notify([resolved]);
    expect(calls).toHaveLength(4);
    expect(calls[3]!.body).toEqual([expect.objectContaining({ endsAt: new Date(T0 + 600_000).toISOString() })]);
  });

  it('retries 5xx, and a failed send is attempted again at the next evaluation', async () => {
    const clock = manualClock(T0);
    const { fetch, calls } = fakeFetch([503, 200, 500, 500, 500]);
    const notify = createAlertmanagerNotifier({ url: 'http://am', fetch, clock: clock.now, retries: 2, sleep: async () => undefined });
    await notify([firing]);
    expect(calls).toHaveLength(2);
    clock.advance(60_000);
    await expect(notify([firing])).rejects.toThrow(/answered 500/);
    expect(calls).toHaveLength(5);
    clock.advance(15_000);
    await notify([firing]);
    expect(calls).toHaveLength(6);
  });

  it('does not retry 4xx', async () => {
    const { fetch, calls } = fakeFetch([400]);
    const notify = createAlertmanagerNotifier({ url: 'http://am', fetch, clock: () => T0, sleep: async () => undefined });
    await expect(notify([firing])).rejects.toThrow(/400.*not retried/);
    expect(calls).toHaveLength(1);
  });
});

describe('webhook notifier', () => {
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

  it('posts only status changes', async () => {
    const { fetch, calls } = fakeFetch();
    const notify = createWebhookNotifier({ url: 'http://hook/x', fetch });
    await notify([firing]);
    await notify([firing]);
    await notify([resolved]);
    await notify([resolved]);
    expect(calls.map((c) => (c.body as { status: string }).status)).toEqual(['firing', 'resolved']);
    expect((calls[1]!.body as { alerts: { endsAt: string }[] }).alerts[0]!.endsAt).toBe(new Date(T0 + 600_000).toISOString());
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

describe('delivery backlog', () => {
  it('coalesces calls made while a slow delivery runs, keeping superseded resolves', async () => {
    const bodies: unknown[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slowFetch = (async (_url: string | URL | Request, init?: RequestInit) => {
      bodies.push(JSON.parse(String(init?.body)));
      if (bodies.length === 1) await gate;
      return new Response('', { status: 200 });
    }) as typeof fetch;
    const clock = manualClock(T0);
    const notify = createAlertmanagerNotifier({ url: 'http://am', fetch: slowFetch, clock: clock.now, resendIntervalMs: 0 });
    const other: Notification = { ...firing, fingerprint: '99', labels: { ...firing.labels, faculty: 'law' } };
    const p1 = notify([firing, other]);
    const pending = [notify([firing, { ...other, status: 'resolved', endsAt: T0 + 1 }]), notify([firing]), notify([firing])];
    release();
    await Promise.all([p1, ...pending]);
    expect(bodies).toHaveLength(2);
    const second = bodies[1] as { labels: Record<string, string>; endsAt?: string }[];
    expect(second.map((a) => [a.labels['faculty'], a.endsAt !== undefined])).toEqual([
      ['med', false],
      ['law', true],
    ]);
  });
});
