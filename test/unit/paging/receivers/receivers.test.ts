import { describe, expect, it } from 'vitest';
import { dashboardLink, formatAlertLine, formatSpan, formatText } from '../../../../paging/receivers/format.ts';
import { parseRetryAfter, postOnce, ReceiverError } from '../../../../paging/receivers/http.ts';
import { createPagerDutyReceiver, pagerDutySeverity, toPagerDutyEvent } from '../../../../paging/receivers/pagerduty.ts';
import { createSlackReceiver } from '../../../../paging/receivers/slack.ts';
import { createWebhookReceiver } from '../../../../paging/receivers/webhook.ts';
import { createEmailReceiver, type MailTransport } from '../../../../paging/receivers/email.ts';
import type { Notification, OutboxMessage } from '../../../../paging/receivers/types.ts';

const T0 = Date.UTC(2026, 0, 12, 8, 0, 0);
const firing: Notification = {
  fingerprint: '12345678901234567890',
  status: 'firing',
  labels: { alertname: 'FacultySessionsSaturationForecast', faculty: 'med', exam_id: 'anat-101', server: 's3', severity: 'page' },
  annotations: { summary: 'med sessions will reach capacity in ~8 min', limit: '1200 sessions', trend: '+40/min', eta: 'at 09:08 (in ~8 min)', value: '880 sessions', runbook_url: 'https://wiki/runbooks/capacity' },
  startsAt: T0,
  generatorURL: 'http://vigie/graph',
  value: 8,
};
const resolved: Notification = { ...firing, status: 'resolved', endsAt: T0 + 12 * 60_000 };
const msg = (alerts: Notification[]): OutboxMessage => ({ groupKey: 'g', groupLabels: { faculty: 'med' }, status: alerts.some((a) => a.status === 'firing') ? 'firing' : 'resolved', alerts });

function recorder(status = 200, headers: Record<string, string> = {}) {
  const calls: { url: string; headers: Record<string, string>; body: Record<string, unknown> }[] = [];
  const fetch: typeof globalThis.fetch = (async (url: string | URL | Request, init?: RequestInit) => {
    calls.push({ url: String(url), headers: init?.headers as Record<string, string>, body: JSON.parse(String(init?.body)) as Record<string, unknown> });
    return new Response(status === 200 ? '{}' : 'nope', { status, headers });
  }) as typeof globalThis.fetch;
  return { fetch, calls };
}

describe('page format', () => {
  it('says what, where, value vs limit, trend and when, then links', () => {
    expect(formatAlertLine(firing)).toBe(
      'FIRING FacultySessionsSaturationForecast — faculty med, exam anat-101, server s3 — med sessions will reach capacity in ~8 min — now 880 sessions / limit 1200 sessions — trend +40/min — limit reached at 09:08 (in ~8 min)',
    );
    expect(formatAlertLine(resolved)).toMatch(/^RESOLVED .* — lasted 12 min$/);
    const link = dashboardLink(firing, { dashboardUrl: 'https://grafana.example/' })!;
    expect(link).toBe(`https://grafana.example/d/vigie-faculty/vigie-faculty?var-faculty=med&from=${T0 - 1_800_000}&to=now&viewPanel=1`);
    expect(dashboardLink(resolved, { dashboardUrl: 'https://g' })).toContain(`to=${T0 + 22 * 60_000}`);
    const text = formatText(msg([firing]), { dashboardUrl: 'https://g' });
    expect(text).toContain('Dashboard: https://g/d/vigie-faculty/');
    expect(text).toContain('Runbook: https://wiki/runbooks/capacity');
    expect(formatSpan(65 * 60_000)).toBe('1 h 05 min');
  });
});

describe('HTTP attempt', () => {
  it('parses Retry-After as seconds or an HTTP date', () => {
    expect(parseRetryAfter('120', T0)).toBe(120_000);
    expect(parseRetryAfter(new Date(T0 + 30_000).toUTCString(), T0)).toBe(30_000);
    expect(parseRetryAfter('soon', T0)).toBeUndefined();
    expect(parseRetryAfter(null, T0)).toBeUndefined();
  });

  it('classifies failures: 5xx/408/429 retriable with Retry-After, other 4xx not', async () => {
    const attempt = async (status: number, headers: Record<string, string> = {}) => {
      const { fetch } = recorder(status, headers);
      return postOnce({ url: 'http://x', body: {}, fetch, now: T0 }).then(
        () => undefined,
        (e: unknown) => e as ReceiverError,
      );
    };
    expect((await attempt(503, { 'retry-after': '7' }))!).toMatchObject({ retriable: true, status: 503, retryAfterMs: 7000 });
    expect((await attempt(429))!).toMatchObject({ retriable: true, status: 429 });
    expect((await attempt(408))!.retriable).toBe(true);
    expect((await attempt(400))!).toMatchObject({ retriable: false, status: 400 });
    expect(await attempt(200)).toBeUndefined();
  });
});

