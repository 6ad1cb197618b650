/**
 * The rules stage in front of a real Prometheus Alertmanager: the engine fires, the
 * pager journals and sends the raw alert (re-sent while firing), Alertmanager groups
 * and notifies its webhook receiver exactly once; the resolve (endsAt) follows, once.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { manualClock } from '../../core/clock.ts';
import { parseRuleFile } from '../../rules/ruleFile.ts';
import { createRulesStage } from '../../rules/stage.ts';
import { startAlertmanager, type RunningAlertmanager } from './support/alertmanager.ts';
import { startWebhookReceiver, type WebhookReceiver } from './support/webhook.ts';

interface AmWebhook {
  status: string;
  alerts: { status: string; labels: Record<string, string>; startsAt: string; endsAt: string }[];
}

describe('pager → real Alertmanager → webhook', () => {
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

  it('firing then resolved: exactly one notification each at the webhook', async () => {
    const t0 = Math.floor((Date.now() - 60_000) / 15_000) * 15_000;
    const clock = manualClock(t0);
    const dir = mkdtempSync(join(tmpdir(), 'vigie-paging-am-'));
    const paging = {
      receivers: [{ name: 'am', type: 'alertmanager' as const, url: am.url, resend_interval: '15s' }],
      resolve_hold: '15s',
      silences_file: join(dir, 'silences.json'),
    };
    const groups = parseRuleFile(`groups:
  - name: capacity
    rules:
      - alert: FacultySessionsAtCapacity
        expr: sum by (faculty) (ecampus_sessions_active) / on (faculty) sum by (faculty) (ecampus_capacity_sessions) > 0.95
        labels: { severity: page }
        annotations: { summary: '{{ $labels.faculty }} is at {{ $value | humanizePercentage }} of capacity' }
`);
    // The production rules stage: engine → pager (router, outbox) → Alertmanager receiver.
    const stage = createRulesStage({ groups, pager: { paging, journalDir: join(dir, 'outbox'), clock: clock.now, log: () => undefined } });
    const pager = stage.pager!;
    const put = (t: number, sessions: number) =>
      stage.add([
        { metric: 'ecampus_sessions_active', labels: { faculty: 'med', server: 's1' }, timestampMs: t, value: sessions },
        { metric: 'ecampus_capacity_sessions', labels: { faculty: 'med', server: 's1' }, timestampMs: t, value: 1000 },
      ]);
    const step = async (t: number, sessions: number) => {
      clock.set(t);
      put(t, sessions);
      await stage.finish(t);
      await pager.tick(t);
    };
    await step(t0, 990);
    await step(t0 + 15_000, 995); // a re-send (resend_interval 15 s): Alertmanager must not notify again
    const page = await receiver.waitFor((r) => r.path === '/alertmanager' && (r.body as AmWebhook).status === 'firing', 20_000);
    expect((page.body as AmWebhook).alerts[0]!.labels).toMatchObject({ alertname: 'FacultySessionsAtCapacity', faculty: 'med' });
    await step(t0 + 30_000, 500); // resolved, held 15 s
    await step(t0 + 45_000, 500); // hold over: resolve sent with endsAt = t0 + 30 s
    const resolved = await receiver.waitFor((r) => r.path === '/alertmanager' && (r.body as AmWebhook).status === 'resolved', 20_000);
    expect(Date.parse((resolved.body as AmWebhook).alerts[0]!.endsAt)).toBe(t0 + 30_000);
    // Give Alertmanager a few group_intervals to send anything extra, then count.
    await new Promise((r) => setTimeout(r, 3500));
    await stage.stop();
    const bodies = receiver.received.filter((r) => r.path === '/alertmanager').map((r) => (r.body as AmWebhook).status);
    expect(bodies).toEqual(['firing', 'resolved']);
    // firing, re-sent at +15 s and during the hold at +30 s (keep-alives), then the resolve.
    expect(pager.stats()).toMatchObject({ depth: 0, undeliverable: 0, delivered: 4 });
  });
});
