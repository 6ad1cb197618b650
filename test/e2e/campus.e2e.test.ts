/**
 * Vigie on a campus, run as a campus engineer would, every step a `vigie` process:
 * `vigie schedule import` the timetable, `vigie ingest` over the real Kafka with the
 * default pack and a real Alertmanager, `vigie simulate` producing a collapsing morning.
 * The page reaches the webhook before the collapse (the timetable's page included);
 * `kill -9` of ingest mid-morning and a restart neither re-page nor drop a page; every
 * produced sample is stored once. A second platform with its own metric names (one
 * platform-wide session limit, no worker gauge, status-class counters) feeds the same
 * pack through the `metrics:` mapping and still pages ahead.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestPastMorning } from '../../simulator/index.ts';
import { createStorage } from '../../pipeline/index.ts';
import { startAlertmanager, type RunningAlertmanager } from '../integration/support/alertmanager.ts';
import { kafkaBrokers, uniqueTopic } from '../integration/support/kafka.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../integration/support/webhook.ts';
import { waitUntil } from '../integration/support-pipeline/fixtures.ts';
import { ingestLag, runVigie, startVigie } from '../integration/support/vigieProcess.ts';
import { freePort } from '../support/daemon.ts';

const ROOT = process.cwd();

interface AmWebhookBody {
  readonly alerts: readonly { status: string; labels: Record<string, string>; startsAt: string }[];
}

describe('vigie on a campus: timetable import, ingest over Kafka, pages before the collapse', { timeout: 900_000 }, () => {
  let dir: string;
  let receiver: WebhookReceiver;
  let am: RunningAlertmanager;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigie-campus-'));
    receiver = await startWebhookReceiver();
    am = await startAlertmanager({ webhookUrl: `${receiver.url}/alertmanager`, groupWait: '1s', groupInterval: '1s', groupBy: ['alertname', 'faculty'] });
  });
  afterAll(async () => {
    await am?.stop();
    await receiver?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /**
   * One campus morning: import, ingest (killed with -9 once and restarted), simulate;
   * returns what the webhook and the store saw.
   */
  async function campus(name: string, extra: { simulate: readonly string[]; config?: string }) {
    const topic = uniqueTopic(`campus_${name}`);
    const before = receiver.received.length;
    const chdb = join(dir, `${name}-chdb`);
    const start = latestPastMorning(Date.now(), 3 * 3_600_000);
    const timetable = join(dir, `${name}-timetable.csv`);
    await runVigie(`${name}:timetable`, ['simulate', '--start', new Date(start).toISOString(), '--timetable-out', timetable, '--timetable-only']);
    const imported = await runVigie(`${name}:import`, ['schedule', 'import', timetable, '--chdb-path', chdb]);
    expect(imported).toMatch(/imported \d+ exams/);

    const port = await freePort();
    const ingestArgs = [
      'ingest',
      '--kafka', kafkaBrokers()[0]!,
      '--topic', topic,
      '--group', `${topic}.group`,
      '--chdb-path', chdb,
      '--rules', join(ROOT, 'rules/packs/default.yml'),
      '--alertmanager', am.url,
      '--state', join(dir, `${name}-state.json`),
      '--outbox', join(dir, `${name}-outbox`),
      '--metrics-port', String(port),
      '--http-port', '0',
      '--status-webhook', `${receiver.url}/status-${name}`,
      '--status-state', join(dir, `${name}-status.json`),
      ...(extra.config ? ['--config', extra.config] : []),
    ];
    let ingest = startVigie(`${name}:ingest`, ingestArgs, { echo: true });
    await waitUntil(() => /consuming/.test(ingest.output()), 120_000, 'vigie ingest to consume');
    const sim = startVigie(`${name}:simulate`, ['simulate', '--kafka', kafkaBrokers()[0]!, '--topic', topic, '--start', new Date(start).toISOString(), '--compression', '120', ...extra.simulate], { echo: true });

    // Mid-morning (after the first page reached Alertmanager's webhook), kill -9 and restart.
    const pagesOf = () => receiver.received.slice(before).flatMap((r) => (r.body as AmWebhookBody).alerts ?? []).filter((a) => a.labels['severity'] === 'page');
    await waitUntil(() => receiver.received.slice(before).some((r) => ((r.body as AmWebhookBody).alerts ?? []).some((a) => a.labels['severity'] === 'page' && a.status === 'firing')), 600_000, 'a first page at the webhook');
    ingest.child.kill('SIGKILL');
    await ingest.exited;
    ingest = startVigie(`${name}:ingest-restarted`, ingestArgs, { echo: true });

    expect(await sim.exited, 'vigie simulate exits 0').toBe(0);
    const m = /simulated \S+ → \S+: (\d+) samples in \d+ messages to \S+; collapse (\S+)/.exec(sim.output());
    expect(m, 'simulate prints its summary').not.toBeNull();
    const produced = Number(m![1]);
    const collapseAt = Date.parse(m![2]!);
    expect(Number.isFinite(collapseAt), 'the morning collapses').toBe(true);
    await waitUntil(async () => (await ingestLag(port)) === 0, 600_000, 'ingest to catch up (consumer lag 0)');
    // Let the last evaluations and deliveries happen, then stop gracefully.
    await new Promise((r) => setTimeout(r, 5000));
    ingest.child.kill('SIGTERM');
    expect(await ingest.exited, 'ingest stops cleanly on SIGTERM').toBe(0);

    const storage = createStorage({ chdbPath: chdb, database: 'vigie' });
    try {
      const count = async (q: string) => Number(((await (await storage.client.query({ query: q, format: 'JSONEachRow' })).json<{ n: string }>())[0]!).n);
      const stored = await count('SELECT count() AS n FROM vigie.samples');
      // A restarted evaluator never re-pages: per alert, no second firing without a resolve between.
      const log = await (await storage.client.query({ query: "SELECT fingerprint, state FROM vigie.alerts_log WHERE state IN ('firing','resolved') ORDER BY timestamp", format: 'JSONEachRow' })).json<{ fingerprint: string; state: string }>();
      const last = new Map<string, string>();
      let refired = 0;
      for (const t of log) {
        if (t.state === 'firing' && last.get(t.fingerprint) === 'firing') refired++;
        last.set(t.fingerprint, t.state);
      }
      const notices = receiver.received.slice(before).filter((r) => r.path === `/status-${name}`).map((r) => r.body as { event: string; notice: Record<string, unknown> });
      return { produced, stored, collapseAt, start, pages: pagesOf(), refired, firings: log.filter((t) => t.state === 'firing').length, chdb, notices };
    } finally {
      await storage.close();
    }
  }

  it('pages ahead on the reference metric set, through a kill -9 of ingest, storing every sample once', async () => {
    const r = await campus('reference', { simulate: ['--seed', '42', '--capacity', '1'] });
    expect(r.stored, 'stored equals produced').toBe(r.produced);
    expect(r.refired, 'no alert fired twice without resolving (the restart did not re-page)').toBe(0);
    const firstPage = Math.min(...r.pages.map((p) => Date.parse(p.startsAt)));
    console.log(`[reference] collapse ${new Date(r.collapseAt).toISOString()} first page ${new Date(firstPage).toISOString()} lead ${((r.collapseAt - firstPage) / 60_000).toFixed(1)} min`);
    expect(firstPage, 'a page before the collapse').toBeLessThan(r.collapseAt);
    const schedulePage = r.pages.find((p) => p.labels['alertname'] === 'ExamScheduleExceedsCapacity');
    expect(schedulePage, 'the timetable page reached the webhook').toBeDefined();
    expect(Date.parse(schedulePage!.startsAt)).toBeLessThan(r.collapseAt);
    // Students were told: a plain notice went to the CMS webhook, with no internal details.
    expect(r.notices.some((n) => n.event === 'published'), 'a student-facing notice was published').toBe(true);
    expect(JSON.stringify(r.notices)).not.toMatch(/instance|runbook|fingerprint|127\.0\.0\.1/);
  });

  it('pages ahead on a platform with its own metric names, through the metrics: mapping', async () => {
    const config = join(dir, 'platform-b.yml');
    writeFileSync(
      config,
      `metrics:
  rename:
    lms_users_online: ecampus_sessions_active
    lms_session_limit: ecampus_capacity_sessions
    lms_http_requests_total: http_server_request_duration_count
  relabel:
    - source_labels: [status_class]
      target_label: http_response_status_code
    - action: labeldrop
      regex: status_class
`,
    );
    const r = await campus('platform-b', { simulate: ['--seed', '42', '--capacity', '1', '--metric-set', 'platform-b'], config });
    expect(r.stored).toBe(r.produced);
    expect(r.refired).toBe(0);
    const firstPage = Math.min(...r.pages.map((p) => Date.parse(p.startsAt)));
    console.log(`[platform-b] collapse ${new Date(r.collapseAt).toISOString()} first page ${new Date(firstPage).toISOString()} lead ${((r.collapseAt - firstPage) / 60_000).toFixed(1)} min`);
    expect(firstPage).toBeLessThan(r.collapseAt);
    const check = await runVigie('platform-b:check', ['rules', 'check', join(ROOT, 'rules/packs/default.yml'), '--against', r.chdb]);
    console.log(check);
    expect(check).toMatch(/ecampus_workers_busy\s+read by/);
  });
});