describe('PagerDuty receiver', () => {
  it('triggers with a stable dedup_key and payload, resolves with the same key; routing key only on the wire', async () => {
    const { fetch, calls } = recorder();
    const r = createPagerDutyReceiver({ name: 'pd', url: 'https://events.pd/', routingKey: 'SECRET', fetch, dashboardUrl: 'https://g' });
    await r.send(msg([firing]), { idempotencyKey: 'k1', now: T0 });
    await r.send(msg([resolved]), { idempotencyKey: 'k2', now: T0 });
    expect(calls[0]!.url).toBe('https://events.pd/v2/enqueue');
    expect(calls[0]!.body).toMatchObject({
      routing_key: 'SECRET',
      event_action: 'trigger',
      dedup_key: 'vigie-ab54a98ceb1f0ad2',
      payload: { source: 'vigie', severity: 'critical', timestamp: new Date(T0).toISOString(), component: 's3', group: 'med', class: 'FacultySessionsSaturationForecast' },
      links: [{ text: 'Dashboard' }, { href: 'https://wiki/runbooks/capacity', text: 'Runbook' }],
    });
    expect(calls[1]!.body).toEqual({ routing_key: 'SECRET', event_action: 'resolve', dedup_key: 'vigie-ab54a98ceb1f0ad2', client: 'Vigie' });
    expect(calls[0]!.headers['idempotency-key']).toBe('k1');
    expect(JSON.stringify(toPagerDutyEvent(firing, {}))).not.toContain('SECRET');
    expect(pagerDutySeverity({ severity: 'warning' })).toBe('warning');
  });
});

describe('Slack-compatible and webhook receivers', () => {
  it('posts {text, attachments} and hides the secret URL in errors', async () => {
    const ok = recorder();
    await createSlackReceiver({ name: 'chat', url: 'https://hooks.slack.com/services/T/B/SECRET', fetch: ok.fetch }).send(msg([firing]), { idempotencyKey: 'k', now: T0 });
    const body = ok.calls[0]!.body as { text: string; attachments: { color: string; text: string }[] };
    expect(body.text).toBe('[FIRING] FacultySessionsSaturationForecast — faculty med, exam anat-101, server s3');
    expect(body.attachments[0]!.color).toBe('#d63031');
    expect(body.attachments[0]!.text).toContain('now 880 sessions / limit 1200 sessions');
    const bad = recorder(404);
    const err = await createSlackReceiver({ name: 'chat', url: 'https://hooks.slack.com/services/T/B/SECRET', fetch: bad.fetch })
      .send(msg([firing]), { idempotencyKey: 'k', now: T0 })
      .catch((e: Error) => e);
    expect(String(err)).not.toContain('SECRET');
    expect(String(err)).toContain('https://hooks.slack.com/…');
  });

  it('webhook posts a v4 body with an Idempotency-Key header', async () => {
    const { fetch, calls } = recorder();
    await createWebhookReceiver({ name: 'hook', url: 'http://hook/x', fetch }).send(msg([resolved]), { idempotencyKey: 'abc', now: T0 });
    expect(calls[0]!.headers['idempotency-key']).toBe('abc');
    expect(calls[0]!.body).toMatchObject({ version: '4', status: 'resolved', receiver: 'hook', groupLabels: { faculty: 'med' } });
  });
});

describe('mail receiver', () => {
  it('sends text + HTML with a Message-ID from the idempotency key; SMTP 5xx is permanent, 4xx transient', async () => {
    const mails: Parameters<MailTransport['sendMail']>[0][] = [];
    let fail: unknown;
    const transport: MailTransport = {
      sendMail: async (m) => {
        if (fail) throw fail;
        mails.push(m);
      },
      close: () => undefined,
    };
    const r = createEmailReceiver({ name: 'mail', smtp: { host: 'smtp', port: 25 }, from: 'vigie@uni', to: ['oncall@uni'], transport });
    await r.send(msg([firing]), { idempotencyKey: 'k9', now: T0 });
    expect(mails[0]).toMatchObject({ subject: '[FIRING] FacultySessionsSaturationForecast — faculty med, exam anat-101, server s3', messageId: '<k9@vigie>', to: ['oncall@uni'] });
    expect(mails[0]!.html).toContain('<a href="https://wiki/runbooks/capacity">Runbook</a>');
    fail = Object.assign(new Error('mailbox unavailable'), { responseCode: 550 });
    await expect(r.send(msg([firing]), { idempotencyKey: 'k', now: T0 })).rejects.toMatchObject({ retriable: false, status: 550 });
    fail = Object.assign(new Error('try later'), { responseCode: 451 });
    await expect(r.send(msg([firing]), { idempotencyKey: 'k', now: T0 })).rejects.toMatchObject({ retriable: true });
  });
});
