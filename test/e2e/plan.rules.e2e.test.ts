/**
 * The rules read the plan, run as a campus engineer would, every step a `vigie` process
 * on the real Kafka and chDB: `schedule import` the timetable, `vigie plan --store` with
 * the campus's own capacity (the `capacity:` section of its config; without it the plan
 * refuses, naming the faculties), `vigie ingest` with the default pack and a webhook, and
 * `vigie simulate` playing the morning. When 1,900 students sit the law exam the
 * timetable says 900 take, the page "law: logins N% above plan" reaches the webhook
 * during the ramp, before the start; on a control morning played as planned it never
 * fires. Both mornings run on an ample platform, so nothing else explains the logins.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { latestPastMorning } from '../../simulator/index.ts';
import { createStorage } from '../../pipeline/index.ts';
import { FACULTIES } from '../../simulator/model.ts';
import { kafkaBrokers, uniqueTopic } from '../integration/support/kafka.ts';
import { startWebhookReceiver, type WebhookReceiver } from '../integration/support/webhook.ts';
import { waitUntil } from '../integration/support-pipeline/fixtures.ts';
import { ingestLag, runVigie, startVigie } from '../integration/support/vigieProcess.ts';
import { freePort } from '../support/daemon.ts';

const ROOT = process.cwd();
/** The simulated platform's capacity factor; the campus config states the same capacity in its own numbers. */
const CAPACITY = 3;

interface WebhookAlert {
  readonly status: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly startsAt: string;
}

