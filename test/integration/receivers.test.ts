/**
 * Direct receivers over real sockets: a local endpoint speaking PagerDuty Events v2 and
 * Slack's incoming-webhook format (bodies validated, PagerDuty-style dedup), and a real
 * SMTP server (`smtp-server`) receiving the mail nodemailer sends.
 */
import { mkdtempSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { systemClock } from '../../core/clock.ts';
import { parsePagingConfig } from '../../paging/routing/config.ts';
import { createPager } from '../../paging/routing/pager.ts';
import type { Notification } from '../../paging/receivers/types.ts';
import { startFakeReceivers, type FakeReceivers } from '../unit/paging/receivers/fakeReceivers.ts';

const now = Date.now();
const alert = (faculty: string, status: 'firing' | 'resolved' = 'firing'): Notification => ({
  fingerprint: `42${faculty.length}${faculty.charCodeAt(0)}`,
  status,
  labels: { alertname: 'FacultySessionsSaturationForecast', faculty, exam_id: 'anat-101', server: 's3', severity: 'page' },
  annotations: { summary: `${faculty} sessions will reach capacity in ~8 min`, limit: '1200', trend: '+40/min', eta: 'in ~8 min', runbook_url: 'https://wiki.example/runbooks/capacity' },
  startsAt: now - 60_000,
  ...(status === 'resolved' ? { endsAt: now - 1000 } : {}),
  generatorURL: 'http://vigie/graph',
  value: 8,
});

describe('PagerDuty and Slack-compatible receivers over HTTP', () => {
  let fake: FakeReceivers;
  beforeAll(async () => {
    fake = await startFakeReceivers({ routingKey: 'R0UTING' });
  });
  afterAll(async () => fake?.stop());

  it('pages once per alert, with valid bodies, then resolves; chat gets one message per group', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigie-recv-'));
    const config = parsePagingConfig({
      receivers: [
        { name: 'pd', type: 'pagerduty', url: fake.url, routing_key: 'R0UTING' },
        { name: 'chat', type: 'slack', url: `${fake.url}/slack` },
      ],
      route: { receiver: 'pd', group_wait: '0s', group_interval: '1s', routes: [{ matchers: ['severity=page'], receiver: 'pd', continue: true }, { receiver: 'chat', group_by: ['alertname'] }] },
      resolve_hold: '0s',
      silences_file: join(dir, 'silences.json'),
    });
    const pager = createPager({ config, journalDir: join(dir, 'outbox'), clock: systemClock, dashboardUrl: 'https://grafana.example', log: () => undefined });
    pager.start();
    await pager.notify([alert('med'), alert('law')]);
    await fake.waitFor(() => fake.counts().pages === 2 && fake.counts().slack === 1);
    // The engine hands the same set again at every evaluation: nothing new is sent.
    await pager.notify([alert('med'), alert('law')]);
    await pager.notify([alert('med', 'resolved'), alert('law')]);
    await fake.waitFor(() => fake.counts().resolves === 1 && fake.counts().slack === 2);
    await pager.stop();
    expect(fake.counts()).toMatchObject({ pages: 2, resolves: 1, triggerEvents: 2, invalid: 0 });
    const trigger = fake.requests.find((r) => r.path === '/v2/enqueue')!;
    expect(trigger.headers['idempotency-key']).toMatch(/^[0-9a-f]{32}$/);
    const pd = trigger.body as { payload: { summary: string; severity: string }; links: { href: string }[] };
    expect(pd.payload.severity).toBe('critical');
    expect(pd.payload.summary).toMatch(/FIRING FacultySessionsSaturationForecast — faculty (med|law), exam anat-101, server s3 — .* — now 8 \/ limit 1200 — trend \+40\/min — limit reached in ~8 min/);
    expect(pd.links[0]!.href).toMatch(/^https:\/\/grafana\.example\/d\/vigie-faculty\/vigie-faculty\?var-faculty=(med|law)&from=\d+&to=now&viewPanel=1$/);
    const slack = fake.requests.filter((r) => r.path === '/slack').map((r) => r.body as { text: string });
    expect(slack.map((s) => s.text)).toEqual(['[FIRING] FacultySessionsSaturationForecast (2 firing)', '[FIRING] FacultySessionsSaturationForecast (1 firing)']);
  });

  it('a 400 from PagerDuty (bad routing key) is not retried and goes to the fallback receiver', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vigie-recv-'));
    const before = fake.requests.length;
    const config = parsePagingConfig({
      receivers: [
        { name: 'pd', type: 'pagerduty', url: fake.url, routing_key: 'WRONG' },
        { name: 'chat', type: 'slack', url: `${fake.url}/slack` },
      ],
      route: { receiver: 'pd', group_wait: '0s' },
      outbox: { fallback: 'chat' },
      silences_file: join(dir, 'silences.json'),
    });
    const logs: string[] = [];
    const pager = createPager({ config, journalDir: join(dir, 'outbox'), clock: systemClock, log: (l) => logs.push(l) });
    pager.start();
    await pager.notify([alert('sci')]);
    await fake.waitFor(() => fake.requests.slice(before).some((r) => r.path === '/slack'));
    await pager.stop();
    const mine = fake.requests.slice(before);
    expect(mine.map((r) => r.path)).toEqual(['/v2/enqueue', '/slack']);
    expect((mine[1]!.body as { text: string }).text).toMatch(/^\[UNDELIVERED to pd\]/);
    expect(logs.join('\n')).toMatch(/alerts\.outbox\.undeliverable receiver=pd .*outcome=rejected: .*answered 400/);
    expect(logs.join('\n')).not.toContain('WRONG');
  });
});

