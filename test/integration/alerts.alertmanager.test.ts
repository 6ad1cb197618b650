/**
 * The rules engine pages through a real Prometheus Alertmanager: a firing alert reaches
 * the webhook receiver behind it, and the resolve (sent with endsAt) follows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../core/clock.ts';
import { createRuleEngine } from '../../alerts/engine.ts';
import { createAlertmanagerNotifier } from '../../alerts/notifiers/alertmanager.ts';
import { parseRuleFile } from '../../alerts/rules.ts';
import { createSeriesStore } from '../../alerts/windows.ts';
import { startAlertmanager, type RunningAlertmanager } from './support/alertmanager.ts';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook.ts';

interface AmWebhook {
  status: string;
  alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string>; startsAt: string; endsAt: string }[];
}

describe('alerts → Alertmanager → webhook', () => {
  let receiver: WebhookReceiver;
  let am: RunningAlertmanager;

  beforeAll(async () => {
    receiver = await startWebhookReceiver();
    am = await startAlertmanager({ webhookUrl: `${receiver.url}/alertmanager`, groupWait: '1s', groupInterval: '1s' });
  });
  afterAll(async () => {
    await am?.stop();
    await receiver?.stop();
  });

  it('delivers the page, then the resolve after endsAt', async () => {
    // Data time a minute in the past, so the resolve's endsAt is already over for Alertmanager.
    const t0 = Math.floor((Date.now() - 60_000) / 15_000) * 15_000;
    const clock = manualClock(t0);
    const store = createSeriesStore();
    const groups = parseRuleFile(`groups:
  - name: capacity
    rules:
      - alert: FacultySessionsAtCapacity
        expr: sum by (faculty) (ecampus_sessions_active) / on (faculty) sum by (faculty) (ecampus_capacity_sessions) > 0.95
        labels: { severity: page }
        annotations:
          summary: '{{ $labels.faculty }} is at {{ $value | humanizePercentage }} of capacity'
`);
    const engine = createRuleEngine({ groups, store, notify: createAlertmanagerNotifier({ url: am.url, clock: clock.now }) });
    const put = (t: number, sessions: number) =>
      store.add([
        { metric: 'ecampus_sessions_active', labels: { faculty: 'med', server: 's1' }, timestampMs: t, value: sessions },
        { metric: 'ecampus_capacity_sessions', labels: { faculty: 'med', server: 's1' }, timestampMs: t, value: 1000 },
      ]);

    put(t0, 990);
    const r1 = engine.evaluate(t0);
    expect(r1.transitions.map((t) => t.state)).toEqual(['firing']);
    await r1.delivered;
    expect(engine.health().lastNotifyError).toBeUndefined();
    const page = await receiver.waitFor((r) => r.path === '/alertmanager' && (r.body as AmWebhook).status === 'firing', 20_000);
    const fired = (page.body as AmWebhook).alerts[0]!;
    expect(fired.labels).toMatchObject({ alertname: 'FacultySessionsAtCapacity', faculty: 'med', severity: 'page' });
    expect(fired.annotations['summary']).toBe('med is at 99% of capacity');
    expect(Date.parse(fired.startsAt)).toBe(t0);
    expect(fired.endsAt).toBe('0001-01-01T00:00:00Z');

    clock.advance(15_000);
    put(t0 + 15_000, 500);
    const r2 = engine.evaluate(t0 + 15_000);
    expect(r2.transitions.map((t) => t.state)).toEqual(['resolved']);
    await r2.delivered;
    const resolve = await receiver.waitFor((r) => r.path === '/alertmanager' && (r.body as AmWebhook).status === 'resolved', 20_000);
    const res = (resolve.body as AmWebhook).alerts[0]!;
    expect(res.status).toBe('resolved');
    expect(Date.parse(res.endsAt)).toBe(t0 + 15_000);
  });
});