describe('vigie ingest reads the stored plan: logins above plan page', { timeout: 900_000 }, () => {
  let dir: string;
  let receiver: WebhookReceiver;
  // 07:50–09:10 of the latest past morning: the 08:30 and 09:00 ramps and starts.
  const day = latestPastMorning(Date.now(), 3 * 3_600_000) - 7.5 * 3_600_000;
  const start = day + (7 * 60 + 50) * 60_000;
  const date = new Date(day).toISOString().slice(0, 10);

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'vigie-planfeed-'));
    receiver = await startWebhookReceiver();
    // The campus states its own capacity (the simulated platform at ×CAPACITY, in its numbers).
    // Pages leave 1 s after they fire: at 120× a 30-minute ramp lasts 15 s of wall time, less
    // than the default group_wait (30 s), which would hold a page that resolved meanwhile.
    const lines = ['paging:', '  route: { receiver: webhook-1, group_wait: 1s, group_interval: 1s }', 'capacity:', '  platform:', '    dbConnections: 1200', '  faculties:'];
    for (const f of FACULTIES) lines.push(`    ${f.code}: { sessions: ${Math.round(f.sessionCapacity * CAPACITY)}, servers: ${f.servers}, browsingSessions: ${Math.round(f.students * 0.04)} }`);
    writeFileSync(join(dir, 'campus.yml'), lines.join('\n') + '\n');
  });
  afterAll(async () => {
    await receiver?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  /** One morning: import the timetable, store the plan, ingest while `played` is simulated. */
  async function morning(name: string, played: (timetable: string) => string, pageExpected: boolean) {
    const chdb = join(dir, `${name}-chdb`);
    const timetable = join(dir, `${name}-timetable.csv`);
    const config = join(dir, 'campus.yml');
    await runVigie(`${name}:timetable`, ['simulate', '--start', new Date(start).toISOString(), '--timetable-out', timetable, '--timetable-only']);
    expect(await runVigie(`${name}:import`, ['schedule', 'import', timetable, '--chdb-path', chdb])).toMatch(/imported 20 exams/);
    const planned = await runVigie(`${name}:plan`, ['--config', config, 'plan', '--date', date, '--chdb-path', chdb, '--history-days', '0', '--store']);
    expect(planned).toMatch(/capacity from the config for architecture, .*law/);
    expect(planned).toMatch(/stored plan plan-\S+ in vigie\.plans \(46 series × 1440 min\)/);

    const topic = uniqueTopic(`planfeed_${name}`);
    const port = await freePort();
    const before = receiver.received.length;
    const ingest = startVigie(
      `${name}:ingest`,
      [
        '--config', config,
        'ingest',
        '--kafka', kafkaBrokers()[0]!,
        '--topic', topic,
        '--group', `${topic}.group`,
        '--chdb-path', chdb,
        '--rules', join(ROOT, 'rules/packs/default.yml'),
        '--webhook', `${receiver.url}/${name}`,
        '--state', join(dir, `${name}-state.json`),
        '--outbox', join(dir, `${name}-outbox`),
        '--metrics-port', String(port),
        '--http-port', '0',
      ],
      { echo: true },
    );
    const delivered = () =>
      receiver.received
        .slice(before)
        .filter((r) => r.path === `/${name}`)
        .flatMap((r) => (r.body as { alerts?: WebhookAlert[] }).alerts ?? [])
        .filter((a) => a.labels['alertname'] === 'LoginsAbovePlan' && a.status === 'firing');
    try {
      await waitUntil(() => /consuming/.test(ingest.output()), 120_000, 'vigie ingest to consume');
      expect(ingest.output()).toMatch(/expected load from stored plan plan-\S+ \(\S+ 00:00 → \S+ 00:00 UTC, 20 exams; capacity: config\)/);
      const playedFile = join(dir, `${name}-played.csv`);
      const text = played(readFileSync(timetable, 'utf8'));
      if (pageExpected) expect(text, 'the played timetable has the larger law exam').toMatch(/^law-civil-b1;law;[^;]+;60;1900;/m);
      writeFileSync(playedFile, text);
      const simArgs = ['simulate', '--kafka', kafkaBrokers()[0]!, '--topic', topic, '--start', new Date(start).toISOString(), '--duration-minutes', '80', '--capacity', String(CAPACITY), '--seed', '7', '--compression', '120', '--timetable', playedFile];
      const sim = startVigie(`${name}:simulate`, simArgs, { echo: true });
      expect(await sim.exited, 'vigie simulate exits 0').toBe(0);
      expect(sim.output()).toMatch(/collapse none/);
      await waitUntil(async () => (await ingestLag(port)) === 0, 600_000, 'ingest to catch up (consumer lag 0)');
      if (pageExpected) await waitUntil(() => delivered().length > 0, 180_000, 'the LoginsAbovePlan page at the webhook');
      else await new Promise((r) => setTimeout(r, 5000));
      ingest.child.kill('SIGTERM');
      expect(await ingest.exited, 'ingest stops cleanly on SIGTERM').toBe(0);
    } finally {
      // A failed wait must not leave the ingest running.
      if (ingest.child.exitCode === null && ingest.child.signalCode === null) ingest.child.kill('SIGKILL');
    }
    const storage = createStorage({ chdbPath: chdb, database: 'vigie' });
    try {
      const rs = await storage.client.query({
        query: "SELECT labels['faculty'] AS faculty, toUnixTimestamp64Milli(timestamp) AS at, annotations['summary'] AS summary, value FROM vigie.alerts_log WHERE rule = 'LoginsAbovePlan' AND state = 'firing' ORDER BY timestamp",
        format: 'JSONEachRow',
      });
      const fired = (await rs.json<{ faculty: string; at: string; summary: string; value: number }>()).map((r) => ({ ...r, at: Number(r.at) }));
      const evaluatedTo = Number(((await (await storage.client.query({ query: 'SELECT toUnixTimestamp64Milli(max(timestamp)) AS t FROM vigie.samples', format: 'JSONEachRow' })).json<{ t: string }>())[0]!).t);
      return { fired, delivered: delivered(), evaluatedTo, chdb };
    } finally {
      await storage.close();
    }
  }

  it('pages "law: logins N% above plan" during the ramp when 1,900 students sit the 900-student exam', async () => {
    const r = await morning('surge', (csv) => csv.replace(/^(law-civil-b1;law;[^;]+;60;)900;/m, '$11900;'), true);
    expect(r.fired.map((f) => f.faculty)).toEqual(['law']);
    const f = r.fired[0]!;
    const at = new Date(f.at).toISOString().slice(11, 16);
    console.log(`[surge] ${at} ${f.summary}`);
    // 2,200 students coming over law's 08:30–09:00 ramp where the plan expects 1,200: the
    // 5-minute login rate runs well above plan (~60–80 %), and the page comes before the 09:00 start.
    expect(f.at).toBeGreaterThan(day + 8.5 * 3_600_000);
    expect(f.at).toBeLessThan(day + 9 * 3_600_000);
    expect(f.value).toBeGreaterThan(0.5);
    expect(f.value).toBeLessThan(1.2);
    expect(f.summary).toMatch(/^law: logins \d+(\.\d+)?% above plan$/);
    expect(r.delivered.some((a) => a.labels['faculty'] === 'law' && a.labels['severity'] === 'page' && /^law: logins \d+(\.\d+)?% above plan$/.test(a.annotations['summary'] ?? '')), 'the page reached the webhook').toBe(true);

    // The backtest replays the stored morning with the stored plan, as live; --no-plan replays it on the timetable alone.
    const backtest = async (...extra: string[]) => {
      const out = await runVigie(`surge:backtest${extra.join('')}`, ['rules', 'backtest', '--from', new Date(start).toISOString(), '--to', new Date(start + 80 * 60_000).toISOString(), '--chdb-path', r.chdb, '--format', 'json', ...extra]);
      const json = JSON.parse(out.slice(out.indexOf('{'), out.lastIndexOf('}') + 1)) as { alerts: { rule: string; labels: Record<string, string>; firedAt: number }[] };
      return json.alerts.filter((a) => a.rule === 'LoginsAbovePlan');
    };
    const replayed = await backtest();
    expect(replayed.map((a) => a.labels['faculty'])).toEqual(['law']);
    expect(Math.abs(replayed[0]!.firedAt - f.at)).toBeLessThanOrEqual(60_000);
    expect(await backtest('--no-plan')).toEqual([]);
  });

  it('stays silent on a control morning played as planned', async () => {
    const r = await morning('control', (csv) => csv, false);
    // The whole ramp and the starts were stored and evaluated, and nothing paged about logins.
    expect(r.evaluatedTo).toBeGreaterThanOrEqual(day + 9 * 3_600_000 + 5 * 60_000);
    expect(r.fired).toEqual([]);
    expect(r.delivered).toEqual([]);
  });

  it('refuses to plan a campus timetable without the campus capacity, naming the faculties', async () => {
    const chdb = join(dir, 'nocap-chdb');
    const timetable = join(dir, 'nocap-timetable.csv');
    await runVigie('nocap:timetable', ['simulate', '--start', new Date(start).toISOString(), '--timetable-out', timetable, '--timetable-only']);
    await runVigie('nocap:import', ['schedule', 'import', timetable, '--chdb-path', chdb]);
    const out = await runVigie('nocap:plan', ['plan', '--date', date, '--chdb-path', chdb, '--history-days', '0', '--store'], 2);
    expect(out).toMatch(/no capacity for faculty "architecture", .*"law".*capacity: section of the config/s);
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'capacity:\n  faculties:\n    law: { sesions: 900 }\n');
    expect(await runVigie('nocap:badkey', ['--config', bad, 'plan', '--date', date, '--chdb-path', chdb], 2)).toMatch(/capacity\.faculties\.law: Unrecognized key.*sesions|capacity\.faculties\.law\.sessions: Required/s);
  });
});