describe('SMTP mail receiver against a real SMTP server', () => {
  let server: SMTPServer;
  let port: number;
  const mails: { from: string; to: string[]; raw: string }[] = [];
  let reject451 = 0;
  beforeAll(async () => {
    server = new SMTPServer({
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      onRcptTo(_addr, _session, cb) {
        if (reject451 > 0) {
          reject451--;
          const e = Object.assign(new Error('mailbox busy, try later'), { responseCode: 451 });
          cb(e);
          return;
        }
        cb();
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          mails.push({ from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '', to: session.envelope.rcptTo.map((r) => r.address), raw: Buffer.concat(chunks).toString('utf8') });
          cb();
        });
      },
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.server.address() as AddressInfo).port;
  });
  afterAll(async () => new Promise<void>((r) => (server ? server.close(() => r()) : r())));

  it('mails the page (text + HTML, Message-ID from the idempotency key), retrying a 451', async () => {
    reject451 = 1;
    const dir = mkdtempSync(join(tmpdir(), 'vigie-mail-'));
    const config = parsePagingConfig({
      receivers: [{ name: 'mail', type: 'email', smtp: { host: '127.0.0.1', port }, from: 'vigie@uni.example', to: ['oncall@uni.example'] }],
      route: { receiver: 'mail', group_wait: '0s' },
      outbox: { backoff_initial: '100ms' },
      silences_file: join(dir, 'silences.json'),
    });
    const pager = createPager({ config, journalDir: join(dir, 'outbox'), clock: systemClock, dashboardUrl: 'https://grafana.example', log: () => undefined });
    pager.start();
    await pager.notify([alert('med')]);
    const deadline = Date.now() + 20_000;
    while (pager.stats().delivered === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const stats = pager.stats();
    await pager.stop();
    expect(mails).toHaveLength(1);
    expect(stats).toMatchObject({ delivered: 1, retried: 1 });
    const m = mails[0]!;
    expect(m.from).toBe('vigie@uni.example');
    expect(m.to).toEqual(['oncall@uni.example']);
    expect(m.raw).toMatch(/^Subject: \[FIRING\] FacultySessionsSaturationForecast — faculty med, exam anat-101, server s3|Subject: =\?UTF-8\?/m);
    expect(m.raw).toMatch(/^Message-ID: <[0-9a-f]{32}@vigie>/m);
    expect(m.raw).toContain('Content-Type: text/plain');
    expect(m.raw).toContain('Content-Type: text/html');
    expect(m.raw.replace(/=\r?\n/g, '')).toContain('wiki.example/runbooks/capacity');
  });
});
